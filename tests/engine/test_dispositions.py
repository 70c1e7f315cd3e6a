"""What the agent keys after a call: the region's codes offered, a code read back, a wrong
key asked again, and none kept after the third."""

from __future__ import annotations

from dataclasses import replace

from ivr.config.regions import RegionBook
from ivr.engine import dispositions
from ivr.engine.agent_line import MAX_TRIES
from ivr.engine.steps import Ask, Redirect
from tests.support.contexts import ContextFactory
from tests.support.spoken import said

AGENT_LINE = "+12025550199"


def test_after_a_call_the_agent_is_asked_for_the_regions_codes(
    make_context: ContextFactory, book: RegionBook
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    step = dispositions.after_call(ctx, "en-US", book.regions["us"])
    assert said(step) == [
        "The call has ended.",
        "Key the code for this call.",
        "password reset done: press 1.",
        "security case opened: press 2.",
        "transaction traced: press 3.",
        "pending transaction cancelled: press 4.",
        "follow-up needed: press 5.",
        "other: press 6.",
        "To skip, press the pound key.",
    ]
    ask = next(a for a in step.actions if isinstance(a, Ask))
    assert ask.num_digits == 1 and ask.timeout == dispositions.CODE_SECONDS
    assert ask.then.params == (("m", "code"), ("r", "us"))
    assert isinstance(step.actions[-1], Redirect)


def test_a_region_lists_its_own_codes(make_context: ContextFactory, book: RegionBook) -> None:
    region = replace(book.regions["us"], dispositions=("follow_up", "other"))
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    assert said(dispositions.after_call(ctx, "en-US", region))[2:] == [
        "follow-up needed: press 1.",
        "other: press 2.",
        "To skip, press the pound key.",
    ]
    assert dispositions.disposition_keyed("2", region.dispositions) == "other"
    assert dispositions.disposition_keyed("3", region.dispositions) is None
    assert dispositions.disposition_keyed("#", region.dispositions) == "skipped"
    assert dispositions.disposition_keyed("", region.dispositions) == "skipped"


def test_a_code_is_read_back_then_the_wrap_up_seconds_pass_before_the_question(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    step = dispositions.disposition_kept(ctx, "en-US", "security_case", 45)
    assert said(step) == [
        "Recorded: security case opened.",
        "You have 45 seconds to wrap up.",
        "For the next caller, press 1. To log out, hang up.",
    ]
    ask = next(a for a in step.actions if isinstance(a, Ask))
    assert ask.timeout == 45 and ask.then.params == (("m", "after"),)
    skipped = dispositions.disposition_kept(ctx, "zh-CN", "skipped", 0)
    assert said(skipped)[0] == "本次通话未记录小结。"


def test_a_key_that_is_no_code_is_asked_again_then_none_is_kept(
    make_context: ContextFactory, book: RegionBook
) -> None:
    ctx = make_context(from_="+12025550123", to=AGENT_LINE)
    region = book.regions["us"]
    again = dispositions.disposition_missed(ctx, "en-US", region, 0, 30)
    assert said(again)[:2] == [
        "Sorry, that isn't one of the options.",
        "Key the code for this call.",
    ]
    ask = next(a for a in again.actions if isinstance(a, Ask))
    assert ask.then.params == (("m", "code"), ("r", "us"), ("t", "1"))
    last = dispositions.disposition_missed(ctx, "en-US", region, MAX_TRIES - 1, 30)
    assert said(last)[0] == "No code recorded."
