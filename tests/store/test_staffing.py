"""Staffing: a caller is not queued in a language no logged-in agent speaks; they get the
region's overflow queue, or the other ways (callback, voice message, channels). Only once
agents are set up: without any, callers queue as before. Pure, through the menu engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ivr.config.regions import load_regions
from ivr.config.tomlfile import ConfigError
from ivr.engine.context import CallContext
from ivr.engine.handoff import answer_reference, staffed_queue
from ivr.engine.line_state import Skills, Staffing
from ivr.engine.menu import respond
from ivr.engine.questions import Heard
from ivr.engine.state import MenuState, Node
from ivr.engine.steps import Ask, Enqueue, QueueEntry, Say, Step
from tests.support.contexts import ContextFactory

NOBODY = Staffing(())
TOKYO, TOKYO_LINE = "+819012345678", "+81345678901"
HONG_KONG, HONG_KONG_LINE = "+85291234567", "+85221234567"


def queue_of(step: Step) -> str | None:
    return next((a.queue for a in step.actions if isinstance(a, Enqueue)), None)


def said(step: Step) -> list[str]:
    lines = [a.text for a in step.actions if isinstance(a, Say)]
    for ask in (a for a in step.actions if isinstance(a, Ask)):
        lines += [p.text for p in ask.prompts if isinstance(p, Say)]
    return lines


def ask_agent(ctx: CallContext, language: str, node: Node = "main") -> Step:
    return respond(ctx, MenuState(node, ctx.region.id, language), Heard("0"))


@pytest.fixture
def tokyo(make_context: ContextFactory) -> CallContext:
    return make_context(from_=TOKYO, to=TOKYO_LINE, at="2026-03-02T10:00+09:00")


def test_without_agents_set_up_callers_queue_as_they_always_did(tokyo: CallContext) -> None:
    assert tokyo.staffing is None
    assert queue_of(ask_agent(tokyo, "ja-JP")) == "jp-ja-JP"


def test_a_caller_queues_while_an_agent_for_their_language_is_logged_in(
    tokyo: CallContext,
) -> None:
    staffed = replace(tokyo, staffing=Staffing((Skills(("ja-JP",), ("jp",)),)))
    step = ask_agent(staffed, "ja-JP")
    assert queue_of(step) == "jp-ja-JP"
    assert any(isinstance(effect, QueueEntry) for effect in step.effects)


def test_nobody_for_their_language_means_a_callback_offer_not_an_endless_wait(
    tokyo: CallContext,
) -> None:
    # Agents are logged in, but for English only.
    english_only = replace(tokyo, staffing=Staffing((Skills(("en-US",), ("jp",)),)))
    step = ask_agent(english_only, "ja-JP")
    assert queue_of(step) is None and step.effects == ()
    assert said(step)[0] == (
        "申し訳ございません。ただいま、ご希望の言語に対応できるオペレーターがおりません。"
    )
    assert (
        "オペレーターの手が空き次第、折り返しお電話いたします。ご希望の方は、1を押すか、折り返し、とお話しください。"
        in said(step)
    )
    ask = next(a for a in step.actions if isinstance(a, Ask))
    assert ask.then.params[0] == ("n", "ways")
    assert queue_of(ask_agent(english_only, "en-US")) == "jp-en-US"


def test_a_pending_transaction_without_an_agent_is_not_asked_for_its_reference(
    tokyo: CallContext,
) -> None:
    step = ask_agent(replace(tokyo, staffing=NOBODY), "en-US", "pending")
    assert not any("reference" in line for line in said(step))
    assert said(step)[0].startswith("We're sorry. Right now, none of our agents")


def test_an_agent_who_logs_out_during_the_reference_leaves_the_caller_other_ways(
    tokyo: CallContext,
) -> None:
    confirming = MenuState(Node.CONFIRM, "jp", "en-US", reason="pending", digits="20260302")
    step = answer_reference(replace(tokyo, staffing=NOBODY), confirming, "1")
    assert queue_of(step) is None
    assert "Thank you. Your agent will see it." in said(step)
    assert any(line.startswith("We're sorry. Right now, none") for line in said(step))


def test_a_region_overflow_takes_callers_of_an_unstaffed_language(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(from_=HONG_KONG, to=HONG_KONG_LINE, at="2026-03-02T10:00+08:00")
    assert ctx.region.overflow == ("hk", "en-GB")
    english = replace(ctx, staffing=Staffing((Skills(("en-GB",), ("hk",)),)))
    step = ask_agent(english, "yue-HK")
    assert queue_of(step) == "hk-en-GB"
    assert said(step)[0] == "而家識講你所揀語言嘅客服主任都唔得閒，會由講英式英文嘅客服主任幫你。"
    mandarin = ask_agent(english, "zh-CN")
    assert queue_of(mandarin) == "hk-en-GB"
    assert (
        said(mandarin)[0]
        == "目前没有会说您所选语言的客服人员在线，将由使用英式英语的客服人员为您服务。"
    )
    assert staffed_queue(english, "yue-HK", "pending") == "hk-en-GB-priority"
    # The overflow's own language is staffed nowhere: the other ways.
    assert staffed_queue(replace(ctx, staffing=NOBODY), "yue-HK", "main") is None


GOOD = """\
[regions.jp]
name = "Japan"
countries = ["JP"]
timezone = "Asia/Tokyo"
languages = ["ja-JP", "en-US"]
email = "support-jp@example.com"
chat_url = "https://help.example.com/chat"
overflow = "{overflow}"
wrap_up = 45

[regions.global]
name = "International"
timezone = "UTC"
languages = ["en-US"]
email = "support@example.com"
chat_url = "https://help.example.com/chat"
"""


def test_an_overflow_names_a_queue_of_the_file(tmp_path: Path) -> None:
    file = tmp_path / "regions.toml"
    file.write_text(GOOD.format(overflow="global-en-US"), encoding="utf-8")
    region = load_regions(file).regions["jp"]
    assert region.overflow == ("global", "en-US") and region.wrap_up == 45
    assert region.overflow_queue(priority=True) == "global-en-US-priority"


@pytest.mark.parametrize("overflow", ["global-ja-JP", "jp", "kr-ko-KR", "jp-en-US-priority"])
def test_an_overflow_that_is_no_queue_is_refused_with_its_line(
    tmp_path: Path, overflow: str
) -> None:
    file = tmp_path / "regions.toml"
    file.write_text(GOOD.format(overflow=overflow), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_regions(file)
    problems = [str(problem) for problem in refused.value.problems]
    assert problems == [
        f"{file}:8: regions.jp.overflow: {overflow!r} is not a queue of this file; use "
        "<region>-<language> of a region that offers that language, e.g. 'gb-en-GB'"
    ]
