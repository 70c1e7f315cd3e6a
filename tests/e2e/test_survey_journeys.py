"""The survey after the agent hangs up, end to end: an agent logged in on the agent line takes
the caller, hangs up, and the caller rates the call, stays silent, or leaves a comment; a
region that turns the survey off keeps the plain goodbye.

Runs on SQLite and PostgreSQL (the `line` fixture); the agent's hang-up ends the bridge on the
emulated switch, which posts the caller's <Enqueue> action with QueueResult=bridged and goes on
with the TwiML it answers, as Twilio does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ivr.config.regions import RegionBook
from ivr.emulator import Call, Switch, render_transcript
from ivr.engine.line_state import Skills
from tests.support.agent_line import (
    AGENT_LINE,
    AMY,
    LI,
    US_OPEN,
    add_agent,
    bridged,
    log_in,
    queued,
)
from tests.support.calls import CALLERS, LINES, Line, agent_twiml
from tests.support.docs import block

QUESTION = "Before you go, please rate this call. Press a number from 1 to 5, where 5 is the best."
OFFER = "To leave us a short comment, press 9."
GOODBYE = "Thank you for calling. Goodbye."


def amy_takes_a_us_caller(line: Line) -> tuple[Call, Call]:
    """Amy logs in, a US caller asks for an agent, Amy talks to them for a minute."""
    phone = line.phone
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(line.records, AMY, Skills(("en-US",), ("us",)), phone)
    amy = log_in(phone, AMY, at=US_OPEN)
    caller = queued(phone, CALLERS["us"], LINES["us"], ["1", "0"], "us-en-US")
    phone.run(20)
    assert bridged(amy, caller)
    phone.run(60)
    return amy, caller


def hangs_up(agent: Call, switch: Switch) -> None:
    """The agent hangs up mid-call; the switch runs on until the caller waits for an answer."""
    agent.hangup()
    switch.run()


def requested(call: Call) -> list[str]:
    """The URLs the switch requested for the call, in order."""
    return [str(e.to_json()["url"]) for e in call.events if e.type == "request"]


@pytest.mark.slow
def test_the_agent_hangs_up_and_the_caller_rates_the_call_4(line: Line) -> None:
    amy, caller = amy_takes_a_us_caller(line)
    hangs_up(amy, line.phone)
    assert not caller.ended
    assert caller.heard[-2:] == [QUESTION, OFFER]
    caller.press("4")
    assert caller.hears("Thank you for your rating.") and caller.hears(OFFER)
    caller.silence()  # no comment
    assert caller.ended and caller.heard[-1] == GOODBYE
    record = line.records.call(caller.sid)
    assert record is not None
    assert (record.queue_result, record.rating, record.agent) == ("bridged", 4, "amy")
    assert record.surveyed_at is not None and record.comment_url is None


@pytest.mark.slow
def test_a_caller_who_stays_silent_hears_goodbye_and_the_survey_counts_as_asked(
    line: Line,
) -> None:
    amy, caller = amy_takes_a_us_caller(line)
    hangs_up(amy, line.phone)
    assert caller.heard[-2:] == [QUESTION, OFFER]
    caller.silence()
    assert caller.ended and caller.turn == [GOODBYE]
    assert caller.events[-1].to_json()["type"] == "status"
    record = line.records.call(caller.sid)
    assert record is not None
    assert record.surveyed_at is not None and record.rating is None


@pytest.mark.slow
def test_a_caller_presses_9_and_leaves_a_comment_after_the_secrets_warning(line: Line) -> None:
    amy, caller = amy_takes_a_us_caller(line)
    hangs_up(amy, line.phone)
    caller.press("9")
    assert caller.hears(
        "Don't say your password, recovery phrase, private key, or any verification code."
    )
    assert caller.hears("After the tone, please tell us about your call in a few words.")
    caller.say("Amy was quick and kind, thank you.")
    assert caller.ended
    assert caller.turn == ["Thank you for your comment.", GOODBYE]
    recording = line.phone.recordings[-1]
    assert recording.call_sid == caller.sid
    record = line.records.call(caller.sid)
    assert record is not None
    assert record.comment_url == recording.url and record.rating is None
    assert record.surveyed_at is not None


@pytest.mark.slow
def test_a_wrong_key_is_said_once_and_a_rating_after_it_is_kept(line: Line) -> None:
    amy, caller = amy_takes_a_us_caller(line)
    hangs_up(amy, line.phone)
    caller.press("7")
    assert caller.turn == ["Sorry, that isn't one of the options.", QUESTION, OFFER]
    caller.press("5")
    caller.press("9")  # a comment after the rating
    assert caller.hears("After the tone, please tell us about your call in a few words.")
    caller.hangup()  # hanging up ends the recording; Twilio still posts it
    record = line.records.call(caller.sid)
    assert record is not None and record.rating == 5
    assert record.comment_url == line.phone.recordings[-1].url


@pytest.mark.slow
def test_a_mandarin_caller_is_asked_in_mandarin(line: Line) -> None:
    phone = line.phone
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(line.records, LI, Skills(("zh-CN",), ("cn",)), phone)
    li = log_in(phone, LI)
    caller = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(20)
    assert bridged(li, caller)
    phone.run(30)
    hangs_up(li, phone)
    assert caller.heard[-2:] == [
        "通话结束前，请您为本次服务评分。请按1到5之间的数字，5分表示非常满意。",
        "如需留下简短意见，请按9。",
    ]
    caller.press("3")
    assert caller.hears("感谢您的评分。")
    caller.silence()
    assert caller.ended and caller.heard[-1] == "感谢您的来电，再见。"
    record = line.records.call(caller.sid)
    assert record is not None and record.rating == 3


@pytest.mark.slow
def test_a_caller_who_hangs_up_on_the_agent_is_not_surveyed(line: Line) -> None:
    amy, caller = amy_takes_a_us_caller(line)
    caller.hangup()
    record = line.records.call(caller.sid)
    assert record is not None and record.queue_result == "bridged"
    assert record.surveyed_at is None
    hangs_up(amy, line.phone)


@pytest.mark.slow
def test_a_region_with_the_survey_off_keeps_the_plain_goodbye(line: Line, book: RegionBook) -> None:
    # What a reload of a regions.toml with `survey = false` for the US line does.
    services = line.app.state.services
    regions = {**book.regions, "us": replace(book.regions["us"], survey=False)}
    services.config = replace(services.config, regions=RegionBook(regions))
    amy, caller = amy_takes_a_us_caller(line)
    hangs_up(amy, line.phone)
    assert caller.ended and caller.heard[-1] == GOODBYE
    assert QUESTION not in caller.heard
    assert not any("/voice/survey" in url for url in requested(caller))
    record = line.records.call(caller.sid)
    assert record is not None and record.surveyed_at is None and record.rating is None


@pytest.mark.slow
def test_a_person_we_called_back_is_surveyed_on_the_callback_leg(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, LI, Skills(("zh-CN",), ("cn",)), phone)
    li = log_in(phone, LI)
    number = "+8613700001234"
    records.callbacks.book(
        "CA" + "c" * 32,
        number,
        "cn",
        "zh-CN",
        "password",
        "424242",
        phone.clock.now() - timedelta(minutes=10),
    )
    phone.callee(number, answers=["1"])  # picks up and presses 1 to talk
    assert line.dispatcher.run_once().placed != []
    phone.run(60)
    person = phone.last_call_to(number)
    assert bridged(li, person)
    phone.run(30)
    hangs_up(li, phone)
    assert person.heard[-2].startswith("通话结束前")
    person.press("5")
    assert person.hears("感谢您的评分。")
    # The survey's webhook knows the leg is a callback's, as the queue's webhooks do.
    [answered] = [url for url in requested(person) if "/voice/survey?" in url]
    assert "r=cn&l=zh-CN" in answered and "cb=" in answered
    person.silence()
    assert person.ended
    record = records.call(person.sid)
    assert record is not None and record.rating == 5 and record.surveyed_at is not None
    callback = records.callbacks.for_call("CA" + "c" * 32)
    assert callback is not None and callback.status == "done"


@pytest.mark.slow
def test_the_survey_of_docs_calls_md_is_what_the_caller_hears(line: Line) -> None:
    # An agent's phone taking the queue directly: the transcript does not depend on the
    # agent line's own timing.
    phone = line.phone
    caller = phone.dial(CALLERS["us"], LINES["us"], at=US_OPEN, answers=["1", "0"])
    assert caller.queue == "us-en-US"
    phone.dial_twiml(agent_twiml("us-en-US"), from_="client:amy", talk=60)
    phone.run()  # the agent has hung up; the caller hears the question
    caller.press("4")
    caller.press("9")
    caller.say("Amy sorted it out in two minutes. Thank you!")
    assert caller.ended
    transcript = render_transcript(caller.events)
    after_the_talk = transcript[transcript.index("\n", transcript.index("connected with")) + 1 :]
    shown = block("text", "# the survey").split("\n", 1)[1]
    assert after_the_talk + "\n" == shown
    record = line.records.call(caller.sid)
    assert record is not None and record.rating == 4
    assert record.comment_url == line.phone.recordings[-1].url
