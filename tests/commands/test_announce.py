"""`ivr announce add|list|cancel` as an operator runs them, on a real SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ivr.commands.main import cli
from ivr.store import Store
from ivr.store.announcements import AnnouncementStore
from tests.support.repository import ROOT


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "IVR_REGIONS": str(ROOT / "regions.toml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "COLUMNS": "200",
    }


def announce(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["announce", *args], env=env)


def listed(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = announce(env, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_an_operator_sets_a_japanese_message_for_two_hours(env: dict[str, str]) -> None:
    before = datetime.now(UTC)
    result = announce(
        env,
        "add",
        "--region", "jp",
        "--language", "ja-JP",
        "--kind", "message",
        "--text", "本日、カード決済に遅れが出ています。",
        "--for", "2h",
        "--by", "aiko",
    )  # fmt: skip
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("announcement 1 set: jp ja-JP message '本日、")
    assert "+09:00; every replica plays it within 5 seconds" in result.stdout
    [row] = listed(env)
    assert (row["region"], row["language"], row["kind"], row["created_by"]) == (
        "jp",
        "ja-JP",
        "message",
        "aiko",
    )
    expires = datetime.fromisoformat(str(row["expires_at"]))
    assert before + timedelta(hours=2) <= expires <= after + timedelta(hours=2)


def test_closing_a_queue_until_a_local_time(env: dict[str, str]) -> None:
    until = (datetime.now(UTC) + timedelta(hours=3)).astimezone().isoformat(timespec="minutes")
    result = announce(env, "add", "--region", "us", "--kind", "closed", "--until", until)
    assert result.exit_code == 0, result.output
    assert "us (all languages) queues closed until" in result.stdout
    [row] = listed(env, "--region", "us")
    assert datetime.fromisoformat(str(row["expires_at"])) == datetime.fromisoformat(until)
    assert listed(env, "--region", "jp") == []


def test_a_message_for_all_languages_warns_about_voices(env: dict[str, str]) -> None:
    result = announce(
        env, "add", "--region", "jp", "--kind", "message", "--text", "Outage.", "--for", "1h"
    )
    assert result.exit_code == 0, result.output
    assert "read by each caller's own voice" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--kind", "message", "--for", "1h"], "--text: a message needs the text"),
        (["--kind", "message", "--text", "Hi " * 200, "--for", "1h"], "--text: about 40 seconds"),
        (["--kind", "closed", "--text", "Closed!", "--for", "1h"], "set a separate message"),
        (["--kind", "closed", "--for", "8d"], "--until/--for: at most 7 days"),
        (["--kind", "closed"], "--until/--for: give either an end time or a duration"),
        (["--kind", "closed", "--for", "2 hours"], "--for: expected a duration like"),
        (["--kind", "closed", "--until", "2026-12-02T18:00"], "--until: expected a time with"),
        (["--kind", "closed", "--until", "2020-01-01T00:00+00:00"], "must be after the start"),
        (["--kind", "paused", "--for", "1h"], "--kind: expected one of message, closed"),
        (["--kind", "closed", "--for", "1h", "--language", "ko-KR"], "--language: jp offers"),
    ],
)
def test_what_cannot_be_set_is_refused_with_the_option_to_fix(
    env: dict[str, str], args: list[str], complaint: str
) -> None:
    result = announce(env, "add", "--region", "jp", *args)
    assert result.exit_code == 2
    assert complaint in result.stderr
    assert listed(env) == []


def test_an_unknown_region_is_refused(env: dict[str, str]) -> None:
    result = announce(env, "add", "--region", "mars", "--kind", "closed", "--for", "1h")
    assert result.exit_code == 2 and "--region: unknown region 'mars'" in result.stderr


def test_the_list_shows_operator_text_as_typed(env: dict[str, str]) -> None:
    text = "[bold]Fees[/bold] & <limits> changed"
    added = announce(
        env, "add", "--region", "gb", "--kind", "message", "--text", text, "--for", "1h"
    )
    assert added.exit_code == 0, added.output
    result = announce(env, "list")
    assert result.exit_code == 0, result.output
    assert text in result.stdout
    assert "Set by" in result.stdout


def test_list_at_another_time(env: dict[str, str]) -> None:
    announce(env, "add", "--region", "gb", "--kind", "callback-only", "--for", "1h")
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert listed(env, "--at", later) == []
    assert len(listed(env, "--at", datetime.now(UTC).isoformat())) == 1
    assert announce(env, "list", "--at", "yesterday").exit_code == 2


@pytest.mark.slow
def test_cancel_ends_it_once(env: dict[str, str]) -> None:
    announce(env, "add", "--region", "gb", "--kind", "closed", "--for", "1h")
    result = announce(env, "cancel", "1", "--by", "kenji")
    assert result.exit_code == 0, result.output
    assert result.stdout == "announcement 1 cancelled: gb (all languages) queues closed\n"
    assert listed(env) == []
    store = Store.connect(env["IVR_DATABASE_URL"])
    try:
        found = AnnouncementStore(store.engine).get(1)
    finally:
        store.close()
    assert found is not None and found.cancelled_by == "kenji"
    again = announce(env, "cancel", "1")
    assert again.exit_code == 1 and "already expired or cancelled" in again.stderr
    unknown = announce(env, "cancel", "99")
    assert unknown.exit_code == 1 and "(unknown)" in unknown.stderr


def test_an_unreachable_database_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    env = {**env, "IVR_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test"}
    result = announce(env, "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("database: ") and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_the_notices_exist_in_every_language_and_ivr_check_names_a_gap(
    env: dict[str, str], tmp_path: Path
) -> None:
    import shutil

    from ivr.config.prompts import check_prompts, load_prompts

    catalogue = load_prompts(ROOT / "prompts")
    assert len(catalogue.languages) == 16
    assert [p for p in check_prompts(catalogue) if p.where.startswith("incident.")] == []
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "vi-VN" / "incident.toml").unlink()
    result = CliRunner().invoke(cli, ["check"], env={**env, "IVR_PROMPTS": str(prompts)})
    assert "incident.toml:2: incident.closed: missing in vi-VN" in result.stdout
    assert "incident.callback_only: missing in vi-VN" in result.stdout
