"""Running Debian's wrk, pinned to its own core, and reading what its script's `done` prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.lua import MARK
from bench.servers import Cores, taskset_cores

INSTALL_HINT = (
    "wrk is not installed. On Debian/Ubuntu: `sudo apt-get install -y wrk` "
    "(as root: `apt-get update && apt-get install -y wrk`), then run `python -m bench` again."
)


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    status_errors: int  # answers other than 2xx/3xx
    socket_errors: int  # connect, read, write errors and timeouts
    command: tuple[str, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_command(
    url: str, script: Path, seconds: float, connections: int, cpu: Cores, timeout: float = 5.0
) -> list[str]:
    return [
        "taskset",
        "-c",
        taskset_cores(cpu),
        "wrk",
        "-c",
        str(connections),
        "-t",
        "1",
        "-d",
        f"{seconds:g}s",
        "--latency",
        "--timeout",
        f"{timeout:g}s",
        "-s",
        str(script),
        url,
    ]


def run_wrk(url: str, script: Path, seconds: float, connections: int, cpu: Cores) -> WrkResult:
    command = wrk_command(url, script, seconds, connections, cpu)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout, tuple(command))


def parse_wrk(stdout: str, command: tuple[str, ...] = ()) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARK + " "):
            data = json.loads(line[len(MARK) + 1 :])
            break
    else:
        raise RuntimeError(f"wrk printed no {MARK} line:\n{stdout}")
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        status_errors=data["status_errors"],
        socket_errors=data["connect_errors"]
        + data["read_errors"]
        + data["write_errors"]
        + data["timeouts"],
        command=command,
    )
