"""Usability checks of a configuration that loaded cleanly, for `ivr check`.

Loading (ivr.web.services.load_config) already refuses what cannot work, with file and line.
These checks find what works but serves callers badly: long menus, long prompts, missing
translations, voices that cannot read a language, regions that never open, and how far an
agent is. Each is a pure function from `CheckInput` to findings; `CHECKS` lists them.

Agents: once the agents file is loaded into `Config`, its checks (a queue no agent serves,
an agent for a language the region does not offer) go into `CHECKS` as one more function
reading `inputs.config`; `ivr check` prints whatever `CHECKS` finds.
"""

from __future__ import annotations

import enum
import heapq
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.checks.menu_walk import (
    NUMBER,
    QUEUE,
    MenuWalk,
    is_end,
    region_walks,
    when_closed,
    when_open,
)
from ivr.config.languages import LANGUAGES, Language
from ivr.config.prompts import check_prompts
from ivr.config.tomlfile import TomlDocument
from ivr.emulator.speech_time import script_of, speech_seconds
from ivr.emulator.voices import speaks, voice_languages
from ivr.engine.menu import present
from ivr.engine.phrases import Speaker
from ivr.engine.steps import Ask, Pause, Say, Step

if TYPE_CHECKING:
    from ivr.config.loading import Config

# Callers keep four or five choices in mind; past that they wait for the list to be read again.
MOST_CHOICES = 5
# One <Say> past about 20 seconds loses callers: a guidance step should say one thing.
LONGEST_PROMPT_SECONDS = 20.0
# A placeholder's filled value (a key name, a time, an email address) is about this long.
_FILLED_VALUE = "x" * 12
# A minute of prompts before a queue is where callers start to press 0 over and over or hang up.
LONGEST_WAY_TO_AGENT_SECONDS = 60.0
# Days ahead in which a region's agents must open at least once.
OPEN_WITHIN_DAYS = 366
# Scripts only some voices read, by the primary subtag of their <Say> language; every voice
# reads Latin letters and digits (email addresses, "PIN").
SCRIPT_READERS = {
    "han": ("cmn", "yue", "ja"),
    "kana": ("ja",),
    "hangul": ("ko",),
    "devanagari": ("hi",),
}


class Kind(enum.StrEnum):
    MENU_CHOICES = "menu-choices"
    LONG_PROMPT = "long-prompt"
    MISSING_PROMPT = "missing-prompt"
    VOICE = "voice"
    NEVER_OPEN = "never-open"
    WAY_TO_AGENT = "way-to-agent"


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
class WayToAgent:
    """The fewest keys from the call's start to an agent queue, and the prompts on the way."""

    region: str
    language: str
    keys: tuple[str, ...]
    seconds: float  # prompts heard, each key pressed once the line naming it is said
    unskippable: float  # the part no key can cut short (said before each question)
    queue: str
    at: datetime  # an instant when agents are open, at which the way was found


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


# -- the prompts ----------------------------------------------------------------------------
def missing_prompts(inputs: CheckInput) -> Iterable[Finding]:
    """Keys a language lacks (callers hear the fallback language) or has in excess."""
    for problem in check_prompts(inputs.config.prompts):
        yield Finding(
            Kind.MISSING_PROMPT, problem.reason, problem.file, problem.line, problem.where
        )


def long_prompts(inputs: CheckInput) -> Iterable[Finding]:
    """Single lines (one <Say>) longer than about 20 seconds."""
    for entries in inputs.config.prompts.entries.values():
        for key, entry in entries.items():
            if not _spoken(key):
                continue
            items = (entry.value,) if isinstance(entry.value, str) else entry.value
            for index, item in enumerate(items):
                seconds = speech_seconds(_filled(item))
                if seconds > LONGEST_PROMPT_SECONDS:
                    where = key if isinstance(entry.value, str) else f"{key}[{index}]"
                    message = (
                        f"about {seconds:.0f} s of speech in one line (more than "
                        f"{LONGEST_PROMPT_SECONDS:.0f} s); split it into shorter steps"
                    )
                    yield Finding(Kind.LONG_PROMPT, message, entry.file, entry.line, where)


def _spoken(key: str) -> bool:
    """False for the words a caller may say (`main.speech.password`, `language.speech`)."""
    return "speech" not in key.split(".")


def _filled(template: str) -> str:
    parts = string.Formatter().parse(template)
    return "".join(text + (_FILLED_VALUE if name else "") for text, name, _, _ in parts)


# -- voices -----------------------------------------------------------------------------------
def voices(inputs: CheckInput) -> Iterable[Finding]:
    """Each offered language's voice must speak its <Say> language (Twilio's voice list as
    the emulator keeps it), and every prompt must be in a script that voice reads."""
    first_use: dict[str, tuple[str, int]] = {}
    for region in inputs.config.regions.regions.values():
        for index, language_id in enumerate(region.languages):
            first_use.setdefault(language_id, (region.id, index))
    for language_id, (region_id, index) in first_use.items():
        lang = inputs.languages[language_id]
        file, line = inputs.region_line(region_id, "languages", index)
        if voice_languages(lang.voice) is None:
            message = f"{lang.voice} is not a Twilio voice; callers would hear Twilio's default"
            yield Finding(Kind.VOICE, message, file, line, language_id)
        elif not speaks(lang.voice, lang.say_language):
            spoken = ", ".join(voice_languages(lang.voice) or ())
            message = f"{lang.voice} speaks {spoken}, not {lang.say_language}"
            yield Finding(Kind.VOICE, message, file, line, language_id)
    yield from _unreadable_scripts(inputs, first_use.keys())


def _unreadable_scripts(inputs: CheckInput, offered: Iterable[str]) -> Iterable[Finding]:
    for language_id in offered:
        say_language = inputs.languages[language_id].say_language
        primary = say_language.split("-")[0]
        for key, entry in inputs.config.prompts.entries.get(language_id, {}).items():
            if not _spoken(key):
                continue
            texts = (entry.value,) if isinstance(entry.value, str) else entry.value
            scripts = {script_of(char) for text in texts for char in text}
            for script in sorted(scripts & SCRIPT_READERS.keys()):
                if primary not in SCRIPT_READERS[script]:
                    message = f"{script} text, which a {say_language} voice cannot read"
                    yield Finding(Kind.VOICE, message, entry.file, entry.line, key)


# -- hours ------------------------------------------------------------------------------------
def never_open(inputs: CheckInput) -> Iterable[Finding]:
    """Regions whose hours, holidays and special days leave agents closed for a year."""
    for region in inputs.config.regions.regions.values():
        if when_open(region, inputs.now, OPEN_WITHIN_DAYS) is None:
            file, line = inputs.region_line(region.id, "hours")
            message = (
                f"agents never open in the next {OPEN_WITHIN_DAYS} days: callers can only "
                "leave a message, and callbacks are never placed"
            )
            yield Finding(Kind.NEVER_OPEN, message, file, line, f"regions.{region.id}")


# -- menus --------------------------------------------------------------------------------------
def menu_choices(inputs: CheckInput) -> Iterable[Finding]:
    """Questions offering more than MOST_CHOICES keys that lead somewhere else."""
    seen: dict[tuple[str, tuple[str, ...]], list[MenuWalk]] = {}
    for walk in inputs.open_walks + inputs.closed_walks:
        for question, choices in walk.choices.items():
            keys = tuple(key for key in choices if key != NUMBER)
            if len(keys) > MOST_CHOICES:
                node = walk.questions[question].node.value
                calls = seen.setdefault((node, keys), [])
                if all(w.region.id != walk.region.id or w.language != walk.language for w in calls):
                    calls.append(walk)
    total = sum(len(region.languages) for region in inputs.config.regions.regions.values())
    for (node, keys), walks in seen.items():
        file, line = None, None
        if node == "lang":  # the one menu regions.toml lays out: the region's languages
            file, line = inputs.region_line(walks[0].region.id, "languages")
        who = (
            "in every region and language"
            if len(walks) == total
            else "for " + ", ".join(f"{w.region.id} {w.language}" for w in walks)
        )
        message = (
            f"{len(keys)} choices ({' '.join(keys)}), more than {MOST_CHOICES} {who}; "
            "callers keep about five in mind"
        )
        yield Finding(Kind.MENU_CHOICES, message, file, line, f"menu {node}")


# -- the way to an agent ----------------------------------------------------------------------
def ways_to_agents(inputs: CheckInput) -> list[WayToAgent]:
    """For each region and language with agents open some time in the coming year."""
    return [way for walk in inputs.open_walks if (way := way_to_agent(walk)) is not None]


def way_to_agent(walk: MenuWalk) -> WayToAgent | None:
    """The fewest keys to a queue; of those, the fewest seconds of prompts (Dijkstra).

    The caller presses each key as soon as the line naming it has been said (a question can
    be answered while it is read), and hears everything said before each question."""
    _, unskippable = step_seconds(walk.opening)
    frontier: list[tuple[int, float, float, str, tuple[str, ...]]] = [
        (0, unskippable, unskippable, walk.first, ())
    ]
    settled: set[str] = set()
    while frontier:
        keys, seconds, unskippable, here, path = heapq.heappop(frontier)
        if here.startswith(QUEUE):
            queue = here.removeprefix(QUEUE)
            region, language, at = walk.region.id, walk.language, walk.context.now
            return WayToAgent(region, language, path, seconds, unskippable, queue, at)
        if here in settled or is_end(here):
            continue
        settled.add(here)
        for answer in walk.answers[here]:
            asked = _seconds_until_named(walk, here, answer.entry)
            _, before = step_seconds(answer.step)
            after = (keys + 1, seconds + asked + before, unskippable + before)
            heapq.heappush(frontier, (*after, answer.target, (*path, answer.entry)))
    return None


def _seconds_until_named(walk: MenuWalk, question: str, entry: str) -> float:
    """Seconds of the question read until the end of the first line that names `entry`
    (the whole question when no line does: a number to key in, say)."""
    state = walk.questions[question]
    ask = next(a for a in present(walk.context, state).actions if isinstance(a, Ask))
    name = Speaker(walk.context, state.language).key_name(entry) if entry != NUMBER else None
    pattern = re.compile(rf"(?<![0-9]){re.escape(name)}(?![0-9])") if name else None
    seconds = 0.0
    for prompt in ask.prompts:
        seconds += prompt_seconds(prompt)
        if pattern is not None and isinstance(prompt, Say) and pattern.search(prompt.text):
            return seconds
    return seconds


def step_seconds(step: Step) -> tuple[float, float]:
    """(all seconds of speech and pauses in `step`, the seconds before its question starts).

    A caller can answer a question (an Ask) while it is read, so the second number is the
    part no key can skip."""
    total = before_question = 0.0
    for action in step.actions:
        if isinstance(action, Ask):
            total += sum(prompt_seconds(prompt) for prompt in action.prompts)
            break
        total += prompt_seconds(action)
        before_question = total
    else:
        before_question = total
    return total, before_question


def prompt_seconds(action: object) -> float:
    """Seconds of a <Say> (timed as the emulator times it) or a <Pause>; 0 for anything else
    (hold music is not a prompt)."""
    if isinstance(action, Say):
        return speech_seconds(action.text)
    if isinstance(action, Pause):
        return float(action.seconds)
    return 0.0


def long_ways_to_agents(inputs: CheckInput) -> Iterable[Finding]:
    for way in ways_to_agents(inputs):
        if round(way.seconds) > LONGEST_WAY_TO_AGENT_SECONDS:  # as said in the message
            file, line = inputs.region_line(way.region)
            message = (
                f"about {way.seconds:.0f} s of prompts before queue {way.queue} (keys "
                f"{' '.join(way.keys)}), more than {LONGEST_WAY_TO_AGENT_SECONDS:.0f} s"
            )
            where = f"regions.{way.region} {way.language}"
            yield Finding(Kind.WAY_TO_AGENT, message, file, line, where)


CHECKS: tuple[Check, ...] = (
    missing_prompts,
    long_prompts,
    voices,
    never_open,
    menu_choices,
    long_ways_to_agents,
)


def run_checks(inputs: CheckInput, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Every finding of every check, in the order of `checks`."""
    return [finding for check in checks for finding in check(inputs)]
