"""Agents for tests: their phones and skills, callers waiting, fast PIN hashes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ivr.engine.agent_line import Waiting
from ivr.engine.line_state import Skills
from ivr.store.agents import AgentRecord, AgentStore
from tests.support.moments import instant

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


def add(
    agent_store: AgentStore,
    name: str = "li",
    phone: str = LI_PHONE,
    skills: Skills = MANDARIN_AND_ENGLISH,
    at: datetime = T0,
) -> AgentRecord:
    return agent_store.add(name, [phone], skills, PIN_HASH, at)
