"""The surge's wire to the server: each switch's requests pass through a counting forwarder.

The switch accepts an ASGI app as well as a base URL; given this forwarder, it sends each
webhook exactly as over HTTP (signed on the public URL), and the forwarder sends it on to the
running server over real HTTP, counting the requests in flight across every thread: one
enters when its request leaves for the server, and leaves once the whole answer is back.
"""

from __future__ import annotations

import threading
from types import TracebackType
from urllib.parse import urlsplit

import httpx
from starlette.types import Receive, Scope, Send

# Hop-by-hop headers and the ones httpx recomputes for the body it forwards.
NOT_FORWARDED = frozenset({b"host", b"content-length", b"connection", b"transfer-encoding"})
NOT_RETURNED = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


class InFlight:
    """How many requests are at the server right now, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.sent = 0
        self.failures: list[str] = []  # requests that got no answer from the server at all

    def failed(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.sent += 1
            self.peak = max(self.peak, self.now)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self.now -= 1


class CountingForwarder:
    """An ASGI app that forwards every request to `base_url` and returns its answer as is.

    One forwarder per switch (it runs on that switch's event loop). Connections are not kept
    alive: each is closed once its answer is read, so nothing is left open on a loop the
    switch closes."""

    def __init__(self, base_url: str, public_url: str, in_flight: InFlight) -> None:
        self.in_flight = in_flight
        public = urlsplit(public_url)
        # What the emulator's own transport adds when it talks to a base URL directly.
        self._forwarded = [
            (b"x-forwarded-proto", public.scheme.encode()),
            (b"x-forwarded-host", public.netloc.encode()),
        ]
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=None,  # the switch applies Twilio's time limit around the whole request
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in NOT_FORWARDED]
        target = scope["raw_path"] + (
            b"?" + scope["query_string"] if scope["query_string"] else b""
        )
        try:
            with self.in_flight:
                answer = await self._client.request(
                    scope["method"],
                    target.decode("ascii"),
                    content=body,
                    headers=headers + self._forwarded,
                )
        except httpx.HTTPError as error:
            # Reported apart from the server's own answers; the switch sees a 502.
            self.in_flight.failed(f"{scope['method']} {target.decode()}: {error!r}")
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        returned = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers.multi_items()
            if name.lower() not in NOT_RETURNED
        ]
        returned.append((b"content-length", str(len(answer.content)).encode()))
        start = {"type": "http.response.start", "status": answer.status_code, "headers": returned}
        await send(start)
        await send({"type": "http.response.body", "body": answer.content})
