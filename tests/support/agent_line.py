"""The agent line in whole-call tests: agents, their logins, callers joining a queue, and
whether an agent is talking to a caller (through the emulator)."""

from __future__ import annotations

from ivr.emulator import Call, Switch
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore
from ivr.store.passwords import hash_secret

AGENT_LINE = "+12025550199"  # the agent line: a number of its own, never published
Agent = tuple[str, str, str]  # name, phone, PIN
LI: Agent = ("li", "+8613900001111", "135792")
AMY: Agent = ("amy", "+12025550123", "246810")
BOB: Agent = ("bob", "+12025550124", "975310")
US_OPEN = "2026-03-02T10:00-05:00"  # Monday 10:00 in Washington: the US line is open


def add_agent(store: Store, who: Agent, skills: Skills, switch: Switch) -> None:
    name, number, pin = who
    AgentStore(store.engine).add(name, [number], skills, hash_secret(pin), switch.clock.now())


def log_in(switch: Switch, who: Agent, at: str | None = None) -> Call:
    """`who` calls the agent line (at `at`, when given) and keys their PIN."""
    _, number, pin = who
    return switch.dial(number, AGENT_LINE, at=at, answers=[pin + "#"])


def bridged(agent: Call, caller: Call) -> bool:
    """The agent is talking to `caller` right now."""
    talks = [e.to_json() for e in agent.events if e.type in ("bridge", "dial-end")]
    return bool(talks) and talks[-1]["type"] == "bridge" and talks[-1]["peer"] == caller.sid


def queued(switch: Switch, number: str, line: str, keys: list[str], queue: str) -> Call:
    """A caller who pressed `keys` and joined `queue` (an agent may have taken them already)."""
    call = switch.dial(number, line, answers=keys)
    joined = [e.to_json()["queue"] for e in call.events if e.type == "enqueue"]
    assert joined == [queue], call.transcript
    return call
