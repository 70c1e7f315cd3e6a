"""Prompt keys turned into spoken lines for one caller: language, fallbacks, numbers, times."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

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
            return self.text("hours.utc", when=when, zone=_spoken_zone(opening))
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


def _spoken_zone(moment: datetime) -> str:
    """ "UTC +8", "UTC -5", "UTC +5:30", or "UTC" for UTC itself."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC {sign}{hours}" + (f":{rest:02d}" if rest else "")


# Scripts written without spaces between words: a phrase in them may be heard anywhere.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u2e80-\u2fdf\u3005-\u3007"
    "\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
    "\uf900-\ufaff\U00020000-\U0003134f]"
)
# Spellings recognisers and people mix up: Turkish dotted and dotless i (casefold turns "İ"
# into "i" plus a combining dot), Hindi with or without nukta (ज़/ज) and chandrabindu or
# anusvara (पहुँचा/पहुंचा).
_FOLDS = str.maketrans({"İ": "i", "ı": "i", "\u093c": None, "\u0901": "\u0902"})
# Vietnamese writes the tone of "oa", "oe", "uy" on either vowel (hóa/hoá, thủy/thuỷ): on the first.
_TONE_ON_SECOND = re.compile("(o[ae]|uy)([\u0300\u0301\u0303\u0309\u0323])")
STEM = "*"  # a listed word ending in it also matches longer words: "hack*" hears "hacked"


def normalize_speech(text: str) -> str:
    """What the caller said, or a listed word, in the one spelling they are compared in:
    compatibility forms unified (full-width "ＯＴＰ" is "otp", half-width katakana full),
    lower case, the folds above, punctuation (hyphens and apostrophes too) as a space, spaces
    collapsed, so "E-mail!" and "e mail" match. Accents stay: recognisers write them, and in
    Vietnamese they make the word ("hủy" is cancel, "Huy" a name)."""
    folded = unicodedata.normalize("NFKC", text).translate(_FOLDS).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    toned = _TONE_ON_SECOND.sub(lambda m: m[1][0] + m[2] + m[1][1], decomposed)
    folded = unicodedata.normalize("NFC", toned)
    spaced = "".join(" " if unicodedata.category(ch)[0] == "P" else ch for ch in folded)
    return " ".join(spaced.split())


@dataclass(frozen=True)
class _Needle:
    text: str  # normalised
    stem: bool  # the word may go on: "cancel*" hears "cancelling"
    anywhere: bool  # in a script without spaces: no word edges to respect


@lru_cache(maxsize=8192)
def _needle(word: str) -> _Needle | None:
    stem = word.rstrip().endswith(STEM)
    text = normalize_speech(word.rstrip().removesuffix(STEM))
    if not text:
        return None
    return _Needle(text, stem, _UNSPACED.search(text) is not None)


def best_match(
    heard: str, choices: dict[str, tuple[str, ...]], first: tuple[str, ...] = ()
) -> str | None:
    """The choice the caller asked for, or None when no listed word or phrase was heard.

    1. A phrase heard inside a longer phrase of another choice does not count: "change my
       password" is the password, not "change"; "still pending" a slow transaction, not
       "pending"; "verification code" (a login code) not "verification".
    2. Of the choices still heard, the one listed earliest in `first` wins: the intent
       order (the flow's `speech_priority`, flows.toml), so "cancel my withdrawal" is
       the pending flow although "withdrawal" is a transaction word.
    3. Among choices not in `first` (the language menu lists none), the longest phrase
       heard wins, and ties go to the choice listed first in `choices`.
    """
    spoken = normalize_speech(heard)
    found = {choice: _heard_spans(spoken, words) for choice, words in choices.items()}
    found = {choice: spans for choice, spans in found.items() if spans}
    standing = [choice for choice, spans in found.items() if _stands(choice, spans, found)]
    if not standing:
        return None
    ranked = [choice for choice in first if choice in standing]
    if ranked:
        return ranked[0]
    return max(standing, key=lambda choice: max(end - start for start, end in found[choice]))


def _heard_spans(spoken: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for word in words:
        needle = _needle(word)
        if needle is not None:
            spans += _occurrences(needle, spoken)
    return spans


def _occurrences(needle: _Needle, spoken: str) -> list[tuple[int, int]]:
    """Where `needle` was said: anywhere for unspaced scripts, else from a word's start to a
    word's end (a stem to the end of the word it starts)."""
    spans = []
    start = spoken.find(needle.text)
    while start != -1:
        end = start + len(needle.text)
        if needle.anywhere:
            spans.append((start, end))
        elif _edge(spoken, start - 1) and needle.stem:
            spans.append((start, _word_end(spoken, end)))
        elif _edge(spoken, start - 1) and _edge(spoken, end):
            spans.append((start, end))
        start = spoken.find(needle.text, start + 1)
    return spans


def _edge(spoken: str, index: int) -> bool:
    """A word boundary at `index`: the text's ends, a space, or a character of an unspaced
    script ("我的usdt没到账" has "usdt" as a word)."""
    if index < 0 or index >= len(spoken):
        return True
    return spoken[index] == " " or _UNSPACED.match(spoken[index]) is not None


def _word_end(spoken: str, index: int) -> int:
    while not _edge(spoken, index):
        index += 1
    return index


def _stands(
    choice: str, spans: list[tuple[int, int]], found: dict[str, list[tuple[int, int]]]
) -> bool:
    """Whether some phrase of `choice` was heard outside every longer phrase of the others."""
    others = [span for other, heard in found.items() if other != choice for span in heard]
    return any(not any(_inside(span, other) for other in others) for span in spans)


def _inside(span: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= span[0] and span[1] <= outer[1] and outer[1] - outer[0] > span[1] - span[0]
