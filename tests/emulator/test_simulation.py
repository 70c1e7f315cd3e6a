"""Many calls on one virtual clock: deterministic, no real time, calls starting at any instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.clock import Clock
from ivr.emulator import VirtualClock, events_to_json

LINE = "+864001234567"
MENU = (
    "<Response><Say>Welcome</Say>"
    "<Gather numDigits='1' action='/choice'><Say>Press 1 to wait</Say></Gather></Response>"
)
ROUTES = {
    "/voice/incoming": MENU,
    "/choice": "<Response><Enqueue waitUrl='/wait'>support</Enqueue></Response>",
    "/wait": "<Response><Say>Please hold</Say><Pause length='20'/></Response>",
    "/connect": "<Response><Say>Connecting</Say></Response>",
}
TAKE = "<Response><Dial><Queue url='/connect'>support</Queue></Dial></Response>"


def scenario(make_app: Any, make_switch: Any, seed: int) -> str:
    switch = make_switch(make_app(dict(ROUTES)), seed=seed)
    first = switch.dial("+8613800000001", to=LINE, answers=["1"])
    second = switch.dial("+8613800000002", to=LINE, answers=["1"], at="2026-03-01T03:00:40Z")
    switch.dial_twiml(TAKE, from_="+8613900000000", talk=30)
    switch.run(60)
    second.hangup()
    switch.run()
    assert first.status == second.status == "completed"
    return events_to_json([e for call in switch.calls.values() for e in call.events])


def test_same_seed_gives_identical_transcripts(make_app: Any, make_switch: Any) -> None:
    assert scenario(make_app, make_switch, 3) == scenario(make_app, make_switch, 3)
    assert scenario(make_app, make_switch, 3) != scenario(make_app, make_switch, 4)


def test_virtual_clock_satisfies_the_service_clock_protocol() -> None:
    clock: Clock = VirtualClock("2026-03-01T03:00+08:00")
    assert clock.now() == datetime(2026, 2, 28, 19, 0, tzinfo=UTC)


def test_virtual_clock_only_moves_forward() -> None:
    clock = VirtualClock(datetime(2026, 3, 1, tzinfo=UTC))
    clock.advance(1.5)
    with pytest.raises(ValueError):
        clock.advance_to(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="offset"):
        VirtualClock("2026-03-01T03:00")


def test_a_call_can_start_at_any_instant(make_app: Any, make_switch: Any) -> None:
    switch = make_switch(make_app({"/voice/incoming": "<Response/>"}))
    call = switch.dial("+1", to=LINE, at="2026-12-31T23:59:30+08:00")
    assert call.started_at == datetime(2026, 12, 31, 15, 59, 30, tzinfo=UTC)
    earlier = switch.dial("+1", to=LINE, at="2025-06-01T09:00+02:00")  # no call in progress
    assert earlier.started_at == datetime(2025, 6, 1, 7, 0, tzinfo=UTC)


def test_the_clock_cannot_go_back_while_calls_are_in_progress(
    make_app: Any, make_switch: Any
) -> None:
    switch = make_switch(make_app(dict(ROUTES)))
    switch.dial("+8613800000001", to=LINE)
    with pytest.raises(ValueError, match="in progress"):
        switch.dial("+8613800000002", to=LINE, at="2026-03-01T02:00Z")


def test_dialling_later_lets_the_other_calls_live_until_then(
    make_app: Any, make_switch: Any
) -> None:
    switch = make_switch(make_app(dict(ROUTES)))
    first = switch.dial("+8613800000001", to=LINE, answers=["1"])
    switch.dial("+8613800000002", to=LINE, at="2026-03-01T03:10Z")
    polls = [e for e in first.events if e.to_json()["type"] == "queue"]
    assert polls[-1].to_json()["waited"] >= 10 * 60 - 21


def test_the_service_sees_virtual_time_in_process(make_app: Any, make_switch: Any) -> None:
    clock = VirtualClock("2026-03-01T03:00Z")
    times: list[str] = []

    def stamp(_: Any) -> str:
        times.append(clock.now().isoformat())
        return "<Response><Pause length='90'/><Redirect>/voice/incoming</Redirect></Response>"

    switch = make_switch(make_app({"/voice/incoming": stamp}), clock=clock)
    switch.dial("+1", to=LINE, at="2026-03-01T03:00Z")
    switch.run(200)
    assert times[:3] == [
        "2026-03-01T03:00:00+00:00",
        "2026-03-01T03:01:30+00:00",
        "2026-03-01T03:03:00+00:00",
    ]


@pytest.mark.slow
def test_max_documents_stops_a_zero_time_redirect_loop(make_app: Any, make_switch: Any) -> None:
    loop = "<Response><Redirect>/voice/incoming</Redirect></Response>"
    call = make_switch(make_app({"/voice/incoming": loop})).dial("+1", to=LINE)
    assert call.status == "failed" and call.error is not None
    assert "500 documents" in call.error.message
    assert (
        sum(1 for e in call.events if e.to_json()["type"] == "request") == 500 + 1
    )  # and the status callback


def test_call_ends_at_the_maximum_duration(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Enqueue waitUrl=''>quiet</Enqueue></Response>"
    switch = make_switch(make_app({"/voice/incoming": document}))
    call = switch.dial("+1", to=LINE, run_to_end=True)
    assert call.status == "failed" and call.error is not None
    assert call.error.to_json()["t"] == 4 * 3600


def test_answers_queued_while_waiting_are_used_by_run(make_app: Any, make_switch: Any) -> None:
    switch = make_switch(make_app(dict(ROUTES)))
    call = switch.dial("+8613800000001", to=LINE)
    call.answers.append("1")
    switch.run()
    assert call.queue == "support"


def test_a_bad_scripted_answer_is_raised_to_the_driver(make_app: Any, make_switch: Any) -> None:
    switch = make_switch(make_app(dict(ROUTES)))
    with pytest.raises(ValueError, match="answer 'one'"):
        switch.dial("+8613800000001", to=LINE, answers=["one"])


def test_queue_size_limits_are_checked(make_app: Any, make_switch: Any) -> None:
    switch = make_switch(make_app(dict(ROUTES)))
    with pytest.raises(ValueError, match="5000"):
        switch.set_queue_max_size("support", 5001)
    assert switch.set_queue_max_size("support", 5000).max_size == 5000


def test_switch_is_a_context_manager(make_app: Any) -> None:
    from ivr.emulator import Switch

    with Switch(make_app(dict(ROUTES)).asgi, public_url="https://ivr.example.com") as switch:
        call = switch.dial("+8613800000001", to=LINE)
        assert call.prompt is not None
    with pytest.raises(RuntimeError):  # closed: its event loop and HTTP client are gone
        switch.dial("+8613800000002", to=LINE)
