"""`ivr agents` as an operator runs it, on a real SQLite database: the PIN is asked without
echo or read from standard input, never taken as an argument, and only its hash is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.commands.main import cli
from ivr.engine.agent_line import budget_window
from ivr.store import Store
from ivr.store.agents import AgentStore, Credentials
from ivr.store.passwords import verify_secret
from tests.support.repository import ROOT

ADD_LI = ["agents", "add", "li.wei", "--phone", "+8613900001111", "--language", "zh-CN"]
ADD_LI += ["--language", "en-US", "--region", "cn", "--region", "sg"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "IVR_REGIONS": str(ROOT / "regions.toml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def credentials(env: dict[str, str], phone: str) -> Credentials | None:
    store = Store.connect(env["IVR_DATABASE_URL"])
    try:
        return AgentStore(store.engine).pin_check(phone, budget_window(datetime.now(UTC))).agent
    finally:
        store.close()


@pytest.mark.slow
def test_an_agent_is_added_with_a_pin_asked_twice_without_echo(env: dict[str, str]) -> None:
    code, out, _ = run(env, *ADD_LI, stdin="135792\n135792\n")
    assert code == 0
    assert "PIN (6 to 12 digits): \nRepeat for confirmation: \n" in out
    assert "135792" not in out
    assert out.endswith(
        "agent li.wei added: phones +86 ••• ••1111; languages zh-CN, en-US; regions cn, sg\n"
    )
    found = credentials(env, "+8613900001111")
    assert found is not None and verify_secret("135792", found.pin_hash)
    assert "135792" not in found.pin_hash


def test_a_pin_can_come_from_standard_input_but_never_from_an_argument(
    env: dict[str, str],
) -> None:
    code, _, err = run(env, *ADD_LI, "--pin", "135792")
    assert code == 2 and "No such option: --pin" in err
    code, out, _ = run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    assert code == 0 and "PIN" not in out.split("agent li.wei added")[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--phone", "12345"], "--phone: '12345' is not a valid number"),
        (["--language", "fr-FR"], "--language: unknown language 'fr-FR'"),
        (["--region", "mars"], "--region: no region 'mars' in the regions file"),
        (["--language", "ja-JP:6"], "--language: 'ja-JP:6': a level is 1 to 5"),
        (["--language", "ko-KR@cn:4"], "--language: 'ko-KR@cn': list the language ko-KR too"),
        (["--language", "zh-CN@jp:4"], "--language: 'zh-CN@jp': 'jp' is not one of the agent's"),
    ],
)
def test_bad_phones_languages_and_regions_are_refused_before_any_pin(
    env: dict[str, str], change: list[str], message: str
) -> None:
    code, _, err = run(env, *ADD_LI, *change, "--pin-stdin", stdin="135792\n")
    assert code == 2 and message in err
    assert run(env, "agents", "list", "--json")[1] == "[]\n"


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "12345a", ""])
def test_a_pin_must_be_six_to_twelve_digits(env: dict[str, str], pin: str) -> None:
    code, _, err = run(env, *ADD_LI, "--pin-stdin", stdin=pin + "\n")
    assert code == 2 and "PIN: use 6 to 12 digits" in err


@pytest.mark.slow
@pytest.mark.parametrize("pin", ["12345", "1234", "12345a", ""])
def test_a_new_pin_shorter_than_six_digits_is_refused_and_the_old_one_kept(
    env: dict[str, str], pin: str
) -> None:
    run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    code, out, err = run(env, "agents", "set-pin", "li.wei", "--pin-stdin", stdin=pin + "\n")
    assert code == 2 and "PIN: use 6 to 12 digits" in err and "new PIN set" not in out
    found = credentials(env, "+8613900001111")
    assert found is not None and verify_secret("135792", found.pin_hash)


WEAK_PINS = [
    ("000000", "one digit repeated"),
    ("111111111111", "one digit repeated"),
    ("123456", "a run of digits up or down"),
    ("654321", "a run of digits up or down"),
    ("012345", "a run of digits up or down"),
    ("7890123", "a run of digits up or down"),
    ("001111", "part of the agent's own phone number"),  # +86 139 0000 1111
    ("13900001111", "part of the agent's own phone number"),
]


@pytest.mark.parametrize(("pin", "why"), WEAK_PINS)
def test_a_pin_anyone_would_try_first_is_refused_with_the_reason(
    env: dict[str, str], pin: str, why: str
) -> None:
    code, out, err = run(env, *ADD_LI, "--pin-stdin", stdin=pin + "\n")
    assert code == 2 and f"PIN: too easy to guess: it is {why}; choose another" in err
    assert pin not in out + err
    assert run(env, "agents", "list", "--json")[1] == "[]\n"


@pytest.mark.slow
@pytest.mark.parametrize(("pin", "why"), WEAK_PINS)
def test_a_new_pin_anyone_would_try_first_is_refused_and_the_old_one_kept(
    env: dict[str, str], pin: str, why: str
) -> None:
    run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    code, out, err = run(env, "agents", "set-pin", "li.wei", "--pin-stdin", stdin=pin + "\n")
    assert code == 2 and f"PIN: too easy to guess: it is {why}" in err and "new PIN set" not in out
    found = credentials(env, "+8613900001111")
    assert found is not None and verify_secret("135792", found.pin_hash)


@pytest.mark.slow
def test_another_agents_number_is_no_reason_to_refuse_a_pin(env: dict[str, str]) -> None:
    run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    other = ["agents", "add", "amy", "--phone", "+12025550123", "--language", "en-US"]
    assert run(env, *other, "--region", "*", "--pin-stdin", stdin="900001\n")[0] == 0


def test_set_pin_for_nobody_says_so_before_asking_for_a_pin(env: dict[str, str]) -> None:
    code, out, err = run(env, "agents", "set-pin", "nobody")
    assert code == 1 and "no agent named 'nobody'" in err and "PIN" not in out


@pytest.mark.slow
def test_a_second_agent_with_the_same_name_or_phone_is_refused(env: dict[str, str]) -> None:
    assert run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")[0] == 0
    code, _, err = run(env, *ADD_LI, "--pin-stdin", stdin="246810\n")
    assert code == 1 and "there is already an agent named 'li.wei'" in err
    other = ["agents", "add", "amy", "--phone", "+8613900001111", "--language", "en-US"]
    code, _, err = run(env, *other, "--region", "*", "--pin-stdin", stdin="246810\n")
    assert code == 1 and "+8613900001111 is already 'li.wei''s phone" in err


def test_the_list_shows_masked_phones_and_states_never_a_pin(env: dict[str, str]) -> None:
    run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    code, out, _ = run(env, "agents", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "name": "li.wei",
            "phones": ["+86 ••• ••1111"],
            "languages": ["zh-CN", "en-US"],
            "regions": ["cn", "sg"],
            "state": "offline",
            "since": None,
            "locked_until": None,
        }
    ]
    assert "scrypt" not in run(env, "agents", "list")[1]


@pytest.mark.slow
def test_lock_unlock_set_pin_and_remove(env: dict[str, str]) -> None:
    run(env, *ADD_LI, "--pin-stdin", stdin="135792\n")
    code, out, _ = run(env, "agents", "lock", "li.wei", "--minutes", "30")
    assert code == 0 and out.startswith("agent li.wei locked until ")
    assert json.loads(run(env, "agents", "list", "--json")[1])[0]["locked_until"] is not None
    assert run(env, "agents", "unlock", "li.wei")[1] == "agent li.wei unlocked\n"
    code, _, _ = run(env, "agents", "set-pin", "li.wei", "--pin-stdin", stdin="975310\n")
    found = credentials(env, "+8613900001111")
    assert code == 0 and found is not None and verify_secret("975310", found.pin_hash)
    assert run(env, "agents", "remove", "li.wei")[1] == "agent li.wei removed\n"
    for command in (["remove"], ["unlock"], ["lock"]):
        code, _, err = run(env, "agents", *command, "li.wei")
        assert code == 1 and "no agent named 'li.wei'" in err


def test_skill_levels_are_kept_per_language_and_region_and_can_be_set_again(
    env: dict[str, str],
) -> None:
    levelled = ["--language", "zh-CN:5", "--language", "zh-CN@sg:2", "--language", "en-US"]
    add = ["agents", "add", "li.wei", "--phone", "+8613900001111", *levelled]
    code, out, _ = run(
        env, *add, "--region", "cn", "--region", "sg", "--pin-stdin", stdin="135792\n"
    )
    assert code == 0
    assert out.endswith("languages zh-CN:5, en-US, zh-CN@sg:2; regions cn, sg\n")
    store = Store.connect(env["IVR_DATABASE_URL"])
    try:
        skills = AgentStore(store.engine).get("li.wei").skills  # type: ignore[union-attr]
        assert skills.level("cn", "zh-CN") == 5 and skills.level("sg", "zh-CN") == 2
        assert skills.level("cn", "en-US") == 3 and skills.level("jp", "zh-CN") is None
        code, out, _ = run(env, "agents", "set", "li.wei", "--language", "en-US:4", "--region", "*")
        assert (
            code == 0
            and out == "agent li.wei set: phones +86 ••• ••1111; languages en-US:4; regions *\n"
        )
        skills = AgentStore(store.engine).get("li.wei").skills  # type: ignore[union-attr]
        assert skills.level("jp", "en-US") == 4 and skills.level("cn", "zh-CN") is None
    finally:
        store.close()
    code, _, err = run(env, "agents", "set", "nobody", "--language", "en-US", "--region", "us")
    assert code == 1 and "no agent named 'nobody'" in err
