"""`ivr dispatch` and `ivr purge` as an operator runs them, against Twilio's REST API played by
the emulator (Twilio's own client, real HTTP) and a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.commands.main import cli
from ivr.emulator import Switch
from ivr.store import Store
from ivr.store.migrate import upgrade
from tests.support.repository import ROOT

TOKEN = "operator-test-token"
CALLER = "+819012345678"


@pytest.fixture
def emulated_twilio() -> Iterator[Switch]:
    # Only the REST API is used: the webhooks' base URL is never called.
    with Switch("http://127.0.0.1:9", auth_token=TOKEN) as switch:
        switch.serve_rest()
        yield switch


@pytest.fixture
def store_and_url(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    store = Store.connect(url)
    upgrade(store.engine)
    yield store, url
    store.close()


def environment(switch: Switch, url: str, **extra: str) -> dict[str, str]:
    return {
        "IVR_REGIONS": str(ROOT / "regions.toml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_DATABASE_URL": url,
        "IVR_PUBLIC_URL": "https://ivr.example.com",
        "TWILIO_ACCOUNT_SID": switch.account_sid,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_TWILIO_API_URL": switch.rest_url,
        **extra,
    }


def test_dispatch_refuses_to_run_without_twilio_credentials(
    store_and_url: tuple[Store, str],
) -> None:
    _, url = store_and_url
    env = {
        "IVR_REGIONS": str(ROOT / "regions.toml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_DATABASE_URL": url,
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
    }
    result = CliRunner().invoke(cli, ["dispatch", "--once"], env=env)
    assert result.exit_code == 2
    assert "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.output


@pytest.mark.slow
def test_dispatch_texts_a_caller_whose_callback_expired(
    emulated_twilio: Switch, store_and_url: tuple[Store, str]
) -> None:
    store, url = store_and_url
    now = datetime.now(UTC)
    store.callbacks.book("CA" + "1" * 32, CALLER, "jp", "ja-JP", "pending", "314159", now)
    callback = store.callbacks.claim("jp", now, timedelta(minutes=15))
    assert callback is not None
    store.callbacks.attempt_ended(callback.id, "", "busy", now, attempts=1, retry_after=600)

    result = CliRunner().invoke(cli, ["dispatch", "--once"], env=environment(emulated_twilio, url))
    assert result.exit_code == 0, result.output
    [text] = emulated_twilio.messages
    assert (text.to, text.from_) == (CALLER, "+81345678901")
    assert "314159" in text.body and "https://help.example.com/chat?region=jp" in text.body
    sent = store.callbacks.get(callback.id)
    assert sent is not None and sent.note_sent_at is not None and not sent.note_due

    again = CliRunner().invoke(cli, ["dispatch", "--once"], env=environment(emulated_twilio, url))
    assert again.exit_code == 0 and len(emulated_twilio.messages) == 1  # one text, not one per pass


@pytest.mark.slow
def test_purge_deletes_old_records_and_their_recordings_at_twilio(
    emulated_twilio: Switch, store_and_url: tuple[Store, str]
) -> None:
    store, url = store_and_url
    old = datetime.now(UTC) - timedelta(days=100)
    recent = datetime.now(UTC) - timedelta(days=10)
    for sid, at in (("CA" + "a" * 32, old), ("CA" + "b" * 32, recent)):
        store.record_status(sid, CALLER, "completed", 60, at)
        store.voicemails.save(
            "RE" + sid[2:], sid, "https://api.twilio.com/rec", 12, CALLER, "jp", "ja-JP", None, at
        )
    result = CliRunner().invoke(
        cli, ["purge", "--older-than", "90d"], env=environment(emulated_twilio, url)
    )
    assert result.exit_code == 0, result.output
    assert (
        "deleted 1 calls, 0 callbacks, 1 voicemails, 0 survey comments; kept 0 voicemails, 0 survey comments"
        in result.output
    )
    assert store.call("CA" + "a" * 32) is None and store.call("CA" + "b" * 32) is not None
    assert store.voicemails.get("RE" + "a" * 32) is None
    assert store.voicemails.get("RE" + "b" * 32) is not None


@pytest.mark.slow
def test_purge_without_credentials_keeps_voicemails(
    emulated_twilio: Switch, store_and_url: tuple[Store, str]
) -> None:
    store, url = store_and_url
    old = datetime.now(UTC) - timedelta(days=100)
    store.voicemails.save(
        "RE" + "c" * 32, "CA" + "c" * 32, "https://x", 5, CALLER, "jp", "ja-JP", None, old
    )
    env = {**environment(emulated_twilio, url), "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
    result = CliRunner().invoke(cli, ["purge", "--older-than", "12w"], env=env)
    assert result.exit_code == 0, result.output
    assert "kept 1 voicemails" in result.output
    assert store.voicemails.get("RE" + "c" * 32) is not None


@pytest.mark.slow
@pytest.mark.parametrize("age", ["90", "90x", "0d", "-5d", "d", "٣d"])
def test_purge_refuses_an_unclear_age(age: str, store_and_url: tuple[Store, str]) -> None:
    result = CliRunner().invoke(cli, ["purge", "--older-than", age])
    assert result.exit_code == 2
    assert "--older-than" in result.output


def test_a_bad_account_sid_is_named_by_its_variable(store_and_url: tuple[Store, str]) -> None:
    _, url = store_and_url
    env = {"IVR_DATABASE_URL": url, "TWILIO_ACCOUNT_SID": "not-a-sid"}
    result = CliRunner().invoke(cli, ["dispatch", "--once"], env=env)
    assert result.exit_code == 2
    assert result.output.startswith("environment: TWILIO_ACCOUNT_SID: String should match")
