"""Whole calls for tests: the sample lines and callers, the signing token, the support
mailbox, and the line around a caller (switch, app, records, dispatcher, mailbox)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from fastapi import FastAPI

from ivr.emulator import Switch
from ivr.jobs.dispatcher import Dispatcher
from ivr.store import Store
from ivr.web.twiml import agent_takes_queue

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


@dataclass
class Line:
    """The whole service around a caller: the switch (with Twilio's REST API), the app, its
    records, the callback dispatcher using Twilio's own client, and the support mailbox."""

    phone: Switch
    app: FastAPI
    records: Store
    dispatcher: Dispatcher
    mailbox: Inbox
