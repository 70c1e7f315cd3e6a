"""What an agent hears on the agent line, pure: the PIN, the whisper, the Dial, after a call,
while nobody waits. Rendered TwiML is read back as XML."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from ivr.config.flows import FlowBook
from ivr.config.languages import LANGUAGES
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.engine import agent_line
from ivr.engine.agent_line import IDLE_ROUNDS, MAX_PIN_TRIES, agent_queues, plausible_pin
from ivr.engine.line_state import Skills
from ivr.engine.steps import Ask, DialQueue, Enqueue, Hangup
from ivr.web.twiml import render
from tests.support.agents import MANDARIN_AND_ENGLISH, WaitingFactory
from tests.support.contexts import ContextFactory
from tests.support.spoken import said

AGENT_LINE = "+12025550199"


def test_the_pin_is_asked_in_the_language_of_the_callers_number(
    make_context: ContextFactory,
) -> None:
    chinese = make_context(from_="+8613900001111", to=AGENT_LINE)
    step = agent_line.pin_prompt(chinese, chinese.region.default_language)
    assert said(step) == ["坐席专线。请输入您的PIN码，以井号键结束。"]
    ask = step.actions[0]
    assert isinstance(ask, Ask) and ask.input == "dtmf" and ask.finish_on_key == "#"
    assert ask.num_digits is None and ask.action_on_empty_result
    assert ask.then.path == "/voice/agent/pin"
    # The PIN travels in the form body (Digits), never in a URL that logs could show.
    assert all("Digits" not in value for _, value in ask.then.params)


def test_a_wrong_pin_is_asked_again_and_the_third_ends_the_call(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE, at="2026-03-02T10:00-05:00")
    again = agent_line.pin_refused(ctx, "en-US", 0)
    assert said(again) == [
        "That PIN isn't right.",
        "Agent line. Enter your PIN, then press the pound key.",
    ]
    ask = again.actions[1]
    assert isinstance(ask, Ask) and ask.then.params == (("t", "1"),)
    last = agent_line.pin_refused(ctx, "en-US", MAX_PIN_TRIES - 1)
    assert said(last) == ["Too many wrong attempts. Goodbye."]
    assert isinstance(last.actions[-1], Hangup)


@pytest.mark.parametrize(
    ("digits", "plausible"),
    [("135792", True), ("123456789012", True), ("12345", False), ("1234567890123", False)]
    + [("12345a", False), ("١٢٣٤٥٦", False), ("", False)],
)
def test_a_pin_is_six_to_twelve_keyed_digits(digits: str, plausible: bool) -> None:
    assert plausible_pin(digits) is plausible


def test_the_whisper_tells_region_language_reason_reference_and_wait(
    make_context: ContextFactory, book: RegionBook, waiting: WaitingFactory
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    queues = agent_queues(Skills(("en-US",), ("cn",)), book)
    caller = waiting("cn-en-US-priority", minutes=3.5, reason="pending", reference="202603021234")
    caller = replace(caller, queued_at=ctx.now - timedelta(minutes=3.5))
    lines = [say.text for say in agent_line.whisper(ctx, "en-US", caller, queues[caller.queue])]
    assert lines == [
        "Next caller: Mainland China, speaking American English.",
        "Priority: a pending transaction to cancel or change.",
        "Transaction reference: 2 0 2 6, 0 3 0 2, 1 2 3 4.",
        "Waiting 3 minutes.",
    ]


def test_a_whisper_in_mandarin_names_a_callback_and_a_cantonese_caller(
    make_context: ContextFactory, book: RegionBook, waiting: WaitingFactory
) -> None:
    ctx = make_context(from_="+8613900001111", to=AGENT_LINE)
    queues = agent_queues(Skills(("zh-CN", "en-GB"), ("hk",)), book)
    # A Cantonese caller in Hong Kong's English queue (its overflow), called back.
    caller = waiting("hk-en-GB-callback", minutes=0.5, language="yue-HK", reason="password")
    caller = replace(caller, queued_at=ctx.now - timedelta(minutes=1))
    lines = [say.text for say in agent_line.whisper(ctx, "zh-CN", caller, queues[caller.queue])]
    assert lines == [
        "下一位来电：Hong Kong and Macau，使用粤语。",
        "这是我们回拨的电话。",
        "来电事由：忘记密码。",
        "已等待1分钟。",
    ]


def test_taking_a_caller_is_the_whisper_then_a_short_dial_into_their_queue(
    make_context: ContextFactory, book: RegionBook, waiting: WaitingFactory
) -> None:
    ctx = make_context(from_="+8613900001111", to=AGENT_LINE)
    queues = agent_queues(MANDARIN_AND_ENGLISH, book)
    caller = waiting("cn-zh-CN", minutes=1)
    step = agent_line.take_caller(ctx, "zh-CN", caller, queues["cn-zh-CN"], choices=1)
    dial = step.actions[-1]
    assert isinstance(dial, DialQueue) and dial.timeout == agent_line.DIAL_TIMEOUT
    assert not any(isinstance(action, Enqueue) for action in step.actions)
    document = ElementTree.fromstring(render(step))
    element = document.find("Dial")
    assert element is not None
    assert element.get("action") == f"/voice/agent/dialed?q=cn-zh-CN&c={caller.call_sid}&n=1"
    assert element.get("timeout") == "5" and element.get("hangupOnStar") == "true"
    queue = element.find("Queue")
    assert queue is not None and queue.text == "cn-zh-CN"
    # The <Queue url> runs on the caller's leg: their own "connecting you" notice.
    assert queue.get("url") == "/voice/queue/connect"


def test_an_agent_who_does_not_answer_after_a_call_is_logged_out(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    first = agent_line.next_missed(ctx, "en-US", 0, "")
    assert said(first) == [
        "No key was pressed.",
        "For the next caller, press 1. To log out, hang up.",
    ]
    assert (
        said(agent_line.next_missed(ctx, "en-US", 1, "7"))[0]
        == "Sorry, that isn't one of the options."
    )
    last = agent_line.next_missed(ctx, "en-US", 2, "")
    assert said(last) == ["Logging you out. Goodbye."] and isinstance(last.actions[-1], Hangup)


def test_while_nobody_waits_the_line_checks_again_quietly_then_asks(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    assert said(agent_line.nobody_waiting(ctx, "en-US")) == [
        "Nobody is waiting right now.",
        "We'll keep checking. To check now, press 1. To log out, hang up.",
    ]
    quiet = agent_line.nobody_waiting(ctx, "en-US", 3)
    ask = quiet.actions[0]
    assert said(quiet) == [] and isinstance(ask, Ask) and ask.timeout == agent_line.IDLE_SECONDS
    assert ask.then.params == (("m", "idle"), ("i", "3"))
    assert said(agent_line.nobody_waiting(ctx, "en-US", IDLE_ROUNDS))[0] == "Are you still there?"


def test_every_language_names_every_language_and_reason(
    catalogue: Catalogue, flows: FlowBook
) -> None:
    """Every node of the sample flow a caller can ask for a person from, and "main menu" and
    "no topic", has its line in the whisper, in every language."""
    reasons = [node.id for node in flows.default.nodes.values() if node.kind != "ways"]
    for language in catalogue.languages:
        for named in LANGUAGES:
            assert catalogue.line(language, f"agent_line.languages.{named}", language).text
        for reason in [*reasons, "menu"]:
            line = catalogue.line(language, f"agent_line.reasons.{reason}", language)
            assert line.language == language


def test_a_reason_with_a_whisper_line_only_in_another_language_is_left_out(
    make_context: ContextFactory, book: RegionBook, waiting: WaitingFactory
) -> None:
    """A flow node an operator added, whose whisper line exists in Japanese only: an English
    whisper says nothing about it rather than fail."""
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    entries = {lang: dict(keys) for lang, keys in ctx.prompts.entries.items()}
    entries["ja-JP"]["agent_line.reasons.card_frozen"] = entries["ja-JP"]["agent_line.reasons.tx"]
    ctx = replace(ctx, prompts=Catalogue(entries))
    queues = agent_queues(Skills(("en-US",), ("cn",)), book)
    caller = waiting("cn-en-US", minutes=1, reason="card_frozen")
    lines = [say.text for say in agent_line.whisper(ctx, "en-US", caller, queues[caller.queue])]
    assert lines[0] == "Next caller: Mainland China, speaking American English."
    assert len(lines) == 2 and lines[1].startswith("Waiting")
