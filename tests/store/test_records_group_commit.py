"""Webhooks' call writes go through one writer thread that commits a burst in one transaction,
and each webhook still learns whether its own record was kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from ivr.store import Store
from ivr.store.migrate import upgrade
from ivr.store.records import Records
from ivr.store.spool import Spool
from tests.store.test_spool import DOWN

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def sid(n: int) -> str:
    return f"CA{n:032x}"


def status_args(n: int) -> dict[str, Any]:
    return {
        "call_sid": sid(n),
        "caller": "+12025550188",
        "status": "completed",
        "duration": 0,
        "at": AT,
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    upgrade(store.engine)
    yield store
    store.close()


def commits_of(store: Store) -> list[int]:
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _: commits.append(1))
    return commits


async def write_together(records: Records, writes: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return await asyncio.gather(
        *(records.write_soon(op, **args) for op, args in writes), return_exceptions=True
    )


def test_a_burst_of_writes_shares_few_transactions_and_all_are_kept(
    store: Store, tmp_path: Path
) -> None:
    records = Records(store, Spool(tmp_path / "spool"))
    commits = commits_of(store)
    writes = [("record_status", {**status_args(n), "duration": n}) for n in range(50)]
    try:
        results = asyncio.run(write_together(records, writes))
    finally:
        records.close()
    assert results == [None] * 50
    assert all(store.call(sid(n)).duration == n for n in range(50))  # type: ignore[union-attr]
    # One commit per write would be 50; the writer gathers what arrives while it commits.
    assert len(commits) <= 10


def test_a_record_refused_for_good_fails_alone(store: Store, tmp_path: Path) -> None:
    records = Records(store, Spool(tmp_path / "spool"))
    writes = [
        ("record_status", status_args(1)),
        ("record_outcome", {"call_sid": sid(2), "outcome": "no-such-outcome", "at": AT}),
        ("record_status", status_args(3)),
    ]
    try:
        results = asyncio.run(write_together(records, writes))
    finally:
        records.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert store.call(sid(1)) is not None and store.call(sid(3)) is not None
    assert store.call(sid(2)) is None
    assert records.spool is not None and not records.spool.pending()


def test_writes_are_spooled_in_order_while_the_database_is_down(tmp_path: Path) -> None:
    down = Store.connect(DOWN)
    records = Records(down, Spool(tmp_path / "spool"))
    try:
        results = asyncio.run(
            write_together(records, [("record_status", status_args(n)) for n in range(5)])
        )
    finally:
        records.close()
        down.close()
    assert results == [None] * 5
    spooled: list[dict[str, Any]] = []
    assert records.spool is not None
    records.spool.replay(spooled.append)
    assert [entry["args"]["call_sid"] for entry in spooled] == [sid(n) for n in range(5)]


def test_without_a_spool_an_unavailable_database_fails_every_write_of_the_batch() -> None:
    down = Store.connect(DOWN)
    records = Records(down, None)
    try:
        results = asyncio.run(
            write_together(records, [("record_status", status_args(n)) for n in range(3)])
        )
    finally:
        records.close()
        down.close()
    assert len(results) == 3 and all(isinstance(result, Exception) for result in results)


def test_closing_writes_what_is_pending_then_stops_the_writer(store: Store, tmp_path: Path) -> None:
    records = Records(store, Spool(tmp_path / "spool"))

    async def write_then_close() -> None:
        pending = [
            asyncio.ensure_future(records.write_soon("record_status", **status_args(n)))
            for n in range(20)
        ]
        await asyncio.sleep(0)  # every write is on its way
        await records.aclose()
        await asyncio.gather(*pending)

    asyncio.run(write_then_close())
    assert all(store.call(sid(n)) is not None for n in range(20))
