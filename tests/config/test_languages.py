"""The one language table: every voice speaks its Say language, every recognition tag is one
Twilio takes. Checked against the emulator's own list of Twilio voices, not against itself."""

from __future__ import annotations

import pytest

from ivr.config.languages import LANGUAGES, Language, language
from ivr.emulator.voices import recognition_language_problem, speaks


@pytest.mark.parametrize("lang", LANGUAGES.values(), ids=lambda lang: lang.id)
def test_voice_speaks_its_language(lang: Language) -> None:
    assert speaks(lang.voice, lang.say_language), f"{lang.voice} cannot speak {lang.say_language}"


@pytest.mark.parametrize("lang", LANGUAGES.values(), ids=lambda lang: lang.id)
def test_recognition_tag_is_valid(lang: Language) -> None:
    assert recognition_language_problem(lang.recognition) is None


def test_mandarin_is_spoken_and_recognised_with_different_tags() -> None:
    mandarin = language("zh-CN")
    assert (mandarin.say_language, mandarin.recognition) == ("cmn-CN", "cmn-Hans-CN")
    assert mandarin.voice.startswith("Polly.Zhiyu")


def test_no_chinese_or_japanese_language_uses_an_english_voice() -> None:
    for lang in LANGUAGES.values():
        if lang.id.startswith(("zh", "yue", "ja", "ko", "hi")):
            assert not speaks(lang.voice, "en-US"), lang.id


def test_unknown_language_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: en-US"):
        language("xx-XX")
