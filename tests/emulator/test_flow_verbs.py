"""Redirect, Hangup, Reject, Leave and relative URLs."""

from __future__ import annotations

from typing import Any


def test_redirect_follows_relative_urls_with_its_method(make_app: Any, make_switch: Any) -> None:
    app = make_app(
        {
            "/voice/incoming": "<Response><Redirect method='GET'>menu/main</Redirect></Response>",
            "/voice/menu/main": "<Response><Redirect>../done</Redirect></Response>",
            "/voice/done": "<Response><Say>Done</Say></Response>",
        }
    )
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    assert [(seen.method, seen.path) for seen in app.requests[:3]] == [
        ("POST", "/voice/incoming"),
        ("GET", "/voice/menu/main"),
        ("POST", "/voice/done"),
    ]
    assert call.hears("Done")


def test_verbs_after_a_redirect_never_run(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Redirect>/b</Redirect><Say>Unreachable</Say></Response>"
    app = make_app({"/voice/incoming": document, "/b": "<Response/>"})
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    assert call.heard == [] and call.status == "completed"


def test_hangup_ends_the_call(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Say>Bye</Say><Hangup/><Say>Unreachable</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.heard == ["Bye"] and call.status == "completed"
    assert [e.to_json()["by"] for e in call.events if e.to_json()["type"] == "hangup"] == ["app"]


def test_reject_as_first_verb_leaves_the_call_unanswered(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": "<Response><Reject reason='busy'/><Say>x</Say></Response>"})
    switch = make_switch(app)
    busy = switch.dial("+8613812345678", to="+864001234567")
    assert busy.status == "busy" and busy.answered_at is None
    assert app.to("/voice/status")[0].params["CallStatus"] == "busy"
    app.routes["/voice/incoming"] = "<Response><Reject/></Response>"
    assert switch.dial("+8613812345678", to="+864001234567").status == "no-answer"


def test_reject_after_a_say_ends_an_answered_call(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Say>Closed</Say><Reject/></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.status == "completed" and call.answered_at is not None


def test_leave_outside_a_queue_does_nothing(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Leave/><Say>Still here</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.heard == ["Still here"] and not call.warnings


def test_caller_hangs_up_while_listening(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Gather><Say>Menu</Say></Gather></Response>"
    app = make_app({"/voice/incoming": document})
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    call.hangup()
    assert call.status == "completed"
    assert [e.to_json()["by"] for e in call.events if e.to_json()["type"] == "hangup"] == ["caller"]
