"""Whole calls through the emulator while operators set announcements, on SQLite and
PostgreSQL; two replicas share one database and one virtual clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from ivr.config.settings import Settings
from ivr.emulator import Call, Switch, VirtualClock, render_transcript
from ivr.engine.announcements import NewAnnouncement
from ivr.engine.line_state import Kind
from ivr.store import Store
from ivr.store.announcements import AnnouncementStore
from ivr.web.app import create_app
from tests.support.calls import CALLERS, LINES, PUBLIC_URL, TOKEN
from tests.support.console import matches
from tests.support.databases import replica
from tests.support.docs import block

US_MORNING = "2026-03-02T10:00-05:00"  # Monday, the US line is open
CLOSED = "We're sorry. Our agents can't take calls right now."
CALLBACK_OFFER = (
    "To have an agent call you back as soon as one is free, press 1, or say: call me back."
)
MAIN_MENU = "Main menu."


@dataclass
class Replica:
    app: FastAPI
    phone: Switch


@dataclass
class Service:
    """Two replicas of the service on one database, and the operator's view of it."""

    clock: VirtualClock
    store: Store
    a: Replica
    b: Replica

    def announce(
        self,
        kind: Kind,
        text: str = "",
        region: str = "us",
        language: str | None = None,
        lasting: timedelta = timedelta(hours=2),
    ) -> int:
        """What `ivr announce add` or the wallboard does: one row in the shared database."""
        now = self.clock.now()
        new = NewAnnouncement(region, language, kind, text, now, now + lasting, "operator")
        return AnnouncementStore(self.store.engine).add(new, now).id


@pytest.fixture
def two_replicas(settings: Settings, store: Store) -> Iterator[Service]:
    clock = VirtualClock(US_MORNING)
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC_URL}
    )
    other = replica(store)
    app_a = create_app(signed, clock=clock, store=store)
    app_b = create_app(signed, clock=clock, store=other)
    switch = {"clock": clock, "auth_token": TOKEN, "public_url": PUBLIC_URL}
    with Switch(app_a, **switch) as phone_a, Switch(app_b, **switch) as phone_b:  # type: ignore[arg-type]
        yield Service(clock, store, Replica(app_a, phone_a), Replica(app_b, phone_b))
    other.close()


def us_caller_asks_for_an_agent(phone: Switch, number: str = CALLERS["us"]) -> Call:
    call = phone.dial(number, LINES["us"])
    call.press("1")  # English
    call.press("0")
    return call


@pytest.mark.slow
def test_a_caller_hears_the_message_once_then_the_menu(two_replicas: Service) -> None:
    two_replicas.announce(
        Kind.MESSAGE, "Card payments are delayed this morning. We're on it.", language="en-US"
    )
    two_replicas.announce(
        Kind.MESSAGE, "Los pagos con tarjeta llevan retraso esta mañana.", language="es-MX"
    )
    call = two_replicas.a.phone.dial(CALLERS["us"], LINES["us"])
    call.press("1")
    heard = call.turn
    message = heard.index("Card payments are delayed this morning. We're on it.")
    assert heard[message - 1].startswith("We will never ask for your password")
    assert message == len(heard) - 1  # the welcome's last line: keys work all through it
    assert "Los pagos con tarjeta llevan retraso esta mañana." not in heard
    call.silence()
    assert call.turn[0] == MAIN_MENU
    call.press("*")  # the menu again, without the message
    assert call.hears(MAIN_MENU)
    assert not call.hears("Card payments are delayed")
    call.press("1")  # self-service is untouched
    assert call.hears("Here's how to reset a forgotten password.")


@pytest.mark.slow
def test_a_closed_queue_turns_new_callers_away_and_moves_waiting_callers_out(
    two_replicas: Service,
) -> None:
    phone = two_replicas.a.phone
    waiting = us_caller_asks_for_an_agent(phone)
    assert waiting.queue == "us-en-US"
    two_replicas.announce(Kind.CLOSED)
    newcomer = us_caller_asks_for_an_agent(phone, "+12025550177")
    assert newcomer.hears(CLOSED)
    assert newcomer.hears(CALLBACK_OFFER)
    assert newcomer.queue is None
    assert not any(event.type == "enqueue" for event in newcomer.events)
    # At the next poll of the wait URL (one announcement later) the caller is moved out; they
    # then choose a callback (1) on the number they call from (1).
    waiting.answers.extend(["1", "1"])
    waiting.wait(65)
    assert [e.to_json()["result"] for e in waiting.events if e.type == "leave"] == ["leave"]
    after_leaving = waiting.heard[waiting.heard.index(CLOSED) :]
    assert CALLBACK_OFFER in after_leaving
    assert "We'll call you back on your number ending in 0 1 8 8." in after_leaving
    assert any(line.startswith("Your callback code is") for line in after_leaving)


@pytest.mark.slow
def test_what_the_docs_show_a_caller_hears_during_a_closure(two_replicas: Service) -> None:
    two_replicas.announce(Kind.CLOSED)
    call = us_caller_asks_for_an_agent(two_replicas.a.phone)
    shown = block("text", "# a US caller asks for an agent while the US line is closed")
    printed = render_transcript(call.events).splitlines()
    # an excerpt: what comes before and after is left out
    assert matches([*shown.splitlines()[1:], "..."], printed), "\n".join(printed)


@pytest.mark.slow
def test_a_callback_only_queue_books_callbacks_instead(two_replicas: Service) -> None:
    two_replicas.announce(Kind.CALLBACK_ONLY, language="en-US")
    call = us_caller_asks_for_an_agent(two_replicas.a.phone)
    assert call.turn[:2] == [
        "Right now, our agents are calling customers back instead of answering new calls.",
        CALLBACK_OFFER,
    ]
    call.press("1")
    call.press("1")
    assert call.hears("Your callback code is")
    assert two_replicas.store.callbacks.open_callbacks()[0].region == "us"


@pytest.mark.slow
def test_a_closure_ends_at_its_expiry_on_the_services_clock(two_replicas: Service) -> None:
    two_replicas.announce(Kind.CLOSED, lasting=timedelta(minutes=10))
    early = us_caller_asks_for_an_agent(two_replicas.a.phone)
    assert early.hears(CLOSED)
    early.hangup()
    two_replicas.clock.set(two_replicas.clock.now() + timedelta(minutes=10))
    late = us_caller_asks_for_an_agent(two_replicas.a.phone, "+12025550177")
    assert not late.hears(CLOSED)
    assert late.queue == "us-en-US"


@pytest.mark.slow
def test_an_announcement_set_on_one_replica_reaches_the_other(two_replicas: Service) -> None:
    first = two_replicas.b.phone.dial(CALLERS["us"], LINES["us"])  # replica B reads: nothing yet
    first.press("1")
    first.silence()
    assert first.hears(MAIN_MENU) and not first.hears("Scam alert")
    first.hangup()
    two_replicas.announce(Kind.MESSAGE, "Scam alert: we never call to ask for codes.")
    two_replicas.a.app.state.services.announcements.stale()  # set through replica A
    two_replicas.clock.advance(5)  # B reads again within seconds
    second = two_replicas.b.phone.dial(CALLERS["us"], LINES["us"])
    second.press("1")
    assert second.hears("Scam alert: we never call to ask for codes.")


@pytest.mark.slow
def test_calls_go_on_with_the_last_known_announcements_when_the_table_cannot_be_read(
    two_replicas: Service, caplog: pytest.LogCaptureFixture
) -> None:
    two_replicas.announce(Kind.MESSAGE, "Withdrawals are delayed.")
    first = two_replicas.a.phone.dial(CALLERS["us"], LINES["us"])
    first.press("1")
    assert first.hears("Withdrawals are delayed.")
    first.hangup()
    with two_replicas.store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE announcements RENAME TO announcements_away"))
    two_replicas.clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        second = two_replicas.a.phone.dial(CALLERS["us"], LINES["us"])
        second.press("1")
    assert second.hears("Withdrawals are delayed.")
    second.silence()
    assert second.hears(MAIN_MENU)
    assert "announcements could not be read" in caplog.text
    with two_replicas.store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE announcements_away RENAME TO announcements"))
