"""The one speech-time model: each script at its rate, Japanese by morae."""

from __future__ import annotations

import tomllib

import pytest

from ivr.emulator.speech_time import script_of, speech_seconds
from tests.support.repository import ROOT


def test_letters_digits_and_spaces_are_said_fifteen_a_second() -> None:
    assert speech_seconds("x" * 30) == pytest.approx(2.0)
    assert speech_seconds("Press 1 now, please") == pytest.approx(19 / 15)


def test_chinese_is_said_five_characters_a_second() -> None:
    assert speech_seconds("普通话服务请按一") == pytest.approx(8 / 5)
    # A fullwidth comma or full stop is a short pause; a Latin digit, a letter's time.
    assert speech_seconds("您好，请按1。") == pytest.approx(4 / 5 + 0.2 + 1 / 15 + 0.2)


def test_japanese_kana_are_said_seven_morae_a_second() -> None:
    assert speech_seconds("にほんごをごきぼう") == pytest.approx(9 / 7)
    assert speech_seconds("パスワードパスワード") == pytest.approx(10 / 7)  # ー is a mora too


def test_kanji_in_a_japanese_sentence_take_a_mora_and_three_quarters() -> None:
    # The same characters in a Chinese text are one syllable each.
    assert speech_seconds("日本語をご希望") == pytest.approx(5 * 1.75 / 7 + 2 / 7)
    assert speech_seconds("日本語希望者") == pytest.approx(6 / 5)


def test_korean_is_said_five_syllables_a_second() -> None:
    assert speech_seconds("한국어 서비스는") == pytest.approx(7 / 5 + 1 / 15)


def test_hindi_is_said_twelve_code_points_a_second() -> None:
    spoken = "पासवर्ड भूल गए"  # 12 Devanagari code points and two spaces
    assert speech_seconds(spoken) == pytest.approx(12 / 12 + 2 / 15)


def test_a_say_takes_at_least_a_second_and_nothing_to_say_takes_none() -> None:
    assert speech_seconds("1。") == pytest.approx(1.0)
    assert speech_seconds("") == 0.0
    assert speech_seconds("   ") == 0.0


def test_scripts_are_told_by_the_unicode_database() -> None:
    scripts = [script_of(char) for char in "漢かカ한हa、"]
    assert scripts == ["han", "kana", "kana", "hangul", "devanagari", "latin", "latin"]


def test_the_japanese_prompts_run_at_a_japanese_newsreaders_pace() -> None:
    # NHK writes its news for 300 characters a minute, commercial stations for 350 to 400.
    lines = [
        line
        for file in sorted((ROOT / "prompts" / "ja-JP").glob("*.toml"))
        for line in _spoken_lines(tomllib.loads(file.read_text(encoding="utf-8")))
    ]
    japanese = ["".join(char for char in line if not char.isascii()) for line in lines]
    characters = sum(map(len, japanese))
    seconds = sum(speech_seconds(line) for line in japanese if line)
    assert 300 < characters / seconds * 60 < 400


def _spoken_lines(table: object) -> list[str]:
    """Every sentence of a prompt file, without the words callers may say (`speech`)."""
    if isinstance(table, str):
        return [table]
    if isinstance(table, list):
        return [line for item in table for line in _spoken_lines(item)]
    if isinstance(table, dict):
        return [
            line for key, item in table.items() if key != "speech" for line in _spoken_lines(item)
        ]
    return []
