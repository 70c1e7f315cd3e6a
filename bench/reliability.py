"""`python -m bench.reliability`: faults injected under load into a real `ivr serve` on
PostgreSQL, and the table of what callers and records saw (bench/RELIABILITY.md), from one run.

The server reaches its database through a TCP gate on loopback (tests/e2e/tcp_gate.py, the one
the outage tests use), which can refuse (close: the port refuses, open connections are cut) or
go silent (hold: connections accepted, nothing forwarded; released, the held bytes arrive
late). In turn, each with the surge's whole calls (bench.faults, bench.surge):
1. no fault, the baseline;
2. refused database: the gate closes for a while, then opens;
3. silent database: the gate holds everything for a while, then releases it;
4. kill -9 mid-burst: a burst of status callbacks, the server SIGKILLed halfway, restarted on
   the same database and spool.
Every record acknowledged (a webhook answered 2xx having committed or spooled it) must be in
the database afterwards; every webhook must be answered within 2 s (Twilio waits 15 s).

Exit 0 when every fault held, 1 when one did not, 2 when it cannot run here.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import make_url

from bench.faults import (
    LATE_SECONDS,
    Answer,
    Fault,
    SurgeRun,
    burst_with_kill,
    server_timings,
    stored_status_callbacks,
    surge_under_fault,
)
from bench.servers import end, free_port
from bench.surge import SAMPLE_REGIONS
from bench.surge_command import PUBLIC_URL, fresh_schema, server_env
from bench.surge_plan import open_lines, staffed_around_the_clock
from ivr.config.regions import load_regions
from ivr.store.database import WAIT_SECONDS
from tests.support.tcp_gate import TcpGate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RELIABILITY.md"
DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    fault: str
    load: str
    webhooks: int
    late: int
    unanswered: int
    slowest: float
    acknowledged: int
    stored: int
    expected_unanswered: bool = False  # the server was killed: requests in flight get nothing
    late_ones: tuple[Answer, ...] = ()
    server_over_1s: int | None = None  # the server's own timing, where it was read
    server_over_2_5s: int | None = None

    @property
    def held(self) -> bool:
        answered = self.unanswered == 0 or self.expected_unanswered
        return self.late == 0 and answered and self.stored == self.acknowledged


@dataclass(frozen=True)
class Plan:
    """How big one run is."""

    calls: int = 50  # in progress together
    rounds: int = 14  # calls each caller makes in a row: the load outlasts the faults
    fault_seconds: float = 25.0
    burst: int = 300
    patience: float = 30.0


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability",
        description="Faults under load against ivr serve on PostgreSQL: bench/RELIABILITY.md.",
    )
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL (a schema is made)")
    parser.add_argument("--calls", type=int, default=Plan.calls, help="calls at a time")
    parser.add_argument("--rounds", type=int, default=Plan.rounds, help="calls per caller")
    parser.add_argument(
        "--fault-seconds", type=float, default=Plan.fault_seconds, help="longest fault"
    )
    parser.add_argument("--burst", type=int, default=Plan.burst, help="status callbacks")
    parser.add_argument("--results", type=Path, help=f"write the table here (e.g. {RESULTS})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(args.calls, args.rounds, args.fault_seconds, args.burst)
    if plan.calls < 4 or plan.burst < 4 or plan.rounds < 1:
        print("--calls and --burst need at least 4, --rounds 1", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="ivr-reliability-"))
    started = datetime.now(UTC)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    rows = run(args.database, plan, tmp)
    markdown = table_page(rows, plan, started, _command(argv), load)
    print(markdown)
    if args.results:
        args.results.write_text(markdown, encoding="utf-8")
        progress(f"wrote {args.results}")
    return 0 if all(row.held for row in rows) else 1


def run(database: str, plan: Plan, tmp: Path) -> list[Row]:
    """The four faults, in turn, on a fresh schema of `database`."""
    lines = open_lines(load_regions(SAMPLE_REGIONS))
    regions = staffed_around_the_clock(
        SAMPLE_REGIONS, tmp / "regions.toml", [line.region for line in lines]
    )
    token = secrets.token_hex(16)
    target = make_url(database)
    with (
        fresh_schema(database) as direct,
        TcpGate((target.host or "127.0.0.1", target.port or 5432)) as gate,
    ):
        gate.open()
        gated = make_url(direct).set(port=gate.port).render_as_string(hide_password=False)
        env = server_env(token, regions, gated, tmp / "spool")
        rows = []
        with serving(env, tmp / "serve.log") as (base, _):
            for number, fault in enumerate(_surge_faults(gate, plan), start=1):
                name = fault.name if fault else "none"
                progress(f"{plan.calls} calls at a time, {plan.rounds} rounds, fault: {name}")
                before = server_timings(base)
                surge = surge_under_fault(
                    base,
                    token,
                    PUBLIC_URL,
                    direct,
                    plan.calls,
                    20260300 + number,
                    fault,
                    rounds=plan.rounds,
                    patience=plan.patience,
                )
                rows.append(surge_row(surge, before, server_timings(base)))
        progress(f"burst of {plan.burst} status callbacks, kill -9 halfway")
        rows.append(kill_row(env, tmp / "serve.log", direct, plan))
    return rows


def _surge_faults(gate: TcpGate, plan: Plan) -> list[Fault | None]:
    # From early in the run, for `fault_seconds` (or most of the run's webhooks, if sooner).
    total = plan.calls * plan.rounds * 10  # about ten webhooks a call
    during = dict(after=total // 10, lasting=total * 7 // 10, longest=plan.fault_seconds)
    return [
        None,
        Fault("refused database", gate.close, gate.open, **during),
        Fault("silent database", gate.hold, gate.release, **during),
    ]


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ivr serve` on a free loopback port until the block ends (then SIGINT, SIGKILL)."""
    port = free_port()
    ivr = Path(sys.executable).with_name("ivr")
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(ivr), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ivr serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield base, process
    finally:
        end(process.pid)
        process.wait(timeout=15)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def surge_row(surge: SurgeRun, before: dict[str, float], after: dict[str, float]) -> Row:
    fault = surge.fault
    if fault is None:
        what = "none"
    elif fault.began_at is None:
        what = f"{fault.name}: never began (too few webhooks)"
    else:
        what = f"{fault.name} for {fault.seconds:.1f} s ({fault.answered_during} webhooks)"
    timings = surge.timings
    return Row(
        fault=what,
        load=(
            f"{surge.at_once} calls at a time ({surge.calls} in all), {len(timings.answers):,}"
            f" webhooks in {surge.wall_seconds:.1f} s (peak {surge.peak_in_flight} in flight)"
        ),
        webhooks=len(timings.answers),
        late=len(timings.late),
        unanswered=len(timings.unanswered),
        slowest=timings.slowest,
        acknowledged=surge.acknowledged,
        stored=surge.stored,
        late_ones=tuple(timings.late),
        server_over_1s=_over("1.0", before, after),
        server_over_2_5s=_over("2.5", before, after),
    )


def _over(bucket: str, before: dict[str, float], after: dict[str, float]) -> int:
    """Webhooks the server itself took longer than `bucket` seconds to answer, meanwhile."""
    answered = after.get("+Inf", 0.0) - before.get("+Inf", 0.0)
    within = after.get(bucket, 0.0) - before.get(bucket, 0.0)
    return int(answered - within)


def kill_row(env: dict[str, str], log: Path, direct: str, plan: Plan) -> Row:
    """The burst against one server, killed once half is acknowledged; a second server on the
    same database and spool replays what the first spooled."""
    half = plan.burst // 2
    with serving(env, log) as (base, process):
        signing = (env["TWILIO_AUTH_TOKEN"], PUBLIC_URL)
        timings, acknowledged, seconds = burst_with_kill(
            base, signing, process.pid, plan.burst, half
        )
        process.wait(timeout=15)
    with serving(env, log):
        stored = stored_status_callbacks(direct, acknowledged, plan.patience)
    return Row(
        fault=f"kill -9 after {half} acknowledged; restarted",
        load=f"{plan.burst} status callbacks, 16 at a time, in {seconds:.1f} s",
        webhooks=len(timings.answers),
        late=len(timings.late),
        unanswered=len(timings.unanswered),
        slowest=timings.slowest,
        acknowledged=len(acknowledged),
        stored=stored,
        expected_unanswered=True,
        late_ones=tuple(timings.late),
    )


def table_page(
    rows: list[Row], plan: Plan, started: datetime, command: str, load: str = "?"
) -> str:
    """bench/RELIABILITY.md."""
    header = (
        "| Fault injected | Load held | Webhooks | Answered late (> 2 s) | Not answered"
        " | Slowest answer | Records acknowledged | Records stored |"
    )
    lines = [
        "# Reliability under faults",
        "",
        f"Written by `{command}` from one run on {started:%Y-%m-%d %H:%M} UTC: a real `ivr serve`"
        " (1 worker, signed webhooks) on PostgreSQL, reached through a TCP gate on loopback"
        " that refuses or goes silent on command; the callers are the surge's emulated whole"
        f" calls (menus, queues, agents, hang-ups). Machine: {os.cpu_count()} cores, Linux"
        f" {platform.release()}, Python {platform.python_version()}; load average before the"
        f" run: {load}. The callers' threads share those cores with the server, so their"
        " timings include their own waits for the CPU: the slowest answer without any fault"
        " shows how much.",
        "",
        header,
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r.fault} | {r.load} | {r.webhooks:,} | {r.late} | {r.unanswered}"
            f" | {r.slowest:.2f} s | {r.acknowledged:,} | {r.stored:,} |"
            for r in rows
        ],
        "",
        f"- Late: answered after {LATE_SECONDS:g} s (Twilio gives up after 15 s). A webhook waits"
        f" for the database {WAIT_SECONDS:g} s at most, all its waits together, then answers"
        " from the spool.",
        "- Not answered: no HTTP answer at all. Only the kill -9 has any: the requests in flight"
        " when the server died and those sent before it was restarted; none was acknowledged.",
        "- Records acknowledged: for the surges, the calls whose every webhook was answered"
        " 2xx (their whole row, checked field by field: status, duration, menu path, queue,"
        " how the wait ended, outcome, reason, reference); for the burst, the status callbacks"
        " answered 204. Stored: of those, found right in the database afterwards (spooled"
        f" records are replayed every few seconds; read again for up to {plan.patience:g} s).",
        f"- The silent and refused faults lasted at most {plan.fault_seconds:g} s each; the"
        " silent one released everything it held when it ended (late commits included).",
        *_server_side(rows),
        *_late_ones(rows),
        "",
        "Verdict: " + ("PASS" if all(r.held for r in rows) else "FAIL") + ".",
        "",
    ]
    return "\n".join(lines)


def _server_side(rows: list[Row]) -> list[str]:
    timed = [r for r in rows if r.server_over_1s is not None]
    if not timed:
        return []
    counts = "; ".join(
        f"{r.fault.split(' for ')[0]}: {r.server_over_1s} over 1 s, {r.server_over_2_5s} over 2.5 s"
        for r in timed
    )
    return [
        "- The server's own timing of the same webhooks (its `ivr_webhook_duration_seconds`"
        f" histogram, from the route's start to its answer): {counts}."
    ]


def _late_ones(rows: list[Row]) -> list[str]:
    late = [(r, answer) for r in rows for answer in r.late_ones]
    if not late:
        return []
    return ["- Answered late:"] + [
        f"  - {r.fault.split(' for ')[0]}: {answer.path} sent at"
        f" {datetime.fromtimestamp(answer.at, UTC):%H:%M:%S.%f} UTC, {answer.seconds:.2f} s"
        for r, answer in late[:10]
    ]


def _command(argv: list[str] | None) -> str:
    given = sys.argv[1:] if argv is None else argv
    python = os.path.relpath(sys.executable, Path.cwd())
    return shlex.join([python, "-m", "bench.reliability", *given])


if __name__ == "__main__":
    sys.exit(main())
