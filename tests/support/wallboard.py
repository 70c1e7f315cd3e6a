"""The wallboard for tests: a user, its secret and origin, clients at an address."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.app_client import AppClient

SECRET = "wallboard-test-secret-0123456789abcdef"
USER = "ana"
PASSWORD = "correct horse battery"
ORIGIN = "http://ivr.test"  # AppClient's base URL
# Monday 2 March 2026, 10:00 in London.
MONDAY_MORNING_LONDON = "2026-03-02T10:00+00:00"


class ClientAt(AppClient):
    """An AppClient whose requests come from `address`, as uvicorn reports the client (behind
    nginx: the address nginx saw)."""

    def __init__(self, app: FastAPI, address: str) -> None:
        super().__init__(app)
        self._runner.run(self._client.aclose())
        transport = httpx.ASGITransport(app=app, client=(address, 50123))
        self._client = httpx.AsyncClient(transport=transport, base_url=ORIGIN)


def sign_in(wallboard_client: AppClient, name: str = USER, password: str = PASSWORD) -> int:
    """Post the sign-in form as the page would; the status code of the answer."""
    response = wallboard_client.post(
        "/login", data={"name": name, "password": password}, headers={"Origin": ORIGIN}
    )
    return response.status_code
