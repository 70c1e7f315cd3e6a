"""`ivr report` after the call: dispositions and survey answers kept through the store's own
writes, read back by the command, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from ivr.commands.reports import report
from ivr.store import Store
from ivr.store.migrate import upgrade
from tests.support.databases import POSTGRES_URL


def sid(n: int) -> str:
    return f"CA{n:032d}"


def at(when: str) -> datetime:
    return datetime.fromisoformat(when)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """IVR_DATABASE_URL of a migrated store holding `fill`'s calls: a SQLite file, or a
    schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
        yield from _filled(url, monkeypatch)
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield from _filled(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", monkeypatch)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _filled(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("IVR_DATABASE_URL", url)
    store = Store.connect(url)
    try:
        upgrade(store.engine)
        fill(store)
    finally:
        store.close()
    yield url


def fill(store: Store) -> None:
    """Six calls on 2026-03-02 (UTC), five of them taken by an agent; one the day before."""
    #  n  region language  agent  code             survey
    taken = [
        (1, "jp", "ja-JP", "ana", "password_reset", "5 + comment"),
        (2, "jp", "ja-JP", "ana", "password_reset", "4"),
        (3, "jp", "en-US", "bo", "skipped", "asked"),
        (4, "us", "en-US", "cy", "security_case", "2"),
        (5, "us", "en-US", "cy", "other", ""),
        (7, "jp", "ja-JP", "ana", "other", "1"),
    ]
    for n, region, language, agent, code, survey in taken:
        day = "2026-03-01" if n == 7 else "2026-03-02"
        agent_took(store, n, region, language, f"{day}T0{n}:00Z")
        store.record_disposition(sid(n), code, agent, at(f"{day}T0{n}:05Z"))
        if survey:
            store.record_survey(sid(n), at(f"{day}T0{n}:04:10Z"))
        if survey[:1].isdigit():
            store.record_survey(sid(n), at(f"{day}T0{n}:04:20Z"), rating=int(survey[0]))
        if survey.endswith("comment"):
            url = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{n:032d}"
            store.record_comment(sid(n), f"RE{n:032d}", url, 12, at(f"{day}T0{n}:04:50Z"))
    # 6, jp: helped itself; no agent, so no disposition and no survey.
    store.record_step(
        sid(6), "+81312345606", "jp", "ja-JP", "s1", "main:1", at("2026-03-02T06:00Z")
    )
    store.record_status(sid(6), "+81312345606", "completed", 40, at("2026-03-02T06:01Z"))


def agent_took(store: Store, n: int, region: str, language: str, when: str) -> None:
    """Call `n` asked for an agent at `when`, was taken 30 s later and ended 6 minutes after
    (the survey is asked between the agent hanging up and the end of the call)."""
    caller = f"+8131234560{n}"
    store.record_step(sid(n), caller, region, language, "s1", "main:0", at(when))
    store.remember_queue_entry(
        call_sid=sid(n),
        caller=caller,
        queue=f"{region}-{language}",
        region=region,
        language=language,
        reason="main",
        reference=None,
        at=at(when),
    )
    store.record_queue_result(sid(n), "bridged", 30, at(when.replace(":00Z", ":00:30Z")))
    store.record_status(sid(n), caller, "completed", 240, at(when.replace(":00Z", ":06Z")))


def run(*args: str) -> Result:
    app = typer.Typer()
    app.command()(report)
    # A wide "terminal", so no table has to wrap a cell.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_dispositions_per_region_and_code_with_their_share(database_url: str) -> None:
    dispositions = json_of(run("--json", "--day", "2026-03-02"))["dispositions"]
    jp, us = dispositions["regions"]
    assert jp == {
        "region": "jp",
        "dispositioned": 3,  # call 6 had no agent; call 7 was the day before
        "codes": [
            {"code": "password_reset", "count": 2, "share": pytest.approx(2 / 3)},
            {"code": "skipped", "count": 1, "share": pytest.approx(1 / 3)},
        ],
    }
    assert [(code["code"], code["share"]) for code in us["codes"]] == [
        ("other", 0.5),
        ("security_case", 0.5),
    ]
    total = dispositions["total"]
    assert (total["region"], total["dispositioned"]) == ("total", 5)
    assert [(code["code"], code["count"]) for code in total["codes"]] == [
        ("password_reset", 2),
        ("other", 1),
        ("security_case", 1),
        ("skipped", 1),
    ]


def test_survey_answers_per_agent_region_language_and_disposition(database_url: str) -> None:
    surveys = json_of(run("--json", "--day", "2026-03-02"))["surveys"]
    agents = {line["name"]: line for line in surveys["agents"]}
    assert agents["ana"] == {
        "name": "ana",
        "asked": 2,
        "answered": 2,
        "response_rate": 1.0,
        "average_rating": 4.5,
        "comments": 1,
    }
    assert (agents["bo"]["asked"], agents["bo"]["response_rate"]) == (1, 0.0)
    assert agents["bo"]["average_rating"] is None  # asked, never answered: no rating at all
    assert agents["cy"]["asked"] == 1  # call 5 was never asked
    regions = [(x["name"], x["asked"], x["answered"], x["comments"]) for x in surveys["regions"]]
    assert regions == [("jp", 3, 2, 1), ("us", 1, 1, 0)]
    languages = {line["name"]: line for line in surveys["languages"]}
    assert (languages["en-US"]["response_rate"], languages["en-US"]["average_rating"]) == (
        0.5,
        2.0,
    )
    codes = {line["name"]: line["average_rating"] for line in surveys["dispositions"]}
    assert codes == {"password_reset": 4.5, "security_case": 2.0, "skipped": None}
    total = surveys["total"]
    assert (total["asked"], total["answered"], total["response_rate"]) == (4, 3, 0.75)
    assert total["average_rating"] == 3.7  # (5 + 4 + 2) / 3 = 3.67


def test_one_region_only(database_url: str) -> None:
    document = json_of(run("--json", "--day", "2026-03-02", "--region", "us"))
    assert [line["region"] for line in document["dispositions"]["regions"]] == ["us"]
    assert [line["name"] for line in document["surveys"]["agents"]] == ["cy"]
    assert document["surveys"]["total"]["average_rating"] == 2.0


def test_the_tables_after_the_calls_table(database_url: str) -> None:
    result = run("--day", "2026-03-02")
    assert result.exit_code == 0, result.output
    output = result.output
    titles = [
        "Calls of 2026-03-02 (UTC)",
        "Dispositions of 2026-03-02 (UTC)",
        "Surveys of 2026-03-02 (UTC) by agent",
        "Surveys of 2026-03-02 (UTC) by region",
        "Surveys of 2026-03-02 (UTC) by language",
        "Surveys of 2026-03-02 (UTC) by disposition",
    ]
    assert [output.index(title) for title in titles] == sorted(output.index(t) for t in titles)
    lines = output.splitlines()

    def row(first: str, after: str) -> list[str]:
        start = output[: output.index(after)].count("\n")
        found = next(line for line in lines[start:] if line.startswith(f"│ {first} "))
        return [cell.strip() for cell in found.strip("│").split("│")]

    assert row("jp", "Dispositions") == ["jp", "password_reset", "2", "67%"]
    assert row("", "Dispositions") == ["", "skipped", "1", "33%"]
    assert row("ana", "by agent") == ["ana", "2", "2", "100%", "4.5", "1"]
    assert row("bo", "by agent") == ["bo", "1", "0", "0%", "–", "0"]
    assert row("total", "by region") == ["total", "4", "3", "75%", "3.7", "1"]
    assert row("skipped", "by disposition") == ["skipped", "1", "0", "0%", "–", "0"]


def test_a_day_without_dispositions_or_surveys_says_so(database_url: str) -> None:
    result = run("--day", "2026-02-28")
    assert result.exit_code == 0, result.output
    assert "No call of 2026-02-28 has a disposition." in result.output
    assert "No caller of 2026-02-28 was asked the survey." in result.output
    document = json_of(run("--json", "--day", "2026-02-28"))
    assert document["dispositions"] == {
        "regions": [],
        "total": {"region": "total", "dispositioned": 0, "codes": []},
    }
    assert document["surveys"]["agents"] == []
    assert document["surveys"]["total"]["response_rate"] is None
