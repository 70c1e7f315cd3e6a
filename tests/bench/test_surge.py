"""A surge of 150 whole calls at one virtual moment against a real `ivr serve`: no request
fails, every call ends as planned, and every call's record is in the database, right."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.surge import SAMPLE_REGIONS, SurgeSummary, run_surge
from bench.surge_command import fresh_schema
from bench.surge_plan import (
    BRIDGED,
    HANGUP,
    LEFT,
    SELF_SERVED,
    open_lines,
    staffed_around_the_clock,
)
from bench.surge_records import ExpectedRow, check_records
from bench.surge_report import keep_surge, surge_lines, surge_section, write_surge_section
from ivr.config.regions import load_regions
from ivr.store import Store
from ivr.store.migrate import upgrade
from tests.support.databases import POSTGRES_URL
from tests.support.processes import free_port, until
from tests.support.replicas import replica, replica_env

pytestmark = [pytest.mark.slow, pytest.mark.infra]

TOKEN = "surge-auth-token"
CALLS = 150


def surge_on(tmp_path: Path, database_url: str) -> tuple[SurgeSummary, str]:
    """The surge against `ivr serve` on `database_url`; its summary and the server's log."""
    lines = open_lines(load_regions(SAMPLE_REGIONS))
    regions = staffed_around_the_clock(
        SAMPLE_REGIONS, tmp_path / "regions.toml", [line.region for line in lines]
    )
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = replica_env(
        TWILIO_AUTH_TOKEN=TOKEN,
        IVR_PUBLIC_URL=public_url,
        IVR_REGIONS=str(regions),
        IVR_DATABASE_URL=database_url,
        IVR_SPOOL_DIR=str(tmp_path / "spool"),
    )
    with replica(env, tmp_path / "serve.log", port) as served:
        until(served.healthy, "ivr serve to answer /healthz")
        summary = run_surge(served.url, TOKEN, public_url, database_url, calls=CALLS)
    return summary, served.log.read_text()


def assert_nothing_lost(summary: SurgeSummary, log: str) -> None:
    report = "\n".join(surge_lines(summary, []))
    assert summary.calls == CALLS, report
    assert set(summary.fates) == {BRIDGED, HANGUP, LEFT, SELF_SERVED}, report
    assert summary.agents == summary.fates[BRIDGED], report
    assert summary.requests > 8 * CALLS, report  # menus, several wait rounds, status...
    assert summary.errors == 0, report
    assert summary.unanswered == (), report
    assert summary.not_ended == (), report
    assert summary.off_script == (), report
    assert summary.records.checked == CALLS, report
    assert summary.lost == (), report
    assert "webhook failed" not in log and "Traceback" not in log


def test_a_surge_of_calls_loses_no_record_on_sqlite(tmp_path: Path) -> None:
    summary, log = surge_on(tmp_path, f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    assert_nothing_lost(summary, log)


@pytest.mark.postgres
def test_a_surge_of_calls_loses_no_record_on_postgresql(tmp_path: Path) -> None:
    with fresh_schema(POSTGRES_URL) as database_url:
        summary, log = surge_on(tmp_path, database_url)
    assert_nothing_lost(summary, log)


def test_the_surge_section_replaces_only_itself_and_survives_a_full_run(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Targets\n\nold targets\n")
    write_surge_section(results, surge_section(["surge: first"], "python -m bench --surge"))
    first = results.read_text()
    assert first.startswith("# Benchmark results\n\n## Targets\n\nold targets\n\n## Surge\n")
    # In the middle of the file, it is replaced in place; the sections after it stay.
    results.write_text(first + "\n## Reading of this run\n\nby hand\n")
    write_surge_section(results, surge_section(["surge: second"], "python -m bench --surge"))
    second = results.read_text()
    assert "surge: first" not in second and second.count("## Surge\n") == 1
    assert second.index("surge: second") < second.index("## Reading of this run\n\nby hand\n")
    assert second.startswith("# Benchmark results\n\n## Targets\n\nold targets\n\n## Surge\n")
    # A full benchmark run rewrites the file and carries the Surge section over.
    rewritten = keep_surge(results, "# Benchmark results\n\n## Targets\n\nnew targets\n")
    assert "new targets" in rewritten and "old targets" not in rewritten
    assert "surge: second" in rewritten and rewritten.count("## Surge\n") == 1


def test_records_missing_or_wrong_are_lost_unless_they_arrive_while_read_again(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    store = Store.connect(url)
    upgrade(store.engine)
    at = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)

    def bridged_call(sid: str, pressed: str) -> ExpectedRow:
        store.record_step(sid, "+447700900123", "gb", "en-GB", f"main:{sid}", pressed, at)
        store.remember_queue_entry(
            sid, "+447700900123", "gb-en-GB", "gb", "en-GB", "main", None, at
        )
        store.record_queue_result(sid, "bridged", 120, at)
        store.record_status(sid, "+447700900123", "completed", 300, at)
        return ExpectedRow(
            call_sid=sid,
            caller="+447700900123",
            region="gb",
            language="en-GB",
            status="completed",
            duration=300,
            path="main:0",
            queue="gb-en-GB",
            queue_result="bridged",
            outcome="bridged",
            reason="main",
            transaction_ref=None,
        )

    kept = bridged_call("CA" + "1" * 32, "main:0")
    wrong = bridged_call("CA" + "2" * 32, "main:1")  # the row says they pressed 1
    late = replace(kept, call_sid="CA" + "3" * 32)  # its row is written while read again
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        if elapsed[0] == 0.0:
            bridged_call(late.call_sid, "main:0")
        elapsed[0] += seconds

    check = check_records(url, [kept, wrong, late], 2.0, sleep=sleep, monotonic=lambda: elapsed[0])
    store.close()
    assert check.lost == (f"{wrong.call_sid}: path 'main:1' (expected 'main:0')",)
    assert (check.checked, check.lost_at_first_read, check.rows) == (3, 2, 3)
    assert check.waited_seconds == 2.0
