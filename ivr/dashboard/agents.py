"""How many agents are on calls and available, per region and language, for the wallboard.

An agent counts on every line their skills cover (the regions and languages they take): on a
line's tile, "2 / 1" means that of the agents who can take its callers, two are on a call and
one is free. So the figures of two lines do not add up when agents share them. Agents in
wrap-up or offline count in neither; wrap-up ends as ivr.engine.agent_line.shown_state says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ivr.config.regions import RegionBook
from ivr.engine.agent_line import AgentState
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore


@dataclass(frozen=True)
class AgentCounts:
    on_calls: int
    available: int


Line = tuple[str, str]  # (region id, language id)


def agents_on_calls_and_available(
    store: Store, regions: RegionBook, now: datetime
) -> dict[Line, AgentCounts] | None:
    """Agents on a call and agents available per (region, language) of `regions`; None when
    no agent is configured at all (agents take callers some other way: not known)."""
    agents = AgentStore(store.engine).all()
    if not agents:
        return None
    lines = [
        (region.id, language)
        for region in regions.regions.values()
        for language in region.languages
    ]
    return count_agents(((agent.skills, agent.shown_state(now)) for agent in agents), lines)


def count_agents(
    agents: Iterable[tuple[Skills, AgentState]], lines: Iterable[Line]
) -> dict[Line, AgentCounts]:
    """For each line, the agents able to take it that are on a call, and that are available."""
    states = list(agents)
    counts = {}
    for region, language in lines:
        able = [state for skills, state in states if skills.serves(region, language)]
        counts[(region, language)] = AgentCounts(
            on_calls=able.count(AgentState.ON_CALL), available=able.count(AgentState.AVAILABLE)
        )
    return counts
