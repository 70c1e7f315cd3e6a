"""Secure by default, in real processes: without TWILIO_AUTH_TOKEN `ivr serve` answers unsigned
webhooks on loopback only, refuses to start on a public --host unless told by name, and the
app under plain uvicorn refuses unsigned webhooks (and an open /metrics) that reach a public
address of this machine.

Requests to "this machine's public address" go to its own non-loopback interface address:
they never leave the machine, but reach the service the way another machine's would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from ivr.web.metrics import serve_metrics
from tests.support.processes import until
from tests.support.replicas import IVR, replica_env
from tests.support.repository import ROOT

TOKEN = "secure-defaults-auth-token"
METRICS_TOKEN = "secure-defaults-metrics-token"
CALL = {"CallSid": "CA" + "c" * 32, "From": "+447700900123", "To": "+442079460000"}
INSECURE = "INSECURE: TWILIO_AUTH_TOKEN is not set and IVR_ALLOW_UNSIGNED is"
UVICORN = [sys.executable, "-m", "uvicorn", "ivr.web.app:app"]


@pytest.fixture(scope="module")
def public_address() -> str:
    """An address of this machine other than loopback: the one it reaches the network from (a
    UDP socket picks it on `connect`, sending nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("203.0.113.1", 9))
            address = str(probe.getsockname()[0])
    except OSError:
        address = "127.0.0.1"
    if address.startswith("127."):
        message = "this machine has no address but loopback"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return address


def free_port_everywhere() -> int:
    """A port free on every interface (0.0.0.0), not only on loopback."""
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return int(probe.getsockname()[1])


def env_for(tmp_path: Path, **settings: str) -> dict[str, str]:
    return replica_env(
        IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        IVR_SPOOL_DIR=str(tmp_path / "spool"),
        **settings,
    )


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url(self, host: str) -> str:
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def webhook(self, host: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url(host)}/voice/incoming", data=CALL, headers=headers, timeout=10
        )

    def get(self, host: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(f"{self.url(host)}{path}", headers=headers, timeout=10)

    def logged(self, text: str) -> int:
        return self.log.read_text(encoding="utf-8", errors="replace").count(text)


@contextmanager
def running(
    command: Sequence[str], env: dict[str, str], log: Path, port: int, workers: int = 1
) -> Iterator[Service]:
    """`command` in its own process, once each of its `workers` has started; SIGTERM after."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    service = Service(process, port, log)
    try:

        def started() -> bool:
            assert process.poll() is None, f"exited:\n{log.read_text()}"
            return service.logged("Application startup complete") == workers

        until(started, " ".join(command), limit=90)
        yield service
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve(*options: str, port: int) -> list[str]:
    return [*IVR, "serve", "--port", str(port), *options]


def answered_with_twiml(response: httpx.Response) -> bool:
    return (
        response.status_code == 200
        and response.headers["content-type"].startswith("text/xml")
        and "<Say" in response.text
    )


# -- ivr serve ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_serve_on_a_public_address_without_a_token_refuses_with_one_line(
    tmp_path: Path, host: str
) -> None:
    result = subprocess.run(
        serve("--host", host, port=free_port_everywhere()),
        cwd=ROOT,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"refusing to start: --host {host} is not a loopback address and TWILIO_AUTH_TOKEN is "
        "not set; set TWILIO_AUTH_TOKEN (or, to answer unsigned webhooks knowingly, "
        "--insecure-unsigned or IVR_ALLOW_UNSIGNED=1)"
    )
    assert not (tmp_path / "ivr.sqlite3").exists()  # refused before anything was built


@pytest.mark.slow
@pytest.mark.parametrize(("options", "host"), [((), "127.0.0.1"), (("--host", "::1"), "::1")])
def test_serve_on_loopback_answers_unsigned_webhooks(
    tmp_path: Path, options: tuple[str, ...], host: str
) -> None:
    port = free_port_everywhere()
    command = serve(*options, port=port)
    with running(command, env_for(tmp_path), tmp_path / "serve.log", port) as service:
        assert answered_with_twiml(service.webhook(host))
        assert service.get(host, "/metrics").status_code == 200
        assert service.logged("unsigned webhooks are answered on loopback only") == 1


@pytest.mark.slow
def test_insecure_unsigned_answers_on_a_public_address_and_every_worker_warns(
    tmp_path: Path, public_address: str
) -> None:
    port = free_port_everywhere()
    command = serve("--host", "0.0.0.0", "--insecure-unsigned", "--workers", "2", port=port)
    with running(command, env_for(tmp_path), tmp_path / "serve.log", port, workers=2) as service:
        assert answered_with_twiml(service.webhook(public_address))
        assert service.logged(INSECURE) == 2
        assert service.get(public_address, "/metrics").status_code == 403  # not opened by it


@pytest.mark.slow
def test_ivr_allow_unsigned_answers_on_a_public_address_and_warns_at_every_start(
    tmp_path: Path, public_address: str
) -> None:
    env = env_for(tmp_path, IVR_ALLOW_UNSIGNED="1")
    for start in ("first", "second"):
        port = free_port_everywhere()
        log = tmp_path / f"{start}.log"
        with running(serve("--host", "0.0.0.0", port=port), env, log, port) as service:
            assert answered_with_twiml(service.webhook(public_address))
            assert service.logged(INSECURE) == 1, start


@pytest.mark.slow
def test_serve_on_a_public_address_with_a_token_answers_signed_webhooks_and_hides_metrics(
    tmp_path: Path, public_address: str
) -> None:
    port = free_port_everywhere()
    env = env_for(tmp_path, TWILIO_AUTH_TOKEN=TOKEN)
    command = serve("--host", "0.0.0.0", port=port)
    with running(command, env, tmp_path / "serve.log", port) as service:
        url = f"{service.url(public_address)}/voice/incoming"
        signature = RequestValidator(TOKEN).compute_signature(url, CALL)
        assert answered_with_twiml(
            service.webhook(public_address, {"X-Twilio-Signature": signature})
        )
        assert service.webhook(public_address).status_code == 403
        metrics = service.get(public_address, "/metrics")
        assert metrics.status_code == 403
        assert "set IVR_METRICS_TOKEN" in metrics.text and "ivr_" not in metrics.text
        assert service.get("127.0.0.1", "/metrics").status_code == 200
        assert service.logged("IVR_METRICS_TOKEN is not set: /metrics answers 403") == 1


@pytest.mark.slow
def test_serve_on_a_public_address_serves_metrics_for_their_token(
    tmp_path: Path, public_address: str
) -> None:
    port = free_port_everywhere()
    env = env_for(tmp_path, TWILIO_AUTH_TOKEN=TOKEN, IVR_METRICS_TOKEN=METRICS_TOKEN)
    command = serve("--host", "0.0.0.0", port=port)
    with running(command, env, tmp_path / "serve.log", port) as service:
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert service.get(public_address, "/metrics", bearer).status_code == 200
        assert service.get(public_address, "/metrics").status_code == 401


# -- the app under another server ---------------------------------------------------------------
@pytest.mark.slow
def test_plain_uvicorn_refuses_unsigned_webhooks_that_reach_a_public_address(
    tmp_path: Path, public_address: str
) -> None:
    port = free_port_everywhere()
    command = [*UVICORN, "--host", "0.0.0.0", "--port", str(port)]
    with running(command, env_for(tmp_path), tmp_path / "uvicorn.log", port) as service:
        for _ in range(2):
            refused = service.webhook(public_address)
            assert refused.status_code == 403
            assert refused.json() == {
                "detail": "unsigned webhooks are refused on this address: set TWILIO_AUTH_TOKEN"
            }
        assert service.logged("refused an unsigned webhook that reached") == 1
        assert answered_with_twiml(service.webhook("127.0.0.1"))  # the same server, on loopback
        assert service.get(public_address, "/metrics").status_code == 403
        assert service.get("127.0.0.1", "/metrics").status_code == 200
        assert service.get(public_address, "/dashboard").status_code == 503  # no session secret


# -- ivr dispatch's /metrics --------------------------------------------------------------------
@pytest.mark.slow
def test_the_dispatchers_metrics_without_a_token_are_off_on_a_public_address(
    public_address: str,
) -> None:
    port = free_port_everywhere()
    server = serve_metrics("0.0.0.0", port, None)
    try:
        refused = httpx.get(f"http://{public_address}:{port}/metrics", timeout=10)
        assert refused.status_code == 403 and "set IVR_METRICS_TOKEN" in refused.text
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_dispatchers_metrics_answer_their_token_on_a_public_address(
    public_address: str,
) -> None:
    port = free_port_everywhere()
    server = serve_metrics("0.0.0.0", port, METRICS_TOKEN)
    try:
        url = f"http://{public_address}:{port}/metrics"
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert httpx.get(url, headers=bearer, timeout=10).status_code == 200
        assert httpx.get(url, timeout=10).status_code == 401
    finally:
        server.shutdown()
        server.server_close()
