"""What the person we call back hears: who is calling, the code they were given, why, and
the choice to talk now or cancel. Pure; the dispatcher places the call, the edge stores.

An answering machine cannot press 1, so only a person joins the callback queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.engine.context import CallContext
from ivr.engine.handoff import enqueue
from ivr.engine.phrases import Speaker
from ivr.engine.steps import (
    CALLBACK_ANSWER,
    CALLBACK_KEY,
    Ask,
    CallbackUpdate,
    Hangup,
    Link,
    Redirect,
    Step,
    step,
)
from ivr.engine.ways import other_channels

TALK, CANCEL = "1", "9"
# In the callback queue's webhook URLs: which callback the caller on this leg is.
CALLBACK_MARK = "cb"
GREETINGS = 2  # the greeting is said at most twice before we try again later


@dataclass(frozen=True)
class PlacedCallback:
    """The callback this call was placed for, as the store holds it."""

    id: int
    code: str
    region: str | None  # None: unknown callback (or the database was away)
    language: str
    reason: str | None
    reference: str | None
    open: bool  # still pending, dialing or queued (not done, cancelled or expired)
    last_attempt: bool = False  # no further call will be placed


def greeting(ctx: CallContext, callback: PlacedCallback, said: int) -> Step:
    """Said when the callee answers; `said`: how often it was said already on this call."""
    speaker = Speaker(ctx, ctx.region.language_or_default(callback.language))
    if not callback.open:
        return step(speaker.say("callback.not_needed"), Hangup())
    if said >= GREETINGS:
        if callback.last_attempt:  # no promise we would not keep
            return other_channels(ctx, speaker.language, None)
        return step(speaker.say("callback.try_later"), Hangup())
    hello = (
        speaker.say("callback.hello", company=ctx.company)
        if ctx.company
        else speaker.say("callback.hello_generic")
    )
    code = speaker.for_line("callback.your_code")
    lines = [hello, code.say("callback.your_code", code=code.code(callback.code))]
    # Why they called, as the flow words it for the node they asked from.
    asked_from = ctx.flow.nodes.get(callback.reason or "")
    topic = asked_from.topic if asked_from is not None else None
    if topic:
        lines.append(speaker.say(topic))
    lines += [speaker.option("callback.connect", TALK), speaker.option("callback.cancel", CANCEL)]
    ask = Ask(tuple(lines), _link(CALLBACK_KEY, callback, said), input="dtmf", timeout=6)
    return step(ask, Redirect(_link(CALLBACK_ANSWER, callback, said + 1)))


def answer(ctx: CallContext, callback: PlacedCallback, digits: str, said: int) -> Step:
    """The callee's key: talk now (the callback queue), cancel, or hear the greeting again."""
    speaker = Speaker(ctx, ctx.region.language_or_default(callback.language))
    if not callback.open:
        return greeting(ctx, callback, said)
    if digits == TALK:
        language = speaker.language
        queued = step(effects=(CallbackUpdate(callback.id, "queued"),))
        return queued.then(
            enqueue(
                ctx,
                language,
                callback.reason or "menu",
                callback.reference,
                queue=ctx.region.callback_queue_name(language),
                marks=((CALLBACK_MARK, str(callback.id)),),
            )
        )
    if digits == CANCEL:
        cancelled = CallbackUpdate(callback.id, "cancelled")
        return step(speaker.say("callback.cancelled"), Hangup(), effects=(cancelled,))
    return greeting(ctx, callback, said + 1)


def not_connected(ctx: CallContext, language: str, called_again: bool) -> Step:
    """The person we called back left the callback queue without an agent."""
    speaker = Speaker(ctx, ctx.region.language_or_default(language))
    if called_again:
        return step(speaker.say("callback.again"), Hangup())
    return other_channels(ctx, speaker.language, speaker.say("queue.trouble"))


def _link(path: str, callback: PlacedCallback, said: int) -> Link:
    return Link(path, (("cb", str(callback.id)), ("s", str(said))))
