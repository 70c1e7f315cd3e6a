"""Whole calls through the emulator, in-process, signed, on a virtual clock shared with the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr
from twilio.twiml.voice_response import VoiceResponse

from ivr.app import create_app
from ivr.emulator import Call, Switch, VirtualClock
from ivr.settings import Settings
from ivr.store import Store

TOKEN = "e2e-auth-token"
PUBLIC_URL = "https://ivr.example.com"
LINES = {
    "cn": "+864001234567",
    "jp": "+81345678901",
    "us": "+18005550123",
    "gb": "+442079460123",
}
CALLERS = {
    "cn": "+8613812345678",
    "jp": "+819012345678",
    "us": "+12025550142",
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
def phone(signed_settings: Settings, clock: VirtualClock) -> Iterator[Switch]:
    """A Twilio switch in front of the service; both read the same virtual clock."""
    app = create_app(signed_settings, clock=clock)
    with Switch(app, clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL) as switch:
        switch.app = app  # type: ignore[attr-defined]
        yield switch


def store_of(phone: Switch) -> Store:
    store: Store = phone.app.state.services.store  # type: ignore[attr-defined]
    return store


def agent_twiml(queue: str) -> str:
    """What an agent's phone runs to take the first caller of `queue`."""
    response = VoiceResponse()
    response.dial(timeout=30).queue(queue, url="/voice/queue/connect", method="POST")
    return str(response)


Dial = Callable[..., Call]
