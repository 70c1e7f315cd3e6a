"""The prompt catalogue: complete in every language, fallbacks spoken in the right voice."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config.languages import LANGUAGES
from ivr.config.prompts import REFERENCE_LANGUAGE, Catalogue, Entry, check_prompts, load_prompts
from ivr.config.regions import RegionBook
from ivr.config.tomlfile import ConfigError


def test_every_language_has_every_prompt(catalogue: Catalogue) -> None:
    assert [str(problem) for problem in check_prompts(catalogue)] == []


def test_every_known_language_has_prompts(catalogue: Catalogue) -> None:
    assert catalogue.languages == set(LANGUAGES)


def test_every_region_language_has_prompts(book: RegionBook, catalogue: Catalogue) -> None:
    offered = {language for region in book.regions.values() for language in region.languages}
    assert offered <= catalogue.languages


def test_english_and_mandarin_are_written_natively(catalogue: Catalogue) -> None:
    english = catalogue.line("en-US", "main.password", "en-US", key="1").text
    mandarin = catalogue.line("zh-CN", "main.password", "zh-CN", key="1").text
    assert english == "If you forgot your password, press 1, or say: password."
    assert mandarin == "忘记密码，请按1，或说“密码”。"


def test_safety_notice_names_every_secret_in_each_language(catalogue: Catalogue) -> None:
    english = catalogue.line("en-US", "common.safety", "en-US").text
    for secret in ("password", "recovery phrase", "private key", "verification code"):
        assert secret in english
    mandarin = catalogue.line("zh-CN", "common.safety", "zh-CN").text
    for secret in ("密码", "助记词", "私钥", "验证码"):
        assert secret in mandarin


def _catalogue(entries: dict[str, dict[str, str]]) -> Catalogue:
    file = Path("prompts.toml")
    return Catalogue(
        {lang: {k: Entry(v, file) for k, v in keys.items()} for lang, keys in entries.items()}
    )


def test_missing_key_falls_back_to_the_regions_default_language_and_its_voice() -> None:
    catalogue = _catalogue(
        {"en-US": {"a.b": "Hello"}, "zh-CN": {"a.b": "你好"}, "ja-JP": {"other": "x"}}
    )
    line = catalogue.line("ja-JP", "a.b", "zh-CN")
    assert (line.text, line.language) == ("你好", "zh-CN")
    reference = catalogue.line("ja-JP", "a.b", "ko-KR")
    assert (reference.text, reference.language) == ("Hello", REFERENCE_LANGUAGE)


def test_check_reports_missing_keys_and_placeholder_mismatches() -> None:
    catalogue = _catalogue(
        {"en-US": {"m.x": "press {key}", "m.y": "hi"}, "de-DE": {"m.x": "drücken Sie"}}
    )
    reasons = sorted(problem.reason for problem in check_prompts(catalogue))
    assert reasons == ["missing in de-DE", "placeholders differ from en-US (expected: key)"]


def write(directory: Path, language: str, area: str, text: str) -> None:
    (directory / language).mkdir(parents=True, exist_ok=True)
    (directory / language / f"{area}.toml").write_text(text, encoding="utf-8")


def test_translation_losing_a_placeholder_is_refused_at_load(tmp_path: Path) -> None:
    write(tmp_path, "en-US", "main", 'title = "Menu"\nagent = "For an agent, press {key}."\n')
    write(tmp_path, "zh-CN", "main", 'title = "菜单"\nagent = "人工服务，请按零。"\n')
    with pytest.raises(ConfigError) as caught:
        load_prompts(tmp_path)
    [problem] = caught.value.problems
    assert str(problem).endswith(
        "zh-CN/main.toml:2: main.agent: placeholders differ from en-US (expected: key)"
    )


def test_unknown_language_directory_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "en-US", "main", 'title = "Menu"\n')
    write(tmp_path, "xx-YY", "main", 'title = "?"\n')
    with pytest.raises(ConfigError, match="unknown language directory 'xx-YY'"):
        load_prompts(tmp_path)


def test_non_text_prompt_is_refused_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "en-US", "main", 'title = "Menu"\ncount = 3\n')
    with pytest.raises(ConfigError, match=r"main.toml:2: count: a prompt is text"):
        load_prompts(tmp_path)
