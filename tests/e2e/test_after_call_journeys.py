"""After the call, end to end: the agent presses * to end a conversation and stay on the
agent line, keys what it was about while the caller rates it, and `ivr report` shows both.
Runs on SQLite and PostgreSQL (the `line` fixture), the report read by the command itself."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import typer
from prometheus_client import REGISTRY
from sqlalchemy import text
from typer.testing import CliRunner

from ivr.commands.reports import report
from ivr.engine.line_state import Skills
from ivr.store import Store
from tests.support.agent_line import AGENT_LINE, AMY, US_OPEN, add_agent, bridged, queued
from tests.support.calls import LINES, Line
from tests.support.databases import POSTGRES_URL


def database_url(store: Store) -> str:
    """IVR_DATABASE_URL of `store` for a command: its SQLite file, or its PostgreSQL schema."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        return url.render_as_string(hide_password=False)
    with store.engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def report_json(store: Store, day: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IVR_DATABASE_URL", database_url(store))
    app = typer.Typer()
    app.command()(report)
    result = CliRunner().invoke(app, ["--json", "--day", day])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def counted(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


@pytest.mark.slow
def test_a_code_keyed_and_a_rating_given_after_star_show_in_the_report(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = [
        ("ivr_dispositions_total", {"region": "us", "code": "security_case"}),
        ("ivr_surveys_total", {"region": "us", "event": "asked"}),
        ("ivr_surveys_total", {"region": "us", "event": "4"}),
        ("ivr_agent_wakes_total", {"result": "woken"}),
    ]
    before = [counted(name, **labels) for name, labels in metrics]
    phone = line.phone
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(line.records, AMY, Skills(("en-US",), ("us",)), phone)
    _, number, pin = AMY
    amy = phone.dial(number, AGENT_LINE, at=US_OPEN, answers=[pin + "#"])
    caller = queued(phone, "+12025550177", LINES["us"], ["1", "0"], "us-en-US")
    phone.run(20)
    assert bridged(amy, caller)
    phone.run(90)  # they talk
    caller.answers.append("4")  # the caller's answer to the survey
    amy.press_star()  # Amy ends the conversation and stays on the agent line
    assert amy.hears("Key the code for this call.")
    assert (
        "Before you go, please rate this call. Press a number from 1 to 5, where 5 is the best."
        in caller.heard
    )
    amy.press("2")  # security case opened
    assert amy.hears("Recorded: security case opened.")
    phone.run(30)
    assert caller.ended
    kept = line.records.call(caller.sid)
    assert kept is not None
    assert (kept.agent, kept.disposition, kept.rating) == ("amy", "security_case", 4)

    day = datetime.fromisoformat(US_OPEN).date().isoformat()
    shown = report_json(line.records, day, monkeypatch)
    (us,) = shown["dispositions"]["regions"]
    assert us["codes"] == [{"code": "security_case", "count": 1, "share": 1.0}]
    (by_agent,) = shown["surveys"]["agents"]
    assert (by_agent["name"], by_agent["answered"], by_agent["average_rating"]) == ("amy", 1, 4.0)
    (by_code,) = shown["surveys"]["dispositions"]
    assert (by_code["name"], by_code["average_rating"]) == ("security_case", 4.0)
    after = [counted(name, **labels) for name, labels in metrics]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]
    amy.hangup()
