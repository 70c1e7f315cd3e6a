"""How long a voice takes to say a text: the one speech-time model of the emulator's clock and
of `ivr check`'s estimates, so a transcript and a check of the same line agree.

Voices speak at a steady rate of syllables (morae in Japanese), and how many characters make a
syllable depends on the script, so each script has its own rate. Scripts are told by the
Unicode character database (unicodedata), not by hand-kept code point ranges.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# What a voice says in a second at Polly's and Google's default rate, set from published rates
# of read speech (pauses included unless said) and the sample prompts' own spelling:
# - Alphabets (Latin, Cyrillic, Vietnamese...) with their digits, spaces and punctuation: 15
#   characters. English is read at 150 to 160 words a minute, and an en-US prompt word takes
#   5.7 characters with its space and punctuation (15 a second is 158 words a minute). The
#   short breaks at commas and full stops are inside that average.
# - Han in Chinese: one character, one syllable; 5 a second. Chinese broadcast news is read at
#   250 to 300 characters a minute, and read Mandarin runs at 5.18 syllables a second with the
#   pauses cut out (Pellegrino, Coupé and Marsico 2011, "A cross-language perspective on speech
#   information rate", Language 87(3), which gives Japanese 7.84, the fastest they measured).
# - Japanese: 7 morae a second. A kana is one mora, a kanji 1.75 on average (1.73 over the
#   ja-JP prompts read by pykakasi), so 4 kanji a second. The ja-JP prompts then run at about
#   340 characters a minute, where NHK writes its news for 300 and commercial stations for
#   350 to 400 (kanji, kana and punctuation counted alike). Han characters are read as
#   Japanese in a text with kana, as any Japanese sentence has (particles, verb endings).
# - Hangul: one block, one syllable; 5 a second, as Mandarin (assumed: no published rate of
#   the Korean voices).
# - Devanagari: a syllable (akshara) is spelled with 2.1 code points on average in the hi-IN
#   prompts (a consonant, its vowel sign, now and then a virama or a nasal mark); at an
#   assumed 5.5 syllables a second, a little above Mandarin's, 12 code points.
# - Other wide characters (the ideographic comma and full stop, fullwidth punctuation): a
#   fifth of a second, the pause a voice makes there (a syllable, for a fullwidth digit).
LETTERS_PER_SECOND = 15.0
MORAE_PER_SECOND = 7.0
MORAE_PER_KANJI = 1.75
_SECONDS = {"han": 1 / 5.0, "kana": 1 / MORAE_PER_SECOND, "hangul": 1 / 5.0, "devanagari": 1 / 12.0}
_JAPANESE_SECONDS = {**_SECONDS, "han": MORAE_PER_KANJI / MORAE_PER_SECOND}
WIDE_SECONDS = 0.2
# Even a one-word <Say> takes about a second on the line.
SHORTEST_SAY = 1.0


@lru_cache(maxsize=4096)
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
    """Seconds a voice takes to say `text` (0 when there is nothing to say)."""
    if not text.strip():
        return 0.0
    scripts = [script_of(char) for char in text]
    rates = _JAPANESE_SECONDS if "kana" in scripts else _SECONDS
    seconds = sum(
        _char_seconds(char, script, rates) for char, script in zip(text, scripts, strict=True)
    )
    return max(SHORTEST_SAY, seconds)


def _char_seconds(char: str, script: str, rates: dict[str, float]) -> float:
    if script in rates:
        return rates[script]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return WIDE_SECONDS
    return 1 / LETTERS_PER_SECOND
