"""`python -m bench --surge [N]`: a real `ivr serve` (signed, fresh database), the surge against
it, and its summary; with `--results`, the Surge section of bench/RESULTS.md.

As in the load benchmark, the server runs on core 0 (taskset) and this process, with every
emulated call, on core 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.mix import SignedRequest
from bench.servers import Launch, Probe, Server, free_port
from bench.surge import SAMPLE_REGIONS, run_surge
from bench.surge_plan import open_lines, staffed_around_the_clock
from bench.surge_report import surge_lines, surge_section, write_surge_section
from ivr.config.regions import load_regions

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://ivr.example.com"
SERVER_CPU, LOAD_CPU = 0, 1
# Readiness without a webhook: a probe call would add a row to the database under test.
HEALTH = Probe(SignedRequest("health", "GET", "/healthz", (), ""))


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A schema of its own in the PostgreSQL database at `url`, dropped afterwards; yields the
    URL that makes it the connection's search path (for the server and for reading)."""
    schema = f"surge_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        joiner = "&" if "?" in url else "?"
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def server_env(token: str, regions: Path, database_url: str, spool: Path) -> dict[str, str]:
    """This process's environment without any IVR_/TWILIO_ variable, plus the surge's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    return {
        **env,
        "TWILIO_AUTH_TOKEN": token,
        "IVR_PUBLIC_URL": PUBLIC_URL,
        "IVR_REGIONS": str(regions),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_FLOWS": str(ROOT / "flows.toml"),
        "IVR_DATABASE_URL": database_url,
        "IVR_SPOOL_DIR": str(spool),
    }


def run_surge_command(args: argparse.Namespace) -> int:
    """Exit 0 when the surge is clean (and the server logged no failure), 1 when not, 2 when
    it cannot run here."""
    if args.surge < 1:
        print("--surge needs at least one call", file=sys.stderr)
        return 2
    if shutil.which("taskset") is None or not {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        print(f"the surge needs taskset and cores {SERVER_CPU} and {LOAD_CPU}", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {LOAD_CPU})  # the callers stay off the server's core
    tmp = Path(tempfile.mkdtemp(prefix="ivr-surge-"))
    try:
        if args.surge_database:
            with fresh_schema(args.surge_database) as url:
                return _surge(args, tmp, url, "PostgreSQL, a fresh schema (dropped afterwards)")
        url = f"sqlite:///{tmp / 'ivr.sqlite3'}"
        return _surge(args, tmp, url, "a fresh SQLite file (WAL)")
    finally:
        if args.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _surge(args: argparse.Namespace, tmp: Path, database_url: str, database: str) -> int:
    from bench.cli import read_log  # the load benchmark's reading of the server log

    lines = open_lines(load_regions(SAMPLE_REGIONS))
    regions = staffed_around_the_clock(
        SAMPLE_REGIONS, tmp / "regions.toml", [line.region for line in lines]
    )
    token = secrets.token_hex(16)
    port = free_port()
    ivr = Path(sys.executable).with_name("ivr")
    env = server_env(token, regions, database_url, tmp / "spool")
    launch = Launch("surge", (str(ivr), "serve", "--port", str(port)), env, tmp, tmp / "server.log")
    load = _load()
    progress(f"ivr serve on port {port}, {database}; {args.surge} callers")
    with Server(launch, port, SERVER_CPU) as server:
        server.wait_answering(HEALTH)
        summary = run_surge(
            f"http://127.0.0.1:{port}", token, PUBLIC_URL, database_url, calls=args.surge
        )
    log = read_log(launch.log)
    setting = [
        f"server: `ivr serve` (1 worker), signed (TWILIO_AUTH_TOKEN, IVR_PUBLIC_URL={PUBLIC_URL}),"
        f" {database}; server on core {SERVER_CPU}, callers on core {LOAD_CPU}",
        "regions: the sample regions.toml, with the lines open at the surge's moment staffed"
        " around the clock (`ivr serve` keeps the real time; the callers' clock is virtual)",
        f"machine: {os.cpu_count()} cores, Linux {platform.release()}, Python"
        f" {platform.python_version()}; load average before the run: {load}",
        f"server log: {log.webhook_failures} webhook failures, {log.bad_signatures} bad"
        f" signatures, {log.refused_calls} refused calls, {log.asgi_exceptions} ASGI exceptions",
    ]
    report = surge_lines(summary, setting)
    print("\n".join(report), flush=True)
    if args.results:
        python = os.path.relpath(sys.executable, Path.cwd())
        argv = sys.argv[1:] if sys.argv and sys.argv[0].endswith("__main__.py") else []
        command = shlex.join([python, "-m", "bench", *argv])
        write_surge_section(args.results, surge_section(report, command))
        progress(f"wrote the Surge section of {args.results}")
    logged = log.webhook_failures + log.bad_signatures + log.refused_calls + log.asgi_exceptions
    return 0 if summary.clean and not logged else 1


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
