"""Which available agent gets the next caller, pure: skill level first (a level-5 Mandarin
agent before a level-2 one), then the region's strategy (regions.toml `routing`):

- longest-idle (default): the agent available the longest;
- round-robin: the agent given a caller the longest ago;
- fewest-calls: the agent who has talked to the fewest callers since logging in.

Ties go to the agent available the longest, then by name, so every replica chooses alike.
Which caller comes first is not decided here: the agent line's order across queues
(callbacks, pending transactions, the longest wait; ivr.engine.agent_line.in_order) is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ivr.config.regions import Region
from ivr.engine.line_state import Skills

_NEVER = datetime.min.replace(tzinfo=UTC)
# A wake is on its way this long: Twilio's API may take its whole timeout (10 s) to answer,
# and the agent's call then moves. Meanwhile the agent's own checks take nobody (the move
# would cut them off), nobody else wakes them, and nobody wakes another agent for that caller.
WAKE_HOLD = timedelta(seconds=20)


@dataclass(frozen=True)
class IdleAgent:
    """An agent waiting for a caller on the agent line, as routing sees them."""

    name: str
    line_call: str
    skills: Skills
    available_since: datetime
    offered_at: datetime | None  # last given a caller
    calls_taken: int  # callers talked to since logging in
    woken_for: str | None = None  # the caller a wake on its way is for


Strategy = Callable[[IdleAgent], tuple[object, ...]]
STRATEGIES: dict[str, Strategy] = {
    "longest-idle": lambda agent: (agent.available_since,),
    "round-robin": lambda agent: (agent.offered_at or _NEVER, agent.available_since),
    "fewest-calls": lambda agent: (agent.calls_taken, agent.available_since),
}


def ranked(agents: Iterable[IdleAgent], region: Region, language: str) -> list[IdleAgent]:
    """The agents who serve `language` callers of `region`, best first."""
    strategy = STRATEGIES[region.routing]
    levelled = [(agent.skills.level(region.id, language), agent) for agent in agents]
    serving = [(level, agent) for level, agent in levelled if level is not None]
    serving.sort(key=lambda pair: (-pair[0], *strategy(pair[1]), pair[1].name))
    return [agent for _, agent in serving]


def first_choice(
    idle: Iterable[IdleAgent], agent: IdleAgent, region: Region, language: str
) -> bool:
    """`agent` is the one routing would give a `language` caller of `region`, among the
    `idle` agents (`agent` counted as it is now, whether or not `idle` lists them)."""
    others = [candidate for candidate in idle if candidate.name != agent.name]
    best = ranked([*others, agent], region, language)
    return bool(best) and best[0].name == agent.name


def free(idle: Iterable[IdleAgent]) -> list[IdleAgent]:
    """The idle agents no wake is on its way to: those routing may still choose."""
    return [agent for agent in idle if agent.woken_for is None]


def awaited(idle: Iterable[IdleAgent]) -> frozenset[str]:
    """The callers a wake is on its way for: each has an agent coming."""
    return frozenset(agent.woken_for for agent in idle if agent.woken_for is not None)
