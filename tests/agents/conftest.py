"""Agents, the callers they may take, and call contexts on the agent line."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from ivr.agents import Skills, Waiting
from ivr.store import Store
from ivr.store.agents import AgentRecord, AgentStore
from tests.conftest import instant

# Monday 2 March 2026, 10:00 in Shanghai: agents open in Asia.
T0 = instant("2026-03-02T10:00+08:00")
LI_PHONE, AMY_PHONE = "+8613900001111", "+12025550123"
MANDARIN_AND_ENGLISH = Skills(("zh-CN", "en-US"), ("cn", "sg"))
ENGLISH_IN_JAPAN_AND_CHINA = Skills(("en-US",), ("jp", "cn"))
# A fast scrypt cost for tests that do not check PINs; the webhooks use the real one.
PIN_HASH = "scrypt$2$1$1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

WaitingFactory = Callable[..., Waiting]


def sid(n: int) -> str:
    return f"CA{n:032x}"


@pytest.fixture
def waiting() -> WaitingFactory:
    """A caller our records show in `queue` since `minutes` before T0."""
    numbers = itertools.count(1)

    def make(
        queue: str,
        minutes: float,
        since_minutes: float | None = None,
        region: str | None = None,
        language: str | None = None,
        reason: str | None = "main",
        reference: str | None = None,
    ) -> Waiting:
        queued_at = T0 - timedelta(minutes=minutes)
        since = T0 - timedelta(minutes=since_minutes) if since_minutes else queued_at
        return Waiting(
            call_sid=sid(next(numbers)),
            queue=queue,
            queued_at=queued_at,
            since=since,
            region=region or queue.split("-")[0],
            language=language or "-".join(queue.split("-")[1:3]),
            reason=reason,
            reference=reference,
        )

    return make


@pytest.fixture
def agents(store: Store) -> AgentStore:
    """The agents of a migrated store, on SQLite and on PostgreSQL."""
    return AgentStore(store.engine)


def add(
    agents: AgentStore,
    name: str = "li",
    phone: str = LI_PHONE,
    skills: Skills = MANDARIN_AND_ENGLISH,
    at: datetime = T0,
) -> AgentRecord:
    return agents.add(name, [phone], skills, PIN_HASH, at)
