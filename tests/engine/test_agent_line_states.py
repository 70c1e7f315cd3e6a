"""Agent states change in one place, by events; an event that does not apply changes nothing,
so a retried or late webhook is harmless."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.config.regions import RegionBook
from ivr.engine.agent_line import AgentEvent, AgentState, count_by_line, next_state, shown_state
from ivr.engine.line_state import Skills, Staffing
from tests.support.agents import T0

OFFLINE, AVAILABLE = AgentState.OFFLINE, AgentState.AVAILABLE
ON_CALL, WRAP_UP = AgentState.ON_CALL, AgentState.WRAP_UP


def test_a_shift_goes_through_every_state() -> None:
    state = OFFLINE
    path = []
    for event in (
        AgentEvent.LOGIN,
        AgentEvent.TAKE,
        AgentEvent.TALKED,
        AgentEvent.TAKE,
        AgentEvent.MISSED,
        AgentEvent.TAKE,
        AgentEvent.TALKED,
        AgentEvent.READY,
        AgentEvent.LOGOUT,
    ):
        after = next_state(state, event)
        assert after is not None, (state, event)
        path.append(after)
        state = after
    assert path == [
        AVAILABLE,
        ON_CALL,
        WRAP_UP,
        ON_CALL,
        AVAILABLE,
        ON_CALL,
        WRAP_UP,
        AVAILABLE,
        OFFLINE,
    ]


@pytest.mark.parametrize("event", [e for e in AgentEvent if e is not AgentEvent.LOGIN])
def test_only_a_login_brings_an_agent_back_from_offline(event: AgentEvent) -> None:
    # A Dial action arriving after the line's status callback must not revive the agent.
    assert next_state(OFFLINE, event) in (None, OFFLINE)


@pytest.mark.parametrize("event", [AgentEvent.TALKED, AgentEvent.MISSED, AgentEvent.READY])
def test_the_same_event_twice_changes_nothing_the_second_time(event: AgentEvent) -> None:
    first = next_state(ON_CALL if event is not AgentEvent.READY else WRAP_UP, event)
    assert first is not None
    assert next_state(first, event) is None


def test_wrap_up_is_shown_as_available_once_its_seconds_have_passed() -> None:
    until = T0 + timedelta(seconds=30)
    assert shown_state(WRAP_UP, until, T0) is WRAP_UP
    assert shown_state(WRAP_UP, until, until) is AVAILABLE
    assert shown_state(ON_CALL, None, T0) is ON_CALL


def test_a_line_is_staffed_by_an_agent_of_its_language_in_its_region() -> None:
    staffing = Staffing((Skills(("zh-CN", "en-US"), ("cn",)), Skills(("ja-JP",), ("*",))))
    assert staffing.serves("cn", "en-US")
    assert not staffing.serves("sg", "en-US")
    assert staffing.serves("jp", "ja-JP") and staffing.serves("us", "ja-JP")
    assert not Staffing(()).serves("cn", "zh-CN")


def test_the_wallboard_counts_agents_on_calls_and_available_per_line(book: RegionBook) -> None:
    li = Skills(("zh-CN", "en-US"), ("cn",))
    amy = Skills(("en-US",), ("cn", "jp"))
    counts = count_by_line([(li, ON_CALL), (amy, AVAILABLE), (amy, OFFLINE), (li, WRAP_UP)], book)
    assert counts == {
        ("cn", "zh-CN"): (1, 0),
        ("cn", "en-US"): (1, 1),
        ("jp", "en-US"): (0, 1),
    }
