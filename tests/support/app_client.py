"""Requests into the ASGI app without a server, for tests of single webhooks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ivr.emulator.transport import OnLoopback


class AppClient:
    """Synchronous requests into the ASGI app through httpx's ASGI transport (no server). The
    app sees them arrive on loopback, as from a process of this machine: they are one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=OnLoopback(app))
        self._client = httpx.AsyncClient(transport=transport, base_url="http://ivr.test")

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.post(path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.get(path, **kwargs))

    def head(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.head(path, **kwargs))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()
