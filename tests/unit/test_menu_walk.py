"""A walk of every menu state with every key, silence and the menu words.

Proves for every region and language, at an hour agents are open and one they are closed:
each response is a complete step (a question with a way on, a queue, or a goodbye), no state
is a dead end, silence or wrong keys end within MAX_TRIES, and guidance, an agent queue or a
polite goodbye is never more than a few answers away.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ivr.caller import CallContext
from ivr.menu import Heard, answer, start
from ivr.state import GUIDANCE, MAX_TRIES, MenuState, Node, parse_state
from ivr.steps import Ask, Enqueue, Hangup, Redirect, Step
from tests.conftest import ContextFactory

KEYS = tuple("0123456789*#")
# From any state, a goal (guidance, a queue, goodbye) is at most this many answers away.
NEAREST_GOAL = 3
CALLERS = {
    "open": "2026-03-02T10:00+08:00",  # Monday morning in Shanghai: most regions...
    "closed": "2026-03-01T22:00+00:00",  # ...and Sunday 22:00 UTC: closed everywhere
}


@dataclass(frozen=True)
class Outcome:
    step: Step
    state: MenuState | None  # where the next answer goes, None when the step ends the menu

    @property
    def is_goal(self) -> bool:
        ends = any(isinstance(a, Enqueue | Hangup) for a in self.step.actions)
        return ends or (self.state is not None and self.state.node in GUIDANCE)


def outcome(step: Step) -> Outcome:
    actions = step.actions
    assert actions, "an empty response would end the call without a word"
    last = actions[-1]
    if isinstance(last, Enqueue | Hangup):
        return Outcome(step, None)
    assert isinstance(last, Redirect), f"the step ends with {last!r}: silence would end the call"
    asks = [a for a in actions if isinstance(a, Ask)]
    assert len(asks) == 1, "one question per step"
    assert asks[0].then == last.to, "silence must come back to the same question"
    state = parse_state(dict(last.to.params))
    assert state is not None, f"unparsable state in {last.to}"
    return Outcome(step, state)


def inputs(ctx: CallContext, step: Step) -> Iterator[Heard]:
    yield Heard()  # silence
    yield from (Heard(digits=key) for key in KEYS)
    yield Heard(digits="12345678")  # a reference number
    yield Heard(digits="123")  # too short for a reference
    ask = next(a for a in step.actions if isinstance(a, Ask))
    for hint in ask.hints:
        yield Heard(speech=hint)
    yield Heard(speech="blah blah")


def walk(ctx: CallContext) -> dict[MenuState, Outcome]:
    """Every state reachable from the first answer, with the outcome that asked it."""
    first = outcome(start(ctx))
    seen: dict[MenuState, Outcome] = {}
    todo = deque([first])
    while todo:
        current = todo.popleft()
        if current.state is None or current.state in seen:
            continue
        seen[current.state] = current
        for heard in inputs(ctx, current.step):
            todo.append(outcome(answer(ctx, current.state, heard)))
    return seen


def distance_to_goal(ctx: CallContext, state: MenuState, graph: dict[MenuState, Outcome]) -> int:
    frontier, depth, visited = [state], 0, {state}
    while frontier:
        depth += 1
        following: list[MenuState] = []
        for here in frontier:
            for heard in inputs(ctx, graph[here].step):
                result = outcome(answer(ctx, here, heard))
                if result.is_goal:
                    return depth
                if result.state is not None and result.state not in visited:
                    visited.add(result.state)
                    following.append(result.state)
        frontier = following
    raise AssertionError(f"no goal reachable from {state}")


@pytest.mark.parametrize("when", sorted(CALLERS))
def test_every_state_of_every_region_and_language_leads_somewhere(
    make_context: ContextFactory, when: str
) -> None:
    nodes_seen: set[Node] = set()
    for hotline_ctx in _hotline_contexts(make_context, CALLERS[when]):
        graph = walk(hotline_ctx)
        nodes_seen |= {state.node for state in graph}
        for state in graph:
            assert distance_to_goal(hotline_ctx, state, graph) <= NEAREST_GOAL, state
    expected = set(Node) if when == "open" else set(Node) - {Node.REFERENCE, Node.CONFIRM}
    assert nodes_seen == expected


@pytest.mark.parametrize("when", sorted(CALLERS))
@pytest.mark.parametrize("mistake", [Heard(), Heard(digits="7"), Heard(speech="blah blah")])
def test_silence_or_wrong_answers_end_within_three_tries(
    make_context: ContextFactory, when: str, mistake: Heard
) -> None:
    # The language menu gives up into the main menu, which gives up into a queue or goodbye:
    # at most MAX_TRIES misses per question, two questions deep.
    bound = 2 * MAX_TRIES
    for ctx in _hotline_contexts(make_context, CALLERS[when]):
        for state in walk(ctx):
            here: MenuState | None = state
            for _ in range(bound):
                result = outcome(answer(ctx, here, mistake))
                here = result.state
                if here is None:
                    break
            assert here is None, f"still asking at {here} after {bound} misses from {state}"


def _hotline_contexts(make_context: ContextFactory, at: str) -> Iterator[CallContext]:
    """One caller from each region, dialing their own line."""
    samples = {
        "+864001234567": "+8613812345678",
        "+85221234567": "+85291234567",
        "+886223456789": "+886912345678",
        "+6561234567": "+6581234567",
        "+81345678901": "+819012345678",
        "+82234567890": "+821012345678",
        "+912240001234": "+919812345678",
        "+622150001234": "+6281212345678",
        "+842838221234": "+84912345678",
        "+902125551234": "+905321234567",
        "+18005550123": "+12025550142",
        "+442079460123": "+447700900123",
        "+493012345678": "+4915123456789",
        "+34911234567": "+34612345678",
        "+525512345678": "+525512345679",
        "+551123456789": "+5511912345678",
        "+2342033123456": "+2348031234567",
        "+12025550199": "+33612345678",
    }
    for line, caller in samples.items():
        yield make_context(from_=caller, to=line, at=at)
