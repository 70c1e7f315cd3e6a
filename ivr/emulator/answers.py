"""What a caller answers, and what a <Gather> or <Record> makes of it.

Answer strings (scripts, the CLI's --press, the interactive prompt): keys `0-9*#` (a finish key
included when pressed), `_` for silence, `say:TEXT` for speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.emulator.speech_time import speech_seconds
from ivr.emulator.timing import KEY_SECONDS
from ivr.emulator.verbs import Gather, Record

_KEYS = re.compile(r"[0-9*#]+")
AUTO_SPEECH_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Keys:
    keys: str


@dataclass(frozen=True)
class Speech:
    text: str


@dataclass(frozen=True)
class Silence:
    pass


Answer = Keys | Speech | Silence


def parse_answer(text: str) -> Answer:
    """Read an answer string; ValueError says what is accepted."""
    if text == "_":
        return Silence()
    if text.startswith("say:") and text[4:].strip():
        return Speech(text[4:].strip())
    if _KEYS.fullmatch(text):
        return Keys(text)
    raise ValueError(f"answer {text!r}: use keys 0-9 * #, '_' for silence, or 'say:TEXT'")


@dataclass(frozen=True)
class GatherResult:
    """What a Gather collected, and how long the caller took from the end of the prompt."""

    seconds: float
    digits: str | None = None
    speech: str | None = None
    silent: bool = False

    @property
    def empty(self) -> bool:
        return self.digits is None and self.speech is None


def gather_result(gather: Gather, answer: Answer) -> GatherResult:
    """Apply Twilio's Gather rules to an answer (the finish key is never part of Digits)."""
    if isinstance(answer, Speech) and "speech" in gather.input:
        pause = (
            AUTO_SPEECH_TIMEOUT_SECONDS
            if gather.speech_timeout == "auto"
            else float(gather.speech_timeout)
        )
        return GatherResult(speech_seconds(answer.text) + pause, speech=answer.text)
    if isinstance(answer, Keys) and "dtmf" in gather.input:
        return _keys_result(gather, answer.keys)
    return GatherResult(float(gather.timeout), silent=True)


def _keys_result(gather: Gather, keys: str) -> GatherResult:
    digits = ""
    seconds = 0.0
    for key in keys:
        seconds += KEY_SECONDS
        if gather.finish_on_key and key == gather.finish_on_key:
            return GatherResult(seconds, digits or None)
        digits += key
        if gather.num_digits is not None and len(digits) == gather.num_digits:
            return GatherResult(seconds, digits)
    # No finish key and numDigits not reached: Twilio submits after `timeout` more seconds.
    return GatherResult(seconds + gather.timeout, digits or None)


@dataclass(frozen=True)
class RecordResult:
    """How long the recording ran, the key that ended it (None: silence or maxLength), and
    how much of it was sound (what is left once silence is trimmed)."""

    seconds: float
    digits: str | None = None
    sound: float | None = None  # None: all of `seconds`

    @property
    def trimmed(self) -> float:
        return self.seconds if self.sound is None else self.sound


def record_result(record: Record, answer: Answer) -> RecordResult:
    """Apply Twilio's Record rules: a finish key, `timeout` seconds of silence, or maxLength."""
    seconds = 0.0
    if isinstance(answer, Speech):
        seconds = speech_seconds(answer.text)
    elif isinstance(answer, Keys):
        for key in answer.keys:
            seconds += KEY_SECONDS
            if key in record.finish_on_key and seconds <= record.max_length:
                return RecordResult(seconds, key)
    # timeout="0" turns silence detection off: the recording runs to maxLength.
    ended = seconds + record.timeout if record.timeout else float(record.max_length)
    limit = float(record.max_length)
    return RecordResult(min(ended, limit), sound=min(seconds, limit))
