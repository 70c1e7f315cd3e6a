"""Tiny TwiML apps and switches for the emulator's tests.

`make_app({"/path": "<Response>...</Response>", ...})` serves fixed documents (or answers built
by a function of the request), remembers every request, and -- given an auth token -- checks
each signature with twilio's RequestValidator and answers 403 when it does not match.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from ivr.emulator import Switch, VirtualClock

PUBLIC_URL = "https://ivr.example.com"
START = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seen:
    """One request as the app received it."""

    method: str
    path: str
    url: str
    params: dict[str, str]
    signature: str | None
    headers: dict[str, str]
    server: tuple[str, int | None] | None = None  # ASGI's local address of the connection


Answer = str | Response | Callable[[Seen], "str | Response"]


@dataclass
class TwimlApp:
    routes: dict[str, Answer]
    auth_token: str | None = None
    public_url: str = PUBLIC_URL
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        route = Route("/{path:path}", self._handle, methods=["GET", "POST"])
        self.asgi = Starlette(routes=[route])

    async def _handle(self, request: Request) -> Response:
        query = request.url.query
        url = self.public_url + request.url.path + (f"?{query}" if query else "")
        body = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        params = dict(body) if request.method == "POST" else dict(request.query_params)
        signature = request.headers.get("X-Twilio-Signature")
        if self.auth_token is not None:
            validator = RequestValidator(self.auth_token)
            if not validator.validate(url, dict(body), signature or ""):
                return Response("bad signature", status_code=403)
        server = request.scope.get("server")
        seen = Seen(
            request.method,
            request.url.path,
            url,
            params,
            signature,
            dict(request.headers),
            None if server is None else (str(server[0]), server[1]),
        )
        self.requests.append(seen)
        answer = self.routes.get(request.url.path)
        if answer is None:
            return Response("not found", status_code=404)
        if not isinstance(answer, str | Response):
            answer = answer(seen)
        return answer if isinstance(answer, Response) else xml(answer)

    def to(self, path: str) -> list[Seen]:
        """The requests made to `path`, in order."""
        return [seen for seen in self.requests if seen.path == path]


def xml(document: str) -> Response:
    return Response(document, media_type="text/xml")


@pytest.fixture
def make_app() -> Callable[..., TwimlApp]:
    def make(routes: dict[str, Answer], **options: Any) -> TwimlApp:
        routes.setdefault("/voice/status", "")
        return TwimlApp(routes, **options)

    return make


@pytest.fixture
def make_switch() -> Iterator[Callable[..., Switch]]:
    switches: list[Switch] = []

    def make(app: TwimlApp | str, **options: Any) -> Switch:
        options.setdefault("clock", VirtualClock(START))
        options.setdefault("public_url", PUBLIC_URL)
        if isinstance(app, TwimlApp):
            options.setdefault("auth_token", app.auth_token)
        switch = Switch(app.asgi if isinstance(app, TwimlApp) else app, **options)
        switches.append(switch)
        return switch

    yield make
    for switch in switches:
        switch.close()


@pytest.fixture
def serve() -> Iterator[Callable[[TwimlApp], str]]:
    """Run an app on a real uvicorn server on a free loopback port; returns its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: TwimlApp) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        # The socket already listens, so requests queue up until uvicorn starts serving them.
        config = uvicorn.Config(app.asgi, lifespan="off", ws="none", log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
