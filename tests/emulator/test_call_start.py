"""A call starts the way Twilio starts one: standard form parameters, signed, status callback."""

from __future__ import annotations

import re
from typing import Any

WELCOME = "<Response><Say>Welcome</Say><Redirect>/next</Redirect></Response>"
NEXT = "<Response><Say>Goodbye</Say></Response>"


def test_first_request_carries_the_standard_parameters(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": WELCOME, "/next": NEXT})
    switch = make_switch(app)
    call = switch.dial("+8613812345678", to="+864001234567")
    first = app.to("/voice/incoming")[0]
    assert first.method == "POST"
    assert re.fullmatch(r"CA[0-9a-f]{32}", first.params["CallSid"])
    assert re.fullmatch(r"AC[0-9a-f]{32}", first.params["AccountSid"])
    assert first.params == {
        "CallSid": call.sid,
        "AccountSid": switch.account_sid,
        "From": "+8613812345678",
        "To": "+864001234567",
        "Caller": "+8613812345678",
        "Called": "+864001234567",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "CN",
        "ToCountry": "CN",
    }


def test_later_requests_are_in_progress_with_the_same_parameters(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app({"/voice/incoming": WELCOME, "/next": NEXT})
    make_switch(app).dial("+14155550100", to="+442071838750")
    later = app.to("/next")[0].params
    assert later["CallStatus"] == "in-progress"
    assert (later["FromCountry"], later["ToCountry"]) == ("US", "GB")


def test_incoming_parameters_go_with_the_first_request_only(
    make_app: Any, make_switch: Any
) -> None:
    # Twilio adds StirVerstat to the incoming call's request, never to a later one.
    app = make_app({"/voice/incoming": WELCOME, "/next": NEXT}, auth_token="secret")
    verdict = {"StirVerstat": "TN-Validation-Failed-A"}
    call = make_switch(app).dial("+12025550177", to="+12025550142", incoming=verdict)
    assert call.status == "completed" and not call.warnings  # signed with it, too
    first, *later = app.requests
    assert first.params["StirVerstat"] == "TN-Validation-Failed-A"
    assert first.params["From"] == "+12025550177"  # besides the standard parameters
    assert [seen.path for seen in later] == ["/next", "/voice/status"]
    assert all("StirVerstat" not in seen.params for seen in later)


def test_countries_are_empty_when_numbers_do_not_parse(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": NEXT})
    make_switch(app).dial("anonymous", to="client:desk")
    params = app.to("/voice/incoming")[0].params
    assert (params["FromCountry"], params["ToCountry"]) == ("", "")


def test_withheld_keypad_number_parses_as_lesotho(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": NEXT})
    make_switch(app).dial("+266696687", to="+864001234567")
    assert app.to("/voice/incoming")[0].params["FromCountry"] == "LS"


def test_every_request_is_signed_over_the_public_url(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": WELCOME, "/next": NEXT}, auth_token="secret")
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    assert call.status == "completed" and not call.warnings
    assert [seen.url for seen in app.requests] == [
        "https://ivr.example.com/voice/incoming",
        "https://ivr.example.com/next",
        "https://ivr.example.com/voice/status",
    ]


def test_an_app_reached_in_process_sees_requests_arrive_on_loopback(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app({"/voice/incoming": WELCOME, "/next": NEXT})
    make_switch(app).dial("+8613812345678", to="+864001234567")
    # As from a server on this machine's loopback, on the public URL's port (https here).
    assert {seen.server for seen in app.requests} == {("127.0.0.1", 443)}


def test_a_wrong_auth_token_is_refused_by_the_app(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": WELCOME}, auth_token="secret")
    call = make_switch(app, auth_token="guess").dial("+8613812345678", to="+864001234567")
    assert call.status == "failed"
    assert call.error is not None and call.error.code == 11200


def test_without_auth_token_no_signature_header_is_sent(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": NEXT})
    make_switch(app, auth_token=None).dial("+8613812345678", to="+864001234567")
    assert all(seen.signature is None for seen in app.requests)


def test_get_voice_url_sends_parameters_in_the_query(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": NEXT}, auth_token="secret")
    call = make_switch(app, voice_method="GET").dial("+8613812345678", to="+864001234567")
    first = app.to("/voice/incoming")[0]
    assert first.method == "GET" and call.status == "completed"
    assert first.params["CallSid"] == call.sid
    assert "From=%2B8613812345678" in first.url


def test_status_callback_reports_the_end_of_the_call(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": "<Response><Pause length='7'/><Say>Hi</Say></Response>"})
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    callback = app.to("/voice/status")[0].params
    assert callback["CallStatus"] == "completed"
    assert callback["CallSid"] == call.sid
    # The leading Pause delays answering, so those 7 s are not part of the call's duration.
    assert callback["CallDuration"] == "1"
    assert call.events[-1].to_json()["type"] == "status"


def test_failing_status_callback_is_only_a_warning(make_app: Any, make_switch: Any) -> None:
    from starlette.responses import Response

    app = make_app({"/voice/incoming": NEXT, "/voice/status": Response("no", status_code=500)})
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    assert call.status == "completed" and call.error is None
    assert [warning.code for warning in call.warnings] == [15003]


def test_status_callback_can_be_switched_off(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": NEXT})
    make_switch(app, status_path=None).dial("+8613812345678", to="+864001234567")
    assert app.to("/voice/status") == []


def test_call_sids_come_from_the_seed(make_app: Any, make_switch: Any) -> None:
    sids: list[str] = []
    for _ in range(2):
        app = make_app({"/voice/incoming": NEXT})
        sids.append(make_switch(app, seed=7).dial("+8613812345678", to="+864001234567").sid)
    other = make_switch(make_app({"/voice/incoming": NEXT}), seed=8)
    assert sids[0] == sids[1] != other.dial("+8613812345678", to="+864001234567").sid
