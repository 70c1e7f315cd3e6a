"""How long a line takes to say, estimated from its length and script, for `ivr check`.

Text-to-speech voices speak at a steady rate per syllable, and how many characters make a
syllable depends on the script, so each script gets its own rate. Scripts are told by the
Unicode character database (unicodedata), not by hand-kept code point ranges.
"""

from __future__ import annotations

import unicodedata

from ivr.steps import Ask, Pause, Say, Step

# Characters a second at Polly's and Google's default speaking rate:
# - Latin and other alphabets (and digits, spaces, punctuation): about 150 words a minute
#   with ~5 letters and a space per word, so ~15 characters a second;
# - Han: one character is one syllable and Mandarin voices say about 5 syllables a second;
#   Japanese kanji read as one or two morae, which comes out near the same rate;
# - kana: one kana is one mora, and Japanese voices say 7 to 8 morae a second;
# - Hangul: one block is one syllable, about 5 a second;
# - Devanagari: an akshara (a consonant with its vowel sign) takes 2 to 3 code points and
#   Hindi voices say about 5 a second, so ~12 code points;
# - other wide characters (the ideographic comma and full stop, fullwidth punctuation): a
#   pause about as long as a syllable.
# The Latin and Han rates are also the emulator's (ivr/emulator/timing.py), so the seconds
# `ivr check` estimates agree with the times in `ivr call` transcripts of the same lines.
LATIN_PER_SECOND = 15.0
SCRIPT_PER_SECOND = {"han": 5.0, "kana": 7.5, "hangul": 5.0, "devanagari": 12.0}
# Even a one-word <Say> takes about a second on the line.
SHORTEST_SAY = 1.0


def script_of(char: str) -> str:
    """ "han", "kana", "hangul", "devanagari", or "latin" for everything else."""
    name = unicodedata.name(char, "")
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")):
        return "han"
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "kana"
    if name.startswith("HANGUL"):
        return "hangul"
    if name.startswith("DEVANAGARI"):
        return "devanagari"
    return "latin"


def speech_seconds(text: str) -> float:
    """Estimated seconds to say `text`."""
    if not text.strip():
        return 0.0
    return max(SHORTEST_SAY, sum(_char_seconds(char) for char in text))


def _char_seconds(char: str) -> float:
    script = script_of(char)
    if script in SCRIPT_PER_SECOND:
        return 1.0 / SCRIPT_PER_SECOND[script]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0 / SCRIPT_PER_SECOND["han"]
    return 1.0 / LATIN_PER_SECOND


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
    """Seconds of a <Say> or <Pause>; 0 for anything else (hold music is not a prompt)."""
    if isinstance(action, Say):
        return speech_seconds(action.text)
    if isinstance(action, Pause):
        return float(action.seconds)
    return 0.0
