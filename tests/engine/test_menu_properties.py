"""Properties of the menu engine under random callers (hypothesis): whatever a caller keys or
says, from any region and at any hour, every answer is valid TwiML and the call reaches
guidance, a queue or a goodbye; it never asks forever."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.engine.context import CallContext, place_caller
from ivr.engine.menu import answer, start
from ivr.engine.questions import Heard
from tests.checks.test_menu_walk import SAMPLE_CALLERS, outcome
from tests.support.twiml_check import problems_in

# The longest honest path: language, main, transaction, a guidance, the agent's reference and
# its confirmation, and misses at each of them; beyond this a caller must have been let go.
LONGEST_CALL = 40

heard = st.one_of(
    st.builds(Heard),  # silence
    st.builds(Heard, digits=st.from_regex(r"[0-9*#]{1,3}", fullmatch=True)),
    st.builds(Heard, digits=st.from_regex(r"[0-9]{6,12}", fullmatch=True)),  # references
    st.builds(Heard, speech=st.text(max_size=40)),
    st.builds(
        Heard,
        speech=st.sampled_from(
            ["agent", "password", "call me back", "message", "pending", "人工", "密码", "menu"]
        ),
    ),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@pytest.mark.slow
@given(
    line=st.sampled_from(sorted(SAMPLE_CALLERS)),
    at=moments,
    answers=st.lists(heard, max_size=LONGEST_CALL),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_callers_always_hear_valid_twiml_and_get_somewhere(
    book: RegionBook,
    catalogue: Catalogue,
    flows: FlowBook,
    line: str,
    at: datetime,
    answers: list[Heard],
) -> None:
    place = place_caller(book, SAMPLE_CALLERS[line], line)
    flow = flows.for_region(place.region.id)
    ctx = CallContext(place=place, region=place.region, now=at, prompts=catalogue, flow=flow)
    here = outcome(start(ctx))
    for said in answers:
        assert problems_in(here.step) == []
        if here.state is None:
            return  # guidance ended, queued, booked or goodbye: the menu let them go
        here = outcome(answer(ctx, here.state, said))
    assert problems_in(here.step) == []


@given(at=moments, line=st.sampled_from(sorted(SAMPLE_CALLERS)))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_silent_caller_is_let_go_within_a_bounded_number_of_questions(
    book: RegionBook, catalogue: Catalogue, flows: FlowBook, at: datetime, line: str
) -> None:
    place = place_caller(book, SAMPLE_CALLERS[line], line)
    flow = flows.for_region(place.region.id)
    ctx = CallContext(place=place, region=place.region, now=at, prompts=catalogue, flow=flow)
    here = outcome(start(ctx))
    for _ in range(LONGEST_CALL):
        if here.state is None:
            return
        here = outcome(answer(ctx, here.state, Heard()))
    raise AssertionError(f"still asking at {here.state} after {LONGEST_CALL} silences")
