"""Call records on SQLite and PostgreSQL: upserts, so Twilio's retries leave one row."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from ivr.engine.steps import QueueEntry
from ivr.store import Store
from ivr.store.models import Base, Call
from tests.support.databases import POSTGRES_URL
from tests.support.moments import instant

SID = "CA" + "1" * 32


def queue_entry(store: Store, caller: str, entry: QueueEntry, at: datetime) -> None:
    store.remember_queue_entry(
        SID, caller, entry.queue, entry.region, entry.language, entry.reason, entry.reference, at
    )


def rows(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Call)).scalar_one())


def test_queue_entry_keeps_reason_and_reference_for_the_agent(store: Store) -> None:
    entry = QueueEntry("cn-zh-CN-priority", "cn", "zh-CN", "pending", "12345678")
    queue_entry(store, "+8613812345678", entry, instant("2026-03-02T10:00+08:00"))
    record = store.call(SID)
    assert record is not None
    assert (record.queue, record.reason, record.transaction_ref) == (
        "cn-zh-CN-priority",
        "pending",
        "12345678",
    )
    assert record.language == "zh-CN"
    assert record.queued_at is not None and record.queued_at.isoformat().startswith(
        "2026-03-02T02:00"
    )


def test_the_same_webhook_twice_leaves_one_row(store: Store) -> None:
    entry = QueueEntry("us-en-US", "us", "en-US", "main")
    at = instant("2026-03-02T10:00-05:00")
    queue_entry(store, "+12025550142", entry, at)
    queue_entry(store, "+12025550142", entry, at)
    store.record_status(SID, "+12025550142", "completed", 95, at)
    store.record_status(SID, "+12025550142", "completed", 95, at)
    assert rows(store) == 1
    record = store.call(SID)
    assert record is not None and (record.status, record.duration, record.queue) == (
        "completed",
        95,
        "us-en-US",
    )


def test_status_callback_before_anything_else_creates_the_row(store: Store) -> None:
    store.record_status(SID, "anonymous", "no-answer", None, instant("2026-03-02T10:00+00:00"))
    record = store.call(SID)
    assert record is not None and record.status == "no-answer" and record.queue is None


def test_unknown_call_is_none(store: Store) -> None:
    assert store.call("CA" + "f" * 32) is None


def start_replicas(url: str, count: int = 8) -> list[str]:
    """`count` processes upgrade the database at `url` at the same moment; their outputs."""
    script = (
        "from ivr.store import Store; from ivr.store.migrate import upgrade; "
        f"s = Store.connect({url!r}); upgrade(s.engine); print('ok')"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    return [worker.communicate(timeout=60)[0].strip() for worker in workers]


@pytest.mark.slow
def test_replicas_starting_together_migrate_once_on_sqlite(tmp_path: Path) -> None:
    assert start_replicas(f"sqlite:///{tmp_path / 'shared.sqlite3'}") == ["ok"] * 8


@pytest.mark.slow
@pytest.mark.postgres
def test_replicas_starting_together_migrate_once_on_postgresql() -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        assert start_replicas(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}") == ["ok"] * 8
        with admin.connect() as connection:
            tables = connection.execute(
                text(f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'")
            )
            # every table of the models, once, and alembic_version
            assert sorted(tables.scalars()) == sorted([*Base.metadata.tables, "alembic_version"])
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_caller_back_in_a_queue_waits_again_from_the_end_of_the_line(store: Store) -> None:
    first, again = instant("2026-03-02T10:00-05:00"), instant("2026-03-02T10:07-05:00")
    queue_entry(store, "+12025550142", QueueEntry("us-en-US", "us", "en-US", "main"), first)
    queue_entry(store, "+12025550142", QueueEntry("us-en-US", "us", "en-US", "main"), first)
    store.record_queue_result(SID, "leave", 300, instant("2026-03-02T10:05-05:00"))
    queue_entry(store, "+12025550142", QueueEntry("us-en-US", "us", "en-US", "main"), again)
    record = store.call(SID)
    assert record is not None
    assert (record.queued_at, record.queue_result) == (again, None)
    with store.engine.connect() as connection:
        left = connection.execute(select(Call.left_queue_at).where(Call.call_sid == SID))
        assert left.scalar_one() is None
