"""`ivr check`'s usability warnings, each naming where to fix it, and the way to an agent."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from twilio.twiml.voice_response import VoiceResponse

from ivr.checks.budgets import line_times, prompt_seconds
from ivr.checks.warnings import (
    LONGEST_WAY_TO_AGENT_SECONDS,
    CheckInput,
    Finding,
    Kind,
    long_prompts,
    missing_prompts,
    never_open,
    run_checks,
    voices,
    ways_to_agents,
)
from ivr.config.languages import LANGUAGES
from ivr.config.loading import load_config
from ivr.config.settings import Settings
from ivr.config.tomlfile import load_toml
from ivr.emulator import Switch
from ivr.engine.steps import Say
from tests.support.moments import instant
from tests.support.repository import ROOT

# Monday 2 March 2026; the sample's regions are all open at some hour that week.
MONDAY = "2026-03-02T00:00+00:00"
WORLD = """\
[regions.global]
name = "International"
hotlines = ["+12025550199"]
timezone = "UTC"
languages = ["en-US"]
email = "support@example.com"
chat_url = "https://help.example.com/chat"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"] }
"""


BEFORE = ROOT / "docs" / "flows" / "before.toml"  # the sample menus before the budgets


def check_of(
    regions: Path = ROOT / "regions.toml",
    prompts: Path = ROOT / "prompts",
    at: str = MONDAY,
    flows: Path = ROOT / "flows.toml",
    **changes: object,
) -> CheckInput:
    settings = Settings(regions=regions, prompts=prompts, flows=flows, _env_file=None)
    inputs = CheckInput(load_config(settings), instant(at), load_toml(regions))
    return replace(inputs, **changes) if changes else inputs  # type: ignore[arg-type]


def regions_file(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "regions.toml"
    file.write_text(text, encoding="utf-8")
    return file


def prompts_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "prompts", tmp_path / "prompts"))


def line_of(file: Path, needle: str) -> int:
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def of_kind(findings: list[Finding], kind: Kind) -> list[Finding]:
    return [finding for finding in findings if finding.kind is kind]


# -- the sample ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample() -> CheckInput:
    return check_of()


@pytest.mark.slow
def test_the_sample_has_every_prompt_a_fitting_voice_and_open_hours(sample: CheckInput) -> None:
    findings = run_checks(sample)
    for kind in (Kind.MISSING_PROMPT, Kind.LONG_PROMPT, Kind.VOICE, Kind.NEVER_OPEN):
        assert of_kind(findings, kind) == [], kind


@pytest.mark.slow
def test_no_menu_of_the_sample_offers_more_than_five_choices(sample: CheckInput) -> None:
    assert of_kind(run_checks(sample), Kind.MENU_CHOICES) == []


@pytest.mark.slow
def test_the_old_main_menu_offered_six_choices_everywhere() -> None:
    [finding] = of_kind(run_checks(check_of(flows=BEFORE)), Kind.MENU_CHOICES)
    assert finding.where == "menu main"
    assert finding.message.startswith("6 choices (1 2 3 4 9 0), more than 5 in every region")


@pytest.mark.slow
def test_mainland_china_reaches_an_agent_with_0_in_the_language_menu(sample: CheckInput) -> None:
    way = next(w for w in ways_to_agents(sample) if (w.region, w.language) == ("cn", "zh-CN"))
    assert way.keys == ("0",) and way.queue == "cn-zh-CN"
    # Keys work from the first word, and "press 0" ends the language menu's short list.
    assert way.without_keys == 0 and way.agent_named < 15 and way.to_queue < 30


@pytest.mark.slow
def test_a_one_language_region_needs_one_key(sample: CheckInput) -> None:
    way = next(w for w in ways_to_agents(sample) if w.region == "gb")
    assert way.keys == ("0",) and way.queue == "gb-en-GB"


@pytest.mark.slow
def test_every_region_and_language_has_a_way_to_an_agent(sample: CheckInput) -> None:
    ways = {(way.region, way.language) for way in ways_to_agents(sample)}
    regions = sample.config.regions.regions.values()
    assert ways == {(region.id, language) for region in regions for language in region.languages}


@pytest.mark.slow
def test_a_long_way_to_an_agent_is_a_warning_at_the_regions_line() -> None:
    old = check_of(flows=BEFORE)
    findings = of_kind(run_checks(old), Kind.WAY_TO_AGENT)
    long_ways = {
        (w.region, w.language)
        for w in ways_to_agents(old)
        if round(w.to_queue) > LONGEST_WAY_TO_AGENT_SECONDS
    }
    assert {tuple(f.where.removeprefix("regions.").split()) for f in findings} == long_ways
    korean = next(f for f in findings if f.where == "regions.kr ko-KR")
    regions = ROOT / "regions.toml"
    assert (korean.file, korean.line) == (regions, line_of(regions, "[regions.kr]"))


# -- prompts ---------------------------------------------------------------------------------
def test_a_language_missing_a_key_names_the_reference_line(tmp_path: Path) -> None:
    prompts = prompts_copy(tmp_path)
    channels = prompts / "ja-JP" / "channels.toml"
    text = channels.read_text(encoding="utf-8").splitlines(keepends=True)
    channels.write_text("".join(line for line in text if not line.startswith("title")), "utf-8")
    [finding] = run_checks(check_of(prompts=prompts), [missing_prompts])
    reference = prompts / "en-US" / "channels.toml"
    where = f"{reference}:{line_of(reference, 'title')}"
    assert str(finding) == f"{where}: channels.title: missing in ja-JP"


@pytest.mark.slow
def test_a_prompt_longer_than_twenty_seconds_names_its_file_and_line(tmp_path: Path) -> None:
    prompts = prompts_copy(tmp_path)
    common = prompts / "en-GB" / "common.toml"
    long_line = "Please listen carefully, because our menu options have changed recently. " * 5
    common.write_text(
        common.read_text(encoding="utf-8") + f'long_notice = "{long_line}"\n', "utf-8"
    )
    prompts.joinpath("en-US", "common.toml").write_text(
        prompts.joinpath("en-US", "common.toml").read_text("utf-8") + 'long_notice = "Hi."\n',
        "utf-8",
    )
    findings = run_checks(check_of(prompts=prompts), [long_prompts])
    assert [(f.file, f.line, f.where) for f in findings] == [
        (common, line_of(common, "long_notice"), "common.long_notice")
    ]
    assert findings[0].message.startswith("about 24 s of speech in one line")


@pytest.mark.slow
def test_one_long_step_of_a_guidance_is_named_by_its_index(tmp_path: Path) -> None:
    prompts = prompts_copy(tmp_path)
    password = prompts / "de-DE" / "password.toml"
    text = password.read_text(encoding="utf-8")
    start = text.index("steps = [") + len("steps = [")
    long_step = '"' + "Öffnen Sie die App und tippen Sie auf Anmelden. " * 8 + '", '
    password.write_text(text[:start] + long_step + text[start:], "utf-8")
    [finding] = run_checks(check_of(prompts=prompts), [long_prompts])
    assert finding.where == "password.steps[0]" and finding.file == password
    assert finding.line == line_of(password, "steps = [")


# -- voices ----------------------------------------------------------------------------------
def test_a_voice_that_cannot_speak_its_language_is_reported_where_it_is_offered(
    sample: CheckInput,
) -> None:
    english_voice = replace(LANGUAGES["zh-CN"], voice="Polly.Joanna")
    inputs = replace(sample, languages={**LANGUAGES, "zh-CN": english_voice})
    [finding] = of_kind(run_checks(inputs, [voices]), Kind.VOICE)
    regions = ROOT / "regions.toml"
    assert (finding.file, finding.line) == (regions, line_of(regions, 'languages = ["zh-CN"'))
    assert finding.message == "Polly.Joanna speaks en-US, not cmn-CN"


def test_an_unknown_voice_is_reported(sample: CheckInput) -> None:
    typo = replace(LANGUAGES["ja-JP"], voice="Polly.Mizukki")
    inputs = replace(sample, languages={**LANGUAGES, "ja-JP": typo})
    [finding] = run_checks(inputs, [voices])
    assert finding.where == "ja-JP" and "Polly.Mizukki is not a Twilio voice" in finding.message


def test_chinese_pasted_into_a_korean_prompt_is_reported(tmp_path: Path) -> None:
    prompts = prompts_copy(tmp_path)
    main = prompts / "ko-KR" / "main.toml"
    text = main.read_text(encoding="utf-8")
    start = text.index('title = "') + len('title = "')
    main.write_text(text[:start] + "主菜单。" + text[start:], "utf-8")
    [finding] = run_checks(check_of(prompts=prompts), [voices])
    assert (finding.file, finding.line, finding.where) == (main, 1, "main.title")
    assert finding.message == "han text, which a ko-KR voice cannot read"


# -- hours -----------------------------------------------------------------------------------
def test_a_region_without_hours_is_never_open(tmp_path: Path) -> None:
    file = regions_file(tmp_path, WORLD + NIGHT_SHIFT.format(hours=""))
    [finding] = run_checks(check_of(file), [never_open])
    assert finding.where == "regions.ops" and (finding.file, finding.line) == (file, 10)
    assert finding.message.startswith("agents never open in the next 366 days")


def test_holidays_on_every_opening_day_of_the_year_leave_a_region_never_open(
    tmp_path: Path,
) -> None:
    # Open on Mondays only, and every Monday from March 2026 to March 2027 is a holiday.
    mondays = ", ".join(_monday(week) for week in range(53))
    hours = f'hours = {{ mon = ["09:00-17:00"] }}\nholidays = {{ dates = [{mondays}] }}\n'
    file = regions_file(tmp_path, WORLD + NIGHT_SHIFT.format(hours=hours))
    [finding] = run_checks(check_of(file), [never_open])
    assert finding.where == "regions.ops"
    assert finding.line == line_of(file, 'hours = { mon = ["09:00-17:00"] }')


def test_one_special_day_within_the_year_is_enough(tmp_path: Path) -> None:
    hours = 'special_days = { 2027-02-26 = ["10:00-12:00"] }\n'
    file = regions_file(tmp_path, WORLD + NIGHT_SHIFT.format(hours=hours))
    inputs = check_of(file)
    assert run_checks(inputs, [never_open]) == []
    way = next(w for w in ways_to_agents(inputs) if w.region == "ops")
    assert way.at == instant("2027-02-26T10:00+01:00") and way.queue == "ops-de-DE"


def _monday(week: int) -> str:
    from datetime import date, timedelta

    return (date(2026, 3, 2) + timedelta(weeks=week)).isoformat()


NIGHT_SHIFT = """
[regions.ops]
name = "Operations"
hotlines = ["+493012345678"]
countries = ["DE"]
timezone = "Europe/Berlin"
languages = ["de-DE", "en-GB"]
email = "ops@example.com"
chat_url = "https://help.example.com/chat"
{hours}"""


# -- menus -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_six_languages_on_one_line_is_a_long_language_menu(tmp_path: Path) -> None:
    six = '["de-DE", "en-GB", "es-ES", "tr-TR", "pt-BR", "vi-VN"]'
    text = WORLD + NIGHT_SHIFT.format(hours='hours = { mon = ["09:00-17:00"] }\n').replace(
        '["de-DE", "en-GB"]', six
    )
    file = regions_file(tmp_path, text)
    findings = of_kind(run_checks(check_of(file)), Kind.MENU_CHOICES)
    language_menu = next(f for f in findings if f.where == "menu lang")
    assert (language_menu.file, language_menu.line) == (file, line_of(file, six))
    assert language_menu.message.startswith("7 choices (1 2 3 4 5 6 0), more than 5 for ops de-DE")


# -- the way to an agent ---------------------------------------------------------------------
def test_the_way_to_an_agent_follows_the_fewest_keys_then_the_fewest_seconds(
    sample: CheckInput,
) -> None:
    # Hong Kong offers Cantonese, English and Mandarin: Mandarin callers press 3, then 0.
    walk = next(w for w in sample.open_walks if (w.region.id, w.language) == ("hk", "zh-CN"))
    way = line_times(walk)
    assert way is not None and way.keys == ("3", "0") and way.queue == "hk-zh-CN"


@pytest.mark.parametrize(
    "line",
    [
        Say("日本語をご希望の方は、1を押してください。", "ja-JP"),
        Say("अगर आप अपना पासवर्ड भूल गए हैं, तो 1 दबाएँ, या बोलें: पासवर्ड।", "hi-IN"),
        Say("忘记密码，请按1，或说“密码”。", "zh-CN"),
        Say("If you forgot your password, press 1, or say: password.", "en-US"),
    ],
    ids=["ja-JP", "hi-IN", "zh-CN", "en-US"],
)
def test_check_times_a_line_as_long_as_the_emulator_plays_it(line: Say) -> None:
    twiml = VoiceResponse()
    twiml.say(line.text)
    with Switch("http://127.0.0.1:9", status_path=None) as switch:  # nothing is fetched
        call = switch.dial_twiml(str(twiml), from_="+81312345678")
    [said, ended] = [e.t for e in call.events if e.to_json()["type"] in ("say", "status")]
    assert ended - said == pytest.approx(prompt_seconds(line))
