"""The caller's time, measured on every line and language before it goes live, against the
budgets of flows.toml: how soon a key works, how soon the way to a person is named, how many
choices a menu reads out, how many answers lead anywhere, and that silence ends.

Everything is measured on the menus the engine answers (ivr.checks.menu_walk) and timed with
the emulator's speech-time model (ivr.emulator.speech_time), so `ivr check` and `ivr call`
agree. Each broken budget is a Finding of kind "budget", which makes `ivr check` exit 1.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ivr.checks.inputs import CheckInput, Finding, Kind
from ivr.checks.menu_walk import NUMBER, QUEUE, MenuWalk, is_end, next_state, question_id
from ivr.config.flows import Flow
from ivr.emulator.speech_time import speech_seconds
from ivr.engine.menu import answer
from ivr.engine.phrases import Speaker
from ivr.engine.questions import Heard
from ivr.engine.state import MAX_TRIES, MenuState, Node
from ivr.engine.steps import Ask, Enqueue, Pause, Prompt, Say, Step

# The key every flow gives for a person (`0`, read out in the welcome and every menu).
PERSON_KEY = "0"


@dataclass(frozen=True)
class LineTimes:
    """One line and language, keys pressed as soon as they are named: the fewest keys to the
    caller's own queue and, of those, the fewest seconds."""

    region: str
    language: str
    keys: tuple[str, ...]
    without_keys: float  # the longest speech no key can cut short, at the start or after a key
    agent_named: float  # until the key for a person is first named in the caller's language
    to_queue: float  # to the queue, each key pressed as soon as it is named
    listening: float  # to the queue by the same keys, each question heard to its end
    queue: str
    at: datetime  # an instant agents are open, at which it was measured


def line_times(walk: MenuWalk) -> LineTimes | None:
    """Dijkstra over the walk: the fewest keys to a queue, then the fewest seconds. A question
    is timed as the step that asked it plays (the welcome's Gather included)."""
    tie = itertools.count()
    # keys, seconds, tie, question, path, the step that asked it, key pressed at, listening,
    # the longest speech without keys so far
    start = (
        0,
        0.0,
        next(tie),
        walk.first,
        (),
        walk.opening,
        0.0,
        0.0,
        before_first_key(walk.opening),
    )
    frontier: list[tuple[int, float, int, str, tuple[str, ...], Step, float, float, float]] = [
        start
    ]
    settled: set[str] = set()
    speaker = Speaker(walk.context, walk.language)
    while frontier:
        keys, seconds, _, here, path, asked_by, pressed_at, listening, no_keys = heapq.heappop(
            frontier
        )
        if here.startswith(QUEUE):
            named = min(pressed_at, person_named_at_start(walk))
            return LineTimes(
                walk.region.id,
                walk.language,
                path,
                no_keys,
                named,
                seconds,
                listening,
                here.removeprefix(QUEUE),
                walk.context.now,
            )
        if here in settled or is_end(here):
            continue
        settled.add(here)
        heard_all = total_seconds(asked_by)
        for option in walk.answers[here]:
            pressed = seconds + seconds_until_named(speaker, asked_by, option.entry)
            queueing = option.target.startswith(QUEUE)
            after = total_seconds(option.step) if queueing else 0.0
            # Speech before the queue is no question's: only a question's preamble counts.
            blocked = no_keys if queueing else max(no_keys, before_first_key(option.step))
            heapq.heappush(
                frontier,
                (
                    keys + 1,
                    pressed + after,
                    next(tie),
                    option.target,
                    (*path, option.entry),
                    option.step,
                    pressed,
                    listening + heard_all + after,
                    blocked,
                ),
            )
    return None


def person_named_at_start(walk: MenuWalk) -> float:
    """When the first question names the key for a person, if that key there leads to one
    (in any language: a language menu offers a person in the line's first language)."""
    state = walk.questions.get(walk.first)
    if state is None:
        return float("inf")
    leads = answer(walk.context, state, Heard(digits=PERSON_KEY))
    if not any(isinstance(action, Enqueue) for action in leads.actions) and not _asks_reference(
        leads
    ):
        return float("inf")
    named = named_at(Speaker(walk.context, walk.language), walk.opening, PERSON_KEY, walk.language)
    return float("inf") if named is None else named


def _asks_reference(step: Step) -> bool:
    asks = [action for action in step.actions if isinstance(action, Ask)]
    return bool(asks) and dict(asks[-1].then.params).get("n") == Node.REFERENCE


def seconds_until_named(speaker: Speaker, step: Step, entry: str) -> float:
    """Seconds of `step` played until the end of the first line inside a question that names
    `entry`, or all of it when none does (a number to key in, say)."""
    named = named_at(speaker, step, entry)
    return total_seconds(step) if named is None else named


def named_at(speaker: Speaker, step: Step, entry: str, language: str | None = None) -> float | None:
    """When the first line inside a question naming `entry` (in `language`, when given) ends;
    None when no line does."""
    if entry == NUMBER:
        return None
    pattern = re.compile(rf"(?<![0-9]){re.escape(speaker.key_name(entry))}(?![0-9])")
    seconds = 0.0
    for prompt, asking in _prompts(step):
        seconds += prompt_seconds(prompt)
        if not (asking and isinstance(prompt, Say)) or language not in (None, prompt.language):
            continue
        if pattern.search(prompt.text):
            return seconds
    return None


def before_first_key(step: Step) -> float:
    """Seconds of `step` played before its first question starts (no key works then)."""
    seconds = 0.0
    for prompt, asking in _prompts(step):
        if asking:
            return seconds
        seconds += prompt_seconds(prompt)
    return seconds


def total_seconds(step: Step) -> float:
    return sum(prompt_seconds(prompt) for prompt, _ in _prompts(step))


def _prompts(step: Step) -> Iterator[tuple[Prompt, bool]]:
    """Every prompt of `step` in the order played, and whether a key works during it. A
    question that more follows in the same step (the welcome's, before the main menu) waits its
    timeout for a key first: that silence is heard too."""
    actions = step.actions
    for index, action in enumerate(actions):
        if isinstance(action, Ask):
            yield from ((prompt, True) for prompt in action.prompts)
            if any(isinstance(later, Ask | Say | Pause) for later in actions[index + 1 :]):
                yield Pause(action.timeout), True
        elif isinstance(action, Say | Pause):
            yield action, False


def prompt_seconds(action: object) -> float:
    """Seconds of a <Say> (timed as the emulator times it) or a <Pause>; 0 for anything else
    (hold music is not a prompt)."""
    if isinstance(action, Say):
        return speech_seconds(action.text)
    if isinstance(action, Pause):
        return float(action.seconds)
    return 0.0


# -- the budgets -------------------------------------------------------------------------------
def budget_findings(inputs: CheckInput) -> Iterable[Finding]:
    """Every budget broken, on every line and language, with the place to fix it."""
    flows = inputs.config.flows
    for walk in inputs.open_walks:
        flow = flows.for_region(walk.region.id)
        budgets = flow.budgets
        where = f"regions.{walk.region.id} {walk.language}"
        times = line_times(walk)
        if times is None:
            yield Finding(Kind.BUDGET, "no way to a person", flow.file, flow.line, where)
            continue
        if times.without_keys > budgets.first_key_seconds:
            message = (
                f"{times.without_keys:.0f} s of speech before a key works, more than "
                f"{budgets.first_key_seconds:.0f} s: put it inside the question that follows"
            )
            yield Finding(Kind.BUDGET, message, flow.file, flow.line, where)
        if times.agent_named > budgets.agent_named_seconds:
            message = (
                f"the key for a person is first named after {times.agent_named:.0f} s, more "
                f"than {budgets.agent_named_seconds:.0f} s"
            )
            yield Finding(Kind.BUDGET, message, flow.file, flow.line, where)
    for walk in inputs.open_walks + inputs.closed_walks:
        flow = flows.for_region(walk.region.id)
        yield from _far_questions(walk, flow)
        yield from _endless_questions(walk, flow)
    yield from _long_menus(inputs)


def _long_menus(inputs: CheckInput) -> Iterable[Finding]:
    """Menus reading out more choices than callers keep in mind ("repeat" and "main menu" are
    not choices); a language menu reads a choice per language and the way to a person."""
    flows = inputs.config.flows
    seen: set[tuple[int, str]] = set()  # a flow shared by regions is reported once
    for region in inputs.config.regions.regions.values():
        flow = flows.for_region(region.id)
        most = flow.budgets.read_out_options
        own = flow not in flows.flows.values()  # changed by this region
        for node in flow.nodes.values():
            chosen = [o.key for o in flow.options_of(node) if o.read_out and o.choice]
            if len(chosen) > most and (id(flow), node.id) not in seen:
                seen.add((id(flow), node.id))
                message = f"{len(chosen)} choices read out ({' '.join(chosen)}), more than {most}"
                where = f"regions.{region.id} menu {node.id}" if own else f"menu {node.id}"
                yield Finding(Kind.BUDGET, message, flow.file, node.line, where)
        person = 1 if flow.person_in_language_menu else 0
        choices = len(region.languages) + person if len(region.languages) > 1 else 0
        if choices > most:
            file, line = inputs.region_line(region.id, "languages")
            with_person = " and a person" if person else ""
            message = (
                f"the language menu reads out {choices} choices ({len(region.languages)} "
                f"languages{with_person}), more than {most}"
            )
            yield Finding(Kind.BUDGET, message, file, line, f"regions.{region.id}")


def _far_questions(walk: MenuWalk, flow: Flow) -> Iterable[Finding]:
    """Questions from which a person, guidance or goodbye is more answers away than allowed."""
    most = flow.budgets.answers_to_an_end
    for question, state in walk.questions.items():
        node = flow.nodes.get(str(state.node))
        if node is not None and node.kind == "guidance":
            continue  # the caller has their answer here
        answers = _answers_to_an_end(walk, flow, question)
        if answers > most:
            message = (
                f"{walk.region.id} {walk.language}: a person, guidance or goodbye is "
                f"{answers} answers away from {question}, more than {most}"
            )
            yield _at_node(flow, state, message)


def _at_node(flow: Flow, state: MenuState, message: str) -> Finding:
    """A broken budget at the line of the question's node (the flow's, for the engine's own
    questions: the language menu, a reference, a number to call back)."""
    node = flow.nodes.get(str(state.node))
    line = node.line if node is not None else flow.line
    return Finding(Kind.BUDGET, message, flow.file, line, f"node {state.node}")


def _answers_to_an_end(walk: MenuWalk, flow: Flow, question: str) -> float:
    frontier, depth, seen = [question], 0, {question}
    while frontier:
        depth += 1
        following = []
        for here in frontier:
            for option in walk.answers.get(here, ()):
                target = walk.questions.get(option.target)
                node = flow.nodes.get(str(target.node)) if target is not None else None
                if is_end(option.target) or (node is not None and node.kind == "guidance"):
                    return depth
                if option.target not in seen:
                    seen.add(option.target)
                    following.append(option.target)
        frontier = following
    return float("inf")


def _endless_questions(walk: MenuWalk, flow: Flow) -> Iterable[Finding]:
    """Silence, or a key that is no choice, at any question: the call must move on to a
    person, guidance's end or goodbye within the retry bound (MAX_TRIES per question, and the
    language menu gives up into the main menu)."""
    bound = 2 * MAX_TRIES
    for question, state in walk.questions.items():
        for mistake in ("silence", "a key that is no choice"):
            here: MenuState | None = state
            for _ in range(bound):
                if here is None:
                    break
                heard = Heard() if mistake == "silence" else Heard(digits=_no_choice(walk, here))
                here = _next_question(answer(walk.context, here, heard))
            if here is not None:
                message = (
                    f"{walk.region.id} {walk.language}: {mistake} at {question} still asks "
                    f"after {bound} answers"
                )
                yield _at_node(flow, state, message)


def _no_choice(walk: MenuWalk, state: MenuState) -> str:
    taken = set(walk.choices.get(question_id(state), ())) | {PERSON_KEY, "#", "*"}
    return next((key for key in "987654321" if key not in taken), "9")


def _next_question(step: Step) -> MenuState | None:
    if any(isinstance(action, Enqueue) for action in step.actions):
        return None
    return next_state(step)
