"""What operators and agents have made of a line right now, as the call context carries it:
the announcements in force and which lines have a logged-in agent. Plain values, kept here so
the context, the announcements and the agent line all build on them without importing each
other."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ALL_REGIONS = "*"
# Skill levels: 1 (can help) to 5 (the best we have); a language given without one is 3.
LEVELS = range(1, 6)
DEFAULT_LEVEL = 3


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
    """What an agent can take: the languages they speak, in the regions they serve, and how
    well: a level per language ("zh-CN"), or per language in one region ("zh-CN@hk")."""

    languages: tuple[str, ...]
    regions: tuple[str, ...]  # region ids, or ("*",) for every region
    levels: tuple[tuple[str, int], ...] = ()

    def serves(self, region: str, language: str) -> bool:
        in_region = ALL_REGIONS in self.regions or region in self.regions
        return in_region and language in self.languages

    def level(self, region: str, language: str) -> int | None:
        """How well the agent serves `language` callers of `region`; None: not at all."""
        if not self.serves(region, language):
            return None
        levels = dict(self.levels)
        return levels.get(f"{language}@{region}", levels.get(language, DEFAULT_LEVEL))

    @property
    def entries(self) -> tuple[str, ...]:
        """The languages as written and stored: "zh-CN:5", "en-US", "zh-CN@hk:2"."""
        levels = dict(self.levels)
        written = [f"{lang}:{levels[lang]}" if lang in levels else lang for lang in self.languages]
        written += [f"{key}:{level}" for key, level in self.levels if "@" in key]
        return tuple(written)

    @classmethod
    def read(cls, entries: Iterable[str], regions: Iterable[str]) -> Skills:
        """Skills from entries as `entries` writes them; raises ValueError for a malformed
        entry or a level outside 1-5 (a region override needs its language listed too)."""
        languages: list[str] = []
        levels: list[tuple[str, int]] = []
        for entry in entries:
            key, _, level = entry.partition(":")
            language, _, region = key.partition("@")
            if not language or (region == "" and "@" in key):
                raise ValueError(f"{entry!r}: write a language, e.g. zh-CN, zh-CN:5 or zh-CN@hk:2")
            if level:
                if not level.isdigit() or int(level) not in LEVELS:
                    raise ValueError(f"{entry!r}: a level is 1 to 5")
                levels.append((key, int(level)))
            elif region:
                raise ValueError(f"{entry!r}: a language in one region needs a level")
            if not region and language not in languages:
                languages.append(language)
        for key, _ in levels:
            if key.partition("@")[0] not in languages:
                raise ValueError(f"{key!r}: list the language {key.partition('@')[0]} too")
        return cls(tuple(languages), tuple(regions), tuple(levels))


@dataclass(frozen=True)
class Staffing:
    """Which (region, language) lines have a logged-in agent; a caller whose line has none is
    not queued (see ivr.engine.handoff). Only built when at least one agent is configured."""

    logged_in: tuple[Skills, ...]

    def serves(self, region: str, language: str) -> bool:
        return any(skills.serves(region, language) for skills in self.logged_in)
