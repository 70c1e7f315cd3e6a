"""Agents on calls and available per line, from the agents' states in the store."""

from __future__ import annotations

from datetime import timedelta

from ivr.config.regions import RegionBook
from ivr.dashboard.agents import AgentCounts, agents_on_calls_and_available, count_agents
from ivr.engine.agent_line import AgentState
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore
from ivr.store.passwords import hash_secret
from tests.support.moments import instant

NOW = instant("2026-03-02T10:00+00:00")
UK = ("gb", "en-GB")
JP_ENGLISH = ("jp", "en-US")


def test_an_agent_counts_on_every_line_they_take() -> None:
    english_everywhere = Skills(("en-GB", "en-US"), ("*",))
    uk_only = Skills(("en-GB",), ("gb",))
    counts = count_agents(
        [
            (english_everywhere, AgentState.ON_CALL),
            (uk_only, AgentState.AVAILABLE),
            (uk_only, AgentState.WRAP_UP),
            (uk_only, AgentState.OFFLINE),
        ],
        [UK, JP_ENGLISH, ("jp", "ja-JP")],
    )
    assert counts == {
        UK: AgentCounts(on_calls=1, available=1),
        JP_ENGLISH: AgentCounts(on_calls=1, available=0),
        ("jp", "ja-JP"): AgentCounts(on_calls=0, available=0),
    }


def test_from_the_store_logged_in_agents_are_available(store: Store, book: RegionBook) -> None:
    agents = AgentStore(store.engine)
    assert agents_on_calls_and_available(store, book, NOW) is None  # none configured
    pin = hash_secret("482193", cost=2**4)
    agents.add("kim", ["+447700900001"], Skills(("en-GB",), ("gb",)), pin, NOW)
    agents.add("sam", ["+447700900002"], Skills(("en-GB", "en-US"), ("*",)), pin, NOW)
    agents.log_in("kim", "CA" + "1" * 32, NOW + timedelta(seconds=1))
    counts = agents_on_calls_and_available(store, book, NOW + timedelta(seconds=2))
    assert counts is not None
    assert counts[UK] == AgentCounts(on_calls=0, available=1)  # sam is offline
    assert counts[JP_ENGLISH] == AgentCounts(on_calls=0, available=0)
