"""Status callbacks: where a call reports its progress, and which progress events it reports.

Calls placed on the switch report their end to the switch's status URL. Calls placed through the
REST API bring their own StatusCallback, StatusCallbackMethod and StatusCallbackEvent.
"""

from __future__ import annotations

from dataclasses import dataclass

# Twilio's call progress events, in the order a call goes through them.
PROGRESS_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass(frozen=True)
class StatusCallback:
    url: str
    method: str = "POST"
    # Twilio's default is `completed` alone. That event also reports the other final statuses
    # (busy, no-answer, failed, canceled): there is no separate event for them.
    events: frozenset[str] = frozenset({"completed"})
