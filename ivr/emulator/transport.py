"""Requests to the app as Twilio makes them: form parameters, signature, real-time limit.

Two ways to reach the app: in-process through its ASGI interface, or over real HTTP to a base
URL. Either way URLs are built and signed on the *public* URL (what Twilio would call); over
HTTP the public prefix is swapped for the target base on the wire, and the public scheme and host
travel in X-Forwarded-Proto / X-Forwarded-Host, as a reverse proxy would send them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from ivr.emulator.attributes import url_problem
from ivr.emulator.errors import Problem, TwilioError
from ivr.emulator.signing import sign_request

TWILIO_TIME_LIMIT_SECONDS = 15.0
USER_AGENT = "TwilioProxy/1.1"


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str | None
    body: bytes


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with the parameters appended to its query string (how Twilio sends a GET)."""
    if not params:
        return url
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


class OnLoopback:
    """An ASGI app reached in-process, as a server on this machine's loopback would show it:
    httpx's ASGITransport puts the URL's host name (`ivr.test`) where the ASGI `server` holds
    the local address of the connection, and an app that tells loopback from the network by
    that address (unsigned webhooks, an open /metrics) must see what an in-process caller is:
    this machine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            port = 443 if scope.get("scheme") in ("https", "wss") else 80
            scope = {**scope, "server": ("127.0.0.1", port)}
        await self.app(scope, receive, send)


class Transport:
    """Sends one request the way Twilio would and reports what came back."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        public_url: str,
        target_url: str | None = None,
        auth_token: str | None = None,
        time_limit: float = TWILIO_TIME_LIMIT_SECONDS,
    ) -> None:
        self.client = client
        self.public_url = public_url.rstrip("/")
        self.target_url = None if target_url is None else target_url.rstrip("/")
        self.auth_token = auth_token
        self.time_limit = time_limit

    async def request(self, method: str, url: str, params: dict[str, str]) -> Fetched:
        """Request `url`; invalid URLs (11100) and network failures or answers slower than the
        time limit (11205) raise `TwilioError`, any HTTP answer is returned as is."""
        if problem := url_problem(url):
            raise TwilioError(Problem.INVALID_URL, problem)
        signed_url = with_query(url, params) if method == "GET" else url
        headers = {"User-Agent": USER_AGENT}
        if self.auth_token is not None:
            body_params = {} if method == "GET" else params
            headers["X-Twilio-Signature"] = sign_request(self.auth_token, signed_url, body_params)
        wire_url = self._on_the_wire(signed_url, headers)
        data = None if method == "GET" else params
        try:
            async with asyncio.timeout(self.time_limit):
                response = await self.client.request(method, wire_url, data=data, headers=headers)
        except TimeoutError:
            message = f"no complete answer within {self.time_limit:g} s of real time"
            raise TwilioError(Problem.CONNECTION_FAILURE, message) from None
        except httpx.TooManyRedirects as error:
            raise TwilioError(Problem.HTTP_ERROR_STATUS, f"too many redirects: {error}") from None
        except httpx.HTTPError as error:
            message = f"{type(error).__name__}: {error}".rstrip(": ")
            raise TwilioError(Problem.CONNECTION_FAILURE, message) from None
        content_type = response.headers.get("content-type")
        return Fetched(signed_url, response.status_code, content_type, response.content)

    def _on_the_wire(self, url: str, headers: dict[str, str]) -> str:
        if self.target_url is None or not url.startswith(self.public_url):
            return url
        public = urlsplit(self.public_url)
        headers["X-Forwarded-Proto"] = public.scheme
        headers["X-Forwarded-Host"] = public.netloc
        return self.target_url + url[len(self.public_url) :]
