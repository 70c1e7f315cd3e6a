"""What `ivr check` reads and reports: the loaded configuration at an instant, walked by
region and language, and findings with the place to fix them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from ivr.checks.menu_walk import MenuWalk, region_walks, when_closed, when_open
from ivr.config.languages import LANGUAGES, Language
from ivr.config.loading import Config
from ivr.config.tomlfile import TomlDocument


class Kind(enum.StrEnum):
    MENU_CHOICES = "menu-choices"
    LONG_PROMPT = "long-prompt"
    MISSING_PROMPT = "missing-prompt"
    VOICE = "voice"
    NEVER_OPEN = "never-open"
    WAY_TO_AGENT = "way-to-agent"
    BUDGET = "budget"  # a caller-time budget of flows.toml: `ivr check` fails


@dataclass(frozen=True)
class Finding:
    """A usability warning, and where to fix it when a configuration file says it."""

    kind: Kind
    message: str
    file: Path | None = None
    line: int | None = None
    where: str = ""

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}: " if self.file is not None else ""
        where = f"{self.where}: " if self.where else ""
        return f"{place}{where}{self.message}"


@dataclass(frozen=True)
class CheckInput:
    """What the checks read: the loaded configuration, and the instant they are run at."""

    config: Config
    now: datetime
    regions_file: TomlDocument | None = None  # regions.toml with its lines, for locations
    languages: Mapping[str, Language] = field(default_factory=lambda: LANGUAGES)
    reference_lengths: tuple[int, int] = (6, 20)

    @cached_property
    def open_walks(self) -> list[MenuWalk]:
        """Each region and language walked at an instant its agents are open."""
        return self._walks(when_open)

    @cached_property
    def closed_walks(self) -> list[MenuWalk]:
        return self._walks(when_closed)

    def _walks(self, when: Callable[..., datetime | None]) -> list[MenuWalk]:
        walks: list[MenuWalk] = []
        book = self.config.regions
        for region_id, region in book.regions.items():
            at = when(region, self.now)
            if at is not None:
                walks += region_walks(
                    book,
                    self.config.prompts,
                    self.config.flows,
                    at,
                    regions=[region_id],
                    reference_lengths=self.reference_lengths,
                )
        return walks

    def region_line(self, *path: str | int) -> tuple[Path | None, int | None]:
        if self.regions_file is None:
            return None, None
        return self.regions_file.file, self.regions_file.line_of(("regions", *path))


Check = Callable[[CheckInput], Iterable[Finding]]
