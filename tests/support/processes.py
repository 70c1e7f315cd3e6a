"""What the infra tests share: system tools, free ports, sockets seen from /proc, deadlines."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.repository import ROOT

INFRA = ROOT / "infra"


def need(tool: str, install: str) -> str:
    """The path of `tool`. Missing: skipped on a developer's machine, a failure in CI (where
    .ci/run installs it), so a CI run never passes by skipping the deployment tests."""
    # Console scripts of the venv's packages sit beside its python, even when it is not on PATH.
    path = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if path:
        return path
    message = f"{tool} is not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll `condition` until it holds; fail with `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


LISTEN = "0A"


def loopback_sockets(port: int) -> list[tuple[str, int, int, int]]:
    """IPv4 sockets bound to 127.0.0.1:`port`, as the kernel lists them: (state, remote port,
    bytes unacknowledged by the peer, bytes received and not yet read by the process)."""
    local = f"0100007F:{port:04X}"
    sockets = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] != local:
            continue
        tx_queue, rx_queue = (int(value, 16) for value in fields[4].split(":"))
        sockets.append((fields[3], int(fields[2].split(":")[1], 16), tx_queue, rx_queue))
    return sockets


def unread_bytes(port: int) -> int:
    """Bytes that arrived on connections to 127.0.0.1:`port` and that its server has not read."""
    return sum(rx for state, _, _, rx in loopback_sockets(port) if state != LISTEN)


def listening(port: int) -> bool:
    return any(state == LISTEN for state, *_ in loopback_sockets(port))
