"""Operator reports: the figures of build_report by hand, and `calls` / `report` on a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from ivr.commands.reports import calls, report
from ivr.store import CallbackRecord, CallRecord, Store
from ivr.store.migrate import upgrade
from ivr.store.reports import TOTAL, UNKNOWN_REGION, build_report, nearest_rank, total_report

DAY = datetime(2026, 3, 2, tzinfo=UTC)


# -- build_report, pure ---------------------------------------------------------------------
def call(
    sid: str,
    region: str | None,
    outcome: str,
    queued: bool = False,
    wait: int | None = None,
) -> CallRecord:
    return CallRecord(
        call_sid=sid,
        caller="+81312345678",
        region=region,
        language="ja-JP",
        reason=None,
        transaction_ref=None,
        queue=f"{region}-ja-JP" if queued else None,
        queued_at=DAY if queued else None,
        status="completed",
        duration=60,
        outcome=outcome,
        queue_time=wait,
        created_at=DAY,
    )


def callback(id: int, region: str, status: str) -> CallbackRecord:
    return CallbackRecord(
        id=id,
        call_sid=f"CA{id:032d}",
        code="123456",
        number="+81312345678",
        region=region,
        language="ja-JP",
        reason=None,
        transaction_ref=None,
        waiting_since=DAY,
        booked_at=DAY,
        status=status,
        attempts=0,
        next_attempt_at=DAY,
        last_call_sid=None,
        last_result=None,
        note_due=False,
        note_sent_at=None,
    )


CALLS = [
    call("A", "jp", "self-served"),
    call("B", "jp", "self-served"),
    call("C", "jp", "bridged", queued=True, wait=30),
    call("D", "jp", "bridged", queued=True, wait=60),  # exactly the threshold: within
    call("E", "jp", "bridged", queued=True, wait=120),
    call("F", "jp", "abandoned", queued=True, wait=10),  # gave up early: not in service level
    call("G", "jp", "abandoned", queued=True, wait=90),
    call("H", "jp", "callback", queued=True, wait=45),  # left the queue: not a wait we count
    call("I", "jp", "voicemail"),
    call("J", "jp", "error"),
    call("K", None, "self-served"),
]
CALLBACKS = [
    callback(1, "jp", "pending"),
    callback(2, "jp", "dialing"),
    callback(3, "jp", "done"),
    callback(4, "jp", "expired"),
    callback(5, "jp", "cancelled"),
    callback(1, "jp", "pending"),  # booked today and still open: in both lists, counted once
    callback(6, "cn", "pending"),
]


def test_regions_are_sorted_by_id_with_unknown_ones_apart() -> None:
    lines = build_report(CALLS, CALLBACKS)
    assert [line.region for line in lines] == [UNKNOWN_REGION, "cn", "jp"]


def test_a_region_report_by_hand() -> None:
    jp = {line.region: line for line in build_report(CALLS, CALLBACKS)}["jp"]
    assert (jp.calls, jp.self_served, jp.queued, jp.bridged, jp.abandoned) == (10, 2, 6, 3, 2)
    assert jp.self_service_rate == pytest.approx(2 / 10)
    assert jp.abandonment_rate == pytest.approx(2 / 6)
    # Waits of C, D, E, F, G: 30 + 60 + 120 + 10 + 90 = 310 over 5.
    assert jp.average_wait == pytest.approx(62.0)
    # Sorted 10 30 60 90 120; nearest rank ceil(0.9 * 5) = 5: the fifth, 120.
    assert jp.p90_wait == 120
    # Answered within 60: C and D; answered 3, abandoned after 60: G. 2 / (3 + 1).
    assert jp.service_level == pytest.approx(0.5)
    assert (jp.callbacks_pending, jp.callbacks_done, jp.callbacks_expired) == (2, 1, 1)
    assert (jp.voicemails, jp.errors) == (1, 1)


def test_a_region_with_only_a_callback_has_no_rates() -> None:
    cn = {line.region: line for line in build_report(CALLS, CALLBACKS)}["cn"]
    assert (cn.calls, cn.callbacks_pending) == (0, 1)
    assert cn.self_service_rate is None and cn.abandonment_rate is None
    assert cn.average_wait is None and cn.p90_wait is None and cn.service_level is None


def test_the_total_counts_every_region() -> None:
    total = total_report(CALLS, CALLBACKS)
    assert total.region == TOTAL
    assert (total.calls, total.self_served) == (11, 3)
    assert total.self_service_rate == pytest.approx(3 / 11)
    assert total.p90_wait == 120 and total.service_level == pytest.approx(0.5)
    assert (total.callbacks_pending, total.callbacks_done, total.callbacks_expired) == (3, 1, 1)


def test_the_service_level_threshold_is_a_parameter() -> None:
    # Within 30: C only; answered 3; abandoned after 30: G. 1 / (3 + 1).
    jp = build_report(CALLS, [], answer_within=30)[-1]
    assert jp.service_level == pytest.approx(0.25)
    # Within 5: none; answered 3; abandoned after 5: F and G. 0 / 5, a real zero.
    jp = build_report(CALLS, [], answer_within=5)[-1]
    assert jp.service_level == 0.0


def test_nothing_to_report() -> None:
    assert build_report([], []) == []
    total = total_report([], [])
    assert total.calls == 0 and total.self_service_rate is None and total.p90_wait is None


def test_nearest_rank() -> None:
    assert nearest_rank(list(range(10, 0, -1)), 90) == 9  # rank 9 exactly, not 10
    assert nearest_rank(list(range(1, 21)), 90) == 18
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([3, 1, 2], 100) == 3
    assert nearest_rank([], 90) is None
    with pytest.raises(ValueError):
        nearest_rank([1], 0)


# -- the commands on a real SQLite store ----------------------------------------------------
def sid(n: int) -> str:
    return f"CA{n:032d}"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "ivr.sqlite3"
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{path}")
    store = Store.connect(f"sqlite:///{path}")
    upgrade(store.engine)
    try:
        fill(store)
    finally:
        store.close()
    yield path


def fill(store: Store) -> None:
    """Five calls on 2026-03-02 (UTC), one the evening before, and three callbacks."""
    # 1, jp: self-served.
    store.record_step(
        sid(1), "+81312345678", "jp", "ja-JP", "s1", "main:1", at("2026-03-02T01:00Z")
    )
    store.record_status(sid(1), "+81312345678", "completed", 40, at("2026-03-02T01:01Z"))
    # 2, jp: queued, an agent took it after 45 s.
    store.record_step(
        sid(2), "+81312345679", "jp", "ja-JP", "s1", "main:0", at("2026-03-02T01:10Z")
    )
    queue(store, 2, "+81312345679", "jp", "ja-JP", "2026-03-02T01:10Z")
    store.record_queue_result(sid(2), "bridged", 45, at("2026-03-02T01:11Z"))
    store.record_status(sid(2), "+81312345679", "completed", 300, at("2026-03-02T01:16Z"))
    # 3, jp: hung up after 100 s in the queue; then booked a callback that was done.
    queue(store, 3, "+81312340000", "jp", "ja-JP", "2026-03-02T02:00Z")
    store.record_queue_result(sid(3), "hangup", 100, at("2026-03-02T02:01:40Z"))
    store.record_status(sid(3), "+81312340000", "completed", 110, at("2026-03-02T02:01:40Z"))
    store.callbacks.book(
        sid(3), "+81312340000", "jp", "ja-JP", "main", "111111", at("2026-03-02T02:05Z")
    )
    claimed = store.callbacks.claim("jp", at("2026-03-02T02:06Z"), timedelta(minutes=5))
    assert claimed is not None and claimed.call_sid == sid(3)
    assert store.callbacks.reached(claimed.id, at("2026-03-02T02:07Z"))
    # 4, us: left the queue after 20 s to book a callback, still pending.
    queue(store, 4, "+12025550142", "us", "en-US", "2026-03-02T03:00Z")
    store.record_queue_result(sid(4), "leave", 20, at("2026-03-02T03:00:20Z"))
    store.callbacks.book(
        sid(4), "+12025550142", "us", "en-US", "main", "222222", at("2026-03-02T03:00:30Z")
    )
    store.record_outcome(sid(4), "callback", at("2026-03-02T03:00:30Z"))
    store.record_status(sid(4), "+12025550142", "completed", 50, at("2026-03-02T03:00:40Z"))
    # 5, us: left a voicemail.
    store.record_step(
        sid(5), "+12025550188", "us", "en-US", "s1", "main:9", at("2026-03-02T04:00Z")
    )
    store.record_outcome(sid(5), "voicemail", at("2026-03-02T04:01Z"))
    # 6, jp, the day before: self-served, then booked a callback that is still pending.
    store.record_step(
        sid(6), "+81311112222", "jp", "ja-JP", "s1", "main:1", at("2026-03-01T23:59Z")
    )
    store.callbacks.book(
        sid(6), "+81311112222", "jp", "ja-JP", "main", "333333", at("2026-03-01T23:59:30Z")
    )


def queue(store: Store, n: int, caller: str, region: str, language: str, when: str) -> None:
    store.remember_queue_entry(
        call_sid=sid(n),
        caller=caller,
        queue=f"{region}-{language}",
        region=region,
        language=language,
        reason="main",
        reference=None,
        at=at(when),
    )


def run(*args: str, columns: int = 200) -> Result:
    app = typer.Typer()
    app.command()(calls)
    app.command()(report)
    # A wide "terminal", so the table never has to cut a CallSid.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


FULL_NUMBERS = ("+81312345678", "+81312345679", "+81312340000", "+12025550142", "+12025550188")


def test_calls_json_lists_the_newest_first_with_masked_numbers(database_file: Path) -> None:
    result = run("calls", "--json")
    rows = json_of(result)
    assert [row["call_sid"] for row in rows] == [sid(n) for n in (5, 4, 3, 2, 1, 6)]
    second = rows[-2]
    assert second == {
        "time": "2026-03-02T01:00:00Z",
        "call_sid": sid(1),
        "caller": "+81 ••• ••5678",
        "region": "jp",
        "language": "ja-JP",
        "path": "main:1",
        "outcome": "self-served",
        "wait": None,
        "status": "completed",
    }
    by_sid = {row["call_sid"]: row for row in rows}
    assert (by_sid[sid(2)]["outcome"], by_sid[sid(2)]["wait"]) == ("bridged", 45)
    assert (by_sid[sid(3)]["outcome"], by_sid[sid(3)]["wait"]) == ("abandoned", 100)
    assert by_sid[sid(4)]["caller"] == "+1 ••• ••0142"
    for number in FULL_NUMBERS:
        assert number not in result.output and number[1:] not in result.output


def test_calls_limit_and_region(database_file: Path) -> None:
    rows = json_of(run("calls", "--json", "--limit", "2", "--region", "jp"))
    assert [row["call_sid"] for row in rows] == [sid(3), sid(2)]


def test_calls_table_masks_numbers(database_file: Path) -> None:
    result = run("calls")
    assert result.exit_code == 0, result.output
    assert sid(2) in result.output and "2026-03-02T01:10:00Z" in result.output
    assert "+81 ••• ••5679" in result.output and "+1 ••• ••0188" in result.output
    for number in FULL_NUMBERS:
        assert number not in result.output and number[1:] not in result.output


def test_report_json_of_one_day(database_file: Path) -> None:
    document = json_of(run("report", "--json", "--day", "2026-03-02"))
    assert (document["day"], document["answer_within"]) == ("2026-03-02", 60)
    jp, us = document["regions"]
    # jp: calls 1, 2, 3 (6 was the day before). Waits 45 (bridged) and 100 (abandoned).
    assert jp == {
        "region": "jp",
        "calls": 3,
        "self_served": 1,
        "self_service_rate": pytest.approx(1 / 3),
        "queued": 2,
        "bridged": 1,
        "abandoned": 1,
        "abandonment_rate": 0.5,
        "average_wait": 72.5,
        "p90_wait": 100,
        "service_level": 0.5,  # 45 s answered within 60 / (1 answered + 1 gave up after 60)
        "callbacks_pending": 1,  # call 6's, booked the day before but still open
        "callbacks_done": 1,
        "callbacks_expired": 0,
        "voicemails": 0,
        "errors": 0,
    }
    # us: call 4 left the queue for a callback (no counted wait), call 5 left a voicemail.
    assert (us["calls"], us["self_served"], us["self_service_rate"]) == (2, 0, 0.0)
    assert (us["queued"], us["abandonment_rate"], us["callbacks_pending"]) == (1, 0.0, 1)
    assert us["average_wait"] is None and us["p90_wait"] is None and us["service_level"] is None
    assert us["voicemails"] == 1
    total = document["total"]
    assert (total["region"], total["calls"], total["self_served"], total["queued"]) == (
        "total",
        5,
        1,
        3,
    )
    assert total["self_service_rate"] == 0.2 and total["abandonment_rate"] == pytest.approx(1 / 3)
    assert (total["callbacks_pending"], total["callbacks_done"]) == (2, 1)


@pytest.mark.slow
def test_report_of_one_region_and_another_threshold(database_file: Path) -> None:
    document = json_of(
        run("report", "--json", "--day", "2026-03-02", "--region", "jp", "--answer-within", "30")
    )
    assert [line["region"] for line in document["regions"]] == ["jp"]
    # Within 30: nobody; the 100 s abandon counts against: 0 / (1 + 1).
    assert document["regions"][0]["service_level"] == 0.0
    assert document["total"]["calls"] == 3


def test_report_of_the_day_before(database_file: Path) -> None:
    document = json_of(run("report", "--json", "--day", "2026-03-01"))
    (jp, us) = document["regions"]
    assert (jp["calls"], jp["self_served"], jp["callbacks_pending"]) == (1, 1, 1)
    # us had no call that day, but its open callback still shows.
    assert (us["calls"], us["callbacks_pending"]) == (0, 1)


def test_report_table(database_file: Path) -> None:
    result = run("report", "--day", "2026-03-02")
    assert result.exit_code == 0, result.output
    assert "Calls of 2026-03-02 (UTC)" in result.output
    jp_line = next(line for line in result.output.splitlines() if " jp " in line)
    assert "1 (33%)" in jp_line and "1 (50%)" in jp_line and "72s / 100s" in jp_line
    assert "total" in result.output


@pytest.mark.parametrize("day", ["2026-02-30", "02/03/2026", "20260302", "yesterday"])
def test_report_refuses_a_bad_day(database_file: Path, day: str) -> None:
    result = run("report", "--day", day)
    assert result.exit_code == 2
    assert "--day: expected a date as YYYY-MM-DD" in result.output


def test_an_empty_new_database_reports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.sqlite3"
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{path}")
    document = json_of(run("report", "--json"))
    assert document["day"] == datetime.now(UTC).date().isoformat()
    assert document["regions"] == [] and document["total"]["calls"] == 0
    assert document["total"]["service_level"] is None
    assert json_of(run("calls", "--json")) == []
    assert path.exists()
