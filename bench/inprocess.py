"""The mix replayed in-process, through httpx's ASGI transport (no server, no sockets).

Used by the smoke test (are the pre-signed requests accepted by the real app?) and by the
cProfile fallback of `bench.profiling` when py-spy is not available.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.mix import SignedRequest
from ivr.config.settings import Settings


def bench_settings(
    token: str, public_url: str, regions: Path, prompts: Path, workdir: Path
) -> Settings:
    """The service's settings for the benchmark: signed webhooks, a fresh SQLite file."""
    return Settings(
        twilio_auth_token=SecretStr(token),
        public_url=public_url,
        regions=regions,
        prompts=prompts,
        database_url=f"sqlite:///{workdir / 'ivr.sqlite3'}",
        spool_dir=workdir / "spool",
        _env_file=None,
    )


async def replay(app: Any, requests: Sequence[SignedRequest]) -> list[int]:
    """Send each request to the ASGI `app` in order, as on the wire; their statuses."""
    transport = httpx.ASGITransport(app=app)
    statuses: list[int] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for request in requests:
            response = await client.request(
                request.method,
                request.path,
                content=request.body.encode(),
                headers=dict(request.headers),
            )
            statuses.append(response.status_code)
    return statuses
