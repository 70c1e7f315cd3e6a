"""What the agent keys after a call, pure: what it was about, among the region's codes
(regions.toml `dispositions`, keys 1-9; # or silence skips), read back, then the wrap-up and
the question of the next caller (ivr.engine.agent_line). The webhook keeping the code with the
call is in ivr.web.routes.agents."""

from __future__ import annotations

from collections.abc import Sequence

from ivr.config.regions import SKIPPED, Region
from ivr.engine.agent_line import CODE, MAX_TRIES, key_link, next_question
from ivr.engine.context import CallContext
from ivr.engine.phrases import Speaker
from ivr.engine.steps import Ask, Redirect, Step, step

SKIP_KEY = "#"  # no code for this call (kept as skipped)
CODE_SECONDS = 10  # the agent's time to key a code: silence skips it


def after_call(ctx: CallContext, language: str, region: Region) -> Step:
    """The conversation ended: the agent keys what it was about (1-9, # to skip)."""
    ended = step(Speaker(ctx, language).say("agent_line.call_ended"))
    return ended.then(disposition_question(ctx, language, region.id, region.dispositions))


def disposition_question(
    ctx: CallContext, language: str, region: str, codes: Sequence[str], tries: int = 0
) -> Step:
    """Ask for the code of the call just ended, the region's codes on keys 1-9."""
    speaker = Speaker(ctx, language)
    lines = [speaker.say("agent_line.disposition_ask")]
    for key, code in enumerate(codes, start=1):
        option = speaker.for_line("agent_line.disposition_option")
        name = option.text(f"agent_line.dispositions.{code}")
        press = option.key_name(str(key))
        lines.append(option.say("agent_line.disposition_option", name=name, key=press))
    lines.append(speaker.option("agent_line.disposition_skip", SKIP_KEY))
    link = key_link(CODE, tries=tries, region=region)
    ask = Ask(tuple(lines), link, input="dtmf", timeout=CODE_SECONDS, action_on_empty_result=True)
    return step(ask, Redirect(link))


def disposition_keyed(digits: str, codes: Sequence[str]) -> str | None:
    """The code `digits` names: one of `codes`, SKIPPED for # or silence, None for any other
    key (asked again)."""
    if digits in ("", SKIP_KEY):
        return SKIPPED
    if len(digits) == 1 and digits.isdigit() and 1 <= int(digits) <= len(codes):
        return codes[int(digits) - 1]
    return None


def disposition_kept(ctx: CallContext, language: str, code: str, wrap_up: int) -> Step:
    """The code read back (or that none was kept), the wrap-up, then the next caller."""
    speaker = Speaker(ctx, language)
    if code == SKIPPED:
        lines = [speaker.say("agent_line.disposition_skipped")]
    else:
        name = speaker.text(f"agent_line.dispositions.{code}")
        lines = [speaker.say("agent_line.disposition_kept", name=name)]
    if wrap_up > 0:
        lines.append(speaker.say("agent_line.wrap_up", seconds=wrap_up))
    return step(lines).then(next_question(ctx, language, timeout=max(wrap_up, 5)))


def disposition_missed(
    ctx: CallContext, language: str, region: Region, tries: int, wrap_up: int
) -> Step:
    """A key that is no code: sorry and asked again; after MAX_TRIES none is kept."""
    if tries + 1 >= MAX_TRIES:
        return disposition_kept(ctx, language, SKIPPED, wrap_up)
    sorry = step(Speaker(ctx, language).say("common.sorry_invalid"))
    again = disposition_question(ctx, language, region.id, region.dispositions, tries + 1)
    return sorry.then(again)
