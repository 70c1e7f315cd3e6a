"""PINs keyed at the same moment, on SQLite and PostgreSQL: the agent line compares no more
PINs than the line's failed-PIN budget and an agent's tries allow, however many webhooks
check at once. Each PIN takes its share before it is compared, so a crowd of guesses
cannot all pass the "anything left?" question before any of them is counted.

The webhooks run concurrently in one app (each PIN check in a worker thread, as served);
the comparisons are counted by a wrapper around the scrypt check, never timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.emulator.transport import OnLoopback
from ivr.engine.agent_line import MAX_PIN_TRIES, budget_window
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore
from ivr.store.passwords import hash_secret
from ivr.web import agent_pins
from ivr.web import app as web_app
from tests.support.agents import LI_PHONE, T0

AGENT_LINE = "+12025550199"
PIN = "135792"
AT_ONCE = 40
BUDGET = 20


class Comparisons:
    """The PIN checks the webhooks made against agents' own hashes (a refusal that compares
    nothing checks a dummy hash instead, for the same work)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.against: list[str] = []
        verify = agent_pins.verify_secret

        def counted(secret: str, stored: str) -> bool:
            self.against.append(stored)
            return verify(secret, stored)

        monkeypatch.setattr(agent_pins, "verify_secret", counted)

    def of(self, pin_hash: str) -> int:
        return self.against.count(pin_hash)


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("ivr_agent_pin_failures_total", {"refused": reason}) or 0


def key_at_once(app: Any, keyed: list[tuple[str, str]]) -> list[str]:
    """(caller, digits) keyed at the same moment, each on a call of its own: the answers."""

    async def all_at_once() -> list[str]:
        transport = httpx.ASGITransport(app=OnLoopback(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://ivr.test") as client:
            warm = {"CallSid": "CA" + "f" * 32, "From": "+8613800138000", "To": AGENT_LINE}
            assert (await client.post("/voice/agent/pin", data=warm)).status_code == 200
            posts = [
                client.post(
                    "/voice/agent/pin",
                    data={
                        "CallSid": f"CA{n:032x}",
                        "From": caller,
                        "To": AGENT_LINE,
                        "Digits": pin,
                    },
                )
                for n, (caller, pin) in enumerate(keyed, start=1)
            ]
            answers = await asyncio.gather(*posts)
        assert all(answer.status_code == 200 for answer in answers)
        return [answer.text for answer in answers]

    return asyncio.run(all_at_once())


@pytest.fixture
def line(store: Store, settings: Settings) -> Iterator[Any]:
    budgeted = settings.model_copy(update={"agent_pin_budget": BUDGET})
    yield web_app.create_app(budgeted, clock=FixedClock(T0), store=store)


@pytest.mark.slow
def test_guesses_at_once_from_many_agents_phones_compare_no_more_pins_than_the_budget(
    store: Store, line: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = AgentStore(store.engine)
    pin_hash = hash_secret(PIN)
    phones = [f"+86139000012{n:02d}" for n in range(AT_ONCE)]
    for n, phone in enumerate(phones):
        agents.add(f"agent{n}", [phone], Skills(("zh-CN",), ("cn",)), pin_hash, T0)
    comparisons = Comparisons(monkeypatch)
    over_budget, wrong = refused("over_budget"), refused("wrong_pin")

    answers = key_at_once(line, [(phone, "864209") for phone in phones])

    assert agents.pin_check(LI_PHONE, budget_window(T0)).failures == BUDGET
    assert comparisons.of(pin_hash) == BUDGET
    assert refused("wrong_pin") - wrong == BUDGET
    assert refused("over_budget") - over_budget == AT_ONCE - BUDGET
    assert len(set(answers)) == 1  # every refusal sounds the same


@pytest.mark.slow
def test_guesses_at_once_at_one_agents_phone_compare_no_more_pins_than_the_lock_allows(
    store: Store, line: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = AgentStore(store.engine)
    pin_hash = hash_secret(PIN)
    agents.add("li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), pin_hash, T0)
    comparisons = Comparisons(monkeypatch)
    locked = refused("locked")

    answers = key_at_once(line, [(LI_PHONE, f"{n:06d}") for n in range(1, AT_ONCE + 1)])

    assert comparisons.of(pin_hash) == MAX_PIN_TRIES
    li = agents.get("li")
    assert li is not None and li.locked(T0)
    # Every guess took one of the line's budget; those past the lock were never compared.
    assert agents.pin_check(LI_PHONE, budget_window(T0)).failures == BUDGET
    assert refused("locked") - locked == BUDGET - MAX_PIN_TRIES
    assert len(set(answers)) == 1
