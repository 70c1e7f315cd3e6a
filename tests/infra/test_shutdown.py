"""SIGTERM (what `docker stop` sends) lets `ivr serve` finish the request in flight.

Synchronised on what the kernel shows in /proc/net/tcp, never on sleeps: the request is in
flight once the server has read every byte sent so far (its headers, all but the body's last
byte: the handler waits for it), and shutdown has begun once the port stops listening.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ivr.store import Store
from tests.support.processes import free_port, listening, loopback_sockets, until
from tests.support.replicas import replica, replica_env

pytestmark = [pytest.mark.slow, pytest.mark.infra]

CALL_SID = "CA" + "d" * 32
FORM = {"CallSid": CALL_SID, "From": "+447700900123", "To": "+442079460123"}


def read_so_far(server_port: int, client: socket.socket) -> bool:
    """Every byte `client` sent is acknowledged by the server's kernel and read by the server."""
    client_port = client.getsockname()[1]
    (ours,) = [s for s in loopback_sockets(client_port) if s[1] == server_port]
    theirs = [s for s in loopback_sockets(server_port) if s[1] == client_port]
    return ours[2] == 0 and len(theirs) == 1 and theirs[0][3] == 0


def receive_all(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def test_sigterm_finishes_the_request_in_flight_then_exits(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    env = replica_env(IVR_DATABASE_URL=database, IVR_SPOOL_DIR=str(tmp_path / "spool"))
    port = free_port()
    body = urlencode(FORM).encode()
    head = (
        f"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with replica(env, tmp_path / "serve.log", port) as server:
        until(server.healthy, "ivr serve")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head + body[:-1])
            until(lambda: read_so_far(port, client), "the server to read the request so far")
            server.signal(signal.SIGTERM)
            until(lambda: not listening(port), "the server to stop taking connections")
            assert server.process.poll() is None, "it exited with a request in flight"
            client.sendall(body[-1:])
            response = receive_all(client)
        exit_code = server.process.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert response.startswith(b"HTTP/1.1 200 "), response
    assert b"Thank you for calling wallet support." in response
    # uvicorn raises the signal again once it has shut down: the exit is SIGTERM's own.
    assert exit_code == -signal.SIGTERM, log
    # Answered after the shutdown began, before the application shut down.
    shutting, answered = (
        log.index("Shutting down"),
        log.index('"POST /voice/incoming HTTP/1.1" 200'),
    )
    assert shutting < answered < log.index("Waiting for application shutdown")
    store = Store.connect(database)
    try:
        record = store.call(CALL_SID)
    finally:
        store.close()
    assert record is not None and record.region == "gb"
