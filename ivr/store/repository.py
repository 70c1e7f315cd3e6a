"""Reading and writing call records. Twilio retries webhooks, so every write is an upsert.

Every write takes plain values (strings, numbers, one `at` moment), so a write that cannot
reach the database can be spooled as JSON and replayed later (see `ivr.store.records`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Row,
    and_,
    bindparam,
    case,
    create_engine,
    event,
    func,
    make_url,
    null,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

from ivr.store.models import Call

# How telling an outcome is: a later webhook never replaces an outcome with a lesser one.
OUTCOME_RANK = {
    "self-served": 0,
    "queued": 1,
    "error": 2,
    "rejected": 2,
    "abandoned": 3,
    "bridged": 4,
    "callback": 5,
    "voicemail": 5,
}
OUTCOMES = tuple(OUTCOME_RANK)
BRIDGED = ("bridged", "bridging-in-process", "redirected-from-bridged")


# Asked on every incoming call when the rate limit is on: built once, compiled once.
CALLS_FROM = select(func.count()).where(
    Call.caller == bindparam("caller"), Call.created_at >= bindparam("since")
)


@dataclass(frozen=True)
class CallEnd:
    """A status callback as stored: the call's status, where it was, and its outcome."""

    status: str
    region: str | None
    language: str | None
    outcome: str


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
    path: str = ""
    outcome: str = "self-served"
    queue_result: str | None = None
    queue_time: int | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    stir_verstat: str | None = None
    agent: str | None = None  # who took the caller on the agent line
    answered_at: datetime | None = None
    disposition: str | None = None  # the agent's wrap-up code, or "skipped"
    surveyed_at: datetime | None = None  # the survey was asked (after the agent hung up)
    rating: int | None = None  # 1-5, when the caller answered it
    comment_url: str | None = None  # a recorded comment, when the caller left one
    comment_seconds: int = 0  # how long the caller spoke in it (0: silence)


# How long the service waits for its database, below the webhook's own bound
# (ivr.store.database.WAIT_SECONDS), so that a thread a webhook stopped waiting for ends soon:
# a pooled connection is handed out within POOL_SECONDS or not at all; SQLite waits for
# another writer's lock BUSY_MS at most.
POOL_SECONDS = 0.5
BUSY_MS = 750
# PostgreSQL: connecting (libpq's minimum); a statement running longer than a webhook would
# ever wait only holds a connection and its locks (the server ends it); and a connection that
# went silent is noticed: keepalive probes while waiting for an answer (after 5 s, 3 probes
# 1 s apart), and TCP_USER_TIMEOUT for what we sent that is never acknowledged.
CONNECT_SECONDS = 2
STATEMENT_MS = 5000
TCP_USER_TIMEOUT_MS = 5000
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}


def make_engine(url: str) -> Engine:
    """An engine for `url`, with every wait bounded (see above); SQLite gets WAL so readers
    never wait for the writer."""
    if url.startswith("sqlite"):
        # hide_parameters: an error message must not quote a caller's number into the logs.
        # A file database keeps a connection per busy thread: beyond the default five, every
        # checkout opened a connection (and ran the pragmas) only to close it again.
        database = make_url(url).database
        file = database and database != ":memory:"
        pooled: dict[str, Any] = {"pool_size": 20, "pool_timeout": POOL_SECONDS} if file else {}
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True, **pooled
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = postgresql_args(url) if url.startswith("postgresql") else {}
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=POOL_SECONDS,
        connect_args=connect_args,
        hide_parameters=True,
    )


def postgresql_args(url: str) -> dict[str, Any]:
    """libpq's parameters for the bounds above; the URL's own `options` are kept."""
    given = make_url(url).query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    return {
        "connect_timeout": CONNECT_SECONDS,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        **KEEPALIVES,
        "options": f"{options} -c statement_timeout={STATEMENT_MS}".strip(),
    }


def _sqlite_pragmas(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    cursor.close()


def upsert_into(engine: Engine, table: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT (both SQLite and PostgreSQL have it)."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    return insert(table)


class CallStore:
    """The shared records of calls, keyed by CallSid."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statements: dict[tuple[Any, ...], Any] = {}

    def record_step(
        self,
        call_sid: str,
        caller: str,
        region: str,
        language: str | None,
        step: str,
        choice: str,
        at: datetime,
        stir_verstat: str | None = None,
        *,
        connection: Connection | None = None,
    ) -> None:
        """A webhook answered: the call's row exists, and `choice` extends its path once.

        `step` identifies the webhook delivery (its URL and input): Twilio repeats exactly the
        last request when it retries, so the same step twice in a row is not added again.
        """
        values = {
            "caller": caller,
            "region": region,
            "language": language,
            "stir_verstat": stir_verstat,
            "path": choice,
            "last_step": step,
        }
        self._write(("step", bool(choice)), self._step_statement, call_sid, at, values, connection)

    def _step_statement(self, key: tuple[Any, ...]) -> Any:
        table = Call.__table__
        insert = self._insert(["caller", "region", "language", "stir_verstat", "path", "last_step"])
        repeated = table.c.last_step == insert.excluded.last_step
        extended = case(
            (repeated, table.c.path),
            (table.c.path == "", insert.excluded.path),
            else_=table.c.path + " " + insert.excluded.path,
        )
        chose = key[1]
        return self._on_conflict(
            insert,
            {
                "caller": insert.excluded.caller,
                "region": insert.excluded.region,
                "language": func.coalesce(insert.excluded.language, table.c.language),
                "stir_verstat": func.coalesce(insert.excluded.stir_verstat, table.c.stir_verstat),
                "path": extended if chose else table.c.path,
                "last_step": insert.excluded.last_step,
            },
        )

    def remember_queue_entry(
        self,
        call_sid: str,
        caller: str,
        queue: str,
        region: str,
        language: str,
        reason: str,
        reference: str | None,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> None:
        """The caller joins a queue; kept for the agent (reason, reference) and for reports.

        The first join is kept: callbacks are served in the order callers first queued."""
        values = {
            "caller": caller,
            "region": region,
            "language": language,
            "reason": reason,
            "transaction_ref": reference,
            "queue": queue,
            "queued_at": at,
        }
        self._write(("queue_entry",), self._queue_entry_statement, call_sid, at, values, connection)

    def _queue_entry_statement(self, _: tuple[Any, ...]) -> Any:
        table = Call.__table__
        kept = ["caller", "region", "language", "reason", "transaction_ref", "queue"]
        insert = self._insert([*kept, "queued_at"], outcome="queued")
        update: dict[str, Any] = {key: getattr(insert.excluded, key) for key in kept}
        update["transaction_ref"] = func.coalesce(
            insert.excluded.transaction_ref, table.c.transaction_ref
        )
        # A repeated delivery keeps the time of the join. Back in a queue after leaving one
        # (same call): at the end of the line again, as in Twilio's queue, and waiting until
        # the new stint's QueueResult says how it ended. (A callback keeps its own
        # waiting_since, taken when it was booked.)
        rejoined = table.c.left_queue_at.is_not(None)
        update["queued_at"] = case(
            (rejoined, insert.excluded.queued_at),
            else_=func.coalesce(table.c.queued_at, insert.excluded.queued_at),
        )
        update["left_queue_at"] = null()
        update["in_queue_at"] = case((rejoined, null()), else_=table.c.in_queue_at)
        update["queue_result"] = null()
        return self._on_conflict(insert, update, outcome="queued")

    def record_queue_result(
        self,
        call_sid: str,
        result: str,
        queue_time: int | None,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> None:
        """The Enqueue action: how long the caller waited and how it ended."""
        outcome = "bridged" if result in BRIDGED else "abandoned" if result == "hangup" else None
        values = {"queue_result": result, "queue_time": queue_time, "left_queue_at": at}
        self._upsert(call_sid, at, values, outcome, connection)

    def record_outcome(
        self, call_sid: str, outcome: str, at: datetime, *, connection: Connection | None = None
    ) -> None:
        """A callback booked, a voicemail left, an error: the call's outcome, if more telling."""
        if outcome not in OUTCOME_RANK:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._upsert(call_sid, at, {}, outcome, connection)

    def record_in_queue(
        self,
        call_sid: str,
        since: datetime,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> None:
        """Twilio has the caller in their queue since `since` (from its wait webhook)."""
        self._upsert(call_sid, at, {"in_queue_at": since}, None, connection)

    def record_disposition(
        self,
        call_sid: str,
        disposition: str,
        agent: str,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> None:
        """The agent's wrap-up code for the call they took ("skipped" when none was keyed)."""
        values = {"disposition": disposition, "disposed_at": at, "agent": agent}
        self._upsert(call_sid, at, values, None, connection)

    def record_survey(
        self,
        call_sid: str,
        at: datetime,
        rating: int | None = None,
        *,
        connection: Connection | None = None,
    ) -> None:
        """The survey was asked (`rating` None) or answered with `rating` (1-5)."""
        values: dict[str, Any] = {"surveyed_at": at} if rating is None else {"rating": rating}
        self._upsert(call_sid, at, values, None, connection)

    def record_comment(
        self,
        call_sid: str,
        recording_sid: str,
        recording_url: str,
        duration: int,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> None:
        """The caller's recorded comment after the survey."""
        values = {
            "comment_sid": recording_sid,
            "comment_url": recording_url,
            "comment_duration": duration,
        }
        self._upsert(call_sid, at, values, None, connection)

    def record_status(
        self,
        call_sid: str,
        caller: str,
        status: str,
        duration: int | None,
        at: datetime,
        *,
        connection: Connection | None = None,
    ) -> CallEnd:
        """A status callback; a repeated delivery overwrites with the same values.

        A call that ends while still counted as queued was abandoned in the queue. Returns
        where the call was and its outcome as stored (for the metrics), from the same write."""
        values = {"caller": caller, "status": status, "duration": duration, "ended_at": at}
        row = self._write(("status",), self._status_statement, call_sid, at, values, connection)
        assert row is not None
        return CallEnd(status, row.region, row.language, row.outcome)

    def _status_statement(self, _: tuple[Any, ...]) -> Any:
        table = Call.__table__
        columns = ["caller", "status", "duration", "ended_at"]
        insert = self._insert(columns)
        queued = table.c.outcome == "queued"
        update: dict[str, Any] = {key: getattr(insert.excluded, key) for key in columns}
        update["outcome"] = case((queued, "abandoned"), else_=table.c.outcome)
        update["outcome_rank"] = case(
            (queued, OUTCOME_RANK["abandoned"]), else_=table.c.outcome_rank
        )
        statement = self._on_conflict(insert, update)
        return statement.returning(table.c.region, table.c.language, table.c.outcome)

    def calls_from(self, caller: str, since: datetime) -> int:
        """How many calls `caller` made since `since` (for the per-caller rate limit)."""
        with self.engine.connect() as connection:
            return int(connection.scalar(CALLS_FROM, {"caller": caller, "since": since}) or 0)

    def call(self, call_sid: str) -> CallRecord | None:
        with Session(self.engine) as session:
            call = session.get(Call, call_sid)
            return None if call is None else call_record(call)

    def recent_calls(self, limit: int = 50, region: str | None = None) -> list[CallRecord]:
        query = select(Call).order_by(Call.created_at.desc()).limit(limit)
        if region:
            query = query.where(Call.region == region)
        with Session(self.engine) as session:
            return [call_record(call) for call in session.scalars(query)]

    def calls_between(self, start: datetime, end: datetime) -> list[CallRecord]:
        query = select(Call).where(and_(Call.created_at >= start, Call.created_at < end))
        with Session(self.engine) as session:
            return [call_record(call) for call in session.scalars(query.order_by(Call.created_at))]

    def answer_times(self, queue: str, since: datetime) -> list[int]:
        """Seconds callers of `queue` waited before an agent took them, since `since`."""
        query = select(Call.queue_time).where(
            Call.queue == queue,
            Call.left_queue_at >= since,
            Call.queue_result.in_(BRIDGED),
            Call.queue_time.is_not(None),
        )
        with self.engine.connect() as connection:
            return [int(seconds) for seconds in connection.scalars(query) if seconds is not None]

    def _upsert(
        self,
        call_sid: str,
        at: datetime,
        values: dict[str, Any],
        outcome: str | None,
        connection: Connection | None,
    ) -> None:
        key = ("upsert", tuple(values), outcome)
        self._write(key, self._upsert_statement, call_sid, at, values, connection)

    def _upsert_statement(self, key: tuple[Any, ...]) -> Any:
        _, columns, outcome = key
        insert = self._insert(list(columns), outcome=outcome)
        update: dict[str, Any] = {key: getattr(insert.excluded, key) for key in columns}
        return self._on_conflict(insert, update, outcome=outcome)

    # Each kind of write is one statement with bound parameters, built once per store: SQL
    # construction and compilation were most of a write's cost, now paid on the first call.
    def _write(
        self,
        key: tuple[Any, ...],
        build: Callable[[tuple[Any, ...]], Any],
        call_sid: str,
        at: datetime,
        values: dict[str, Any],
        connection: Connection | None,
    ) -> Row[Any] | None:
        """Run the write; the row it returns, if its statement returns one."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements.setdefault(key, build(key))
        parameters = {"call_sid": call_sid, "created_at": at, "updated_at": at, **values}
        if connection is not None:
            return _returned(connection.execute(statement, parameters))
        with self.engine.begin() as fresh:
            return _returned(fresh.execute(statement, parameters))

    def _insert(self, columns: list[str], outcome: str | None = None) -> Any:
        names = ["call_sid", "created_at", "updated_at", *columns]
        insert = upsert_into(self.engine, Call).values({name: bindparam(name) for name in names})
        if outcome is not None:
            insert = insert.values(outcome=outcome, outcome_rank=OUTCOME_RANK[outcome])
        return insert

    def _on_conflict(self, insert: Any, update: dict[str, Any], outcome: str | None = None) -> Any:
        update["updated_at"] = insert.excluded.updated_at
        if outcome is not None:
            update.update(_outcome(outcome))
        return insert.on_conflict_do_update(index_elements=[Call.call_sid], set_=update)


def _returned(result: CursorResult[Any]) -> Row[Any] | None:
    return result.first() if result.returns_rows else None


def _outcome(outcome: str) -> dict[str, ColumnElement[Any]]:
    """SET clauses that take `outcome` unless the row already holds a more telling one."""
    table = Call.__table__
    rank = OUTCOME_RANK[outcome]
    keeps = table.c.outcome_rank > rank
    return {
        "outcome": case((keeps, table.c.outcome), else_=outcome),
        "outcome_rank": case((keeps, table.c.outcome_rank), else_=rank),
    }


def call_record(call: Call) -> CallRecord:
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
        path=call.path,
        outcome=call.outcome,
        queue_result=call.queue_result,
        queue_time=call.queue_time,
        created_at=call.created_at,
        ended_at=call.ended_at,
        stir_verstat=call.stir_verstat,
        agent=call.agent,
        answered_at=call.answered_at,
        disposition=call.disposition,
        surveyed_at=call.surveyed_at,
        rating=call.rating,
        comment_url=call.comment_url,
        comment_seconds=call.comment_duration or 0,
    )
