"""The same calls over real HTTP: a uvicorn server on a loopback port, signatures on the public
URL, and Twilio's failure codes for a server that cannot be reached or answers too slowly."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from starlette.responses import Response

from ivr.emulator import events_to_json

MENU = "<Response><Gather numDigits='1' action='/choice'><Say>Press 1</Say></Gather></Response>"


@pytest.mark.slow
def test_call_over_real_http_is_signed_on_the_public_url(
    make_app: Any, make_switch: Any, serve: Any
) -> None:
    app = make_app(
        {"/voice/incoming": MENU, "/choice": "<Response><Say>Chosen</Say></Response>"},
        auth_token="secret",
    )
    base_url = serve(app)
    call = make_switch(base_url, auth_token="secret").dial("+8613812345678", to="+864001234567")
    call.press("1")
    assert call.hears("Chosen") and call.status == "completed" and not call.warnings
    assert [seen.url for seen in app.requests] == [
        "https://ivr.example.com/voice/incoming",
        "https://ivr.example.com/choice",
        "https://ivr.example.com/voice/status",
    ]
    assert app.to("/choice")[0].params["Digits"] == "1"


@pytest.mark.slow
def test_http_transport_tells_the_server_its_public_origin(
    make_app: Any, make_switch: Any, serve: Any
) -> None:
    app = make_app({"/voice/incoming": "<Response/>"})
    make_switch(serve(app)).dial("+1", to="+2")
    headers = app.requests[0].headers
    assert (headers["x-forwarded-proto"], headers["x-forwarded-host"]) == (
        "https",
        "ivr.example.com",
    )
    assert headers["user-agent"] == "TwilioProxy/1.1"
    assert headers["content-type"] == "application/x-www-form-urlencoded"


def test_unreachable_server_fails_the_call_with_11205(make_switch: Any) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    call = make_switch(f"http://127.0.0.1:{port}").dial("+8613812345678", to="+864001234567")
    assert call.status == "failed"
    assert call.error is not None and call.error.code == 11205
    assert [warning.code for warning in call.warnings] == [15003]  # the status callback too


@pytest.mark.slow
def test_server_error_fails_the_call_with_11200(
    make_app: Any, make_switch: Any, serve: Any
) -> None:
    app = make_app({"/voice/incoming": Response("boom", status_code=500)})
    call = make_switch(serve(app)).dial("+8613812345678", to="+864001234567")
    assert call.error is not None and call.error.code == 11200


QUEUE_ROUTES = {
    "/voice/incoming": (
        "<Response><Say>Hello</Say><Enqueue waitUrl='/wait'>desk</Enqueue></Response>"
    ),
    "/wait": "<Response><Say>Please hold</Say><Pause length='15'/></Response>",
    "/connect": "<Response><Say>Connecting</Say></Response>",
}
TAKE = "<Response><Dial><Queue url='/connect'>desk</Queue></Dial></Response>"


def queue_scenario(switch: Any) -> str:
    first = switch.dial("+8613800000001", to="+864001234567")
    switch.dial("+8613800000002", to="+864001234567")
    switch.dial_twiml(TAKE, from_="+8613900000000", talk=20)
    switch.run(40)
    if not first.ended:
        first.hangup()
    switch.run(100)
    events = [event for call in switch.calls.values() for event in call.events]
    return events_to_json(events)


@pytest.mark.slow
def test_http_and_in_process_give_the_same_transcript(
    make_app: Any, make_switch: Any, serve: Any
) -> None:
    in_process = queue_scenario(make_switch(make_app(dict(QUEUE_ROUTES))))
    over_http = queue_scenario(make_switch(serve(make_app(dict(QUEUE_ROUTES)))))
    assert over_http == in_process
