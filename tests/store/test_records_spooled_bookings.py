"""Callback bookings an earlier version spooled while the database was away (without counting
them): replayed against the limits, and those over them set aside and reported, never placed
nor silently dropped. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from ivr.config.settings import Settings
from ivr.store import Limits, Store
from ivr.store.records import Records
from ivr.store.spool import REJECTED, Spool
from ivr.web.app import create_app

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
NUMBER = "+819012345678"


def sid(n: int) -> str:
    return f"CA{n:032x}"


def spooled_booking(n: int, number: str = NUMBER, region: str = "jp") -> dict[str, Any]:
    """A booking as an earlier version spooled it: the booking's arguments, no limits."""
    at = (AT + timedelta(minutes=n)).isoformat()
    return {
        "op": "book_callback",
        "args": {
            "call_sid": sid(n),
            "number": number,
            "region": region,
            "language": "en-US",
            "reason": "main",
            "code": f"{n:06d}",
            "at": at,
            "due_at": at,
        },
    }


def rejected(spool_dir: Path) -> list[dict[str, Any]]:
    path = spool_dir / REJECTED
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_spooled_bookings_over_a_limit_are_set_aside_and_reported(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "spool")
    for n in range(1, 5):  # four bookings for one number; two a day are allowed
        spool.append(spooled_booking(n))
    spool.append(
        {
            "op": "record_status",
            "args": {
                "call_sid": sid(9),
                "caller": NUMBER,
                "status": "completed",
                "duration": 3,
                "at": AT.isoformat(),
            },
        }
    )
    refusals: list[tuple[str, str]] = []
    records = Records(store, spool)
    records.callback_limits = lambda region: Limits(2, 60) if region == "jp" else None
    records.on_refused_booking = lambda region, why: refusals.append((region, why))

    with caplog.at_level(logging.ERROR, logger="ivr.records"):
        assert records.replay() == 5

    booked = [store.callbacks.for_call(sid(n)) for n in range(1, 5)]
    assert [callback.code if callback else None for callback in booked] == [
        "000001",
        "000002",
        None,
        None,
    ]
    assert store.call(sid(9)) is not None  # the records behind them went in
    assert not spool.pending()
    set_aside = rejected(tmp_path / "spool")
    assert [(entry["args"]["call_sid"], entry["refused"]) for entry in set_aside] == [
        (sid(3), "number_limit"),
        (sid(4), "number_limit"),
    ]
    assert refusals == [("jp", "number_limit"), ("jp", "number_limit")]
    errors = [record.getMessage() for record in caplog.records]
    assert len(errors) == 2
    assert all("+81 ••• ••5678" in error and NUMBER not in error for error in errors)
    assert sid(3) in errors[0] and "number_limit" in errors[0] and REJECTED in errors[0]


def test_a_spooled_booking_of_a_region_no_longer_configured_is_set_aside(
    store: Store, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append(spooled_booking(1, region="atlantis"))
    records = Records(store, spool)  # knows no region's limits
    assert records.replay() == 1
    assert store.callbacks.for_call(sid(1)) is None
    assert [entry["refused"] for entry in rejected(tmp_path / "spool")] == ["unknown_region"]


@pytest.mark.slow
def test_the_service_counts_spooled_bookings_against_its_configured_limits(
    settings: Settings,
) -> None:
    """The sample Tokyo line allows two callbacks a day per number; the refusal is counted in
    ivr_callback_bookings_refused_total."""
    app = create_app(settings)
    services = app.state.services
    labels = {"region": "jp", "reason": "number_limit", "at": "replay"}
    before = REGISTRY.get_sample_value("ivr_callback_bookings_refused_total", labels) or 0.0
    spool = services.records.spool
    try:
        for n in range(1, 4):
            spool.append(spooled_booking(n))
        assert services.records.replay() == 3
        assert services.store.callbacks.for_call(sid(3)) is None
    finally:
        services.store.close()
    after = REGISTRY.get_sample_value("ivr_callback_bookings_refused_total", labels)
    assert after == before + 1
