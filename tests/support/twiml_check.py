"""Checks every rendered response with the emulator's own TwiML reader, as Twilio would read it.

The emulator keeps its own table of verbs, attributes and voices, so these checks do not just
repeat the service's tables back to it.
"""

from __future__ import annotations

import re

from ivr.emulator.documents import Context, parse_twiml
from ivr.emulator.readers import Where
from ivr.emulator.verbs import Gather, Say, Verb
from ivr.emulator.voices import speaks
from ivr.engine.steps import Step
from ivr.web.twiml import render

BASE = "https://ivr.example.com/voice/menu"
_SCRIPTS = {
    "han": (re.compile(r"[\u4e00-\u9fff]"), ("cmn-", "yue-", "ja-")),
    "kana": (re.compile(r"[\u3040-\u30ff]"), ("ja-",)),
    "hangul": (re.compile(r"[\uac00-\ud7af]"), ("ko-",)),
    "devanagari": (re.compile(r"[\u0900-\u097f]"), ("hi-",)),
}


def problems_in(step: Step, context: Context = Context.CALL) -> list[str]:
    """Everything Twilio would reject or warn about in `step`, and text in the wrong voice."""
    verbs = parse_twiml(render(step), Where(BASE, BASE), context)
    found: list[str] = []
    for verb in _flatten(verbs):
        if verb.fatal is not None:
            found.append(f"{verb.element}: {verb.fatal.message}")
        found += [f"{verb.element}: {warning.message}" for warning in verb.warnings]
        if isinstance(verb, Say):
            found += _voice_problems(verb)
    return found


def _flatten(verbs: tuple[Verb, ...]) -> list[Verb]:
    flat: list[Verb] = []
    for verb in verbs:
        flat.append(verb)
        if isinstance(verb, Gather):
            flat.extend(verb.prompts)
    return flat


def _voice_problems(say: Say) -> list[str]:
    problems = []
    if not speaks(say.voice, say.language):
        problems.append(f"{say.voice} does not speak {say.language}")
    for script, (pattern, languages) in _SCRIPTS.items():
        if pattern.search(say.text) and not say.language.startswith(languages):
            problems.append(f"{script} text read by a {say.language} voice: {say.text!r}")
    return problems
