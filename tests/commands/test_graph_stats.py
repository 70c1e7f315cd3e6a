"""`ivr graph --stats` on a real store: call records written the way the webhooks keep them,
counted on the drawn menus."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner, Result

from ivr.commands.main import cli
from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.databases import POSTGRES_URL
from tests.support.moments import instant

AT = "2026-03-02T10:00+00:00"  # Monday morning in London: agents open
CALLER = "+447700900123"
LINE = "+442079460000"
# A question's box in `ivr graph --stats --format dot`: its counts line, and its pen if any.
BOX = re.compile(
    r'"gb en-GB/(?P<box>[^"]+)" \[label=".*\\n(?P<counts>\d+ reached · \d+ served · \d+ left)"'
    r"(?P<pen>, penwidth=.*)?\];"
)
ZERO = "0 reached · 0 served · 0 left"


def database_url(store: Store) -> str:
    """The URL `ivr` reaches `store`'s database with (its own schema, in PostgreSQL)."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def graph(url: str, *args: str) -> Result:
    command = ["graph", "--region", "gb", "--at", AT, *args]
    return CliRunner().invoke(cli, command, env={"IVR_DATABASE_URL": url})


def answered(store: Store, n: int, path: str, started: datetime) -> str:
    """Call `n` rang in at `started` and answered `path` one question a minute, as the
    incoming and menu webhooks record it."""
    call_sid = f"CA{n:032d}"
    store.record_step(call_sid, CALLER, "gb", None, "incoming", "", started)
    for minute, choice in enumerate(path.split(), start=1):
        at = started + timedelta(minutes=minute)
        store.record_step(call_sid, CALLER, "gb", "en-GB", f"step {minute}", choice, at)
    return call_sid


def fill(store: Store) -> None:
    now = instant(AT)
    # Two callers read the password guidance; one went back to the main menu and hung up.
    answered(store, 1, "main:1", now - timedelta(hours=1))
    answered(store, 2, "main:1 password:#", now - timedelta(days=2))
    # One asked for an agent, who took the call.
    sid = answered(store, 3, "main:0", now - timedelta(days=3))
    store.remember_queue_entry(
        call_sid=sid,
        caller=CALLER,
        queue="gb-en-GB",
        region="gb",
        language="en-GB",
        reason="main",
        reference=None,
        at=now - timedelta(days=3),
    )
    store.record_queue_result(sid, "bridged", 30, now - timedelta(days=3) + timedelta(minutes=2))
    # One hung up at the reference question.
    sid = answered(store, 4, "main:3 tx:0", now - timedelta(days=6))
    store.record_status(sid, CALLER, "completed", 50, now - timedelta(days=6))
    # Refused at screening, before any menu.
    refused = now - timedelta(hours=2)
    store.record_step(f"CA{5:032d}", CALLER, "gb", None, "incoming", "rejected:blocked", refused)
    store.record_outcome(f"CA{5:032d}", "rejected", refused)
    # Before the window, and after --at: not counted.
    answered(store, 6, "main:9", now - timedelta(days=8))
    answered(store, 7, "main:9", now + timedelta(minutes=5))


def counted(dot: str) -> dict[str, str]:
    """Box -> its counts line and pen, from `ivr graph --stats --format dot`."""
    found = {}
    for line in dot.splitlines():
        match = BOX.fullmatch(line.strip())
        if match:
            found[match["box"]] = match["counts"] + (match["pen"] or "")
    return found


@pytest.mark.slow
def test_stats_count_the_calls_of_the_window_on_the_drawn_menus(store: Store) -> None:
    fill(store)
    result = graph(database_url(store), "--stats", "--since", "7d")
    assert result.exit_code == 0, result.output
    boxes = counted(result.stdout)
    # A quarter of main's callers hung up there; everyone who reached ref did.
    assert boxes.pop("main") == '4 reached · 1 served · 1 left, penwidth=2.0, color="#800000"'
    assert boxes.pop("password") == '2 reached · 1 served · 0 left, penwidth=1.0, color="#000000"'
    assert boxes.pop("tx") == '1 reached · 0 served · 0 left, penwidth=1.0, color="#000000"'
    assert boxes.pop("ref") == '1 reached · 0 served · 1 left, penwidth=5.0, color="#ff0000"'
    assert boxes and set(boxes.values()) == {ZERO}  # no pen where nobody came
    assert result.stderr == (
        "calls from 2026-02-23 10:00 to 2026-03-02 10:00 UTC: 4 counted, 1 refused at screening,"
        " 0 of other regions or languages\n"
    )


@pytest.mark.slow
def test_since_narrows_the_window(store: Store) -> None:
    fill(store)
    result = graph(database_url(store), "--stats", "--since", "24h")
    assert result.exit_code == 0, result.output
    boxes = counted(result.stdout)
    assert boxes["main"].startswith("1 reached · 0 served · 0 left")
    assert boxes["password"].startswith("1 reached · 1 served · 0 left")
    assert "calls from 2026-03-01 10:00 to 2026-03-02 10:00 UTC: 1 counted," in result.stderr


@pytest.mark.slow
def test_without_stats_the_drawing_is_what_it_was(store: Store) -> None:
    fill(store)
    plain = graph(database_url(store))
    assert plain.exit_code == 0, plain.output
    assert "reached" not in plain.stdout and "penwidth" not in plain.stdout
    assert plain.stderr == ""


@pytest.mark.parametrize("since", ["0x", "7", "0d", "1y"])
def test_a_malformed_since_is_refused(tmp_path: Path, since: str) -> None:
    result = graph(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", "--stats", "--since", since)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"--since {since!r}: give a duration" in result.stderr
    assert not (tmp_path / "ivr.sqlite3").exists()  # refused before any database is opened


def test_since_without_stats_is_refused(tmp_path: Path) -> None:
    result = graph(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", "--since", "7d")
    assert result.exit_code == 2
    assert "--since: counts calls for --stats; add --stats" in result.stderr


@pytest.mark.slow
def test_calls_through_the_emulator_land_in_the_boxes_their_keys_reach(
    settings: Settings,
) -> None:
    token, public_url = "stats-token", "https://ivr.example.com"
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(token), "public_url": public_url}
    )
    clock = VirtualClock(AT)
    app = create_app(signed, clock=clock)
    with Switch(app, clock=clock, auth_token=token, public_url=public_url) as phone:
        for keys in (
            ["3", "0", "12345678#", "1"],  # a reference read back and confirmed: queued
            ["1", "#"],  # the password guidance, back to the main menu, hung up
            ["3", "0", "*"],  # no reference: queued from ref
            ["5", "5", "5"],  # three misses: taken to an agent
            ["2"],  # the security guidance
            [],  # hung up at the main menu
            ["4", "0", "*"],  # a pending transaction: the priority queue
        ):
            call = phone.dial(CALLER, LINE)
            for key in keys:
                call.press(key)
            call.hangup()
        at = clock.now().isoformat()
    result = CliRunner().invoke(
        cli,
        ["graph", "--region", "gb", "--at", at, "--stats", "--format", "mermaid"],
        env={"IVR_DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 0, result.output
    lines = {
        line.split("<br/>")[0].split('["')[-1]: line.split("<br/>")[-1].removesuffix('"]')
        for line in result.stdout.splitlines()
        if "reached" in line
    }
    assert lines.pop("main") == "7 reached · 1 served · 2 left"
    assert lines.pop("password") == "1 reached · 0 served · 0 left"
    assert lines.pop("security") == "1 reached · 1 served · 0 left"
    assert lines.pop("tx") == "2 reached · 0 served · 0 left"
    assert lines.pop("ref") == "2 reached · 1 served · 0 left"
    assert lines.pop("confirm") == "1 reached · 1 served · 0 left"
    assert lines.pop("pending") == "1 reached · 0 served · 0 left"
    assert lines.pop("ref (pending)") == "1 reached · 1 served · 0 left"
    assert lines and set(lines.values()) == {ZERO}
