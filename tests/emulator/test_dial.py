"""<Dial> to numbers and clients: the switch knows no phones unless a test registers one."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.emulator import Limits

TRANSFER = (
    '<Response><Dial action="/dialled" timeout="{timeout}">{nouns}</Dial>'
    "<Say>Unreachable after an action</Say></Response>"
)


def transfer(nouns: str = "+14155550100", timeout: int = 30) -> str:
    return TRANSFER.format(nouns=nouns, timeout=timeout)


@pytest.fixture
def make(make_app: Any) -> Any:
    def build(document: str) -> Any:
        return make_app(
            {"/voice/incoming": document, "/dialled": "<Response><Say>Back</Say></Response>"}
        )

    return build


def test_unknown_number_rings_for_the_timeout_and_gives_no_answer(
    make: Any, make_switch: Any
) -> None:
    app = make(transfer())
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    params = app.to("/dialled")[0].params
    assert params["DialCallStatus"] == "no-answer" and params["DialBridged"] == "false"
    assert params["DialCallSid"].startswith("CA") and "DialCallDuration" not in params
    request = next(e for e in call.events if e.to_json().get("purpose") == "action")
    assert request.t == pytest.approx(30)
    assert call.hears("Back")


def test_registered_endpoint_answers_and_talks(make: Any, make_switch: Any) -> None:
    app = make(transfer())
    switch = make_switch(app, limits=Limits(ring_seconds=4))
    switch.endpoints["+14155550100"] = 42
    call = switch.dial("+8613812345678", to="+864001234567")
    params = app.to("/dialled")[0].params
    assert params["DialCallStatus"] == "completed" and params["DialBridged"] == "true"
    assert params["DialCallDuration"] == "42"
    request = next(e for e in call.events if e.to_json().get("purpose") == "action")
    assert request.t == pytest.approx(4 + 42)


def test_busy_endpoint_gives_busy(make: Any, make_switch: Any) -> None:
    app = make(transfer("<Client>desk</Client>"))
    switch = make_switch(app)
    switch.endpoints["desk"] = "busy"
    switch.dial("+8613812345678", to="+864001234567")
    assert app.to("/dialled")[0].params["DialCallStatus"] == "busy"


def test_first_of_several_nouns_to_answer_wins(make: Any, make_switch: Any) -> None:
    app = make(transfer("<Number>+14155550100</Number><Client>desk</Client>"))
    switch = make_switch(app)
    switch.endpoints["desk"] = 10
    switch.dial("+8613812345678", to="+864001234567")
    assert app.to("/dialled")[0].params["DialCallStatus"] == "completed"


def test_dial_without_action_falls_through(make_app: Any, make_switch: Any) -> None:
    document = (
        "<Response><Dial timeout='5'>+14155550100</Dial><Say>Nobody answered</Say></Response>"
    )
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.hears("Nobody answered")


def test_time_limit_cuts_the_conversation(make: Any, make_switch: Any) -> None:
    app = make(transfer().replace("<Dial ", "<Dial timeLimit='60' "))
    switch = make_switch(app)
    switch.endpoints["+14155550100"] = 600
    switch.dial("+8613812345678", to="+864001234567")
    assert app.to("/dialled")[0].params["DialCallDuration"] == "60"


def test_caller_with_own_talk_time_hangs_up_during_the_bridge(make: Any, make_switch: Any) -> None:
    app = make(transfer())
    switch = make_switch(app)
    switch.endpoints["+14155550100"] = 600
    call = switch.dial("+8613812345678", to="+864001234567", talk=20)
    params = app.to("/dialled")[0].params
    assert params["DialCallDuration"] == "20" and params["CallStatus"] == "completed"
    assert call.status == "completed" and not call.hears("Back")


def test_dial_event_lists_the_nouns(make: Any, make_switch: Any) -> None:
    app = make(transfer("<Number>+14155550100</Number><Client>desk</Client>", timeout=3))
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    dial = next(e.to_json() for e in call.events if e.to_json()["type"] == "dial")
    assert dial["nouns"] == ["number:+14155550100", "client:desk"] and dial["timeout"] == 3
