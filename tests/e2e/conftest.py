"""Whole calls through the emulator, in-process, signed, on a virtual clock shared with the app."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from pydantic import SecretStr

from ivr.app import create_app
from ivr.caller import place_caller
from ivr.dispatch import Dispatcher, twilio_client
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


class Inbox:
    """A local SMTP server's mailbox (aiosmtpd): what the service mailed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    """A running SMTP server and its smtp:// URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Inbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@dataclass
class Line:
    """The whole service around a caller: the switch (with Twilio's REST API), the app, its
    records, the callback dispatcher using Twilio's own client, and the support mailbox."""

    phone: Switch
    app: FastAPI
    records: Store
    dispatcher: Dispatcher
    mailbox: Inbox


@pytest.fixture
def line(
    signed_settings: Settings,
    clock: VirtualClock,
    store: Store,
    book: RegionBook,
    inbox: tuple[Inbox, str],
) -> Iterator[Line]:
    """Like `phone`, on SQLite and on PostgreSQL, with callbacks and voicemail mail working."""
    mailbox, smtp_url = inbox
    settings = signed_settings.model_copy(update={"smtp_url": smtp_url})
    app = create_app(settings, clock=clock, store=store)

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        app, clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL, home_line=home_line
    ) as switch:
        dispatching = settings.model_copy(
            update={
                "twilio_account_sid": switch.account_sid,
                "twilio_api_url": switch.serve_rest(),
            }
        )
        services = app.state.services
        dispatcher = Dispatcher(
            store,
            services.config.regions,
            services.config.prompts,
            dispatching,
            clock,
            twilio_client(dispatching),
            services.mailer,
        )
        yield Line(switch, app, store, dispatcher, mailbox)
