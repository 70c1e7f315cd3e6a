"""A regions.toml of any size: the sample regions, then generated ones, all valid.

The sample regions stay as they are, so the benchmark's pre-signed requests (which name `cn`,
`jp`, `gb`... in their URLs) take the same paths through the service with 18 regions or 500.
Generated regions get their own hotline (Ofcom's drama range, +44 20 7946 0xxx, never a real
line), the countries no sample region serves and no benchmark caller calls from (one each,
while they last), a holiday calendar when the `holidays` package has one for that country,
weekday hours, and 1 to 3 languages that have prompts.
"""

from __future__ import annotations

import random
from pathlib import Path

import holidays
import phonenumbers
import pytz

from bench.mix import CALLER_COUNTRIES
from ivr.config.languages import LANGUAGES
from ivr.config.regions import load_regions
from ivr.config.tomlfile import load_toml

_ZONES = (
    "Europe/Paris",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Athens",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Bangkok",
    "Asia/Manila",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Toronto",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Bogota",
    "America/Santiago",
)


def prompt_languages(prompts: Path) -> list[str]:
    """Languages that have a prompts folder, in LANGUAGES order."""
    present = {path.name for path in prompts.iterdir() if path.is_dir()}
    return [language for language in LANGUAGES if language in present]


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def write_regions(sample: Path, prompts: Path, target: Path, count: int, seed: int = 500) -> int:
    """Write `count` regions to `target`: `sample`'s, then generated ones. Returns how many
    regions the file holds once loaded (checked with the service's own loader)."""
    rng = random.Random(seed)
    languages = prompt_languages(prompts)
    document = load_toml(sample)
    existing: dict[str, dict[str, list[str]]] = document.data["regions"]
    served = {country for spec in existing.values() for country in spec.get("countries", [])}
    used_lines = {line for spec in existing.values() for line in spec.get("hotlines", [])}
    free_countries = sorted(
        set(phonenumbers.SUPPORTED_REGIONS) - served - set(CALLER_COUNTRIES) - {"001"}
    )
    calendars = set(holidays.list_supported_countries())
    hotlines = (f"+44207946{n:04d}" for n in range(1000) if f"+44207946{n:04d}" not in used_lines)
    parts = [sample.read_text(encoding="utf-8").rstrip() + "\n"]
    for index in range(count - len(existing)):
        rid = f"gen-{index:04d}"
        region_languages = rng.sample(languages, rng.randint(1, 3))
        start, end = rng.randint(6, 10), rng.randint(16, 22)
        day = _toml_list([f"{start:02d}:00-{end:02d}:00"])
        hours = ", ".join(f"{weekday} = {day}" for weekday in ("mon", "tue", "wed", "thu", "fri"))
        if rng.random() < 0.5:
            hours += ', sat = ["09:00-13:00"]'
        lines = [
            "",
            f"[regions.{rid}]",
            f'name = "Generated region {index}"',
            f"hotlines = {_toml_list([next(hotlines)])}",
            "example = true",
        ]
        country = free_countries.pop(0) if free_countries else None
        lines.append(f"countries = {_toml_list([country] if country else [])}")
        zone = rng.choice(_ZONES)
        assert zone in pytz.all_timezones_set
        lines += [
            f'timezone = "{zone}"',
            f"languages = {_toml_list(region_languages)}",
            f'email = "support-{rid}@example.com"',
            f'chat_url = "https://help.example.com/chat?region={rid}"',
            f"hours = {{ {hours} }}",
        ]
        if country in calendars:
            lines.append(f'holidays = {{ calendar = "{country}" }}')
        if rng.random() < 0.3:
            lines.append("queue = { max_wait = 900, announce_every = 45, leave_offer_after = 90 }")
        parts.append("\n".join(lines) + "\n")
    target.write_text("".join(parts), encoding="utf-8")
    return len(load_regions(target, prompt_languages=languages).regions)
