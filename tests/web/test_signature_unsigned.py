"""Without TWILIO_AUTH_TOKEN, webhooks are answered only when they reach the service on
loopback (ASGI `server`, the local address of the connection), and /metrics is open only there.

Requests go straight into the ASGI app with the `server` a real server would report; the same
rules are checked over real sockets in tests/cli/test_secure_defaults.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.web import signature as security
from ivr.web.app import create_app
from tests.support.moments import instant

CALL = {"CallSid": "CA" + "b" * 32, "From": "+447700900123", "To": "+442079460000"}
TOKEN = "exposure-auth-token"
METRICS_TOKEN = "exposure-metrics-token"
PUBLIC = [("192.0.2.10", 8000), ("10.1.2.3", 8000), ("2001:db8::5", 8000), ("fd00::2", 8000)]
# A dual-stack socket (uvicorn --host ::) shows IPv4 connections as IPv4-mapped addresses.
MAPPED_PUBLIC = ("::ffff:192.0.2.10", 8000)
LOCAL = {
    "IPv4 loopback": ("127.0.0.1", 8000),
    "anywhere in 127.0.0.0/8": ("127.8.9.10", 8000),
    "IPv6 loopback": ("::1", 8000),
    "IPv4-mapped loopback": ("::ffff:127.0.0.1", 8000),
    "unix socket, uvicorn": ("/run/ivr/ivr.sock", None),
    "unix socket, no address": None,
}
# No IP address where the local address belongs: no real server on a network socket reports
# one, so none is trusted to be loopback.
NOT_AN_ADDRESS = {
    "a name resolving to loopback": ("localhost", 8000),
    "a host name": ("myhost.example", 8000),
    "an in-process client's host": ("ivr.test", None),
    "empty": ("", 8000),
    "an address with a trailing space": ("192.0.2.2 ", 8000),
    "a relative socket path": ("ivr.sock", None),
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class Service:
    """The app, and requests into it as if a server had accepted them on `server`."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.runner = asyncio.Runner()

    def request(
        self,
        method: str,
        path: str,
        server: tuple[str, int | None] | None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return self.runner.run(self._send(method, path, server, body, headers or {}))

    def webhook(
        self, server: tuple[str, int | None] | None, headers: dict[str, str] | None = None
    ) -> Answer:
        form = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", "/voice/incoming", server, urlencode(CALL).encode(), form)

    async def _send(
        self,
        method: str,
        path: str,
        server: tuple[str, int | None] | None,
        body: bytes,
        headers: dict[str, str],
    ) -> Answer:
        sent: list[MutableMapping[str, Any]] = []
        given, answered = False, asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:  # as a server does: the client stays until the answer is complete
                await answered.wait()
                return {"type": "http.disconnect"}
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()

        raw = [(b"host", b"ivr.example.com"), (b"content-length", str(len(body)).encode())]
        raw += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw,
            "server": server,
            "client": ("198.51.100.7", 40000),
        }
        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        names = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return Answer(start["status"], names, text.decode())

    def close(self) -> None:
        self.runner.close()
        self.app.state.services.store.close()


Build = Callable[..., Service]


@pytest.fixture
def build(settings: Settings) -> Iterator[Build]:
    """Builds the app on the test's settings with `changes`; closes what it built after."""
    built: list[Service] = []

    def make(**changes: Any) -> Service:
        clock = FixedClock(instant("2026-03-02T10:00+00:00"))
        service = Service(create_app(settings.model_copy(update=changes), clock=clock))
        built.append(service)
        return service

    yield make
    for service in built:
        service.close()


@pytest.fixture
def operator_not_yet_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """The error line is said once per process: start this test as a fresh process would."""
    monkeypatch.setattr(security, "_operator_told", False)


def spoken(answer: Answer) -> list[str]:
    assert answer.headers["content-type"].startswith("text/xml"), answer
    return [say.text or "" for say in ElementTree.fromstring(answer.body).iter("Say")]


@pytest.mark.parametrize("server", [*PUBLIC, MAPPED_PUBLIC], ids=str)
def test_an_unsigned_webhook_on_a_public_address_gets_403_and_no_twiml(
    build: Build, server: tuple[str, int]
) -> None:
    answer = build().webhook(server)
    assert answer.status == 403
    assert "TWILIO_AUTH_TOKEN" in answer.body
    assert "<Response" not in answer.body and "xml" not in answer.headers["content-type"]


@pytest.mark.slow
@pytest.mark.parametrize("server", NOT_AN_ADDRESS.values(), ids=NOT_AN_ADDRESS.keys())
def test_an_unsigned_webhook_on_anything_but_an_ip_address_is_refused_as_public(
    build: Build, server: tuple[str, int | None]
) -> None:
    answer = build().webhook(server)
    assert answer.status == 403
    assert "<Response" not in answer.body


@pytest.mark.slow
@pytest.mark.parametrize("server", LOCAL.values(), ids=LOCAL.keys())
def test_an_unsigned_webhook_on_loopback_or_a_unix_socket_is_answered(
    build: Build, server: tuple[str, int | None] | None
) -> None:
    answer = build().webhook(server)
    assert answer.status == 200, answer
    assert spoken(answer)


def test_allowing_unsigned_webhooks_answers_them_on_a_public_address(build: Build) -> None:
    answer = build(allow_unsigned=True).webhook(PUBLIC[0])
    assert answer.status == 200, answer
    assert spoken(answer)


def test_with_a_token_a_public_address_answers_signed_webhooks_only(build: Build) -> None:
    service = build(twilio_auth_token=SecretStr(TOKEN), public_url="https://ivr.example.com")
    signature = RequestValidator(TOKEN).compute_signature(
        "https://ivr.example.com/voice/incoming", CALL
    )
    signed = service.webhook(PUBLIC[0], {"X-Twilio-Signature": signature})
    assert signed.status == 200 and spoken(signed)
    unsigned = service.webhook(PUBLIC[0])
    assert unsigned.status == 403 and "invalid Twilio signature" in unsigned.body


def test_the_operator_is_told_once_what_to_set(
    build: Build, caplog: pytest.LogCaptureFixture, operator_not_yet_told: None
) -> None:
    service = build()
    with caplog.at_level(logging.ERROR, logger="ivr.web.signature"):
        assert service.webhook(PUBLIC[0]).status == 403
        assert service.webhook(PUBLIC[1]).status == 403
    (told,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "192.0.2.10" in told.getMessage()
    assert "set TWILIO_AUTH_TOKEN" in told.getMessage()
    assert "IVR_ALLOW_UNSIGNED=1" in told.getMessage()


@pytest.mark.slow
def test_every_start_with_unsigned_webhooks_allowed_warns(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ivr"):
        build(allow_unsigned=True)
        build(allow_unsigned=True)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("INSECURE")]
    assert len(warnings) == 2
    assert "unsigned webhooks are answered on every address" in warnings[0]


# -- /metrics ---------------------------------------------------------------------------------
def test_metrics_without_a_token_are_off_on_a_public_address(build: Build) -> None:
    service = build()
    for server in PUBLIC:
        answer = service.request("GET", "/metrics", server)
        assert answer.status == 403
        assert "set IVR_METRICS_TOKEN" in answer.body
        assert "ivr_webhook" not in answer.body


@pytest.mark.slow
@pytest.mark.parametrize("server", LOCAL.values(), ids=LOCAL.keys())
def test_metrics_without_a_token_stay_open_on_loopback(
    build: Build, server: tuple[str, int | None] | None
) -> None:
    answer = build().request("GET", "/metrics", server)
    assert answer.status == 200
    assert "ivr_webhook_responses_total" in answer.body


@pytest.mark.slow
@pytest.mark.parametrize("server", NOT_AN_ADDRESS.values(), ids=NOT_AN_ADDRESS.keys())
def test_metrics_without_a_token_are_off_on_anything_but_an_ip_address(
    build: Build, server: tuple[str, int | None]
) -> None:
    assert build().request("GET", "/metrics", server).status == 403


def test_metrics_with_a_token_answer_the_token_on_a_public_address(build: Build) -> None:
    service = build(metrics_token=SecretStr(METRICS_TOKEN))
    bearer = {"authorization": f"Bearer {METRICS_TOKEN}"}
    assert service.request("GET", "/metrics", PUBLIC[0], headers=bearer).status == 200
    assert service.request("GET", "/metrics", PUBLIC[0]).status == 401


def test_allowing_unsigned_webhooks_does_not_open_metrics(build: Build) -> None:
    assert build(allow_unsigned=True).request("GET", "/metrics", PUBLIC[0]).status == 403
