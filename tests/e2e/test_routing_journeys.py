"""Which agent gets the caller, end to end: the agent idle the longest, a level-5 speaker of
the caller's language before a level-2 one, and the chosen agent woken at once through Twilio's
REST API (the real twilio client against the emulator's Calls resource), falling back to the
next agent when Twilio refuses. Runs on SQLite and PostgreSQL (the `line` fixture)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from ivr.emulator import Call
from ivr.engine.agent_line import AgentState
from ivr.engine.line_state import Skills
from ivr.store.agents import AgentStore
from ivr.web.waking import AgentWaker
from tests.support.agent_line import (
    AGENT_LINE,
    AMY,
    BOB,
    LI,
    US_OPEN,
    Agent,
    add_agent,
    bridged,
    log_in,
    queued,
)
from tests.support.calls import CALLERS, LINES, Line

WANG: Agent = ("wang", "+8613900002222", "864209")
US_CALLER = "+12025550177"


def woken(agent: Call) -> list[str]:
    """The URLs Twilio moved the agent's call to through the Calls API."""
    return [
        e.to_json()["url"]
        for e in agent.events
        if e.type == "redirect" and "offer" in e.to_json()["url"]
    ]


def start(line: Line) -> None:
    line.phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")


def amy_then_bob(line: Line) -> tuple[Call, Call]:
    """Amy and Bob take US English callers; Amy has waited a minute when Bob logs in."""
    start(line)
    english = Skills(("en-US",), ("us",))
    add_agent(line.records, AMY, english, line.phone)
    add_agent(line.records, BOB, english, line.phone)
    amy = log_in_in_us_hours(line, AMY)
    line.phone.run(60)
    return amy, log_in_in_us_hours(line, BOB)


def log_in_in_us_hours(line: Line, who: Agent) -> Call:
    """`who` logs in; the first call of a test starts at US_OPEN (10:00 in Washington)."""
    _, number, pin = who
    open_ = datetime.fromisoformat(US_OPEN)
    at = open_ if line.phone.clock.now() < open_ else None
    return line.phone.dial(number, AGENT_LINE, at=at, answers=[pin + "#"])


@pytest.mark.slow
def test_the_agent_idle_longest_is_woken_for_the_caller_at_once(line: Line) -> None:
    phone = line.phone
    amy, bob = amy_then_bob(line)
    caller = queued(phone, US_CALLER, LINES["us"], ["1", "0"], "us-en-US")
    # Amy's own check came while the caller heard "please hold", before Twilio enqueued them:
    # it left them alone; then the wake, once they were in the queue, brought her to them.
    phone.run(12)  # less than an idle check (15 s): only a wake can have done it
    assert bridged(amy, caller) and not bridged(bob, caller)
    assert "That caller is no longer waiting." not in amy.heard
    assert len(woken(amy)) == 1 and woken(bob) == []
    record = line.records.call(caller.sid)
    assert record is not None and record.agent is None  # marked once the Dial ends
    caller.hangup()
    phone.run(5)
    assert line.records.call(caller.sid).agent == "amy"  # type: ignore[union-attr]
    for call in (amy, bob):
        call.hangup()


@pytest.mark.slow
def test_a_level_five_speaker_is_preferred_to_a_level_two_one_idle_longer(line: Line) -> None:
    phone = line.phone
    start(line)
    add_agent(line.records, LI, Skills(("zh-CN", "en-US"), ("cn",), (("zh-CN", 2),)), phone)
    add_agent(line.records, WANG, Skills(("zh-CN",), ("cn",), (("zh-CN", 5),)), phone)
    li = log_in(phone, LI)
    phone.run(60)
    wang = log_in(phone, WANG)
    caller = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(12)
    assert bridged(wang, caller) and not bridged(li, caller)
    # An English caller of the same line: only Li speaks English, and Li is woken.
    english = queued(phone, "+8613812345679", LINES["cn"], ["2", "0"], "cn-en-US")
    phone.run(12)
    assert bridged(li, english)
    for call in (caller, english, li, wang):
        call.hangup()


@pytest.mark.slow
def test_an_agent_twilio_cannot_reach_is_logged_out_and_the_next_one_woken(line: Line) -> None:
    phone = line.phone
    start(line)
    english = Skills(("en-US",), ("us",))
    add_agent(line.records, AMY, english, phone)
    add_agent(line.records, BOB, english, phone)
    agents = AgentStore(line.records.engine)
    # Amy's agent line ended without its status callback reaching us: our records still
    # have her waiting, idle the longest, on a call Twilio no longer has.
    gone = "CA" + "d" * 32
    phone.clock.set(datetime.fromisoformat(US_OPEN))
    assert agents.log_in("amy", gone, phone.clock.now()) is not None
    phone.run(60)
    bob = log_in_in_us_hours(line, BOB)
    caller = queued(phone, US_CALLER, LINES["us"], ["1", "0"], "us-en-US")
    phone.run(12)
    assert bridged(bob, caller)
    amy = agents.get("amy")
    assert amy is not None and amy.state is AgentState.OFFLINE
    caller.hangup()
    bob.hangup()


@pytest.mark.slow
def test_when_twilio_refuses_a_wake_agents_take_callers_by_their_own_checks(line: Line) -> None:
    services = line.app.state.services
    waker = services.waker
    wrong = waker.settings.model_copy(update={"twilio_auth_token": SecretStr("not-the-token")})
    services.waker = refusing = AgentWaker(wrong)  # Twilio answers 401 (20003)
    refused = {"result": "refused"}
    before = REGISTRY.get_sample_value("ivr_agent_wakes_total", refused) or 0
    phone = line.phone
    amy, bob = amy_then_bob(line)
    caller = queued(phone, US_CALLER, LINES["us"], ["1", "0"], "us-en-US")
    assert not refusing.ready()  # one refusal, and waking rests
    phone.run(20)  # one round of checks: whoever checks first takes the caller
    assert bridged(amy, caller) or bridged(bob, caller)
    assert woken(amy) == [] and woken(bob) == []
    assert REGISTRY.get_sample_value("ivr_agent_wakes_total", refused) == before + 1
    for call in (caller, amy, bob):
        call.hangup()


@pytest.mark.slow
def test_a_slow_wake_is_awaited_and_cuts_nothing(line: Line) -> None:
    """Twilio carries out the wake 12 s after answering it: Amy's own check in that time
    takes nobody (the wake would cut it off) and Bob leaves her the caller."""
    phone = line.phone
    amy, bob = amy_then_bob(line)
    phone.limits = replace(phone.limits, update_seconds=12)
    caller = queued(phone, US_CALLER, LINES["us"], ["1", "0"], "us-en-US")
    enqueued = next(e.at for e in caller.events if e.type == "enqueue")
    phone.run(40)
    assert bridged(amy, caller) and not bridged(bob, caller)
    checks = [e.at for e in amy.events if e.type == "request" and "m=idle" in e.to_json()["url"]]
    assert any(enqueued < at < enqueued + timedelta(seconds=12) for at in checks)
    (moved,) = [e.at for e in amy.events if e.type == "redirect" and "offer" in e.to_json()["url"]]
    assert moved == enqueued + timedelta(seconds=12)
    assert "That caller is no longer waiting." not in amy.heard
    for call in (caller, amy, bob):
        call.hangup()
