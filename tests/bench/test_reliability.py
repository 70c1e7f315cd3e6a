"""`python -m bench.reliability`, reduced: every fault of the table is injected for real (a
refused and a silent PostgreSQL behind the gate, kill -9 in a burst) against `ivr serve`, and
every row holds. Keeps the script from rotting; bench/RELIABILITY.md is one full run of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.reliability import RESULTS, Plan, main, run, table_page
from tests.support.databases import POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.infra]

SMALL = Plan(calls=6, rounds=2, fault_seconds=3.0, burst=32, patience=20.0)
FAULTS = ("none", "refused database", "silent database", "kill -9")


@pytest.mark.postgres
def test_a_reduced_reliability_run_injects_every_fault_and_loses_nothing(tmp_path: Path) -> None:
    rows = run(POSTGRES_URL, SMALL, tmp_path)
    page = table_page(rows, SMALL, datetime.now(UTC), "python -m bench.reliability")
    assert [row.fault.split(" for ")[0].split(" after ")[0] for row in rows] == list(FAULTS), page
    assert all("never began" not in row.fault for row in rows), page
    assert all(row.held for row in rows), page
    assert all(row.acknowledged > 0 and row.webhooks > 0 for row in rows), page
    killed = rows[-1]
    assert killed.unanswered > 0 and killed.acknowledged < SMALL.burst, page  # it did die
    assert "Verdict: PASS." in page


def test_too_small_a_run_is_refused() -> None:
    assert main(["--calls", "2"]) == 2


def test_the_committed_table_is_one_run_of_the_script() -> None:
    text = RESULTS.read_text(encoding="utf-8")
    assert text.startswith("# Reliability under faults\n\nWritten by `")
    assert "-m bench.reliability" in text.splitlines()[2]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| Fault injected | Load held | Webhooks |")
    faults = [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]]
    assert [fault.split(" for ")[0].split(" after ")[0] for fault in faults] == list(FAULTS)
