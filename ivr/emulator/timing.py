"""How long things take on the virtual clock: key presses, repeated prompts, Play digits
(speech: `speech_time.py`)."""

from __future__ import annotations

KEY_SECONDS = 0.3
# loop="0" means "until the caller hangs up" (Twilio stops at 1000); the emulator charges this
# many repetitions and then goes on, so a test does not stall on one prompt.
REPETITIONS_FOR_LOOP_ZERO = 10
# Seconds the Play verb's digits take: w is half a second, W a full one (<Play> page).
_PLAY_DIGIT_SECONDS = {"w": 0.5, "W": 1.0}


def repetitions(loop: int) -> int:
    """How many times a Say or Play with this `loop` is charged on the clock."""
    return REPETITIONS_FOR_LOOP_ZERO if loop == 0 else loop


def play_digits_seconds(digits: str) -> float:
    """Time to send the DTMF digits of <Play digits="...">."""
    return sum(_PLAY_DIGIT_SECONDS.get(digit, KEY_SECONDS) for digit in digits)
