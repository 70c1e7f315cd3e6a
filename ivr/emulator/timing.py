"""How long things take on the virtual clock: speech, key presses, audio."""

from __future__ import annotations

import re

KEY_SECONDS = 0.3
LATIN_CHARACTERS_PER_SECOND = 15.0
CJK_CHARACTERS_PER_SECOND = 5.0
# loop="0" means "until the caller hangs up" (Twilio stops at 1000); the emulator charges this
# many repetitions and then goes on, so a test does not stall on one prompt.
REPETITIONS_FOR_LOOP_ZERO = 10
# Seconds the Play verb's digits take: w is half a second, W a full one (<Play> page).
_PLAY_DIGIT_SECONDS = {"w": 0.5, "W": 1.0}
_CJK = re.compile(
    r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)


def speech_seconds(text: str) -> float:
    """Spoken length of `text`: ~15 Latin or ~5 CJK characters a second, at least 1 s."""
    if not text:
        return 0.0
    cjk = len(_CJK.findall(text))
    latin = len(text) - cjk
    return max(1.0, latin / LATIN_CHARACTERS_PER_SECOND + cjk / CJK_CHARACTERS_PER_SECOND)


def repetitions(loop: int) -> int:
    """How many times a Say or Play with this `loop` is charged on the clock."""
    return REPETITIONS_FOR_LOOP_ZERO if loop == 0 else loop


def play_digits_seconds(digits: str) -> float:
    """Time to send the DTMF digits of <Play digits="...">."""
    return sum(_PLAY_DIGIT_SECONDS.get(digit, KEY_SECONDS) for digit in digits)
