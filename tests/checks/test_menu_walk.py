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

import phonenumbers
import pytest

from ivr.config.flows import Flow, FlowBook
from ivr.config.hours import is_open
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.engine.closing import agents_open
from ivr.engine.context import CallContext, place_caller
from ivr.engine.menu import answer, start
from ivr.engine.questions import Heard
from ivr.engine.state import CALLBACK_NODES, MAX_TRIES, MenuState, Node, parse_state
from ivr.engine.steps import CALLBACK_BOOK, MENU, Ask, Enqueue, Hangup, Redirect, Step
from tests.support.moments import instant
from tests.support.twiml_check import problems_in

pytestmark = pytest.mark.slow  # the whole menu tree of every region, twice

KEYS = tuple("0123456789*#")
WAYS_NODES = {Node.WAYS} | CALLBACK_NODES
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

    def is_goal(self, flow: Flow) -> bool:
        ends = any(isinstance(a, Enqueue | Hangup) for a in self.step.actions)
        if ends or self.state is None:
            return True
        node = flow.nodes.get(self.state.node)
        return node is not None and node.kind == "guidance"


def outcome(step: Step) -> Outcome:
    actions = step.actions
    assert actions, "an empty response would end the call without a word"
    last = actions[-1]
    if isinstance(last, Enqueue | Hangup):
        return Outcome(step, None)
    assert isinstance(last, Redirect), f"the step ends with {last!r}: silence would end the call"
    if last.to.path == CALLBACK_BOOK:
        return Outcome(step, None)  # the callback is booked: the booking webhook says the code
    assert last.to.path == MENU, last.to
    asks = [a for a in actions if isinstance(a, Ask)]
    # One question per step; the welcome's keys-only Gather before it answers the same one.
    assert all(ask.then == last.to for ask in asks), "every answer goes to the same question"
    assert all(ask.input == "dtmf" for ask in asks[:-1]), asks
    state = parse_state(dict(last.to.params))
    assert state is not None, f"unparsable state in {last.to}"
    return Outcome(step, state)


def inputs(ctx: CallContext, step: Step) -> Iterator[Heard]:
    yield Heard()  # silence
    yield from (Heard(digits=key) for key in KEYS)
    yield Heard(digits="12345678")  # a reference number
    yield Heard(digits="123")  # too short for a reference
    yield Heard(digits=national_number(ctx))  # a number to call back
    ask = next(a for a in step.actions if isinstance(a, Ask))
    for hint in ask.hints:
        yield Heard(speech=hint)
    yield Heard(speech="blah blah")


def national_number(ctx: CallContext) -> str:
    """The caller's own number as they would key it at home (trunk prefix, no country code)."""
    number = phonenumbers.parse(ctx.place.origin.number or "")
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


@dataclass(frozen=True)
class Graph:
    """Every reachable question of one call, and where each answer to it leads."""

    ctx: CallContext
    edges: dict[MenuState, list[tuple[Heard, Outcome]]]

    def distance_to_goal(self, state: MenuState) -> int:
        frontier, depth, visited = [state], 0, {state}
        while frontier:
            depth += 1
            following: list[MenuState] = []
            for here in frontier:
                for _, result in self.edges[here]:
                    if result.is_goal(self.ctx.flow):
                        return depth
                    if result.state is not None and result.state not in visited:
                        visited.add(result.state)
                        following.append(result.state)
            frontier = following
        raise AssertionError(f"no goal reachable from {state}")


def explore(ctx: CallContext) -> Graph:
    """Answer every question reachable from the first one with every input."""
    edges: dict[MenuState, list[tuple[Heard, Outcome]]] = {}
    todo = deque([outcome(start(ctx))])
    while todo:
        current = todo.popleft()
        if current.state is None or current.state in edges:
            continue
        results = [
            (heard, outcome(answer(ctx, current.state, heard)))
            for heard in inputs(ctx, current.step)
        ]
        edges[current.state] = results
        todo.extend(result for _, result in results)
    return Graph(ctx, edges)


@pytest.fixture(scope="module", params=sorted(CALLERS))
def graphs(
    request: pytest.FixtureRequest, book: RegionBook, catalogue: Catalogue, flows: FlowBook
) -> list[Graph]:
    """One caller from each region on their own line, at an open or a closed hour."""
    at = instant(CALLERS[request.param])
    contexts = []
    for line, caller in SAMPLE_CALLERS.items():
        place = place_caller(book, caller, line)
        flow = flows.for_region(place.region.id)
        contexts.append(
            CallContext(place=place, region=place.region, now=at, prompts=catalogue, flow=flow)
        )
    return [explore(ctx) for ctx in contexts]


def test_every_state_of_every_region_and_language_leads_somewhere(graphs: list[Graph]) -> None:
    nodes_seen: set[str] = set()
    for graph in graphs:
        nodes_seen |= {state.node for state in graph.edges}
        for state in graph.edges:
            assert graph.distance_to_goal(state) <= NEAREST_GOAL, state
    every = set(Node) | set(graphs[0].ctx.flow.nodes)
    assert nodes_seen >= every - {Node.REFERENCE, Node.CONFIRM} - WAYS_NODES


def test_every_question_is_asked_somewhere(graphs: list[Graph]) -> None:
    for graph in graphs:
        expected = set(Node) | set(graph.ctx.flow.nodes)
        if len(graph.ctx.region.languages) == 1:
            expected.discard(Node.LANGUAGE)  # a one-language region skips the language menu
        if not agents_open(graph.ctx):
            expected -= {Node.REFERENCE, Node.CONFIRM}  # closed agents: no reference to take
        else:
            expected -= WAYS_NODES  # open agents: the other ways are offered from the queue
        if not graph.ctx.region.countries:
            expected -= CALLBACK_NODES  # the global line asks for no number to call back
        assert {state.node for state in graph.edges} == expected, graph.ctx.region.id


@pytest.mark.parametrize("mistake", [Heard(), Heard(digits="7"), Heard(speech="blah blah")])
def test_silence_or_wrong_answers_end_within_three_tries(
    graphs: list[Graph], mistake: Heard
) -> None:
    # The language menu gives up into the main menu, which gives up into a queue or goodbye:
    # at most MAX_TRIES misses per question, two questions deep.
    bound = 2 * MAX_TRIES
    for graph in graphs:
        for state in graph.edges:
            here: MenuState | None = state
            for _ in range(bound):
                assert here is not None
                here = outcome(answer(graph.ctx, here, mistake)).state
                if here is None:
                    break
            assert here is None, f"still asking at {here} after {bound} misses from {state}"


def test_every_response_is_twiml_that_twilio_accepts(graphs: list[Graph]) -> None:
    # Many answers lead to the same response (every wrong key, say): check each one once.
    responses = {
        result.step for graph in graphs for results in graph.edges.values() for _, result in results
    }
    for step in responses:
        assert problems_in(step) == [], step
    assert len(responses) > 1000


def test_both_hours_are_covered(book: RegionBook) -> None:
    open_at, closed_at = instant(CALLERS["open"]), instant(CALLERS["closed"])
    regions = [book.regions[r] for r in ("cn", "jp", "us", "global")]
    assert any(is_open(region.opening, open_at) for region in regions)
    assert not any(is_open(region.opening, closed_at) for region in book.regions.values())


SAMPLE_CALLERS = {
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
    "+12025550142": "+12025550188",
    "+442079460123": "+447400123456",
    "+493012345678": "+4915123456789",
    "+34911234567": "+34612345678",
    "+525512345678": "+525512345679",
    "+551123456789": "+5511912345678",
    "+2342033123456": "+2348031234567",
    "+12025550199": "+33612345678",
}
