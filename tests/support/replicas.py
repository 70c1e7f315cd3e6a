"""`ivr serve` processes on loopback ports, as the replicas behind the proxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import free_port
from tests.support.repository import ROOT

IVR = [sys.executable, "-m", "ivr.commands.main"]


def replica_env(**settings: str) -> dict[str, str]:
    """This process's environment without any IVR_/TWILIO_ variable of the developer's, plus
    the sample configuration and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    env.update(IVR_REGIONS=str(ROOT / "regions.toml"), IVR_PROMPTS=str(ROOT / "prompts"))
    return {**env, **settings}


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def healthy(self) -> bool:
        assert self.process.poll() is None, f"ivr serve exited:\n{self.log.read_text()}"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)


@contextmanager
def replica(
    env: dict[str, str], log: Path, port: int | None = None, options: Sequence[str] = ()
) -> Iterator[Replica]:
    """One `ivr serve` on 127.0.0.1; stopped (SIGKILL if SIGTERM is not enough) at the end."""
    port = port or free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*IVR, "serve", "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Replica(process, port, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
