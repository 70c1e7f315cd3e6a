"""Voicemail tickets on SQLite and PostgreSQL, and the retention purge: recordings are deleted at
Twilio (the emulator's REST API, through Twilio's own client) before their tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from twilio.rest import Client

from ivr.emulator import Recording, Switch
from ivr.jobs.retention import PurgeReport, purge
from ivr.store import Store
from ivr.store.models import Call, Callback
from tests.support.moments import instant

NOW = instant("2026-06-01T10:00+09:00")
CUTOFF = NOW - timedelta(days=30)
TOKEN = "voicemail-test-token"
CALLER = "+819012345678"


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def save(
    store: Store, n: int, at: datetime, *, duration: int = 42, recording: str | None = None
) -> str:
    recording_sid = recording or sid("RE", n)
    store.voicemails.save(
        recording_sid,
        sid("CA", n),
        f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{recording_sid}",
        duration,
        CALLER,
        "jp",
        "en-US",
        "transaction",
        at,
    )
    return recording_sid


def count(store: Store, table: type[Call] | type[Callback]) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


# --- tickets -----------------------------------------------------------------------------------


def test_the_same_recording_posted_twice_is_one_ticket_with_the_calls_reference(
    store: Store,
) -> None:
    store.remember_queue_entry(
        sid("CA", 1), CALLER, "jp-en-US-priority", "jp", "en-US", "transaction", "98765432", NOW
    )
    save(store, 1, NOW + timedelta(minutes=3))
    save(store, 1, NOW + timedelta(minutes=4), duration=99)  # Twilio retried the webhook
    (ticket,) = store.voicemails.unsent()
    assert ticket == store.voicemails.get(sid("RE", 1))
    assert (ticket.call_sid, ticket.caller, ticket.region, ticket.language) == (
        sid("CA", 1),
        CALLER,
        "jp",
        "en-US",
    )
    assert (ticket.reason, ticket.transaction_ref, ticket.duration) == (
        "transaction",
        "98765432",
        42,
    )
    assert ticket.created_at == NOW + timedelta(minutes=3) and ticket.emailed_at is None
    assert ticket.recording_url.endswith(sid("RE", 1))


def test_a_ticket_without_a_call_record_has_no_reference(store: Store) -> None:
    save(store, 1, NOW)
    ticket = store.voicemails.get(sid("RE", 1))
    assert ticket is not None and ticket.transaction_ref is None
    assert store.voicemails.get(sid("RE", 2)) is None


def test_two_recordings_of_one_call_are_two_tickets(store: Store) -> None:
    save(store, 1, NOW)
    save(store, 1, NOW + timedelta(minutes=1), recording=sid("RE", 2))
    assert [t.recording_sid for t in store.voicemails.unsent()] == [sid("RE", 1), sid("RE", 2)]


def test_unsent_tickets_oldest_first_until_emailed(store: Store) -> None:
    save(store, 1, NOW + timedelta(minutes=2))
    save(store, 2, NOW)
    save(store, 3, NOW + timedelta(minutes=1))
    assert [t.recording_sid for t in store.voicemails.unsent()] == [
        sid("RE", 2),
        sid("RE", 3),
        sid("RE", 1),
    ]
    assert [t.recording_sid for t in store.voicemails.unsent(limit=2)] == [
        sid("RE", 2),
        sid("RE", 3),
    ]
    mailed_at = NOW + timedelta(minutes=5)
    store.voicemails.emailed(sid("RE", 2), mailed_at)
    store.voicemails.emailed(sid("RE", 2), mailed_at)  # twice: harmless
    assert [t.recording_sid for t in store.voicemails.unsent()] == [sid("RE", 3), sid("RE", 1)]
    emailed = store.voicemails.get(sid("RE", 2))
    assert emailed is not None and emailed.emailed_at == mailed_at


def test_older_than_and_forget(store: Store) -> None:
    save(store, 1, CUTOFF - timedelta(seconds=1))
    save(store, 2, CUTOFF)
    assert [t.recording_sid for t in store.voicemails.older_than(CUTOFF)] == [sid("RE", 1)]
    store.voicemails.forget(sid("RE", 1))
    assert store.voicemails.get(sid("RE", 1)) is None
    assert store.voicemails.older_than(CUTOFF) == []


# --- the retention purge -----------------------------------------------------------------------


def recorded(emulated_twilio: Switch, n: int, at: datetime) -> Recording:
    """A recording held at Twilio, as the switch keeps one after a <Record>."""
    recording = Recording(sid("RE", n), sid("CA", n), emulated_twilio.account_sid, 30, at)
    emulated_twilio.recordings.append(recording)
    return recording


@pytest.mark.slow
def test_an_old_voicemail_is_deleted_at_twilio_then_in_the_store(
    store: Store, emulated_twilio: Switch, rest_client: Client
) -> None:
    old_at, new_at = CUTOFF - timedelta(days=1), CUTOFF + timedelta(days=1)
    old, new = recorded(emulated_twilio, 1, old_at), recorded(emulated_twilio, 2, new_at)
    save(store, 1, old_at)
    save(store, 2, new_at)
    other = recorded(
        emulated_twilio, 3, old_at
    )  # a recording we hold no ticket for: not ours to delete

    report = purge(store, rest_client, CUTOFF)

    assert report == PurgeReport(calls=0, callbacks=0, voicemails=1, kept_voicemails=0)
    assert emulated_twilio.recordings == [new, other]
    assert old not in emulated_twilio.recordings
    assert store.voicemails.get(old.sid) is None
    assert store.voicemails.get(new.sid) is not None


@pytest.mark.slow
def test_a_recording_already_gone_at_twilio_still_frees_its_ticket(
    store: Store, emulated_twilio: Switch, rest_client: Client
) -> None:
    save(store, 1, CUTOFF - timedelta(days=3))  # its recording was deleted by hand at Twilio
    report = purge(store, rest_client, CUTOFF)
    assert (report.voicemails, report.kept_voicemails) == (1, 0)
    assert store.voicemails.get(sid("RE", 1)) is None


def test_without_a_twilio_client_voicemails_are_kept_and_reported(
    store: Store, emulated_twilio: Switch
) -> None:
    old_at = CUTOFF - timedelta(days=1)
    recording = recorded(emulated_twilio, 1, old_at)
    save(store, 1, old_at)
    save(store, 2, old_at)
    store.record_step(sid("CA", 5), CALLER, "jp", "en-US", "s", "main:1", old_at)

    report = purge(store, None, CUTOFF)

    assert report == PurgeReport(calls=1, callbacks=0, voicemails=0, kept_voicemails=2)
    assert store.voicemails.get(sid("RE", 1)) is not None
    assert store.voicemails.get(sid("RE", 2)) is not None
    assert emulated_twilio.recordings == [recording]


@pytest.mark.slow
def test_a_recording_twilio_refuses_to_delete_keeps_its_ticket(
    store: Store, emulated_twilio: Switch
) -> None:
    old_at = CUTOFF - timedelta(days=1)
    recording = recorded(emulated_twilio, 1, old_at)
    save(store, 1, old_at)
    wrong = Client(emulated_twilio.account_sid, "not-the-token")
    wrong.api.base_url = emulated_twilio.serve_rest()
    try:
        report = purge(store, wrong, CUTOFF)  # 401 from the API
    finally:
        wrong.http_client.session.close()
    assert (report.voicemails, report.kept_voicemails) == (0, 1)
    assert store.voicemails.get(recording.sid) is not None
    assert emulated_twilio.recordings == [recording]


@pytest.mark.slow
def test_old_calls_and_finished_callbacks_are_purged_open_callbacks_stay(
    store: Store, rest_client: Client
) -> None:
    old, new = CUTOFF - timedelta(hours=1), CUTOFF + timedelta(hours=1)
    store.record_step(sid("CA", 1), CALLER, "jp", "en-US", "s", "main:1", old)
    store.record_status(sid("CA", 2), CALLER, "completed", 30, old)
    store.record_step(sid("CA", 3), CALLER, "jp", "en-US", "s", "main:1", new)
    callbacks = store.callbacks

    def booked(n: int, at: datetime) -> int:
        callbacks.book(sid("CA", 10 + n), f"+8190111122{n:02d}", "jp", "en-US", None, "1", at)
        record = callbacks.for_call(sid("CA", 10 + n))
        assert record is not None
        return record.id

    hold = timedelta(minutes=15)
    done = booked(1, old)
    assert callbacks.claim("jp", old, hold) is not None
    assert callbacks.reached(done, old)
    cancelled = booked(2, old)
    assert callbacks.cancel(cancelled, old)
    expired = booked(3, old)
    assert (claimed := callbacks.claim("jp", old, hold)) is not None and claimed.id == expired
    callbacks.attempt_ended(expired, "", "busy", old, 1, 600)  # the only attempt: expired
    dialing = booked(4, old)
    assert (claimed := callbacks.claim("jp", old, hold)) is not None and claimed.id == dialing
    recent_done = booked(6, new)
    assert (claimed := callbacks.claim("jp", new, hold)) is not None and claimed.id == recent_done
    assert callbacks.reached(recent_done, new)
    pending = booked(5, old)
    for callback_id, status in ((done, "done"), (cancelled, "cancelled"), (expired, "expired")):
        finished = callbacks.get(callback_id)
        assert finished is not None and finished.status == status

    report = purge(store, rest_client, CUTOFF)

    assert (report.calls, report.callbacks) == (2, 3)
    assert store.call(sid("CA", 1)) is None and store.call(sid("CA", 2)) is None
    assert store.call(sid("CA", 3)) is not None
    left = {record.id: record.status for record in callbacks.open_callbacks()}
    assert left == {pending: "pending", dialing: "dialing"}
    for gone in (done, cancelled, expired):
        assert callbacks.get(gone) is None
    still = callbacks.get(recent_done)
    assert still is not None and still.status == "done"
    assert count(store, Call) == 1 and count(store, Callback) == 3
    # a second purge finds nothing more
    assert purge(store, rest_client, CUTOFF) == PurgeReport(0, 0, 0, 0)
