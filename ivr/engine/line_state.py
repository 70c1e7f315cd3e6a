"""What operators and agents have made of a line right now, as the call context carries it:
the announcements in force and which lines have a logged-in agent. Plain values, kept here so
the context, the announcements and the agent line all build on them without importing each
other."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

ALL_REGIONS = "*"


class Kind(enum.StrEnum):
    MESSAGE = "message"
    CLOSED = "closed"
    CALLBACK_ONLY = "callback-only"


@dataclass(frozen=True)
class Announcement:
    """A stored announcement."""

    id: int
    region: str
    language: str | None  # None: every language of the region
    kind: Kind
    text: str
    starts_at: datetime
    expires_at: datetime
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None

    def in_force(self, moment: datetime) -> bool:
        """Started, not expired, not cancelled (yet) at `moment`."""
        cancelled = self.cancelled_at is not None and self.cancelled_at <= moment
        return self.starts_at <= moment < self.expires_at and not cancelled

    def reaches(self, region: str, language: str) -> bool:
        """Heard by callers of `region` who speak `language`."""
        return self.region == region and self.language in (None, language)


@dataclass(frozen=True)
class Skills:
    """What an agent can take: the languages they speak, in the regions they serve."""

    languages: tuple[str, ...]
    regions: tuple[str, ...]  # region ids, or ("*",) for every region

    def serves(self, region: str, language: str) -> bool:
        in_region = ALL_REGIONS in self.regions or region in self.regions
        return in_region and language in self.languages


@dataclass(frozen=True)
class Staffing:
    """Which (region, language) lines have a logged-in agent; a caller whose line has none is
    not queued (see ivr.engine.handoff). Only built when at least one agent is configured."""

    logged_in: tuple[Skills, ...]

    def serves(self, region: str, language: str) -> bool:
        return any(skills.serves(region, language) for skills in self.logged_in)
