"""Announcements as operators set them, and call contexts that carry them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from ivr.announcements import Announcement, Kind
from ivr.caller import CallContext
from tests.conftest import ContextFactory, instant

# Monday 2 March 2026, 10:00 in Tokyo: the Japanese line is open.
TOKYO_MORNING = "2026-03-02T10:00+09:00"
JP_CALLER, JP_LINE = "+819012345678", "+81345678901"

AnnouncementFactory = Callable[..., Announcement]


@pytest.fixture
def announcement() -> AnnouncementFactory:
    """An announcement in force from an hour before TOKYO_MORNING for `hours` hours."""
    ids = itertools.count(1)

    def make(
        kind: Kind = Kind.MESSAGE,
        text: str = "",
        region: str = "jp",
        language: str | None = None,
        starts: str = "2026-03-02T09:00+09:00",
        hours: float = 8,
        cancelled_at: datetime | None = None,
    ) -> Announcement:
        starts_at = instant(starts)
        return Announcement(
            id=next(ids),
            region=region,
            language=language,
            kind=kind,
            text=text,
            starts_at=starts_at,
            expires_at=starts_at + timedelta(hours=hours),
            created_by="operator",
            created_at=starts_at,
            cancelled_at=cancelled_at,
        )

    return make


TokyoCall = Callable[..., CallContext]


@pytest.fixture
def tokyo_call(make_context: ContextFactory) -> TokyoCall:
    """A Tokyo caller on the Japanese line at `at`, with these announcements in the context."""

    def make(*announcements: Announcement, at: str = TOKYO_MORNING, **kwargs: str) -> CallContext:
        ctx = make_context(from_=kwargs.get("from_", JP_CALLER), to=JP_LINE, at=at)
        return replace(ctx, announcements=announcements)

    return make
