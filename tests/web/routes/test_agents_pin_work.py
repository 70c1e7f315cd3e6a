"""The agent line's PIN webhook does the same work for every refusal, on SQLite and PostgreSQL:
the same SQL statements in the same transactions and one scrypt check of the same cost, for
a number that is no agent's, a withheld one, a wrong PIN, a locked agent and a spent budget.
Checked by counting (SQLAlchemy's engine events, a counting wrapper around the scrypt call),
never by timing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.engine.agent_line import PIN_BUDGET, budget_window
from ivr.engine.line_state import Skills
from ivr.store import Store, passwords
from ivr.store.agents import AgentStore
from ivr.store.passwords import hash_secret
from ivr.web.app import create_app
from tests.support.agents import LI_PHONE, T0
from tests.support.app_client import AppClient

AGENT_LINE = "+12025550199"
PIN = "135792"
STRANGER = "+8613800138000"  # in li's region: the line speaks the same language to both


@dataclass(frozen=True)
class Work:
    """What one webhook did: its statements and transaction ends, its scrypt checks, and
    what the caller heard; `order`: the first word of each statement, transaction end and
    "scrypt", in the order they happened."""

    database: list[str]
    hashing: list[tuple[int, ...]]
    answer: str
    order: list[str]


class PinLine:
    """The agent line's PIN webhook, recording the work of each request."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
        self.store = store
        self.client = AppClient(create_app(settings, clock=FixedClock(T0), store=store))
        self.calls = (f"CA{n:032x}" for n in itertools.count(1))
        self._database: list[str] = []
        self._hashing: list[tuple[int, ...]] = []
        self._order: list[str] = []
        engine = store.engine
        event.listen(engine, "before_cursor_execute", self._statement)
        for end in ("begin", "commit", "rollback"):
            event.listen(engine, end, lambda *_, end=end: self._ended(end.upper()))
        scrypt = passwords._scrypt

        def counted(*args: Any) -> bytes:
            self._hashing.append(tuple(args[2:]))  # cost, block size, parallelism, length
            self._order.append("scrypt")
            return scrypt(*args)

        monkeypatch.setattr(passwords, "_scrypt", counted)

    def _statement(self, *args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        self._database.append(statement)
        self._order.append(statement.split()[0])

    def _ended(self, end: str) -> None:
        self._database.append(end)
        self._order.append(end)

    def key(self, caller: str, digits: str) -> Work:
        self._database.clear()
        self._hashing.clear()
        self._order.clear()
        data = {"CallSid": next(self.calls), "From": caller, "To": AGENT_LINE, "Digits": digits}
        response = self.client.post("/voice/agent/pin", data=data)
        assert response.status_code == 200, response.text
        return Work(list(self._database), list(self._hashing), response.text, list(self._order))


@pytest.fixture
def line(store: Store, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[PinLine]:
    AgentStore(store.engine).add(
        "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
    )
    pins = PinLine(store, monkeypatch, settings)
    pins.key(STRANGER, "000000")  # the first webhook also reads announcements and staffing
    yield pins
    pins.client.close()


@pytest.mark.slow
def test_every_refused_pin_costs_the_same_database_and_hashing_work(line: PinLine) -> None:
    agents = AgentStore(line.store.engine)
    refused = {
        "no agent's number": line.key(STRANGER, PIN),
        "a withheld number": line.key("anonymous", PIN),
        "a wrong PIN": line.key(LI_PHONE, "000000"),
    }
    agents.lock("li", T0 + timedelta(hours=1), T0)
    refused["a locked agent's right PIN"] = line.key(LI_PHONE, PIN)
    refused["a locked agent's wrong PIN"] = line.key(LI_PHONE, "000001")
    agents.unlock("li", T0)
    for n in range(PIN_BUDGET):  # whatever the refusals above left of the budget
        agents.take_pin_try(
            "", f"spent:{n}", budget_window(T0), T0, PIN_BUDGET, timedelta(minutes=15)
        )
    refused["the right PIN once the budget is spent"] = line.key(LI_PHONE, PIN)
    refused["no agent's number once the budget is spent"] = line.key(STRANGER, PIN)

    first = refused["no agent's number"]
    statements = [line for line in first.database if line not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert [statement.split()[0] for statement in statements] == ["SELECT", "INSERT", "UPDATE"]
    assert len(first.hashing) == 1
    for why, work in refused.items():
        assert work.database == first.database, why
        assert work.hashing == first.hashing, why
    heard = {work.answer for why, work in refused.items() if why != "a withheld number"}
    assert len(heard) == 1  # the same TwiML, word for word


@pytest.mark.slow
def test_silence_costs_the_same_read_and_hashing_for_everyone_and_no_write(
    line: PinLine,
) -> None:
    agent, stranger = line.key(LI_PHONE, ""), line.key(STRANGER, "")
    assert agent == stranger
    statements = [line for line in agent.database if line not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert [statement.split()[0] for statement in statements] == ["SELECT"]
    assert len(agent.hashing) == 1


@pytest.mark.slow
def test_a_keyed_pin_is_counted_and_committed_before_it_is_compared(line: PinLine) -> None:
    """The share of the budget and the agent's try are taken, and visible to every replica,
    before the scrypt check: PINs keyed at the same moment cannot all be compared first."""
    for work in (line.key(LI_PHONE, "000000"), line.key(LI_PHONE, PIN), line.key(STRANGER, PIN)):
        compared = work.order.index("scrypt")
        assert work.order[compared - 3 : compared] == ["INSERT", "UPDATE", "COMMIT"]
        assert "INSERT" not in work.order[compared:]
