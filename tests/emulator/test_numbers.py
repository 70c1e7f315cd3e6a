"""A number configured apart from the others (an agent line) rings its own voice URL and
reports to its own status callback; every other number keeps the switch's."""

from __future__ import annotations

from typing import Any

HELLO = "<Response><Say>Hello</Say></Response>"
AGENT = "<Response><Say>Agent line</Say></Response>"


def test_a_configured_number_uses_its_own_voice_url_and_status_callback(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app({"/voice/incoming": HELLO, "/voice/agent": AGENT, "/agent/status": ""})
    switch = make_switch(app)
    switch.configure_number("+12025550199", "/voice/agent", "/agent/status")
    agent = switch.dial("+12025550123", to="+12025550199", run_to_end=True)
    caller = switch.dial("+12025550188", to="+12025550142", run_to_end=True)
    assert agent.heard == ["Agent line"] and caller.heard == ["Hello"]
    (status,) = app.to("/agent/status")
    assert status.params["CallSid"] == agent.sid and status.params["CallStatus"] == "completed"
    assert [seen.params["CallSid"] for seen in app.to("/voice/status")] == [caller.sid]


def test_a_configured_number_without_a_status_callback_reports_nowhere(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app({"/voice/agent": AGENT})
    switch = make_switch(app)
    switch.configure_number("+12025550199", "/voice/agent")
    switch.dial("+12025550123", to="+12025550199", run_to_end=True)
    assert [seen.path for seen in app.requests] == ["/voice/agent"]
