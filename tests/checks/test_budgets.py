"""The caller-time budgets of flows.toml, checked on every line and language: the sample keeps
them, the layout before them breaks them, and each broken one names the file and line to fix.
docs/flows.md shows the before and after seconds these measure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.checks.budgets import LineTimes, budget_findings
from ivr.checks.warnings import CheckInput, Kind, run_checks, ways_to_agents
from ivr.config.loading import load_config
from ivr.config.settings import Settings
from ivr.config.tomlfile import load_toml
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


DEEP = """\
default = "deep"

[flows.deep]
main = "main"
after_guidance = [{ key = "#", to = "menu", say = "next.menu" }]

[flows.deep.nodes.main]
kind = "menu"
options = [{ key = "1", to = "deep1", say = "main.transaction" }]

[flows.deep.nodes.deep1]
kind = "menu"
options = [{ key = "1", to = "deep2", say = "transaction.slow" }]

[flows.deep.nodes.deep2]
kind = "menu"
options = [{ key = "1", to = "deep3", say = "transaction.slow" }]

[flows.deep.nodes.deep3]
kind = "menu"
options = [{ key = "1", to = "tx_slow", say = "transaction.slow" }]

[flows.deep.nodes.tx_slow]
kind = "guidance"
guidance = ["transaction.slow_steps"]

# No callback, no voice message, no goodbye: only back to the main menu.
[flows.deep.nodes.ways]
kind = "ways"
options = [{ key = "#", to = "menu", say = "callback.menu" }]
"""


@pytest.mark.slow
def test_a_question_four_answers_from_anything_is_refused_at_its_line(tmp_path: Path) -> None:
    flows = tmp_path / "flows.toml"
    flows.write_text(DEEP, encoding="utf-8")
    findings = run_checks(check_of(flows), [budget_findings])
    far = [f for f in findings if f.where == "node main" and "answers away" in f.message]
    # While agents are closed, 0 leads to the ways menu, which leads nowhere but back.
    assert far and far[0].line == line_of(flows, "[flows.deep.nodes.main]")
    assert "4 answers away from main, more than 3" in far[0].message
    assert all(f.file == flows for f in findings)


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
