"""Reading and writing call records. Twilio retries webhooks, so every write is an upsert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from ivr.steps import QueueEntry
from ivr.store.models import Call


@dataclass(frozen=True)
class CallRecord:
    call_sid: str
    caller: str
    region: str | None
    language: str | None
    reason: str | None
    transaction_ref: str | None
    queue: str | None
    queued_at: datetime | None
    status: str | None
    duration: int | None


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL so readers never wait for the writer."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Store:
    """The shared records of calls, keyed by CallSid."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Store:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def remember_queue_entry(
        self, call_sid: str, caller: str, entry: QueueEntry, at: datetime
    ) -> None:
        """The caller joins a queue; kept for the agent (reason, reference) and for reports."""
        values = {
            "caller": caller,
            "region": entry.region,
            "language": entry.language,
            "reason": entry.reason,
            "transaction_ref": entry.reference,
            "queue": entry.queue,
            "queued_at": at,
        }
        self._upsert(call_sid, at, values)

    def record_status(
        self, call_sid: str, caller: str, status: str, duration: int | None, at: datetime
    ) -> None:
        """A status callback; a repeated delivery overwrites with the same values."""
        self._upsert(call_sid, at, {"caller": caller, "status": status, "duration": duration})

    def call(self, call_sid: str) -> CallRecord | None:
        with Session(self.engine) as session:
            call = session.get(Call, call_sid)
            return None if call is None else _record(call)

    def _upsert(self, call_sid: str, at: datetime, values: dict[str, Any]) -> None:
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(Call).values(call_sid=call_sid, created_at=at, updated_at=at, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[Call.call_sid], set_={**values, "updated_at": at}
        )
        with self.engine.begin() as connection:
            connection.execute(statement)


def _record(call: Call) -> CallRecord:
    return CallRecord(
        call_sid=call.call_sid,
        caller=call.caller,
        region=call.region,
        language=call.language,
        reason=call.reason,
        transaction_ref=call.transaction_ref,
        queue=call.queue,
        queued_at=call.queued_at,
        status=call.status,
        duration=call.duration,
    )
