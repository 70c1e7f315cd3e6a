"""The emulator's own table of Twilio voices and recognition tags."""

from __future__ import annotations

import pytest

from ivr.emulator.voices import recognition_language_problem, speaks, voice_languages

EXPECTED = {
    "Polly.Joanna": "en-US", "Polly.Matthew": "en-US", "Polly.Amy": "en-GB",
    "Polly.Brian": "en-GB", "Polly.Emma": "en-GB", "Polly.Raveena": "en-IN",
    "Polly.Zhiyu": "cmn-CN", "Google.cmn-CN-Standard-A": "cmn-CN",
    "Google.cmn-TW-Standard-A": "cmn-TW", "Google.yue-HK-Standard-A": "yue-HK",
    "Polly.Mizuki": "ja-JP", "Polly.Takumi": "ja-JP", "Polly.Seoyeon": "ko-KR",
    "Polly.Lucia": "es-ES", "Polly.Conchita": "es-ES", "Polly.Enrique": "es-ES",
    "Polly.Mia": "es-MX", "Polly.Lupe": "es-US", "Polly.Miguel": "es-US",
    "Polly.Penelope": "es-US", "Polly.Camila": "pt-BR", "Polly.Vitoria": "pt-BR",
    "Polly.Ricardo": "pt-BR", "Polly.Vicki": "de-DE", "Polly.Marlene": "de-DE",
    "Polly.Hans": "de-DE", "Polly.Filiz": "tr-TR", "Google.id-ID-Standard-A": "id-ID",
    "Google.vi-VN-Standard-A": "vi-VN", "man": "en-US", "woman": "en-US",
}  # fmt: skip


@pytest.mark.parametrize(("voice", "language"), EXPECTED.items())
def test_known_voice_speaks_its_language(voice: str, language: str) -> None:
    assert speaks(voice, language)


def test_aditi_is_bilingual() -> None:
    assert voice_languages("Polly.Aditi") == ("en-IN", "hi-IN")


def test_neural_variants_exist_only_where_polly_has_them() -> None:
    assert voice_languages("Polly.Zhiyu-Neural") == ("cmn-CN",)
    assert voice_languages("Polly.Aditi-Neural") is None
    assert voice_languages("Polly.Kajal-Neural") == ("en-IN", "hi-IN")


@pytest.mark.parametrize("voice", ["Polly.joanna", "alice2", "Google.zh-CN-Standard-A", "Polly."])
def test_unknown_voices_are_not_guessed(voice: str) -> None:
    assert voice_languages(voice) is None


def test_basic_voices_speak_english_only() -> None:
    assert speaks("woman", "en-GB") and not speaks("woman", "es-ES")


@pytest.mark.parametrize("tag", ["en-US", "cmn-Hans-CN", "cmn-Hant-TW", "yue-Hant-HK", "es-419"])
def test_recognition_tags_twilio_accepts(tag: str) -> None:
    assert recognition_language_problem(tag) is None


@pytest.mark.parametrize("tag", ["en", "cmn-CN", "yue-HK", "english"])
def test_recognition_tags_twilio_refuses(tag: str) -> None:
    assert recognition_language_problem(tag) is not None
