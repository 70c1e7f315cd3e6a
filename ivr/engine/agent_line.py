"""The agent line, pure: the PIN, which caller an agent takes next, the whisper, after a call.

An agent calls the agent line (its own number, not published), keys a PIN, and takes callers
one after another: TwiML cannot choose across queues, so we choose (`in_order`), tell the agent
about the caller (`whisper`), then `<Dial><Queue>` that one queue. Agent states change only
through `next_state`; the store applies it (ivr.store.agents), the webhooks are in
ivr.web.routes.agents. Nothing here reads a clock, a database or HTTP.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers

from ivr.config.languages import LANGUAGES
from ivr.config.regions import Region, RegionBook
from ivr.engine.context import CallContext
from ivr.engine.line_state import Skills
from ivr.engine.phrases import Speaker
from ivr.engine.steps import (
    AGENT_DIALED,
    AGENT_KEY,
    AGENT_PIN,
    QUEUE_CONNECT,
    Ask,
    DialQueue,
    Hangup,
    Link,
    Prompt,
    Redirect,
    Say,
    Step,
    step,
)

PIN_DIGITS = (6, 12)
MAX_PIN_TRIES = 3  # wrong PINs in one call before it ends; also the store's lock threshold
# Failed PINs the whole agent line takes per window (every agent, every number, every replica);
# once spent, no PIN is accepted until the window is over. Why 20 an hour: docs/agents.md.
PIN_BUDGET = 20
PIN_BUDGET_WINDOW = timedelta(hours=1)
MAX_TRIES = 3  # misses at the after-call question before the agent is logged out
MAX_CHOICES = 3  # callers chosen in a row who were gone by the time the Dial ran
DIAL_TIMEOUT = 5  # seconds the Dial waits on an empty queue: short, the whisper was about one
IDLE_SECONDS = 15  # nobody waiting: checked again this often
IDLE_ROUNDS = 40  # ten minutes without a caller: "are you still there?"
# Available this long, an agent is asked whether they are still there: no caller is pushed to
# them any more (they still take callers by their own checks once they answer).
PRESENCE_CHECKED = timedelta(seconds=IDLE_SECONDS * IDLE_ROUNDS)
NEXT, AFTER, IDLE, CODE = "1", "after", "idle", "code"


# -- agents and their states ----------------------------------------------------------------
class AgentState(enum.StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"


class AgentEvent(enum.StrEnum):
    LOGIN = "login"  # the right PIN on the agent line
    TAKE = "take"  # a caller was chosen for the agent: the whisper, then the Dial
    TALKED = "talked"  # the Dial ended after a conversation: wrap-up
    MISSED = "missed"  # the Dial ended without one (the caller was gone)
    READY = "ready"  # the agent asks for the next caller
    LOGOUT = "logout"  # the agent line hung up


_ANY = frozenset(AgentState)
# event -> (the states it applies in, the state it leads to). An event in any other state
# changes nothing, so a retried webhook or a late one (a Dial action after the hang-up) is
# harmless: only LOGIN leaves OFFLINE.
TRANSITIONS: dict[AgentEvent, tuple[frozenset[AgentState], AgentState]] = {
    AgentEvent.LOGIN: (_ANY, AgentState.AVAILABLE),
    AgentEvent.TAKE: (
        frozenset({AgentState.AVAILABLE, AgentState.WRAP_UP, AgentState.ON_CALL}),
        AgentState.ON_CALL,
    ),
    AgentEvent.TALKED: (frozenset({AgentState.ON_CALL}), AgentState.WRAP_UP),
    AgentEvent.MISSED: (frozenset({AgentState.ON_CALL}), AgentState.AVAILABLE),
    AgentEvent.READY: (frozenset({AgentState.WRAP_UP}), AgentState.AVAILABLE),
    AgentEvent.LOGOUT: (_ANY, AgentState.OFFLINE),
}


def next_state(current: AgentState, event: AgentEvent) -> AgentState | None:
    """The state after `event`, or None when the event does not apply in `current`."""
    applies_in, leads_to = TRANSITIONS[event]
    return leads_to if current in applies_in else None


def shown_state(state: AgentState, wrap_up_until: datetime | None, now: datetime) -> AgentState:
    """The state as supervisors see it: wrap-up is over once its seconds have passed."""
    if state is AgentState.WRAP_UP and (wrap_up_until is None or wrap_up_until <= now):
        return AgentState.AVAILABLE
    return state


def plausible_pin(digits: str) -> bool:
    shortest, longest = PIN_DIGITS
    return digits.isascii() and digits.isdigit() and shortest <= len(digits) <= longest


# -- the PIN check: one verdict, one answer -------------------------------------------------
class PinRefusal(enum.StrEnum):
    """Why a PIN was refused, for the log and the metrics only: the caller hears the same
    words for each, after the same work (see ivr.web.routes.agents)."""

    NO_AGENT = "unknown_number"  # the number is no agent's (or withheld)
    WRONG = "wrong_pin"
    LOCKED = "locked"  # any PIN of a locked agent: not compared
    OVER_BUDGET = "over_budget"  # any PIN while the agent line's budget is spent: not compared


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def budget_window(now: datetime) -> datetime:
    """The start of the budget window `now` falls in: whole hours of UTC, the same on every
    replica whatever its time zone."""
    return _EPOCH + (now - _EPOCH) // PIN_BUDGET_WINDOW * PIN_BUDGET_WINDOW


def pin_refusal(*, known: bool, within_budget: bool, tried: bool, right: bool) -> PinRefusal | None:
    """The verdict on a PIN: None logs the agent in. A PIN is compared only once it has taken
    one of the agent line's failed-PIN budget (`within_budget`; once the budget is spent not
    even the right PIN is accepted) and one of its agent's tries (`tried`; none while they
    are locked); `right`: it was compared, and matched."""
    if not within_budget:
        return PinRefusal.OVER_BUDGET
    if not known:
        return PinRefusal.NO_AGENT
    if not tried:
        return PinRefusal.LOCKED
    if not right:
        return PinRefusal.WRONG
    return None


def weak_pin(pin: str, phones: Iterable[str] = ()) -> str | None:
    """Why `pin` (already 6 to 12 digits) is too easy to guess for an agent with `phones`, or
    None: the first PINs anyone tries are one digit repeated, a run up or down the keypad
    (wrapping 9 to 0 counts), and digits of the agent's own number. PINs set before this
    check keep working; it applies when a PIN is set."""
    if len(set(pin)) == 1:
        return "it is one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({1}, {9}):
        return "it is a run of digits up or down"
    if any(pin in digits for digits in _number_digits(phones)):
        return "it is part of the agent's own phone number"
    return None


def _number_digits(phones: Iterable[str]) -> Iterator[str]:
    """The digits of each phone as written internationally and nationally (with the trunk
    prefix, e.g. 07400 123456), the ways someone might read it off."""
    for phone in phones:
        yield "".join(char for char in phone if char.isdigit())
        try:
            parsed = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            continue
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        yield "".join(char for char in national if char.isdigit())


# -- who waits, and who is next -------------------------------------------------------------
class QueueKind(enum.IntEnum):
    """Agents take callers we called back first, then pending transactions, then the others."""

    CALLBACK = 0
    PRIORITY = 1
    NORMAL = 2


@dataclass(frozen=True)
class AgentQueue:
    region: Region
    language: str
    kind: QueueKind


@dataclass(frozen=True)
class Waiting:
    """A caller in one of our queues, from our records."""

    call_sid: str
    queue: str
    queued_at: datetime  # when they joined this queue (Twilio serves each queue in this order)
    since: datetime  # their place in line: a callback keeps the time they first queued
    region: str | None
    language: str | None
    reason: str | None
    reference: str | None


def agent_queues(skills: Skills, book: RegionBook) -> dict[str, AgentQueue]:
    """Every queue the agent may take callers from, by name."""
    queues: dict[str, AgentQueue] = {}
    for region in book.regions.values():
        for language in region.languages:
            if not skills.serves(region.id, language):
                continue
            queues[region.callback_queue_name(language)] = AgentQueue(
                region, language, QueueKind.CALLBACK
            )
            queues[region.queue_name(language, priority=True)] = AgentQueue(
                region, language, QueueKind.PRIORITY
            )
            queues[region.queue_name(language)] = AgentQueue(region, language, QueueKind.NORMAL)
    return queues


def queue_named(book: RegionBook, name: str) -> AgentQueue | None:
    """The queue called `name`: its region, language and kind; None for no queue of ours."""
    for region in book.regions.values():
        if not region.owns_queue(name):
            continue
        for language in region.languages:
            kinds = (
                (region.callback_queue_name(language), QueueKind.CALLBACK),
                (region.queue_name(language, priority=True), QueueKind.PRIORITY),
                (region.queue_name(language), QueueKind.NORMAL),
            )
            for queue, kind in kinds:
                if queue == name:
                    return AgentQueue(region, language, kind)
    return None


def in_order(waiting: Iterable[Waiting], queues: Mapping[str, AgentQueue]) -> list[Waiting]:
    """The first caller of each of the agent's queues, best first: callbacks, then pending
    transactions, then the others, each by how long the caller has been waiting."""
    fronts: dict[str, Waiting] = {}
    for caller in waiting:
        if caller.queue not in queues:
            continue
        front = fronts.get(caller.queue)
        if front is None or (caller.queued_at, caller.call_sid) < (front.queued_at, front.call_sid):
            fronts[caller.queue] = caller
    return sorted(
        fronts.values(), key=lambda c: (queues[c.queue].kind, c.since, c.queued_at, c.call_sid)
    )


# -- what the agent hears ---------------------------------------------------------------------
def pin_link(tries: int) -> Link:
    return Link(AGENT_PIN, (("t", str(tries)),) if tries else ())


def key_link(menu: str, tries: int = 0, idle: int = 0, region: str = "") -> Link:
    """The agent's key webhook; `region`: whose disposition codes were offered."""
    params = [("m", menu)]
    if region:
        params.append(("r", region))
    if tries:
        params.append(("t", str(tries)))
    if idle:
        params.append(("i", str(idle)))
    return Link(AGENT_KEY, tuple(params))


def dialed_link(caller: Waiting, choices: int) -> Link:
    params = [("q", caller.queue), ("c", caller.call_sid)]
    if choices:
        params.append(("n", str(choices)))
    return Link(AGENT_DIALED, tuple(params))


def pin_prompt(ctx: CallContext, language: str, tries: int = 0) -> Step:
    """Ask for the PIN, whoever is calling: the line never shows which numbers are agents'."""
    asking = Speaker(ctx, language).for_line("agent_line.pin")
    ask = Ask(
        (asking.say("agent_line.pin", finish_key=asking.key_name("#")),),
        pin_link(tries),
        input="dtmf",
        num_digits=None,
        finish_on_key="#",
        timeout=8,
        action_on_empty_result=True,
    )
    return step(ask, Redirect(pin_link(tries)))


def pin_refused(ctx: CallContext, language: str, tries: int) -> Step:
    """A wrong PIN (or a number that is no agent's): again, or goodbye after the third."""
    speaker = Speaker(ctx, language)
    if tries + 1 >= MAX_PIN_TRIES:
        return step(speaker.say("agent_line.pin_locked_out"), Hangup())
    return step(speaker.say("agent_line.pin_wrong")).then(pin_prompt(ctx, language, tries + 1))


def logged_in(ctx: CallContext, language: str) -> Step:
    return step(Speaker(ctx, language).say("agent_line.logged_in"))


def whisper(ctx: CallContext, language: str, caller: Waiting, queue: AgentQueue) -> list[Say]:
    """What the agent hears about the caller before the Dial: region, language, why, the
    reference, how long they waited. (The <Queue url> plays on the caller's leg, not here.)"""
    speaker = Speaker(ctx, language)
    spoken_language = caller.language if caller.language in LANGUAGES else queue.language
    lines = [
        speaker.say(
            "agent_line.next_caller",
            region=queue.region.name,
            language=speaker.text(f"agent_line.languages.{spoken_language}"),
        )
    ]
    if queue.kind is QueueKind.CALLBACK:
        lines.append(speaker.say("agent_line.callback"))
    # Why the caller wanted a person (the flow node they asked from), when a line says it.
    reason = f"agent_line.reasons.{caller.reason}"
    if caller.reason and ctx.prompts.has(speaker.language, reason, speaker.fallback):
        lines.append(speaker.say(reason))
    if caller.reference:
        reading = speaker.for_line("agent_line.reference")
        lines.append(reading.say("agent_line.reference", digits=reading.digits(caller.reference)))
    minutes = max(int((ctx.now - caller.queued_at).total_seconds() // 60), 0)
    if minutes == 0:
        lines.append(speaker.say("agent_line.waited_short"))
    elif minutes == 1:
        lines.append(speaker.say("agent_line.waited_one"))
    else:
        lines.append(speaker.say("agent_line.waited", minutes=minutes))
    return lines


def take_caller(
    ctx: CallContext, language: str, caller: Waiting, queue: AgentQueue, choices: int = 0
) -> Step:
    """The whisper, then the Dial into that caller's queue."""
    dial = DialQueue(
        caller.queue, Link(QUEUE_CONNECT), dialed_link(caller, choices), timeout=DIAL_TIMEOUT
    )
    return step(whisper(ctx, language, caller, queue), dial)


def caller_gone(ctx: CallContext, language: str) -> Step:
    """The chosen caller was no longer there when the Dial ran (hung up, or taken)."""
    return step(Speaker(ctx, language).say("agent_line.taken"))


def nobody_waiting(ctx: CallContext, language: str, idle: int = 0) -> Step:
    """Nobody to take: say so once, then check again every IDLE_SECONDS (1 checks now)."""
    if idle >= IDLE_ROUNDS:
        speaker = Speaker(ctx, language)
        return step(speaker.say("agent_line.still_there")).then(next_question(ctx, language))
    lines: list[Prompt] = []
    if idle == 0:
        speaker = Speaker(ctx, language)
        lines = [speaker.say("agent_line.nobody"), speaker.option("agent_line.check_again", NEXT)]
    link = key_link(IDLE, idle=idle)
    ask = Ask(tuple(lines), link, input="dtmf", timeout=IDLE_SECONDS)
    return step(ask, Redirect(link))


def next_question(ctx: CallContext, language: str, tries: int = 0, timeout: int = 5) -> Step:
    link = key_link(AFTER, tries=tries)
    option = Speaker(ctx, language).option("agent_line.next_or_end", NEXT)
    return step(Ask((option,), link, input="dtmf", timeout=timeout), Redirect(link))


def next_missed(ctx: CallContext, language: str, tries: int, digits: str) -> Step:
    """No 1 at the after-call question: asked again, and after the third miss the agent is
    logged out (one who walked away is never bridged to a caller)."""
    speaker = Speaker(ctx, language)
    if tries + 1 >= MAX_TRIES:
        return goodbye(ctx, language)
    sorry = speaker.say("common.sorry_invalid" if digits else "agent_line.no_answer")
    return step(sorry).then(next_question(ctx, language, tries + 1))


def idle_missed(ctx: CallContext, language: str) -> Step:
    """Another key than 1 while nobody waits: sorry, and the same offer again."""
    sorry = step(Speaker(ctx, language).say("common.sorry_invalid"))
    return sorry.then(nobody_waiting(ctx, language))


def goodbye(ctx: CallContext, language: str) -> Step:
    return step(Speaker(ctx, language).say("agent_line.goodbye"), Hangup())


def not_logged_in(ctx: CallContext, language: str) -> Step:
    """A follow-up webhook of a call that has no agent logged in on it (never a queue)."""
    return step(Speaker(ctx, language).say("agent_line.not_logged_in"), Hangup())


def unavailable(ctx: CallContext, language: str) -> Step:
    """The agents' records cannot be read (the database is away): nothing can be checked."""
    return step(Speaker(ctx, language).say("agent_line.unavailable"), Hangup())


def count_by_line(
    agents: Iterable[tuple[Skills, AgentState]], book: RegionBook
) -> dict[tuple[str, str], tuple[int, int]]:
    """Agents on a call and agents available, per (region, language) they serve (for the
    wallboard); an agent counts on every line they serve."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for skills, state in agents:
        if state not in (AgentState.ON_CALL, AgentState.AVAILABLE):
            continue
        for region in book.regions.values():
            for language in region.languages:
                if skills.serves(region.id, language):
                    on_call, available = counts.get((region.id, language), (0, 0))
                    if state is AgentState.ON_CALL:
                        on_call += 1
                    else:
                        available += 1
                    counts[(region.id, language)] = (on_call, available)
    return counts
