"""What the wallboard tests share: a service with the wallboard on, a user, a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ivr.app import create_app
from ivr.emulator import VirtualClock
from ivr.passwords import hash_secret
from ivr.settings import Settings
from ivr.store import Store
from ivr.store.users import UserStore
from tests.conftest import AppClient

SECRET = "wallboard-test-secret-0123456789abcdef"
USER = "ana"
PASSWORD = "correct horse battery"
ORIGIN = "http://ivr.test"  # AppClient's base URL
# Monday 2 March 2026, 10:00 in London.
MONDAY_MORNING_LONDON = "2026-03-02T10:00+00:00"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(MONDAY_MORNING_LONDON)


@pytest.fixture
def wallboard_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"session_secret": SecretStr(SECRET)})


@pytest.fixture
def service(wallboard_settings: Settings, clock: VirtualClock) -> FastAPI:
    return create_app(wallboard_settings, clock=clock)


@pytest.fixture
def records(service: FastAPI) -> Store:
    """The service's own store."""
    found: Store = service.state.services.store
    return found


@pytest.fixture
def users(records: Store) -> UserStore:
    users = UserStore(records.engine)
    # A cheap hash keeps the tests fast; the cost is read from the stored hash.
    users.add(USER, hash_secret(PASSWORD, cost=2**4), datetime(2026, 3, 1, tzinfo=UTC))
    return users


@pytest.fixture
def client(service: FastAPI) -> Iterator[AppClient]:
    app_client = AppClient(service)
    yield app_client
    app_client.close()


class ClientAt(AppClient):
    """An AppClient whose requests come from `address`, as uvicorn reports the client (behind
    nginx: the address nginx saw)."""

    def __init__(self, app: FastAPI, address: str) -> None:
        super().__init__(app)
        self._runner.run(self._client.aclose())
        transport = httpx.ASGITransport(app=app, client=(address, 50123))
        self._client = httpx.AsyncClient(transport=transport, base_url=ORIGIN)


def sign_in(client: AppClient, name: str = USER, password: str = PASSWORD) -> int:
    """Post the sign-in form as the page would; the status code of the answer."""
    response = client.post(
        "/login", data={"name": name, "password": password}, headers={"Origin": ORIGIN}
    )
    return response.status_code
