"""A burst of callback bookings on a database that answers: every pooled connection busy, or
bookings queued behind each other's lock, refuses the bookings that cannot be made in time,
but is not an outage, so nobody else does without the database for it (ivr.store.records)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from ivr.engine.booking import UNAVAILABLE, Booking
from ivr.store import Limits, Store
from ivr.store.database import time_allowed
from ivr.store.migrate import upgrade
from ivr.store.models import Callback
from ivr.store.records import Records
from tests.support.databases import POSTGRES_URL, every_connection
from tests.support.processes import until

LIMITS = Limits(per_number_per_day=2, per_hour=1000)
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def sid(n: int) -> str:
    return f"CA{n:032x}"


async def booking(records: Records, n: int, seconds: float) -> Booking:
    with time_allowed(seconds):
        return await records.book_callback(
            call_sid=sid(n),
            number=f"+8190{n:08d}",
            region="jp",
            language="en-US",
            reason="main",
            code=f"{n:06d}",
            at=AT,
            limits=LIMITS,
        )


def book(records: Records, n: int, seconds: float = 2.0) -> Booking:
    return asyncio.run(asyncio.wait_for(booking(records, n, seconds), timeout=10))


def booked(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Callback)) or 0)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store as the service makes it (Store.connect: its pool and its bounds), migrated."""
    if request.param == "sqlite":
        store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
        upgrade(store.engine)
        yield store
        store.close()
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store.connect(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    upgrade(store.engine)
    yield store
    until(lambda: store.engine.pool.checkedout() == 0, "the bookings left waiting to end")
    store.close()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.slow
def test_a_booking_without_a_free_connection_is_refused_without_pausing_the_database(
    service_store: Store,
) -> None:
    records = Records(service_store, None)
    held = every_connection(service_store.engine)
    try:
        # The webhook has time to spare: the pool's timeout, not the webhook's, refuses it.
        assert book(records, 1) == Booking(None, UNAVAILABLE)
        assert not records.paused()
    finally:
        for connection in held:
            connection.close()
    assert book(records, 2) == Booking("000002")  # a free connection: booked at once
    assert booked(service_store.engine) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "service_store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_bookings_queued_past_their_time_behind_the_regions_lock_do_not_pause_the_database(
    service_store: Store,
) -> None:
    """Bookings of a region take turns (the limits' lock): in a burst, those that do not get
    their turn in time are refused, and the next booking, once the burst is over, is taken."""
    records = Records(service_store, None)
    other_replica = create_engine(service_store.engine.url)
    blocker = other_replica.connect()
    blocking = blocker.begin()
    blocker.execute(text("SELECT pg_advisory_xact_lock(hashtext('cb-region:jp'))"))

    async def burst() -> list[Booking]:
        return await asyncio.gather(*(booking(records, n, 0.5) for n in range(1, 6)))

    try:
        assert asyncio.run(burst()) == [Booking(None, UNAVAILABLE)] * 5
        assert not records.paused()
        blocking.commit()
        assert book(records, 6) == Booking("000006")
        # The refused bookings' transactions end without storing (the caller heard "not booked").
        until(lambda: service_store.engine.pool.checkedout() == 0, "the refused bookings to end")
        assert booked(service_store.engine) == 1
    finally:
        blocker.close()
        other_replica.dispose()
        records.close()
