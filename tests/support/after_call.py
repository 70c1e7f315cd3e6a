"""Calls an agent took, with what happened after them, as the reports read them back."""

from __future__ import annotations

from datetime import datetime, timedelta

from ivr.store.repository import CallRecord


def taken_call(
    sid: int,
    region: str | None,
    language: str | None,
    *,
    started: datetime,
    agent: str | None = "ana",
    disposition: str | None = None,
    asked: bool = False,
    rating: int | None = None,
    comment: bool = False,
    comment_seconds: int = 12,
) -> CallRecord:
    """A five-minute call `agent` took (None: nobody did); `asked`: the survey was put to the
    caller four minutes in; `comment`: they left one, `comment_seconds` long."""
    return CallRecord(
        call_sid=f"CA{sid:032x}",
        caller="+447700900123",
        region=region,
        language=language,
        reason=None,
        transaction_ref=None,
        queue=None,
        queued_at=None,
        status="completed",
        duration=300,
        outcome="bridged",
        created_at=started,
        ended_at=started + timedelta(minutes=5),
        agent=agent,
        disposition=disposition,
        surveyed_at=started + timedelta(minutes=4) if asked else None,
        rating=rating,
        comment_url=f"https://api.twilio.com/recordings/RE{sid:032x}" if comment else None,
        comment_seconds=comment_seconds if comment else 0,
    )
