"""regions.toml is refused at start with file, line and reason; the sample file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config.regions import DEFAULT_DISPOSITIONS, GLOBAL_REGION, RegionBook, load_regions
from ivr.config.tomlfile import ConfigError

GOOD = """\
[regions.jp]
name = "Japan"
hotlines = ["+81345678901"]
countries = ["JP"]
timezone = "Asia/Tokyo"
languages = ["en-US"]
email = "support-jp@example.com"
chat_url = "https://help.example.com/chat"

[regions.jp.hours]
mon = ["09:00-18:00"]

[regions.global]
name = "International"
hotlines = []
timezone = "UTC"
languages = ["en-US"]
email = "support@example.com"
chat_url = "https://help.example.com/chat"
"""


def refused(tmp_path: Path, text: str, languages: tuple[str, ...] = ("en-US",)) -> list[str]:
    file = tmp_path / "regions.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_regions(file, prompt_languages=languages)
    return [str(problem) for problem in caught.value.problems]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


def test_sample_regions_load(book: RegionBook) -> None:
    assert GLOBAL_REGION in book.regions
    assert len(book.regions) >= 15
    assert book.for_country("JP") is book.regions["jp"]
    assert book.for_hotline("+442079460123") is book.regions["gb"]


def test_sample_queue_names_fit_twilios_limit(book: RegionBook) -> None:
    for region in book.regions.values():
        for language in region.languages:
            assert len(region.queue_name(language, priority=True)) <= 64


def test_good_file_loads(tmp_path: Path) -> None:
    file = tmp_path / "regions.toml"
    file.write_text(GOOD, encoding="utf-8")
    assert set(load_regions(file, ("en-US",)).regions) == {"jp", "global"}


def test_unknown_timezone(tmp_path: Path) -> None:
    text = GOOD.replace('"Asia/Tokyo"', '"Asia/Tokio"')
    [problem] = refused(tmp_path, text)
    assert f"regions.toml:{line_of(text, 'Asia/Tokio')}:" in problem
    assert "unknown timezone 'Asia/Tokio'" in problem


def test_invalid_hotline_number(tmp_path: Path) -> None:
    text = GOOD.replace('"+81345678901"', '"+8134567"')
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, '+8134567')}:" in problem and "not a valid phone number" in problem


def test_overlapping_intervals(tmp_path: Path) -> None:
    text = GOOD.replace('mon = ["09:00-18:00"]', 'mon = ["09:00-18:00", "17:00-20:00"]')
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'mon =')}:" in problem
    assert "09:00-18:00 overlaps 17:00-20:00" in problem


def test_interval_spilling_past_midnight_into_the_next_day(tmp_path: Path) -> None:
    text = GOOD.replace('mon = ["09:00-18:00"]', 'mon = ["20:00-03:00"]\ntue = ["02:00-05:00"]')
    [problem] = refused(tmp_path, text)
    assert "mon 20:00-03:00 overlaps tue 02:00-05:00" in problem


def test_country_in_two_regions(tmp_path: Path) -> None:
    text = GOOD.replace("hotlines = []", 'hotlines = []\ncountries = ["JP"]')
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'countries', 2)}:" in problem
    assert "JP is already served by 'jp'" in problem


def test_hotline_in_two_regions(tmp_path: Path) -> None:
    text = GOOD.replace("hotlines = []", 'hotlines = ["+81345678901"]')
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'hotlines', 2)}:" in problem and "already rings into 'jp'" in problem


def test_language_without_prompts(tmp_path: Path) -> None:
    text = GOOD.replace(
        'languages = ["en-US"]\nemail = "support-jp',
        'languages = ["en-US", "ja-JP"]\nemail = "support-jp',
    )
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'ja-JP')}:" in problem and "no prompts for ja-JP" in problem


def test_unknown_language(tmp_path: Path) -> None:
    text = GOOD.replace(
        'languages = ["en-US"]\nemail = "support-jp', 'languages = ["klingon"]\nemail = "support-jp'
    )
    [problem] = refused(tmp_path, text)
    assert "unknown language 'klingon'" in problem


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('name = "Japan"', 'name = "Japan"\ntimezon = "Asia/Tokyo"')
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'timezon =')}:" in problem and "unknown setting 'timezon'" in problem


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = GOOD.replace('name = "Japan"', 'name = "Japan')
    [problem] = refused(tmp_path, text)
    assert f"regions.toml:{line_of(text, 'name = ' + chr(34) + 'Japan')}:" in problem
    assert "TOML syntax" in problem


def test_global_region_is_required(tmp_path: Path) -> None:
    text = GOOD.split("[regions.global]")[0]
    problems = refused(tmp_path, text)
    assert any("a 'global' fallback region is required" in p for p in problems)


def test_unknown_holiday_calendar(tmp_path: Path) -> None:
    text = GOOD.replace(
        "[regions.jp.hours]", 'holidays = { calendar = "XX" }\n\n[regions.jp.hours]'
    )
    [problem] = refused(tmp_path, text)
    assert f":{line_of(text, 'calendar')}:" in problem and "no calendar 'XX'" in problem


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('"Asia/Tokyo"', '"Mars/Olympus"').replace('"UTC"', '"Moon/Base"')
    assert len(refused(tmp_path, text)) == 2


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_regions(tmp_path / "nope.toml")


def test_after_call_settings_load_and_default(tmp_path: Path) -> None:
    text = GOOD.replace(
        "[regions.jp.hours]",
        'dispositions = ["follow_up", "other"]\nsurvey = false\nrouting = "fewest-calls"\n\n'
        "[regions.jp.hours]",
    )
    file = tmp_path / "regions.toml"
    file.write_text(text, encoding="utf-8")
    book = load_regions(file, ("en-US",), disposition_codes=DEFAULT_DISPOSITIONS)
    jp, world = book.regions["jp"], book.regions["global"]
    assert (jp.dispositions, jp.survey, jp.routing) == (
        ("follow_up", "other"),
        False,
        "fewest-calls",
    )
    assert world.survey and world.routing == "longest-idle" and len(world.dispositions) == 6


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ('routing = "random"', "unknown routing 'random'; known: longest-idle, round-robin"),
        ('dispositions = ["other", "other"]', "a code is listed twice"),
        ('dispositions = ["skipped"]', "'skipped' is what a call without a code is stored as"),
        ("dispositions = []", "at least 1 item"),
        ('dispositions = ["Refund!"]', "should match pattern"),
    ],
)
def test_broken_after_call_settings_are_refused_with_their_line(
    tmp_path: Path, setting: str, reason: str
) -> None:
    text = GOOD.replace("[regions.jp.hours]", f"{setting}\n\n[regions.jp.hours]")
    [problem] = refused(tmp_path, text)
    assert f"regions.toml:{line_of(text, setting)}:" in problem and reason in problem


def test_a_code_the_agent_line_cannot_say_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "[regions.jp.hours]", 'dispositions = ["other", "refund"]\n\n[regions.jp.hours]'
    )
    file = tmp_path / "regions.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_regions(file, ("en-US",), disposition_codes=DEFAULT_DISPOSITIONS)
    [problem] = [str(p) for p in caught.value.problems]
    assert f"regions.toml:{line_of(text, 'refund')}:" in problem
    assert "no prompt agent_line.dispositions.refund in prompts/en-US/agent_line.toml" in problem
