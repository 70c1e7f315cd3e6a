"""Instants as tests write them: always with their UTC offset."""

from __future__ import annotations

from datetime import datetime


def instant(text: str) -> datetime:
    """'2026-03-01T03:00+08:00' -> an aware datetime (tests always say the offset)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, "give instants with their UTC offset"
    return moment
