"""The callback dispatcher against the emulator's REST API, with Twilio's own client.

The IVR app runs in-process behind the emulator's switch; the dispatcher's client reaches the
switch's REST server over real HTTP (IVR_TWILIO_API_URL). App, switch and dispatcher share one
virtual clock. Callbacks are booked straight into the store, as the booking webhook would.
Every test runs on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from twilio.rest import Client

from ivr.config.settings import Settings
from ivr.emulator import Call, Recording, Switch, VirtualClock
from ivr.engine.announcements import NewAnnouncement
from ivr.engine.line_state import Kind, Skills
from ivr.jobs.dispatcher import Dispatcher, Pass, twilio_client
from ivr.store import CallbackRecord, Store
from ivr.store.agents import AgentStore
from ivr.store.announcements import AnnouncementStore
from ivr.store.passwords import hash_secret
from ivr.web.app import create_app
from tests.support.databases import replica
from tests.support.repository import ROOT

TOKEN = "dispatch-auth-token"
PUBLIC_URL = "https://ivr.example.com"
JP_LINE = "+81345678901"
CALLEE = "+819012345678"
CHAT = "https://help.example.com/chat?region=jp"
MONDAY_11_TOKYO = "2026-03-02T11:00+09:00"
ATTEMPTS, RETRY = 3, 600  # the sample regions' callback settings
THRESHOLD = 3  # place_while_waiting_below


def sid(n: int) -> str:
    return f"CA{n:032x}"


@dataclass
class Rig:
    """The app behind a switch with its REST API, and a dispatcher reaching it over HTTP."""

    store: Store
    app: FastAPI
    clock: VirtualClock
    switch: Switch
    settings: Settings
    dispatcher: Dispatcher
    clients: list[Client] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)

    def client(self, settings: Settings | None = None) -> Client:
        client = twilio_client(settings or self.settings)
        self.clients.append(client)
        return client

    def another_dispatcher(self) -> Dispatcher:
        """A dispatcher on another replica: its own store connections and Twilio client."""
        other = replica(self.store)
        self.stores.append(other)
        services = self.app.state.services
        return Dispatcher(
            other,
            services.config.regions,
            services.config.prompts,
            self.settings,
            self.clock,
            self.client(),
        )

    def book(self, n: int, number: str = CALLEE, code: str = "424242") -> CallbackRecord:
        self.store.callbacks.book(
            sid(n), number, "jp", "en-US", "main", code, self.clock.now(), limits=None
        )
        record = self.store.callbacks.for_call(sid(n))
        assert record is not None
        return record

    def callback(self, callback_id: int) -> CallbackRecord:
        record = self.store.callbacks.get(callback_id)
        assert record is not None
        return record

    def wait_in_queue(self, caller: str, queue: str) -> Call:
        """A caller waiting in `queue` (inline TwiML: the IVR's menus are not under test)."""
        twiml = f"<Response><Enqueue>{queue}</Enqueue></Response>"
        call = self.switch.dial_twiml(twiml, from_=caller, to=JP_LINE)
        assert call.queue == queue
        return call


@pytest.fixture
def rig(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for name in ("TWILIO_ACCOUNT_SID", "IVR_RETENTION_DAYS", "IVR_SMTP_URL", "IVR_COMPANY_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_REGIONS", str(ROOT / "regions.toml"))
    monkeypatch.setenv("IVR_PROMPTS", str(ROOT / "prompts"))
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    monkeypatch.setenv("IVR_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("IVR_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.delenv("IVR_TWILIO_API_URL", raising=False)
    clock = VirtualClock(MONDAY_11_TOKYO)
    app = create_app(Settings(_env_file=None), clock=clock, store=store)
    with Switch(app, clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL) as switch:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", switch.account_sid)
        monkeypatch.setenv("IVR_TWILIO_API_URL", switch.serve_rest())
        settings = Settings(_env_file=None)
        client = twilio_client(settings)
        services = app.state.services
        dispatcher = Dispatcher(
            store, services.config.regions, services.config.prompts, settings, clock, client
        )
        rig = Rig(store, app, clock, switch, settings, dispatcher, [client])
        try:
            yield rig
        finally:
            for made in rig.clients:  # keep-alive sockets, else unclosed-socket warnings
                made.http_client.session.close()
            for other in rig.stores:
                other.close()


def code_heard(call: Call) -> str:
    """The digits of "Your callback code is 4 2 4, 2 4 2." as the callee heard them (digit by
    digit, however they are grouped)."""
    (line,) = [said for said in call.turn if said.startswith("Your callback code is")]
    assert re.fullmatch(r"Your callback code is [0-9](?:,? [0-9])*\.", line), line
    return re.sub(r"[^0-9]", "", line)


# --- a callback placed, answered, taken --------------------------------------------------------


@pytest.mark.slow
def test_a_booked_callback_is_placed_from_the_hotline_and_the_callee_joins_the_callback_queue(
    rig: Rig,
) -> None:
    booked = rig.book(1, code="424242")

    done = rig.dispatcher.run_once()

    assert done.placed == [booked.id]
    (created,) = rig.client().calls.list()  # Twilio has it, queued until the switch drives
    assert (created.to, created._from, created.status) == (CALLEE, JP_LINE, "queued")
    dialing = rig.callback(booked.id)
    assert (dialing.status, dialing.attempts, dialing.last_call_sid) == ("dialing", 1, created.sid)

    rig.switch.run()

    (call,) = rig.switch.outbound_calls()
    assert (call.sid, call.from_, call.to, call.status) == (
        created.sid,
        JP_LINE,
        CALLEE,
        "in-progress",
    )
    assert call.hears("Hello, this is wallet support, calling you back as you asked.")
    assert code_heard(call) == "424242"
    assert call.hears("To talk to an agent now, press 1.")
    assert call.hears("If you don't need help any more, press 9.")
    assert not call.warnings  # every request passed the app's signature check

    call.press("1")

    assert call.queue == "jp-en-US-callback"
    members = [member.call_sid for member in rig.switch.queues["jp-en-US-callback"].members]
    assert members == [call.sid]
    waiting = rig.callback(booked.id)
    assert (waiting.status, waiting.last_call_sid) == ("queued", call.sid)
    kept = rig.store.call(call.sid)
    assert kept is not None and kept.queue == "jp-en-US-callback"

    # the callee waits in the callback queue: it counts as a caller waiting, nothing is re-placed
    assert rig.dispatcher.run_once().placed == []
    call.hangup()  # tired of waiting: their choice, we do not call again
    assert rig.callback(booked.id).status == "cancelled"
    rig.switch.run(RETRY + 60)
    assert rig.dispatcher.run_once() == Pass()
    assert len(rig.switch.outbound_calls()) == 1 and rig.switch.messages == []


@pytest.mark.slow
def test_the_callee_can_cancel_with_9(rig: Rig) -> None:
    booked = rig.book(1, code="135790")
    assert rig.dispatcher.run_once().placed == [booked.id]
    rig.switch.run()
    (call,) = rig.switch.outbound_calls()
    call.press("9")
    assert call.hears("Your callback is cancelled. Thank you, goodbye.") and call.ended
    assert call.queue is None
    assert rig.callback(booked.id).status == "cancelled"
    rig.switch.run(RETRY * ATTEMPTS)
    assert rig.dispatcher.run_once().placed == []
    assert len(rig.switch.outbound_calls()) == 1 and rig.switch.messages == []


@pytest.mark.slow
def test_nothing_is_placed_while_the_region_is_closed(rig: Rig) -> None:
    rig.clock.set("2026-03-02T08:59+09:00")  # Tokyo opens at 9
    booked = rig.book(1)
    done = rig.dispatcher.run_once()
    rig.switch.run()
    assert done.placed == [] and rig.switch.outbound_calls() == []
    assert rig.client().calls.list() == []
    waiting = rig.callback(booked.id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    rig.clock.set("2026-03-02T09:00+09:00")
    assert rig.dispatcher.run_once().placed == [booked.id]


@pytest.mark.slow
def test_nothing_is_placed_while_the_regions_queues_hold_enough_callers(rig: Rig) -> None:
    first = rig.book(1, number="+819011110001")
    rig.clock.advance(60)
    second = rig.book(2, number="+819011110002")
    rig.wait_in_queue("+819087650001", "jp-en-US")
    rig.wait_in_queue("+819087650002", "jp-ja-JP-priority")
    rig.wait_in_queue("+819087650003", "kr-ko-KR")  # another region's queue does not count
    rig.wait_in_queue("+819087650004", "support")  # nor a queue that is not a region's

    # two of the region's callers wait: one callback fits below the threshold of three
    assert rig.dispatcher.run_once().placed == [first.id]
    rig.switch.run()
    (placed,) = rig.switch.outbound_calls()
    assert placed.to == "+819011110001"

    # the callee waiting at the greeting is not in a queue yet; a third caller queues
    rig.wait_in_queue("+819087650005", "jp-en-US-callback")
    assert rig.dispatcher.run_once().placed == []
    rig.switch.run()
    assert len(rig.switch.outbound_calls()) == 1
    assert rig.callback(second.id).status == "pending"


@pytest.mark.slow
def test_callbacks_still_being_dialed_count_toward_the_threshold(rig: Rig) -> None:
    for n in range(2 * THRESHOLD):
        rig.book(n, number=f"+8190111100{n:02d}")
    assert len(rig.dispatcher.run_once().placed) == THRESHOLD
    rig.switch.run(15)  # the next pass of `ivr dispatch`: the callees hear their greeting
    assert all(call.queue is None and not call.ended for call in rig.switch.outbound_calls())
    assert rig.dispatcher.run_once().placed == []


# --- unreachable callees -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_busy_callee_is_retried_after_retry_after(rig: Rig) -> None:
    rig.switch.callee(CALLEE, "busy")
    booked = rig.book(1)
    assert rig.dispatcher.run_once().placed == [booked.id]
    rig.switch.run()
    (call,) = rig.switch.outbound_calls()
    assert call.status == "busy"
    ended_at = rig.clock.now()
    retry = rig.callback(booked.id)
    assert (retry.status, retry.attempts, retry.last_result) == ("pending", 1, "busy")
    assert retry.next_attempt_at == ended_at + timedelta(seconds=RETRY)

    rig.switch.run(RETRY - 1)
    assert rig.dispatcher.run_once().placed == []
    rig.switch.run(1)
    assert rig.dispatcher.run_once().placed == [booked.id]
    rig.switch.run()
    assert len(rig.switch.outbound_calls()) == 2
    assert rig.callback(booked.id).attempts == 2


@pytest.mark.slow
def test_after_the_last_attempt_the_caller_gets_one_text_with_the_code(rig: Rig) -> None:
    rig.switch.callee(CALLEE, "busy")
    booked = rig.book(1, code="246810")
    for attempt in range(1, ATTEMPTS + 1):
        assert rig.dispatcher.run_once().placed == [booked.id]
        rig.switch.run()
        assert rig.callback(booked.id).attempts == attempt
        assert rig.switch.messages == []
        rig.switch.run(RETRY)
    expired = rig.callback(booked.id)
    assert (expired.status, expired.note_due, expired.last_result) == ("expired", True, "busy")
    assert len(rig.switch.outbound_calls()) == ATTEMPTS

    first = rig.dispatcher.run_once()
    second = rig.dispatcher.run_once()

    assert (first.notes, first.placed, second.notes) == (1, [], 0)
    (text_message,) = rig.switch.messages
    assert (text_message.to, text_message.from_) == (CALLEE, JP_LINE)
    assert "246810" in text_message.body and CHAT in text_message.body
    noted = rig.callback(booked.id)
    assert noted.note_due is False and noted.note_sent_at == rig.clock.now()
    assert len(rig.switch.outbound_calls()) == ATTEMPTS


@pytest.mark.slow
def test_an_unanswered_callback_is_retried_on_a_new_call(rig: Rig) -> None:
    rig.switch.callee(CALLEE, "no-answer")
    booked = rig.book(1)
    rig.dispatcher.run_once()
    rig.switch.run()
    first = rig.callback(booked.id)
    assert (first.status, first.last_result) == ("pending", "no-answer")
    rig.switch.callee(CALLEE, "answer")
    rig.switch.run(RETRY)
    assert rig.dispatcher.run_once().placed == [booked.id]
    rig.switch.run()
    calls = rig.switch.outbound_calls()
    assert [call.status for call in calls] == ["no-answer", "in-progress"]
    assert rig.callback(booked.id).last_call_sid == calls[1].sid
    calls[1].press("1")
    assert rig.callback(booked.id).status == "queued"


# --- several dispatchers -----------------------------------------------------------------------


@pytest.mark.slow
def test_two_dispatchers_running_at_once_never_place_a_callback_twice(rig: Rig) -> None:
    booked = [rig.book(n, number=f"+8190111100{n:02d}", code=f"{n:06d}") for n in range(6)]
    dispatchers = [rig.dispatcher, rig.another_dispatcher()]
    placed: list[int] = []
    for _ in range(3):  # a few rounds: a replica may find every due callback taken
        barrier = threading.Barrier(len(dispatchers))

        def run(dispatcher: Dispatcher, barrier: threading.Barrier = barrier) -> Pass:
            barrier.wait()
            return dispatcher.run_once()

        with ThreadPoolExecutor(len(dispatchers)) as pool:
            passes = list(pool.map(run, dispatchers))
        placed += [callback_id for done in passes for callback_id in done.placed]

    assert len(placed) == len(set(placed))  # never the same callback twice
    # Callbacks being dialed count toward the region's threshold (3): each replica stops at
    # it, and two replicas checking at the same instant may each place up to it.
    assert 3 <= len(placed) <= 2 * 3
    created = rig.client().calls.list()
    by_id = {callback.id: callback for callback in booked}
    assert sorted(call.to for call in created) == sorted(by_id[i].number for i in placed)
    for callback_id in placed:
        record = rig.callback(callback_id)
        assert record.attempts == 1 and record.status == "dialing"
        (call,) = [call for call in created if call.sid == record.last_call_sid]
        assert call.to == by_id[callback_id].number
    rig.switch.run()
    assert len(rig.switch.outbound_calls()) == len(placed)


@pytest.mark.slow
def test_a_replica_passing_while_another_dials_does_not_take_its_callback(rig: Rig) -> None:
    booked = rig.book(1)
    other = rig.another_dispatcher()
    passes: list[Pass] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        # the rig's dispatcher has claimed and created the call; it now records its sid
        dialed = sql.lstrip().upper().startswith("UPDATE") and "SET last_call_sid" in sql
        if dialed and not passes:
            passes.append(other.run_once())

    event.listen(rig.store.engine, "before_cursor_execute", before)
    try:
        mine = rig.dispatcher.run_once()
    finally:
        event.remove(rig.store.engine, "before_cursor_execute", before)
    (theirs,) = passes
    assert (mine.placed, theirs.placed) == ([booked.id], [])
    assert len(rig.client().calls.list()) == 1


@pytest.mark.slow
def test_two_replicas_passing_at_once_send_the_note_once(rig: Rig) -> None:
    rig.switch.callee(CALLEE, "busy")
    booked = rig.book(1, code="975310")
    for _ in range(ATTEMPTS):
        rig.dispatcher.run_once()
        rig.switch.run()
        rig.switch.run(RETRY)
    assert rig.callback(booked.id).note_due
    other = rig.another_dispatcher()
    passes: list[Pass] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        # the rig's dispatcher has sent the text; it now marks the note sent
        if "note_sent_at" in sql and sql.lstrip().upper().startswith("UPDATE") and not passes:
            passes.append(other.run_once())

    event.listen(rig.store.engine, "before_cursor_execute", before)
    try:
        rig.dispatcher.run_once()
    finally:
        event.remove(rig.store.engine, "before_cursor_execute", before)
    assert len(passes) == 1
    assert [message.to for message in rig.switch.messages] == [CALLEE]


# --- retention ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_dispatcher_purges_old_records_once_a_day_deleting_recordings_at_twilio(
    rig: Rig,
) -> None:
    settings = rig.settings.model_copy(update={"retention_days": 30})
    services = rig.app.state.services
    dispatcher = Dispatcher(
        rig.store,
        services.config.regions,
        services.config.prompts,
        settings,
        rig.clock,
        rig.client(settings),
    )
    old = rig.clock.now() - timedelta(days=31)
    recording = Recording("RE" + "a" * 32, sid(1), rig.switch.account_sid, 20, old)
    rig.switch.recordings.append(recording)
    rig.store.voicemails.save(
        recording.sid, sid(1), recording.url, 20, CALLEE, "jp", "en-US", None, old
    )
    rig.store.record_step(sid(1), CALLEE, "jp", "en-US", "s", "main:1", old)

    assert dispatcher.run_once().purged
    assert rig.switch.recordings == [] and rig.store.voicemails.get(recording.sid) is None
    assert rig.store.call(sid(1)) is None
    rig.clock.advance(3600)
    assert not dispatcher.run_once().purged
    rig.clock.advance(86_400)
    assert dispatcher.run_once().purged


# --- lines an operator closed ------------------------------------------------------------------


def announce(
    rig: Rig,
    kind: Kind,
    language: str | None = None,
    lasting: timedelta = timedelta(hours=2),
    *,
    region: str = "jp",
    text: str = "",
) -> int:
    """What `ivr announce add` or the wallboard does: one row in the shared database."""
    now = rig.clock.now()
    new = NewAnnouncement(region, language, kind, text, now, now + lasting, "operator")
    return AnnouncementStore(rig.store.engine).add(new, now).id


def book_in(rig: Rig, n: int, language: str) -> CallbackRecord:
    rig.store.callbacks.book(
        sid(n), f"+8190111100{n:02d}", "jp", language, "main", "424242", rig.clock.now()
    )
    record = rig.store.callbacks.for_call(sid(n))
    assert record is not None
    return record


@pytest.mark.slow
def test_a_callback_due_while_its_line_is_closed_waits_until_the_closure_is_cancelled(
    rig: Rig,
) -> None:
    booked = rig.book(1)
    closure = announce(rig, Kind.CLOSED, language="en-US")

    assert rig.dispatcher.run_once().placed == []
    rig.switch.run()
    assert rig.switch.outbound_calls() == [] and rig.client().calls.list() == []
    held = rig.callback(booked.id)
    assert (held.status, held.attempts) == ("pending", 0)

    assert AnnouncementStore(rig.store.engine).cancel(closure, rig.clock.now(), by="operator")
    assert rig.dispatcher.run_once().placed == [booked.id]
    rig.switch.run()
    (call,) = rig.switch.outbound_calls()
    assert call.to == CALLEE and call.hears("To talk to an agent now, press 1.")


@pytest.mark.slow
def test_closing_one_language_holds_only_that_languages_callbacks(rig: Rig) -> None:
    english = book_in(rig, 1, "en-US")  # waiting longest
    rig.clock.advance(60)
    japanese = book_in(rig, 2, "ja-JP")
    announce(rig, Kind.CLOSED, language="en-US")
    assert rig.dispatcher.run_once().placed == [japanese.id]
    assert rig.callback(english.id).status == "pending"


@pytest.mark.slow
def test_a_region_wide_closure_holds_every_language_until_it_expires(rig: Rig) -> None:
    english, japanese = book_in(rig, 1, "en-US"), book_in(rig, 2, "ja-JP")
    announce(rig, Kind.CLOSED, lasting=timedelta(minutes=30))
    assert rig.dispatcher.run_once().placed == []
    rig.clock.advance(29 * 60)
    assert rig.dispatcher.run_once().placed == []
    rig.clock.advance(60)
    assert rig.dispatcher.run_once().placed == [english.id, japanese.id]


@pytest.mark.slow
def test_a_callback_only_line_still_places_its_callbacks(rig: Rig) -> None:
    booked = rig.book(1)
    announce(rig, Kind.CALLBACK_ONLY)
    announce(rig, Kind.MESSAGE, "en-US", text="Card payments are delayed.")
    assert rig.dispatcher.run_once().placed == [booked.id]


@pytest.mark.slow
def test_another_regions_closure_does_not_hold_this_regions_callbacks(rig: Rig) -> None:
    booked = rig.book(1)
    announce(rig, Kind.CLOSED, region="us")
    assert rig.dispatcher.run_once().placed == [booked.id]


@pytest.mark.slow
def test_callbacks_are_placed_as_before_when_the_announcements_cannot_be_read(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    booked = rig.book(1)
    announce(rig, Kind.CLOSED)
    with rig.store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE announcements RENAME TO announcements_away"))
    try:
        with caplog.at_level(logging.WARNING, logger="ivr.jobs.dispatcher"):
            done = rig.dispatcher.run_once()
    finally:
        with rig.store.engine.begin() as connection:
            connection.execute(text("ALTER TABLE announcements_away RENAME TO announcements"))
    assert done.placed == [booked.id]
    assert "announcements could not be read" in caplog.text


@pytest.mark.slow
def test_a_pass_reads_the_announcements_once_for_every_region(rig: Rig) -> None:
    rig.book(1)
    announce(rig, Kind.CLOSED, language="ja-JP")
    reads: list[str] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if "FROM announcements" in sql:
            reads.append(sql)

    event.listen(rig.store.engine, "before_cursor_execute", before)
    try:
        assert len(rig.dispatcher.run_once().placed) == 1
    finally:
        event.remove(rig.store.engine, "before_cursor_execute", before)
    assert len(reads) == 1


# --- lines no logged-in agent serves ------------------------------------------------------------


def agent_on_the_line(rig: Rig, name: str, languages: tuple[str, ...], n: int) -> None:
    agents = AgentStore(rig.store.engine)
    now = rig.clock.now()
    skills = Skills(languages, ("jp",))
    agents.add(name, [f"+8190222200{n:02d}"], skills, hash_secret("246810", cost=2**4), now)
    assert agents.log_in(name, "CA" + f"{n:032x}", now) is not None


@pytest.mark.slow
def test_callbacks_wait_for_an_agent_who_speaks_their_language(rig: Rig) -> None:
    english = book_in(rig, 1, "en-US")  # waiting longest
    rig.clock.advance(60)
    japanese = book_in(rig, 2, "ja-JP")
    agent_on_the_line(rig, "kenji", ("ja-JP",), 1)
    assert rig.dispatcher.run_once().placed == [japanese.id]
    assert rig.callback(english.id).status == "pending"
    agent_on_the_line(rig, "amy", ("en-US",), 2)
    assert rig.dispatcher.run_once().placed == [english.id]


@pytest.mark.slow
def test_configured_agents_all_logged_out_hold_every_callback(rig: Rig) -> None:
    booked = rig.book(1)
    AgentStore(rig.store.engine).add(
        "kenji",
        ["+819022220001"],
        Skills(("en-US",), ("jp",)),
        hash_secret("246810", cost=2**4),
        rig.clock.now(),
    )
    assert rig.dispatcher.run_once().placed == []
    assert rig.callback(booked.id).status == "pending"
