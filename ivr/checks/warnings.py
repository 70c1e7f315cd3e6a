"""Usability checks of a configuration that loaded cleanly, for `ivr check`.

Loading (ivr.web.services.load_config) already refuses what cannot work, with file and line.
These checks find what works but serves callers badly: long menus, long prompts, missing
translations, voices that cannot read a language, regions that never open, and how far an
agent is; and the caller-time budgets of flows.toml (ivr.checks.budgets), the one kind of
finding that fails the check. Each is a pure function from `CheckInput` to findings; `CHECKS`
lists them.

Agents: once the agents file is loaded into `Config`, its checks (a queue no agent serves,
an agent for a language the region does not offer) go into `CHECKS` as one more function
reading `inputs.config`; `ivr check` prints whatever `CHECKS` finds.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from ivr.checks.budgets import LineTimes, budget_findings, line_times
from ivr.checks.inputs import Check, CheckInput, Finding, Kind
from ivr.checks.menu_walk import NUMBER, MenuWalk, when_open
from ivr.config.prompts import check_prompts
from ivr.emulator.speech_time import script_of, speech_seconds
from ivr.emulator.voices import speaks, voice_languages

__all__ = ["Check", "CheckInput", "Finding", "Kind", "LineTimes", "run_checks", "ways_to_agents"]

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
                node = str(walk.questions[question].node)
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
def ways_to_agents(inputs: CheckInput) -> list[LineTimes]:
    """For each region and language with agents open some time in the coming year."""
    return [times for walk in inputs.open_walks if (times := line_times(walk)) is not None]


def long_ways_to_agents(inputs: CheckInput) -> Iterable[Finding]:
    for way in ways_to_agents(inputs):
        if round(way.to_queue) > LONGEST_WAY_TO_AGENT_SECONDS:  # as said in the message
            file, line = inputs.region_line(way.region)
            message = (
                f"about {way.to_queue:.0f} s of prompts before queue {way.queue} (keys "
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
    budget_findings,
)


def run_checks(inputs: CheckInput, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Every finding of every check, in the order of `checks`."""
    return [finding for check in checks for finding in check(inputs)]
