"""Whole calls through the emulator, in-process, signed, on a virtual clock shared with the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ivr.app import create_app
from ivr.caller import place_caller
from ivr.emulator import Switch, VirtualClock
from ivr.regions import RegionBook
from ivr.settings import Settings
from ivr.store import Store
from ivr.twiml import agent_takes_queue

TOKEN = "e2e-auth-token"
PUBLIC_URL = "https://ivr.example.com"
LINES = {
    "cn": "+864001234567",
    "jp": "+81345678901",
    "us": "+12025550142",
    "gb": "+442079460123",
}
CALLERS = {
    "cn": "+8613812345678",
    "jp": "+819012345678",
    "us": "+12025550188",
    "la": "+13105550100",
    "gb": "+447700900123",
}
# Monday 2 March 2026, 10:00 in Shanghai: agents open in Asia.
MONDAY_MORNING_SHANGHAI = "2026-03-02T10:00+08:00"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(MONDAY_MORNING_SHANGHAI)


@pytest.fixture
def signed_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC_URL}
    )


@pytest.fixture
def service(signed_settings: Settings, clock: VirtualClock) -> FastAPI:
    """The service under test, reading the emulator's virtual clock."""
    return create_app(signed_settings, clock=clock)


@pytest.fixture
def records(service: FastAPI) -> Store:
    """The service's own store, to check what it kept."""
    store: Store = service.state.services.store
    return store


@pytest.fixture
def phone(service: FastAPI, clock: VirtualClock, book: RegionBook) -> Iterator[Switch]:
    """A Twilio switch in front of the service; both read the same virtual clock. A call
    placed without a number to dial rings the caller's own regional line."""

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        service, clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL, home_line=home_line
    ) as switch:
        yield switch


def agent_twiml(queue: str) -> str:
    """What an agent's phone runs to take the first caller of `queue`."""
    return agent_takes_queue(queue, "/voice/queue/connect", timeout=30)
