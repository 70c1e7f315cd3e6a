"""After the surge: every call's row in the server's database, against what happened on the wire.

A row that is missing or says something else than the call did (status, duration, menu path,
queue, how the wait ended, outcome, reason, reference) is *lost*. The server answers a webhook
once its record is committed or spooled, and replays the spool every few seconds: rows are read
again for a while (`patience`) before a difference counts as lost; the first read is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from sqlalchemy import func, select

from ivr.store import CallRecord, Store
from ivr.store.models import Call


@dataclass(frozen=True)
class ExpectedRow:
    """What the service should have kept of one call (field names as in CallRecord)."""

    call_sid: str
    caller: str
    region: str
    language: str
    status: str | None
    duration: int | None
    path: str
    queue: str | None
    queue_result: str | None
    outcome: str
    reason: str | None
    transaction_ref: str | None


@dataclass(frozen=True)
class RecordCheck:
    checked: int
    lost: tuple[str, ...]  # one line per lost row: the call and what is wrong
    lost_at_first_read: int
    waited_seconds: float  # re-reading after the first read, until all were right or `patience`
    rows: int  # rows in the calls table: the callers' and their agents' legs


def differences(expected: ExpectedRow, record: CallRecord | None) -> str | None:
    """What `record` gets wrong, or None when it holds everything expected."""
    if record is None:
        return f"{expected.call_sid}: no row"
    wrong = [
        f"{item.name} {getattr(record, item.name)!r} (expected {getattr(expected, item.name)!r})"
        for item in fields(expected)
        if getattr(record, item.name) != getattr(expected, item.name)
    ]
    return f"{expected.call_sid}: " + ", ".join(wrong) if wrong else None


def check_records(
    store_url: str,
    expected: list[ExpectedRow],
    patience: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> RecordCheck:
    """Read every expected row from the database at `store_url` until all are right or
    `patience` seconds have passed."""
    store = Store.connect(store_url)
    try:
        lost = _lost(store, expected)
        first = len(lost)
        started = monotonic()
        while lost and monotonic() - started < patience:
            sleep(0.5)
            lost = _lost(store, expected)
        waited = monotonic() - started if first else 0.0
        with store.engine.connect() as connection:
            rows = int(connection.scalar(select(func.count()).select_from(Call)) or 0)
        return RecordCheck(len(expected), tuple(lost), first, waited, rows)
    finally:
        store.close()


def _lost(store: Store, expected: list[ExpectedRow]) -> list[str]:
    found = (differences(row, store.call(row.call_sid)) for row in expected)
    return [problem for problem in found if problem is not None]
