"""Callback requests: booked by a caller, placed by a dispatcher, done, cancelled or expired.

Twilio queues are first in, first out, and a caller who leaves one loses the spot; the order
of callbacks is ours to keep: the time the caller first joined a queue.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text, true, update
from sqlalchemy.orm import Session

from ivr.engine.booking import Booking
from ivr.store.models import Call, Callback
from ivr.store.repository import BRIDGED, upsert_into

# pending: waits to be called; dialing: being called; queued: answered, pressed 1 and waits
# in the callback queue; then done (an agent took them), cancelled or expired.
OPEN_STATUSES = ("pending", "dialing", "queued")
# When a callback retried after an instant is due: the edge moves it out of closed hours.
Due = Callable[[datetime], datetime]


def _as_is(moment: datetime) -> datetime:
    return moment


FINAL_STATUSES = ("done", "cancelled", "expired")


@dataclass(frozen=True)
class CallbackRecord:
    id: int
    call_sid: str
    code: str
    number: str
    region: str
    language: str
    reason: str | None
    transaction_ref: str | None
    waiting_since: datetime
    booked_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_call_sid: str | None
    last_result: str | None
    note_due: bool
    note_sent_at: datetime | None


@dataclass(frozen=True)
class Limits:
    per_number_per_day: int
    per_hour: int


class CallbackStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def book(
        self,
        call_sid: str,
        number: str,
        region: str,
        language: str,
        reason: str | None,
        code: str,
        at: datetime,
        limits: Limits | None = None,
        due_at: datetime | None = None,
    ) -> Booking:
        """Book a callback for the call `call_sid`, first due at `due_at` (default: `at`; the
        next opening when booked after hours); the same call booking again gets the same
        code (a retried webhook). `limits` None: accept (a spooled booking being replayed)."""
        with Session(self.engine) as session, session.begin():
            self._serialize_bookings(session, region, number)
            existing = session.scalar(select(Callback).where(Callback.call_sid == call_sid))
            if existing is not None:
                return Booking(existing.code)
            if limits is not None:
                refused = _over_limit(session, number, region, at, limits)
                if refused:
                    return Booking(None, refused)
            call = session.get(Call, call_sid)
            values = {
                "call_sid": call_sid,
                "code": code,
                "number": number,
                "region": region,
                "language": language,
                "reason": reason,
                "transaction_ref": call.transaction_ref if call else None,
                "waiting_since": call.queued_at if call and call.queued_at else at,
                "booked_at": at,
                "next_attempt_at": due_at or at,
                "updated_at": at,
            }
            insert = upsert_into(self.engine, Callback).values(**values)
            session.execute(insert.on_conflict_do_nothing(index_elements=[Callback.call_sid]))
            stored = session.scalar(select(Callback.code).where(Callback.call_sid == call_sid))
            return Booking(stored or code)

    def _serialize_bookings(self, session: Session, region: str, number: str) -> None:
        """Counting bookings and adding one must not interleave with another booking, or
        concurrent requests all pass the limits. PostgreSQL: locks on the region and the
        number (always in that order) for this transaction; SQLite: take the database's
        write lock now (a write statement that changes nothing), before the counts are read."""
        if self.engine.dialect.name == "postgresql":
            for key in (f"cb-region:{region}", f"cb-number:{number}"):
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        else:
            session.execute(update(Callback).where(Callback.id == -1).values(id=Callback.id))

    def claim(
        self, region: str, now: datetime, hold: timedelta, skip_languages: Collection[str] = ()
    ) -> CallbackRecord | None:
        """Take the longest-waiting due callback of `region` for dialing, or None; callbacks
        in `skip_languages` (lines an operator closed) stay where they are.

        Dispatchers on several replicas never take the same one: PostgreSQL skips rows another
        transaction has locked; on SQLite the choice and the update are one statement."""
        due = (
            select(Callback.id)
            .where(
                Callback.status == "pending",
                Callback.region == region,
                Callback.next_attempt_at <= now,
                Callback.language.not_in(sorted(skip_languages)) if skip_languages else true(),
            )
            .order_by(Callback.waiting_since, Callback.id)
            .limit(1)
        )
        taking = dict(
            status="dialing",
            attempts=Callback.attempts + 1,
            claimed_until=now + hold,
            last_call_sid=None,  # this attempt's call is not placed yet
            updated_at=now,
        )
        with Session(self.engine) as session, session.begin():
            if self.engine.dialect.name == "postgresql":
                callback_id = session.scalar(due.with_for_update(skip_locked=True))
                if callback_id is None:
                    return None
                session.execute(update(Callback).where(Callback.id == callback_id).values(taking))
            else:
                # One statement: SQLite runs one writer at a time, so the choice and the
                # update cannot be split by another dispatcher.
                callback_id = session.scalar(
                    update(Callback)
                    .where(Callback.id == due.scalar_subquery(), Callback.status == "pending")
                    .values(taking)
                    .returning(Callback.id)
                )
                if callback_id is None:
                    return None
            return _record(session.get_one(Callback, callback_id))

    def dialing(self, region: str) -> int:
        """Callbacks of `region` being placed now (ringing, or the greeting)."""
        with self.engine.connect() as connection:
            count = connection.scalar(
                select(func.count()).where(Callback.region == region, Callback.status == "dialing")
            )
            return int(count or 0)

    def dialed(self, callback_id: int, call_sid: str, at: datetime) -> None:
        self._update(callback_id, ("dialing",), last_call_sid=call_sid, updated_at=at)

    def joined_queue(self, callback_id: int, call_sid: str, at: datetime) -> bool:
        """The person we called (on `call_sid`) pressed 1: waiting for an agent, no longer
        being dialed. Also when the placing request timed out although the call was made."""
        return self._update(
            callback_id,
            ("pending", "dialing", "queued"),
            status="queued",
            claimed_until=None,
            last_call_sid=call_sid,
            updated_at=at,
        )

    def reached(self, callback_id: int, at: datetime) -> bool:
        """An agent took the person we called back: done (a repeat changes nothing)."""
        return self._update(
            callback_id,
            ("dialing", "queued", "done"),
            status="done",
            last_result="reached",
            updated_at=at,
        )

    def left_queue(
        self,
        callback_id: int,
        result: str,
        at: datetime,
        attempts: int,
        retry_after: int,
        due: Due = _as_is,
    ) -> str | None:
        """The person left the callback queue without an agent (agents closed, the queue
        full): called again later, or given up. The status now; a repeated delivery gets the
        same answer. None for an unknown callback."""
        with Session(self.engine) as session, session.begin():
            callback = session.get(Callback, callback_id, with_for_update=True)
            if callback is None:
                return None
            if callback.status == "queued":
                _retry_or_expire(callback, result, at, attempts, retry_after, due)
            return callback.status

    def cancel(self, callback_id: int, at: datetime) -> bool:
        return self._update(
            callback_id, OPEN_STATUSES, status="cancelled", claimed_until=None, updated_at=at
        )

    def attempt_ended(
        self,
        callback_id: int,
        call_sid: str,
        result: str,
        at: datetime,
        attempts: int,
        retry_after: int,
        due: Due = _as_is,
        queue_result: str | None = None,
    ) -> None:
        """The call we placed ended. Not reached: try again later, or give up (the caller
        gets a note). Still 'queued' (the queue's own result never came): settled from the
        call's recorded `queue_result`. A late or repeated status callback changes nothing."""
        with Session(self.engine) as session, session.begin():
            callback = session.get(Callback, callback_id, with_for_update=True)
            if callback is None or callback.status not in ("dialing", "queued"):
                return
            if callback.last_call_sid not in (None, call_sid):
                return
            if callback.status == "dialing":
                _retry_or_expire(callback, result, at, attempts, retry_after, due)
            elif queue_result in BRIDGED:
                callback.status, callback.last_result, callback.updated_at = "done", "reached", at
            elif queue_result == "hangup":
                callback.status, callback.last_result, callback.updated_at = (
                    "cancelled",
                    "hangup",
                    at,
                )
            else:
                left = queue_result or result
                _retry_or_expire(callback, left, at, attempts, retry_after, due)

    def release_stale(
        self, region: str, now: datetime, attempts: int, retry_after: int, due: Due = _as_is
    ) -> int:
        """Claims of `region` whose call never reported back (a dispatcher died): retried."""
        with Session(self.engine) as session, session.begin():
            stale = session.scalars(
                select(Callback)
                .where(
                    Callback.region == region,
                    Callback.status == "dialing",
                    Callback.claimed_until < now,
                )
                .with_for_update()
            ).all()
            for callback in stale:
                _retry_or_expire(callback, "lost", now, attempts, retry_after, due)
            return len(stale)

    def expire_old(self, region: str, before: datetime, at: datetime) -> int:
        """Pending callbacks due since before `before` (not booked: one booked on a Friday
        night is due on Monday morning) are too old to be useful: expired, noted."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(Callback)
                .where(
                    Callback.region == region,
                    Callback.status == "pending",
                    Callback.next_attempt_at < before,
                )
                .values(status="expired", last_result="too-old", note_due=True, updated_at=at)
            )
            return _rowcount(result)

    def notes_due(self, limit: int = 50) -> list[CallbackRecord]:
        query = (
            select(Callback).where(Callback.note_due.is_(True)).order_by(Callback.id).limit(limit)
        )
        with Session(self.engine) as session:
            return [_record(callback) for callback in session.scalars(query)]

    def take_note(self, callback_id: int, at: datetime) -> bool:
        """Claim the note to send: True for exactly one dispatcher."""
        return self._update(
            callback_id, FINAL_STATUSES, note_due=False, note_sent_at=at, updated_at=at, due=True
        )

    def note_failed(self, callback_id: int) -> None:
        """The text could not be sent: due again at the next pass."""
        self._update(callback_id, FINAL_STATUSES, note_due=True, note_sent_at=None)

    def get(self, callback_id: int) -> CallbackRecord | None:
        with Session(self.engine) as session:
            callback = session.get(Callback, callback_id)
            return None if callback is None else _record(callback)

    def for_call(self, call_sid: str) -> CallbackRecord | None:
        with Session(self.engine) as session:
            callback = session.scalar(select(Callback).where(Callback.call_sid == call_sid))
            return None if callback is None else _record(callback)

    def booked_between(self, start: datetime, end: datetime) -> list[CallbackRecord]:
        query = select(Callback).where(Callback.booked_at >= start, Callback.booked_at < end)
        with Session(self.engine) as session:
            return [_record(callback) for callback in session.scalars(query)]

    def open_callbacks(self) -> list[CallbackRecord]:
        query = select(Callback).where(Callback.status.in_(OPEN_STATUSES))
        with Session(self.engine) as session:
            return [_record(c) for c in session.scalars(query.order_by(Callback.waiting_since))]

    def _update(
        self, callback_id: int, statuses: tuple[str, ...], due: bool = False, **values: Any
    ) -> bool:
        """Change callback `callback_id` if its status is one of `statuses` (and, with `due`,
        its note is due); True when it changed."""
        condition = [Callback.id == callback_id, Callback.status.in_(statuses)]
        if due:
            condition.append(Callback.note_due.is_(True))
        with self.engine.begin() as connection:
            result = connection.execute(update(Callback).where(*condition).values(**values))
            return _rowcount(result) == 1


def _over_limit(
    session: Session, number: str, region: str, at: datetime, limits: Limits
) -> str | None:
    # Every booking of the last day counts, whatever became of it: a cancelled one too (the
    # person called back pressed 9, or hung up in the callback queue: the number was rung all
    # the same), or cancelling would book the number again and again.
    by_number = session.scalar(
        select(func.count()).where(
            Callback.number == number, Callback.booked_at > at - timedelta(days=1)
        )
    )
    if (by_number or 0) >= limits.per_number_per_day:
        return "number_limit"
    by_region = session.scalar(
        select(func.count()).where(
            Callback.region == region, Callback.booked_at > at - timedelta(hours=1)
        )
    )
    if (by_region or 0) >= limits.per_hour:
        return "region_limit"
    return None


def _retry_or_expire(
    callback: Callback,
    result: str,
    at: datetime,
    attempts: int,
    retry_after: int,
    due: Due = _as_is,
) -> None:
    callback.last_result = result
    callback.claimed_until = None
    callback.updated_at = at
    if callback.attempts >= attempts:
        callback.status = "expired"
        callback.note_due = True
    else:
        callback.status = "pending"
        callback.next_attempt_at = due(at + timedelta(seconds=retry_after))


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _record(callback: Callback) -> CallbackRecord:
    return CallbackRecord(
        id=callback.id,
        call_sid=callback.call_sid,
        code=callback.code,
        number=callback.number,
        region=callback.region,
        language=callback.language,
        reason=callback.reason,
        transaction_ref=callback.transaction_ref,
        waiting_since=callback.waiting_since,
        booked_at=callback.booked_at,
        status=callback.status,
        attempts=callback.attempts,
        next_attempt_at=callback.next_attempt_at,
        last_call_sid=callback.last_call_sid,
        last_result=callback.last_result,
        note_due=callback.note_due,
        note_sent_at=callback.note_sent_at,
    )
