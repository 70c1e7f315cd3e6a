"""The caller-time budgets of flows.toml, checked on every line and language: the sample keeps
them, the layout before them breaks them, and each broken one names the file and line to fix.
docs/flows.md shows the before and after seconds these measure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.checks.budgets import LineTimes, budget_findings, line_times
from ivr.checks.menu_walk import region_walks
from ivr.checks.warnings import CheckInput, Kind, run_checks, ways_to_agents
from ivr.config.flows import FlowBook
from ivr.config.loading import load_config
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.config.settings import Settings
from ivr.config.tomlfile import load_toml
from ivr.emulator import Switch
from tests.support.calls import CALLERS, LINES
from tests.support.moments import instant
from tests.support.repository import ROOT

MONDAY = "2026-03-02T10:00+08:00"  # the instant of the docs' table
BEFORE = ROOT / "docs" / "flows" / "before.toml"
DOCS = ROOT / "docs" / "flows.md"


def check_of(flows: Path) -> CheckInput:
    settings = Settings(
        regions=ROOT / "regions.toml", prompts=ROOT / "prompts", flows=flows, _env_file=None
    )
    return CheckInput(load_config(settings), instant(MONDAY), load_toml(settings.regions))


@pytest.fixture(scope="module")
def after() -> CheckInput:
    return check_of(ROOT / "flows.toml")


@pytest.fixture(scope="module")
def before() -> CheckInput:
    return check_of(BEFORE)


@pytest.mark.slow
def test_the_sample_keeps_every_budget_on_every_line(after: CheckInput) -> None:
    assert run_checks(after, [budget_findings]) == []
    budgets = after.config.flows.default.budgets
    for times in ways_to_agents(after):
        assert times.without_keys <= budgets.first_key_seconds, times
        assert times.agent_named <= budgets.agent_named_seconds, times


@pytest.mark.slow
def test_the_layout_before_breaks_the_budgets_on_every_line(before: CheckInput) -> None:
    findings = run_checks(before, [budget_findings])
    assert all(f.kind is Kind.BUDGET and f.file == BEFORE for f in findings)
    late = {f.where for f in findings if "the key for a person is first named" in f.message}
    lines = {
        f"regions.{region.id} {language}"
        for region in before.config.regions.regions.values()
        for language in region.languages
    }
    assert late == lines
    [menu] = [f for f in findings if f.where == "menu main"]
    assert menu.line == line_of(BEFORE, "[flows.standard.nodes.main]")
    # Every line played the welcome and the whole safety notice before any key worked.
    unskippable = {f.where for f in findings if "before a key works" in f.message}
    assert unskippable == lines


@pytest.mark.slow
def test_a_question_further_from_an_end_than_the_budget_is_named(tmp_path: Path) -> None:
    """With a budget of one answer: the language menu is two from guidance (a language, then a
    topic), and so is a keyed callback number (the number, then yes)."""
    flows = tmp_path / "flows.toml"
    text = (ROOT / "flows.toml").read_text(encoding="utf-8")
    flows.write_text(text.replace("answers_to_an_end = 3", "answers_to_an_end = 1"), "utf-8")
    findings = run_checks(check_of(flows), [budget_findings])
    far = {f.where for f in findings if "answers away" in f.message}
    assert far == {"node lang", "node cb_num"}
    [lang] = [f for f in findings if f.where == "node lang"][:1]
    assert "2 answers away from lang, more than 1" in lang.message
    assert lang.line == line_of(flows, "[flows.standard]")  # the engine's own question


# -- the docs' table ---------------------------------------------------------------------------
def table(before: list[LineTimes], after: list[LineTimes]) -> str:
    """The before-and-after table of docs/flows.md, from `ivr check`'s measurements."""
    rows = [
        "| line | language | speech without keys | until a person is named | to the queue "
        "| to the queue, hearing everything |",
        "|---|---|---|---|---|---|",
    ]
    was = {(t.region, t.language): t for t in before}
    for now in after:
        old = was[(now.region, now.language)]
        cells = [
            f"{old.without_keys:.0f} → {now.without_keys:.0f}",
            f"{old.agent_named:.0f} → {now.agent_named:.0f}",
            f"{old.to_queue:.0f} → {now.to_queue:.0f}",
            f"{old.listening:.0f} → {now.listening:.0f}",
        ]
        rows.append(f"| {now.region} | {now.language} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


@pytest.mark.slow
def test_the_docs_table_is_what_check_measures(before: CheckInput, after: CheckInput) -> None:
    expected = table(ways_to_agents(before), ways_to_agents(after))
    docs = DOCS.read_text(encoding="utf-8")
    assert expected in docs, expected


def line_of(file: Path, needle: str) -> int:
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_the_before_file_is_the_layout_the_table_calls_before() -> None:
    text = BEFORE.read_text(encoding="utf-8")
    assert re.search(r"^barge_in = false$", text, re.M)
    assert re.search(r"^person_in_language_menu = false$", text, re.M)


def test_a_regions_own_long_menu_is_found_at_its_change(tmp_path: Path) -> None:
    flows = tmp_path / "flows.toml"
    flows.write_text(
        (ROOT / "flows.toml").read_text(encoding="utf-8")
        + "\n[regions.gb.nodes.main]\n"
        + 'add = [{ key = "5", to = "tx", say = "main.transaction" },'
        + ' { key = "6", to = "pending", say = "main.pending" }]\n',
        encoding="utf-8",
    )
    findings = [
        f for f in run_checks(check_of(flows), [budget_findings]) if "read out" in f.message
    ]
    assert [(f.where, f.line) for f in findings] == [
        ("regions.gb menu main", line_of(flows, "[regions.gb.nodes.main]"))
    ]
    assert findings[0].message.startswith("7 choices read out (1 2 3 4 0 5 6), more than 5")


@pytest.mark.slow
def test_check_and_the_emulator_agree_on_the_seconds_to_the_queue(
    switch: Switch, book: RegionBook, catalogue: Catalogue, flows: FlowBook
) -> None:
    """One speech-time model: a London caller who hears the welcome (and its second of waiting
    for a key) and the whole main menu, then presses 0, joins the queue when `ivr check` says."""
    at = "2026-03-02T10:00+00:00"
    [walk] = region_walks(book, catalogue, flows, instant(at), regions=["gb"])
    times = line_times(walk)
    assert times is not None and times.keys == ("0",)
    call = switch.dial(CALLERS["gb"], LINES["gb"], at=at)
    call.silence()
    call.press("0")
    joined = next(event.t for event in call.events if event.type == "enqueue")
    assert joined == pytest.approx(times.listening, abs=0.5)  # the key itself takes a moment
