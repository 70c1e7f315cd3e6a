"""Announcements as operators set them, and Tokyo calls that carry them."""

from __future__ import annotations

from collections.abc import Callable

from ivr.engine.context import CallContext
from ivr.engine.line_state import Announcement

# Monday 2 March 2026, 10:00 in Tokyo: the Japanese line is open.
TOKYO_MORNING = "2026-03-02T10:00+09:00"
JP_CALLER, JP_LINE = "+819012345678", "+81345678901"

AnnouncementFactory = Callable[..., Announcement]


TokyoCall = Callable[..., CallContext]
