"""What every path may end with: when agents are back, the other channels, goodbye."""

from __future__ import annotations

from ivr.config.hours import is_open
from ivr.engine.context import CallContext
from ivr.engine.phrases import Speaker
from ivr.engine.steps import Hangup, Say, Step, step


def agents_open(ctx: CallContext) -> bool:
    return is_open(ctx.region.opening, ctx.now)


def when_back(ctx: CallContext, language: str) -> Say:
    """Agents are not available: when they are back, in the caller's time when known."""
    speaker = Speaker(ctx, language)
    announcing = speaker.for_line("agent.closed")
    when = announcing.next_opening()
    return announcing.say("agent.closed", when=when) if when else speaker.say("agent.closed_long")


def channel_lines(ctx: CallContext, language: str) -> list[Say]:
    speaker = Speaker(ctx, language)
    email = speaker.say(
        "channels.email", email=ctx.region.email, hours=ctx.region.email_reply_hours
    )
    return [speaker.say("channels.title"), speaker.say("channels.chat"), email]


def goodbye(ctx: CallContext, language: str) -> Step:
    return step(Speaker(ctx, language).say("common.goodbye"), Hangup())
