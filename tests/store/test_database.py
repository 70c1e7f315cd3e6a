"""A database that stops answering costs a webhook a bounded wait, never a hang: the driver's
timeouts, the webhook's time for the database (ivr.store.database), and what happens to a
record or a booking the webhook stopped waiting for. PostgreSQL goes silent behind a TCP gate
(tests/e2e/tcp_gate.py) that holds its traffic, then releases it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from ivr.engine.booking import UNAVAILABLE, Booking
from ivr.store import Limits, Store
from ivr.store import database as waits
from ivr.store.database import TooSlow, in_time, time_allowed
from ivr.store.migrate import upgrade
from ivr.store.records import PAUSE_SECONDS, Records
from ivr.store.repository import make_engine
from ivr.store.spool import ACTIVE, Spool
from tests.support.databases import POSTGRES_URL
from tests.support.processes import until
from tests.support.tcp_gate import TcpGate

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALLER = "+819012345678"
# Nothing listens on port 1: a database there refuses at once.
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/test"
LIMITS = Limits(per_number_per_day=2, per_hour=60)


def sid(n: int) -> str:
    return f"CA{n:032x}"


def spooled(spool_dir: Path) -> list[dict[str, Any]]:
    path = spool_dir / ACTIVE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def gate() -> Iterator[TcpGate]:
    with TcpGate(("127.0.0.1", 5432)) as gate:
        gate.open()
        yield gate


def gated_store(gate: TcpGate, schema: str) -> Store:
    """The service's own engine (make_engine), through the gate, migrated."""
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{gate.port}/test?options=-csearch_path%3D{schema}"
    )
    store = Store.connect(url)
    upgrade(store.engine)
    return store


def checked_out(engine: Engine) -> int:
    """Connections in use: a thread a test stopped waiting for may still hold one."""
    return int(engine.pool.checkedout())


def direct_store(schema: str) -> Store:
    return Store(create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}))


# -- the driver's bounds --------------------------------------------------------------------
@pytest.mark.postgres
def test_postgresql_connections_bound_statements_and_notice_a_silent_network(
    schema: str,
) -> None:
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "5s"
            assert connection.execute(text("SHOW search_path")).scalar_one() == schema  # kept
            dsn = connection.connection.dbapi_connection.info.get_parameters()
        assert (dsn["connect_timeout"], dsn["tcp_user_timeout"]) == ("2", "5000")
        assert (dsn["keepalives"], dsn["keepalives_idle"], dsn["keepalives_count"]) == (
            "1",
            "5",
            "3",
        )
        assert engine.pool.timeout() == 0.5
    finally:
        engine.dispose()


def test_sqlite_waits_for_another_writer_less_than_a_webhooks_time(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 750
        assert engine.pool.timeout() == 0.5
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_purge_and_the_migrations_lift_the_statement_timeout(schema: str) -> None:
    """Made for webhooks, the 5 s bound must not stop a purge of months of calls, nor a
    migration of a large table."""
    store = Store.connect(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    statements: list[str] = []
    event.listen(
        store.engine, "before_cursor_execute", lambda _c, _r, sql, *_: statements.append(sql)
    )
    try:
        upgrade(store.engine)
        assert statements.index("SET LOCAL statement_timeout = 0") < next(
            n for n, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql
        )
        statements.clear()
        store.purge(AT)
        assert statements[0] == "SET LOCAL statement_timeout = 0"
        assert any(sql.startswith("DELETE FROM calls") for sql in statements)
    finally:
        store.close()


# -- the webhook's time ---------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.postgres
def test_waits_inside_one_webhook_share_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waits, "WAIT_SECONDS", 0.6)
    engine = make_engine(POSTGRES_URL)
    slow_reads = 0

    def slow_read() -> None:
        nonlocal slow_reads
        slow_reads += 1
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(0.4)"))

    async def webhook() -> float:
        started = time.monotonic()
        with time_allowed():
            await in_time(slow_read)  # 0.4 s of the 0.6 s
            with pytest.raises(TooSlow):
                await in_time(slow_read)  # gets the 0.2 s left, not 0.6 s more
            with pytest.raises(TooSlow):
                await in_time(slow_read)  # nothing left: not even started
        return time.monotonic() - started

    try:
        assert asyncio.run(webhook()) < 0.9
        assert slow_reads == 2
    finally:
        until(lambda: checked_out(engine) == 0, "the abandoned read to end")
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_write_the_database_does_not_answer_is_spooled_in_time_and_stored_once_it_does(
    tmp_path: Path, gate: TcpGate, schema: str
) -> None:
    store = gated_store(gate, schema)
    checker = direct_store(schema)
    records = Records(store, Spool(tmp_path / "spool"))

    try:
        step(records, 1)  # answered: committed
        assert not Spool(tmp_path / "spool").pending()
        gate.hold()
        assert step(records, 2) < 1.0  # its transaction hangs: spooled in time
        assert step(records, 3) < 0.5  # the database is known to be away: spooled at once
        assert [entry["args"]["step"] for entry in spooled(tmp_path / "spool")] == ["s2", "s3"]
        assert records.replay() == 0  # the transaction of s2 may still commit: wait for it
        gate.release()  # it does, late; then the replay puts s2 again and s3 after it
        until(lambda: records.replay() > 0, "the spool to be replayed")
        record = checker.call(sid(1))
        assert record is not None and record.path == "main:1 main:2 main:3"
    finally:
        gate.release()
        records.close()
        until(lambda: checked_out(store.engine) == 0, "the held transaction to end")
        store.close()
        checker.close()


def step(records: Records, n: int) -> float:
    """Call sid(1)'s n-th menu answer, kept as a webhook keeps it (half a second allowed);
    the seconds the webhook waited."""

    async def webhook() -> float:
        started = time.monotonic()
        with time_allowed(0.5):
            await asyncio.wait_for(
                records.write_soon(
                    "record_step",
                    call_sid=sid(1),
                    caller=CALLER,
                    region="jp",
                    language="en-US",
                    step=f"s{n}",
                    choice=f"main:{n}",
                    at=AT,
                ),
                timeout=10,  # a write that hangs fails the test instead of hanging it
            )
        return time.monotonic() - started

    return asyncio.run(webhook())


# -- bookings -------------------------------------------------------------------------------
def book(records: Records, n: int, code: str = "123456") -> Booking:
    async def booking() -> Booking:
        with time_allowed(0.5):
            return await records.book_callback(
                call_sid=sid(n),
                number=CALLER,
                region="jp",
                language="en-US",
                reason="main",
                code=code,
                at=AT,
                limits=LIMITS,
            )

    return asyncio.run(asyncio.wait_for(booking(), timeout=10))


def test_bookings_while_the_database_is_away_are_refused_not_spooled(tmp_path: Path) -> None:
    """Spooled, they would skip the limits: six for one number gave six callbacks."""
    down = Store.connect(DOWN)
    records = Records(down, Spool(tmp_path / "spool"))
    try:
        refused = [book(records, n) for n in range(6)]
    finally:
        down.close()
    assert refused == [Booking(None, UNAVAILABLE)] * 6
    assert not Spool(tmp_path / "spool").pending()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_booking_the_database_does_not_answer_in_time_is_refused_and_never_stored_late(
    schema: str,
) -> None:
    store = Store.connect(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    upgrade(store.engine)
    checker = direct_store(schema)
    records = Records(store, None)
    # Another booking of the region holds its lock: this one waits past its time.
    blocker = checker.engine.connect()
    blocking = blocker.begin()
    blocker.execute(text("SELECT pg_advisory_xact_lock(hashtext('cb-region:jp'))"))
    try:
        assert book(records, 1, code="111111") == Booking(None, UNAVAILABLE)
        blocking.commit()  # the abandoned booking goes on now, but must not commit
        # Same call again, straight to the store: it waits for the abandoned transaction (the
        # same locks), then finds no booking of that call, so books its own code.
        again = checker.callbacks.book(sid(1), CALLER, "jp", "en-US", "main", "222222", AT)
        assert again == Booking("222222")
    finally:
        blocker.close()
        records.close()
        until(lambda: checked_out(store.engine) == 0, "the abandoned booking to end")
        store.close()
        checker.close()


def test_after_a_pause_one_webhook_tries_the_database_while_the_others_do_without(
    tmp_path: Path,
) -> None:
    """A silent database must not cost every webhook its full wait each time a pause ends."""
    now = [100.0]
    store = Store.connect(DOWN)
    records = Records(store, Spool(tmp_path / "spool"), monotonic=lambda: now[0])
    try:
        assert not records.database_away()
        records.pause()
        assert records.database_away()
        now[0] += PAUSE_SECONDS
        assert not records.database_away()  # this one tries...
        assert records.database_away() and records.database_away()  # ...the others wait for it
        records.database_answered()
        assert not records.database_away() and not records.database_away()
        records.pause()
        now[0] += PAUSE_SECONDS
        assert not records.database_away()  # the one that tries finds it away again...
        records.pause()
        now[0] += PAUSE_SECONDS - 1
        assert records.database_away()  # ...and the next try is a pause later
    finally:
        store.close()


def test_asking_whether_paused_does_not_take_the_try(tmp_path: Path) -> None:
    now = [100.0]
    store = Store.connect(DOWN)
    records = Records(store, Spool(tmp_path / "spool"), monotonic=lambda: now[0])
    try:
        records.pause()
        assert records.paused()
        now[0] += PAUSE_SECONDS
        assert not records.paused() and not records.paused()
        assert not records.database_away()  # still free to try
        assert records.paused()
    finally:
        store.close()
