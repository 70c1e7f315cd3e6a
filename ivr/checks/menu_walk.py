"""Every question a caller of a region and language can reach, found by answering the engine.

Nothing here describes the menus: `walk` asks `ivr.engine.menu` what a caller hears after each key
from each question it reaches, so the tree drawn (`ivr graph`) and the paths measured
(`ivr check`) are the ones callers get. Misses and "repeat" lead back to the same question
and are left out; speech is left out too (every spoken choice has a key).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers

from ivr.config.flows import FlowBook
from ivr.config.hours import SEARCH_DAYS, is_open, next_opening
from ivr.config.prompts import Catalogue
from ivr.config.regions import Region, RegionBook
from ivr.engine.context import CallContext, place_caller
from ivr.engine.menu import answer, present, start
from ivr.engine.questions import Heard
from ivr.engine.state import MenuState, parse_state
from ivr.engine.steps import (
    CALLBACK_BOOK,
    MENU,
    Ask,
    Enqueue,
    Hangup,
    QueueEntry,
    Record,
    Redirect,
    Say,
    Step,
)

KEYS = tuple("1234567890*#")
NUMBER = "digits"  # what a multi-digit entry (a reference, a phone number) is called in the tree
CALLBACK, VOICE_MESSAGE, GOODBYE = "callback booked", "voice message", "goodbye"
QUEUE = "queue "
LABEL_LENGTH = 48


@dataclass(frozen=True)
class Answer:
    """One thing a caller can key at a question, what they hear then, and where it leads."""

    entry: str  # a key, or NUMBER
    step: Step
    target: str  # a question's id, or an end: "queue cn-zh-CN", CALLBACK, VOICE_MESSAGE, GOODBYE


@dataclass(frozen=True)
class MenuWalk:
    """Every question a caller of one region and language can reach by keys, at one instant."""

    context: CallContext
    language: str
    opening: Step  # what the caller hears first
    first: str
    questions: dict[str, MenuState] = field(default_factory=dict)
    answers: dict[str, tuple[Answer, ...]] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # keys leading elsewhere

    @property
    def region(self) -> Region:
        return self.context.region

    @property
    def agents_open(self) -> bool:
        return is_open(self.region.opening, self.context.now)

    def ends(self) -> list[str]:
        found = {a.target for answers in self.answers.values() for a in answers}
        return sorted(found - self.questions.keys())


def is_end(target: str) -> bool:
    return target.startswith(QUEUE) or target in (CALLBACK, VOICE_MESSAGE, GOODBYE)


def question_id(state: MenuState) -> str:
    """Questions differ by node and by why the caller wants an agent (it picks the queue)."""
    return str(state.node) + (f" ({state.reason})" if state.reason else "")


def walk(ctx: CallContext, language: str) -> MenuWalk:
    """Answer every question reachable in `language` with every key and a number."""
    opening = start(ctx)
    first = _target(opening)
    result = MenuWalk(ctx, language, opening, first)
    todo = deque([opening])
    while todo:
        state = next_state(todo.popleft())
        if state is None or question_id(state) in result.questions:
            continue
        here = question_id(state)
        result.questions[here] = state
        answers: list[Answer] = []
        leaving: list[str] = []  # every key that leads on, into any language
        for entry, heard in _entries(ctx, state):
            step = answer(ctx, state, heard)
            target = _target(step)
            after = next_state(step)
            if target == here:
                continue  # a miss or a repeat
            if entry not in leaving:
                leaving.append(entry)
            if _language_after(step, after) not in (None, language):
                continue  # into another language's menus or queue
            if any(a.entry == entry for a in answers):
                continue
            answers.append(Answer(entry, step, target))
            todo.append(step)
        result.answers[here] = tuple(answers)
        result.choices[here] = tuple(leaving)
    return result


def _language_after(step: Step, after: MenuState | None) -> str | None:
    """The language the caller goes on in: of the next question, or of the queue joined."""
    if after is not None:
        return after.language
    entry = next((e for e in step.effects if isinstance(e, QueueEntry)), None)
    return entry.language if entry is not None else None


def _entries(ctx: CallContext, state: MenuState) -> list[tuple[str, Heard]]:
    entries = [(key, Heard(digits=key)) for key in KEYS]
    shortest, _ = ctx.reference_lengths
    numbers = (("1234567890" * 4)[:shortest], _national(ctx.place.origin.number))
    entries += [(NUMBER, Heard(digits=number)) for number in numbers if number]
    return entries


def _national(number: str | None) -> str:
    if not number:
        return ""
    parsed = phonenumbers.parse(number)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def next_state(step: Step) -> MenuState | None:
    last = step.actions[-1] if step.actions else None
    if isinstance(last, Redirect) and last.to.path == MENU:
        return parse_state(dict(last.to.params))
    return None


def _target(step: Step) -> str:
    actions = step.actions
    queue = next((a.queue for a in actions if isinstance(a, Enqueue)), None)
    if queue is not None:
        return QUEUE + queue
    if any(isinstance(a, Record) for a in actions):
        return VOICE_MESSAGE
    last = actions[-1] if actions else None
    if isinstance(last, Redirect) and last.to.path == CALLBACK_BOOK:
        return CALLBACK
    if any(isinstance(a, Hangup) for a in actions):
        return GOODBYE
    state = next_state(step)
    if state is None:
        raise ValueError(f"the engine answered with a step that leads nowhere: {step}")
    return question_id(state)


def question_text(walk: MenuWalk, question: str) -> str:
    """The first line the caller hears at `question`, shortened for a diagram."""
    step = present(walk.context, walk.questions[question])
    ask = next((a for a in step.actions if isinstance(a, Ask)), None)
    says = [p for p in ask.prompts if isinstance(p, Say)] if ask else []
    text = says[0].text if says else ""
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


# -- who calls, and when ---------------------------------------------------------------------
def sample_caller(book: RegionBook, region: Region) -> tuple[str, str]:
    """(a caller's number, the line they dial) for a typical caller of `region`: a mobile
    number of its first country on its first hotline; on a region without countries (global),
    a number from a country no region serves. Withheld when there is no such number."""
    line = region.hotlines[0] if region.hotlines else ""
    countries = region.countries or tuple(
        c for c in sorted(phonenumbers.SUPPORTED_REGIONS) if c not in book.by_country
    )
    for country in countries:
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164), line
    return "anonymous", line


def when_open(region: Region, now: datetime, days: int = 366) -> datetime | None:
    """`now` if agents are open, else when they next open; None when they stay closed for
    the next `days` days."""
    if is_open(region.opening, now):
        return now
    moment = now
    while moment < now + timedelta(days=days):
        opening = next_opening(region.opening, moment)
        if opening is not None:
            return opening if opening < now + timedelta(days=days) else None
        moment += timedelta(days=SEARCH_DAYS)  # next_opening looks this far ahead
    return None


def when_closed(region: Region, now: datetime) -> datetime | None:
    """`now` if agents are closed, else the first quarter hour after it when they are (None:
    open around the clock for two weeks)."""
    moment = now
    for _ in range(14 * 24 * 4):
        if not is_open(region.opening, moment):
            return moment
        moment += timedelta(minutes=15)
    return None


def region_walks(
    book: RegionBook,
    prompts: Catalogue,
    flows: FlowBook,
    at: datetime,
    *,
    regions: list[str] | None = None,
    language: str | None = None,
    reference_lengths: tuple[int, int] = (6, 20),
) -> list[MenuWalk]:
    """One walk per region and language (all, or the ones asked for) at instant `at`."""
    walks = []
    for region_id in regions or list(book.regions):
        region = book.regions[region_id]
        caller, line = sample_caller(book, region)
        place = place_caller(book, caller, line)
        ctx = CallContext(
            place=place,
            region=region,
            now=at,
            prompts=prompts,
            flow=flows.for_region(region.id),
            reference_lengths=reference_lengths,
        )
        for lang in region.languages:
            if language is None or lang == language:
                walks.append(walk(ctx, lang))
    return walks
