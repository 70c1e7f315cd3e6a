"""Prompt keys turned into spoken lines for one caller: language, fallbacks, numbers, times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytz

from ivr.config.hours import next_opening
from ivr.config.languages import LANGUAGES
from ivr.engine.context import CallContext, spoken_groups
from ivr.engine.steps import Pause, Prompt, Say

# A short breath between the steps of a guidance, so callers can follow along.
STEP_PAUSE = Pause(1)
_KEY_NAMES = {"*": "common.key_star", "#": "common.key_pound"}


@dataclass(frozen=True)
class Speaker:
    """Speaks prompts in `language`, falling back to the region's default language."""

    ctx: CallContext
    language: str

    @property
    def fallback(self) -> str:
        return self.ctx.region.default_language

    def say(self, key: str, /, **values: object) -> Say:
        line = self.ctx.prompts.line(self.language, key, self.fallback, **values)
        return Say(line.text, line.language)

    def for_line(self, key: str) -> Speaker:
        """The speaker of the language that will actually say `key`, after fallbacks, so the
        values put into the line (key names, times, "plus") are in that language too."""
        return Speaker(self.ctx, self.ctx.prompts.spoken_in(self.language, key, self.fallback))

    def option(self, key: str, press: str) -> Say:
        """A menu line such as "For X, press 1." with the key named in the line's language."""
        speaker = self.for_line(key)
        return speaker.say(key, key=speaker.key_name(press))

    def steps(self, key: str) -> list[Prompt]:
        lines = self.ctx.prompts.steps(self.language, key, self.fallback)
        spoken: list[Prompt] = []
        for line in lines:
            if spoken:
                spoken.append(STEP_PAUSE)
            spoken.append(Say(line.text, line.language))
        return spoken

    def text(self, key: str, /, **values: object) -> str:
        return self.ctx.prompts.line(self.language, key, self.fallback, **values).text

    def words(self, key: str) -> tuple[str, ...]:
        return self.ctx.prompts.words(self.language, key)

    def key_name(self, press: str) -> str:
        return self.text(_KEY_NAMES[press]) if press in _KEY_NAMES else press

    @property
    def recognition(self) -> str:
        return LANGUAGES[self.language].recognition

    def phone_number(self, number: str) -> str:
        """Digit by digit, in groups: "+81 3-4567-8901" -> "plus 8 1, 3, 4 5 6 7, 8 9 0 1"."""
        groups = []
        for group in spoken_groups(number):
            digits = " ".join(group.lstrip("+"))
            groups.append(
                f"{self.text('roaming.plus')} {digits}" if group.startswith("+") else digits
            )
        return ", ".join(groups)

    def digits(self, digits: str) -> str:
        """A keyed-in reference read back in groups of four: "1234 5678" -> "1 2 3 4, 5 6 7 8"."""
        return ", ".join(" ".join(digits[i : i + 4]) for i in range(0, len(digits), 4))

    def code(self, code: str) -> str:
        """A callback code read out in threes, the way people note it down: "482 915"."""
        return ", ".join(" ".join(code[i : i + 3]) for i in range(0, len(code), 3))

    def next_opening(self) -> str | None:
        """When agents open next, in the caller's own time zone when their number pins one down."""
        opening = next_opening(self.ctx.region.opening, self.ctx.now)
        if opening is None:
            return None
        own_zone = self.ctx.place.origin.timezone
        zone = pytz.timezone(own_zone or self.ctx.region.timezone)
        local_opening = opening.astimezone(zone)
        when = self._when(local_opening, self.ctx.now.astimezone(zone))
        if own_zone and local_opening.utcoffset() != opening.utcoffset():
            return self.text("hours.your_time", when=when)
        if not own_zone and self.ctx.region.name_utc_offset:
            # The caller could be in any of the region's zones: say which one we mean.
            return self.text("hours.utc", when=when, offset=_spoken_offset(opening))
        return when

    def _when(self, opening: datetime, now: datetime) -> str:
        time = self._time(opening)
        days = (opening.date() - now.date()).days
        weekday = self.ctx.prompts.steps(self.language, "hours.weekdays", self.fallback)
        weekday_name = weekday[opening.weekday()].text
        if days == 0:
            return self.text("hours.today", time=time)
        if days == 1:
            return self.text("hours.tomorrow", time=time)
        if days < 7:
            return self.text("hours.weekday", weekday=weekday_name, time=time)
        months = self.ctx.prompts.steps(self.language, "hours.months", self.fallback)
        month = months[opening.month - 1].text
        return self.text(
            "hours.date", weekday=weekday_name, month=month, day=opening.day, time=time
        )

    def _time(self, moment: datetime) -> str:
        values = {
            "h24": moment.hour,
            "h12": moment.hour % 12 or 12,
            "mm": f"{moment.minute:02d}",
            "ampm": self.text("hours.am" if moment.hour < 12 else "hours.pm"),
        }
        key = "hours.time_on_the_hour" if moment.minute == 0 else "hours.time"
        return self.text(key, **values)


def _spoken_offset(moment: datetime) -> str:
    """ "+8", "-5", "+5:30", or "" for UTC itself."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return ""
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


_PUNCTUATION = re.compile(r"[\s\.,!?;:'\"“”‘’。，！？；：、]+")


def normalize_speech(text: str) -> str:
    """Lower-case, punctuation and spaces folded, so "Password." and "password" match."""
    return _PUNCTUATION.sub(" ", text.casefold()).strip()


def best_match(
    heard: str, choices: dict[str, tuple[str, ...]], first: tuple[str, ...] = ()
) -> str | None:
    """The choice whose longest word occurs in what the caller said, or None; a matching
    choice listed in `first` wins over the others."""
    spoken = f" {normalize_speech(heard)} "
    lengths: dict[str, int] = {}
    for choice, words in choices.items():
        for word in words:
            needle = normalize_speech(word)
            if needle and _occurs(needle, spoken):
                lengths[choice] = max(lengths.get(choice, 0), len(needle))
    for choice in first:
        if choice in lengths:
            return choice
    # Ties go to the choice listed first.
    return max(lengths, key=lambda choice: lengths[choice], default=None)


def _occurs(needle: str, spoken: str) -> bool:
    # Scripts without spaces (Chinese, Japanese...) match anywhere; others on word edges.
    if needle.isascii():
        return f" {needle} " in spoken
    return needle in spoken
