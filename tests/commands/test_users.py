"""`ivr users add|list|remove|passwd` on a real database; passwords never on the command line."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from ivr.commands.main import cli
from ivr.store.passwords import verify_secret
from ivr.store.users import UserStore
from tests.support.repository import ROOT

PASSWORD = "correct horse battery"


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    monkeypatch.setenv("IVR_DATABASE_URL", url)
    return url


def users(*args: str, password: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["users", *args], input=None if password is None else password + "\n"
    )
    return result.exit_code, result.output


def stored(url: str) -> UserStore:
    return UserStore(create_engine(url))


def test_a_user_added_with_a_password_on_stdin_is_kept_as_a_hash(database_url: str) -> None:
    assert users("add", "ana", password=PASSWORD) == (0, "added user ana\n")
    record = stored(database_url).get("ana")
    assert record is not None and record.password_hash.startswith("scrypt$")
    assert PASSWORD not in record.password_hash
    assert verify_secret(PASSWORD, record.password_hash)


@pytest.mark.slow
def test_the_list_shows_names_never_passwords(database_url: str) -> None:
    users("add", "ana", password=PASSWORD)
    users("add", "bo.chen", password="another long password")
    code, output = users("list", "--json")
    assert code == 0
    listed = json.loads(output)
    assert [row["name"] for row in listed] == ["ana", "bo.chen"]
    assert set(listed[0]) == {"name", "created_at"}
    code, table = users("list")
    assert code == 0 and "ana" in table and "bo.chen" in table and "scrypt" not in table


def test_a_name_is_taken_once(database_url: str) -> None:
    users("add", "ana", password=PASSWORD)
    code, output = users("add", "ana", password=PASSWORD)
    assert code == 1 and "already exists" in output


def test_short_passwords_and_odd_names_are_refused(database_url: str) -> None:
    code, output = users("add", "ana", password="short")
    assert code == 2 and "12 to 1024 characters" in output
    code, output = users("add", "ana lima", password=PASSWORD)
    assert code == 2 and "user name" in output
    assert users("list", "--json") == (0, "[]\n")


def test_the_password_is_never_an_argument(database_url: str) -> None:
    code, output = users("add", "ana", "--password", PASSWORD)
    assert code == 2 and "No such option" in output


@pytest.mark.slow
def test_a_new_password_replaces_the_old(database_url: str) -> None:
    users("add", "ana", password=PASSWORD)
    assert users("passwd", "ana", password="a brand new password")[0] == 0
    record = stored(database_url).get("ana")
    assert record is not None
    assert verify_secret("a brand new password", record.password_hash)
    assert not verify_secret(PASSWORD, record.password_hash)
    assert users("passwd", "nobody", password="a brand new password")[0] == 1


@pytest.mark.slow
def test_removing_a_user(database_url: str) -> None:
    users("add", "ana", password=PASSWORD)
    assert users("remove", "ana") == (0, "removed user ana\n")
    assert stored(database_url).get("ana") is None
    code, output = users("remove", "ana")
    assert code == 1 and "no user 'ana'" in output


def read_some(terminal: int) -> bytes:
    """What the command wrote next ("" once it exited); fails after 30 s of silence."""
    ready, _, _ = select.select([terminal], [], [], 30)
    assert ready, "the command said nothing for 30 s"
    try:
        return os.read(terminal, 1024)
    except OSError:  # EIO: the command exited and the terminal closed
        return b""


@pytest.mark.slow
def test_on_a_terminal_the_password_is_asked_twice_and_not_echoed(database_url: str) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivr.commands.main", "users", "add", "ana"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "IVR_DATABASE_URL": database_url},
    )
    os.close(follower)
    seen = b""
    try:
        # click writes the prompt, then getpass flushes pending input and writes a space:
        # typing before that space would be thrown away.
        for prompt in (b"Password: ", b"Repeat for confirmation: "):
            while not seen.endswith(prompt):
                seen += read_some(leader)
            os.write(leader, PASSWORD.encode() + b"\r")
        while chunk := read_some(leader):
            seen += chunk
        assert process.wait(timeout=30) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    text = seen.decode()
    assert PASSWORD not in text and "added user ana" in text
    record = stored(database_url).get("ana")
    assert record is not None and verify_secret(PASSWORD, record.password_hash)
