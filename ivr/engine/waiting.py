"""While a caller waits in a Twilio queue: position, reminders, a way out, and how it ended.

Twilio fetches the wait URL again each time its document runs out, so one document lasts
about one announcement interval. Only Play, Say, Pause, Gather, Redirect, Leave and Hangup
may appear in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from ivr.engine.announcements import QueueMode, queue_mode
from ivr.engine.closing import agents_open, when_back
from ivr.engine.context import CallContext, HoldMusic
from ivr.engine.phrases import Speaker
from ivr.engine.state import CallPlace, Node
from ivr.engine.steps import QUEUE_KEY, Ask, Hangup, Leave, Pause, Play, Prompt, Step, step
from ivr.engine.ways import other_ways

LEAVE_KEY = "1"
# A safety reminder on every third announcement: often enough to be heard, not to annoy.
REMINDER_EVERY = 3
BRIDGED = frozenset({"bridged", "bridging-in-process", "redirected-from-bridged"})
# An estimate needs some history: with fewer answered callers in the last hour, the position
# alone is said. Estimates are said as a time box, never as a promise to the minute.
MIN_HISTORY = 3
TIME_BOXES = (2, 5, 10, 15, 30)


@dataclass(frozen=True)
class QueueStatus:
    """Twilio's wait-URL parameters: QueuePosition, QueueTime (seconds), CurrentQueueSize;
    and from our records, how long callers of this queue waited for an agent in the last hour."""

    position: int
    waited: int
    size: int = 0
    answer_times: tuple[int, ...] = ()


def estimated_wait(status: QueueStatus) -> tuple[str, int] | None:
    """("queue.estimate_under", minutes) or ("queue.estimate_over", minutes), or None.

    Agents answered n callers in the last hour, about one every 3600/n seconds, so the caller
    at position p waits about p * 3600/n; and no less than the typical answer time minus what
    they already waited."""
    answered = len(status.answer_times)
    if answered < MIN_HISTORY:
        return None
    by_pace = max(status.position, 1) * 3600 / answered
    by_history = median(status.answer_times) - status.waited
    remaining = max(by_pace, by_history)
    for minutes in TIME_BOXES:
        if remaining <= minutes * 60:
            return ("queue.estimate_under", minutes)
    return ("queue.estimate_over", TIME_BOXES[-1])


def queue_wait(
    ctx: CallContext, place: CallPlace | None, status: QueueStatus, may_leave: bool = True
) -> Step:
    """One announcement and hold. `may_leave` False: no way out is offered (a caller we
    called back waits in the callback queue, which agents take first)."""
    place = fitting(ctx, place)
    speaker = Speaker(ctx, place.language)
    settings = ctx.region.queue
    if not agents_open(ctx):
        # Agents have gone home: nobody will take this caller, so say when they are back.
        return step(when_back(ctx, place.language), Leave())
    if queue_mode(ctx, place.language) is QueueMode.CLOSED:
        # An operator closed the queue: the caller leaves for the other ways (queue_result).
        return step(speaker.say("incident.closed"), Leave())
    if status.waited >= settings.max_wait:
        return step(speaker.say("queue.max_wait"), Leave())
    announcement = status.waited // settings.announce_every
    lines: list[Prompt] = []
    if announcement > 0:
        lines.append(speaker.say("queue.busy"))
    if status.position <= 1:
        lines.append(speaker.say("queue.next"))
    else:
        lines.append(speaker.say("queue.position", position=status.position))
    estimate = estimated_wait(status)
    if estimate is not None:
        key, minutes = estimate
        lines.append(speaker.say(key, minutes=minutes))
    if announcement % REMINDER_EVERY == 1:
        lines.append(speaker.say("queue.reminder"))
    # Hold no longer than the time left before the maximum wait, which the next poll enforces.
    seconds = max(1, min(settings.announce_every, settings.max_wait - status.waited))
    hold = on_hold(ctx.hold_music, seconds)
    if status.waited < settings.leave_offer_after or not may_leave:
        return step(lines, *hold)
    lines.append(speaker.option("queue.leave_offer", LEAVE_KEY))
    # Keys work during the hold too; with none, the document ends and Twilio polls again.
    ask = Ask((*lines, *hold), place.link(QUEUE_KEY), input="dtmf", timeout=1)
    return step(ask)


def on_hold(music: HoldMusic | None, seconds: int) -> list[Prompt]:
    """`seconds` of hold: the clip as many whole times as fit (Twilio's `loop` takes one digit,
    so in plays of at most 9), then silence for the rest; silence alone when the clip does not
    fit (close to the maximum wait)."""
    plays, rest = divmod(seconds, music.seconds) if music else (0, seconds)
    if music is None or plays == 0:
        return [Pause(seconds)]
    hold: list[Prompt] = [Play(music.url, loop=min(9, plays - n)) for n in range(0, plays, 9)]
    if rest:
        hold.append(Pause(rest))
    return hold


def queue_key(ctx: CallContext, place: CallPlace | None, digits: str) -> Step:
    """A key pressed while waiting: leave for the other channels, or keep waiting."""
    place = fitting(ctx, place)
    if digits == LEAVE_KEY:
        return step(Speaker(ctx, place.language).say("queue.leaving"), Leave())
    return step()  # an empty document sends Twilio back to the wait URL


def queue_result(ctx: CallContext, place: CallPlace | None, result: str) -> Step:
    """The Enqueue action: how the caller's time in the queue ended."""
    place = fitting(ctx, place)
    speaker = Speaker(ctx, place.language)
    if result in BRIDGED:
        return step(speaker.say("queue.thanks"), Hangup())
    if result == "hangup":
        return step(Hangup())
    if result == "redirected":
        return step()  # moved elsewhere through the REST API: that TwiML is already playing
    apology = {"leave": None, "queue-full": "queue.full"}.get(result, "queue.trouble")
    lines = [speaker.say(apology)] if apology else []
    ways = place.menu(Node.WAYS)
    return step(lines).then(other_ways(ctx, ways))


def connect_notice(ctx: CallContext, language: str | None) -> Step:
    """Played on the caller's leg just before an agent is bridged in."""
    return step(Speaker(ctx, ctx.region.language_or_default(language)).say("queue.connecting"))


def fitting(ctx: CallContext, place: CallPlace | None) -> CallPlace:
    """The queue state from the URL when it fits the call, else its region's default language."""
    if place is not None and place.region == ctx.region.id:
        language = ctx.region.language_or_default(place.language)
        return CallPlace(place.region, language, place.reason, ctx.caller_id_failed)
    return CallPlace(ctx.region.id, ctx.region.default_language, None, ctx.caller_id_failed)
