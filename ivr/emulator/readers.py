"""Readers for the verbs a caller hears or answers: Say, Play, Pause, Gather, Record."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ivr.emulator.attributes import AttributeReader, resolve, start_tag
from ivr.emulator.errors import Finding, Problem
from ivr.emulator.verbs import Audible, Gather, Pause, Play, Record, Say
from ivr.emulator.voices import DEFAULT_LANGUAGE, DEFAULT_VOICE, speaks, voice_languages
from ivr.emulator.voices import recognition_language_problem as recognition_problem

_SSML = frozenset("break emphasis lang p phoneme prosody s say-as sub w".split())
_DTMF_TO_PLAY = re.compile(r"[0-9A-Da-d#*wW]+")
_KEYS = "0123456789#*"
# <Say> text limits per engine (13521); Polly does not count SSML tags, and neither do we.
_SAY_LIMITS = {"Polly.": 3000, "Google.": 5000}
_BASIC_SAY_LIMIT = 4096


@dataclass(frozen=True)
class Where:
    """Where a document came from: relative URLs resolve against `base`; `url` is None for
    inline TwiML, which has no URL for <Gather>/<Record> to post back to."""

    url: str | None
    base: str


def fatal_child(element: ET.Element, allowed: frozenset[str]) -> Finding | None:
    """The first child element not allowed here, as a fatal wrong-nesting finding."""
    for child in element:
        if child.tag not in allowed:
            where = f"in <{element.tag}>" if allowed else f"<{element.tag}> takes no elements"
            hint = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
            return Finding(Problem.WRONG_NESTING, f"<{child.tag}> {where}{hint}", start_tag(child))
    return None


def read_say(element: ET.Element, where: Where, nested: bool = False) -> Say:
    """<Say>: voice and language checked against Twilio's voice table."""
    attrs = AttributeReader(element, frozenset({"voice", "language", "loop"}))
    loop_problem = Problem.GATHER_SAY_LOOP if nested else Problem.SAY_LOOP
    loop = attrs.integer("loop", 1, loop_problem, minimum=0)
    voice, language = _voice_and_language(attrs)
    text = " ".join("".join(element.itertext()).split())
    if not text:
        attrs.warn(Problem.SAY_EMPTY_TEXT, "<Say> has no text; nothing is said")
    limit = next((n for p, n in _SAY_LIMITS.items() if voice.startswith(p)), _BASIC_SAY_LIMIT)
    if len(text) > limit:
        attrs.warn(Problem.SAY_TOO_LONG, f"{len(text)} characters; {voice} takes {limit}")
    return Say(
        element=attrs.tag,
        warnings=tuple(attrs.warnings),
        fatal=fatal_child(element, _SSML),
        text=text,
        voice=voice,
        language=language,
        loop=loop,
    )


def _voice_and_language(attrs: AttributeReader) -> tuple[str, str]:
    voice = attrs.text("voice") or DEFAULT_VOICE
    languages = voice_languages(voice)
    if languages is None:
        attrs.warn(Problem.SAY_VOICE, f"unknown voice {voice!r}; Twilio's default voice is used")
        return DEFAULT_VOICE, attrs.text("language") or DEFAULT_LANGUAGE
    language = attrs.text("language") or languages[0]
    if not speaks(voice, language):
        attrs.warn(
            Problem.SAY_VOICE,
            f"voice {voice} does not speak language {language!r}; it speaks {', '.join(languages)}",
        )
    return voice, language


def read_play(element: ET.Element, where: Where) -> Play:
    """<Play>: an audio URL, or DTMF digits to send."""
    attrs = AttributeReader(element, frozenset({"loop", "digits"}))
    loop = attrs.integer("loop", 1, Problem.PLAY_LOOP, minimum=0)
    digits = attrs.text("digits")
    if digits is not None and not _DTMF_TO_PLAY.fullmatch(digits):
        attrs.warn(Problem.INVALID_ATTRIBUTE_VALUE, f"digits={digits!r}: only 0-9 A-D # * w W")
        digits = None
    body = (element.text or "").strip()
    return Play(
        element=attrs.tag,
        warnings=tuple(attrs.warnings),
        fatal=fatal_child(element, frozenset()),
        url=resolve(where.base, body) if body else None,
        loop=loop,
        digits=digits,
    )


def read_pause(element: ET.Element, where: Where) -> Pause:
    """<Pause>: seconds of silence."""
    attrs = AttributeReader(element, frozenset({"length"}))
    length = attrs.integer("length", 1, Problem.PAUSE_LENGTH)
    fatal = fatal_child(element, frozenset())
    return Pause(element=attrs.tag, warnings=tuple(attrs.warnings), fatal=fatal, length=length)


_GATHER_ATTRIBUTES = frozenset(
    "action method timeout numDigits finishOnKey input speechTimeout speechModel language hints"
    " profanityFilter partialResultCallback partialResultCallbackMethod actionOnEmptyResult"
    " enhanced maxSpeechTime bargeIn debug".split()
)
_INPUTS = frozenset({"dtmf", "speech", "dtmf speech", "speech dtmf"})


def read_gather(element: ET.Element, where: Where) -> Gather:
    """<Gather>: input rules and the prompts nested in it."""
    attrs = AttributeReader(element, _GATHER_ATTRIBUTES)
    inputs = attrs.choice("input", "dtmf", _INPUTS, Problem.INVALID_ATTRIBUTE_VALUE)
    timeout = attrs.integer("timeout", 5, Problem.GATHER_TIMEOUT)
    language = attrs.text("language") or DEFAULT_LANGUAGE
    if "speech" in inputs and (problem := recognition_problem(language)):
        attrs.warn(Problem.GATHER_LANGUAGE, problem)
    prompts = _gather_prompts(element, where)
    fatal = fatal_child(element, frozenset({"Say", "Play", "Pause"}))
    return Gather(
        element=attrs.tag,
        input=tuple(sorted(set(inputs.split()))),
        action=attrs.url("action", where.base) or where.url,
        method=attrs.method("method", Problem.GATHER_METHOD),
        timeout=timeout,
        num_digits=attrs.optional_integer("numDigits", Problem.GATHER_NUM_DIGITS),
        finish_on_key=_finish_on_key(attrs, "#", single=True, problem=Problem.GATHER_FINISH_ON_KEY),
        speech_timeout=_speech_timeout(attrs, timeout),
        language=language,
        hints=attrs.text("hints"),
        action_on_empty_result=attrs.boolean("actionOnEmptyResult", False),
        prompts=prompts,
        warnings=tuple(attrs.warnings),
        fatal=fatal or next((p.fatal for p in prompts if p.fatal), None),
    )


def _gather_prompts(element: ET.Element, where: Where) -> tuple[Audible, ...]:
    prompts: list[Audible] = []
    for child in element:
        if child.tag == "Say":
            prompts.append(read_say(child, where, nested=True))
        elif child.tag == "Play":
            prompts.append(read_play(child, where))
        elif child.tag == "Pause":
            prompts.append(read_pause(child, where))
    return tuple(prompts)


def _finish_on_key(attrs: AttributeReader, default: str, single: bool, problem: Problem) -> str:
    raw = attrs.text("finishOnKey")
    if raw is None:
        return default
    if raw == "" or (all(key in _KEYS for key in raw) and (len(raw) == 1 or not single)):
        return raw
    attrs.warn(problem, f"finishOnKey={raw!r}: keys must be among {_KEYS}; {default!r} is used")
    return default


def _speech_timeout(attrs: AttributeReader, timeout: int) -> str:
    raw = attrs.text("speechTimeout")
    if raw is None:
        return str(timeout)
    if raw == "auto" or raw.isdigit():
        return raw
    attrs.warn(Problem.GATHER_SPEECH_TIMEOUT, f"speechTimeout={raw!r}: a number or auto")
    return str(timeout)


_RECORD_ATTRIBUTES = frozenset(
    "action method timeout finishOnKey maxLength playBeep trim recordingStatusCallback"
    " recordingStatusCallbackMethod recordingStatusCallbackEvent recordingChannels transcribe"
    " transcribeCallback".split()
)


def read_record(element: ET.Element, where: Where) -> Record:
    """<Record>: how the recording ends and where it is posted."""
    attrs = AttributeReader(element, _RECORD_ATTRIBUTES)
    return Record(
        element=attrs.tag,
        action=attrs.url("action", where.base) or where.url,
        method=attrs.method("method"),
        timeout=attrs.integer("timeout", 5, Problem.RECORD_TIMEOUT, minimum=0),
        max_length=attrs.integer("maxLength", 3600, Problem.RECORD_MAX_LENGTH, maximum=14400),
        finish_on_key=_finish_on_key(
            attrs, "1234567890*#", single=False, problem=Problem.RECORD_FINISH_ON_KEY
        ),
        play_beep=attrs.boolean("playBeep", True),
        trim=attrs.choice(
            "trim",
            "trim-silence",
            frozenset({"trim-silence", "do-not-trim"}),
            Problem.INVALID_ATTRIBUTE_VALUE,
        )
        == "trim-silence",
        warnings=tuple(attrs.warnings),
        fatal=fatal_child(element, frozenset()),
    )
