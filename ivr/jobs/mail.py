"""Mail to the support team: a voicemail ticket for the region's mailbox (stdlib smtplib)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from ivr.store import VoicemailRecord

TIMEOUT_SECONDS = 10


class Mailer:
    """Sends through the SMTP server of `url`: smtp://host:port, smtps://user:pw@host:465."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender

    def send(self, message: EmailMessage) -> None:
        message["From"] = self.sender
        smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.user and self.password:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def voicemail_message(voicemail: VoicemailRecord, mailbox: str, region_name: str) -> EmailMessage:
    """The ticket as the support team reads it; agents call back, so the number is in full."""
    message = EmailMessage()
    message["To"] = mailbox
    reference = f", transaction {voicemail.transaction_ref}" if voicemail.transaction_ref else ""
    message["Subject"] = f"Voicemail from {voicemail.caller} ({region_name}{reference})"
    lines = [
        f"A caller left a {voicemail.duration}-second voice message.",
        "",
        f"Caller:        {voicemail.caller}",
        f"Region:        {region_name} ({voicemail.region})",
        f"Language:      {voicemail.language}",
        f"Topic:         {voicemail.reason or 'not chosen'}",
        f"Transaction:   {voicemail.transaction_ref or 'not given'}",
        f"Left at:       {voicemail.created_at.isoformat(timespec='seconds')}",
        f"Recording:     {voicemail.recording_url}",
        f"Call SID:      {voicemail.call_sid}",
        "",
        "Reply to the customer within the promised time. Never ask them for their password,",
        "recovery phrase, private key or verification codes.",
    ]
    message.set_content("\n".join(lines))
    return message
