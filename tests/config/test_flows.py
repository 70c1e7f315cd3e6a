"""flows.toml is refused at start with file, line and reason; the sample loads, and a region's
changes apply to its own flow only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config.flow_file import load_flows
from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.config.tomlfile import ConfigError
from tests.support.docs import block
from tests.support.repository import ROOT

SAMPLE = (ROOT / "flows.toml").read_text(encoding="utf-8")


def refused(tmp_path: Path, text: str, book: RegionBook, catalogue: Catalogue) -> list[str]:
    file = tmp_path / "flows.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_flows(file, book, catalogue)
    return [str(problem) for problem in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(next(line for line in text.splitlines() if needle in line)) + 1


def test_the_sample_flow_loads_with_five_choices_in_the_main_menu(flows: FlowBook) -> None:
    main = flows.default.nodes[flows.default.main]
    read = [option.key for option in main.options if option.read_out and option.choice]
    assert read == ["1", "2", "3", "4", "0"]
    assert flows.default.nodes["pending"].priority
    assert flows.for_region("jp") is flows.default  # no changes: the shared compiled flow


@pytest.mark.parametrize(
    ("edit", "needle", "reason"),
    [
        (
            ('{ key = "3", to = "tx", say = "main.transaction" }', '{ key = "1", to = "tx" }'),
            '{ key = "1", to = "tx" }',
            "key '1' is used twice",
        ),
        (
            ('to = "tx_other"', 'to = "tx_misc"'),
            'to = "tx_misc"',
            "key '3' leads to 'tx_misc', which is no node of the flow",
        ),
        (
            ('{ key = "2", to = "security", say = "main.security" },', ""),
            "[flows.standard.nodes.security]",
            "node 'security' cannot be reached from `main`",
        ),
        (
            ('kind = "guidance"\nguidance = ["transaction.slow_steps"]', 'kind = "guide"'),
            'kind = "guide"',
            "`kind` must be one of menu, guidance, ways",
        ),
        (
            ('say = ["main.title"]', 'say = ["main.welcome_back"]'),
            "[flows.standard.nodes.main]",
            "prompt 'main.welcome_back' is missing in",
        ),
        (
            ("read_out_options = 5", "read_out_options = -5"),
            "read_out_options = -5",
            "expected a positive number",
        ),
        (
            ('main = "main"', 'main = "main"\nreads_out = true'),
            "reads_out = true",
            "unknown setting 'reads_out'",
        ),
    ],
    ids=[
        "key-twice",
        "no-such-target",
        "unreachable",
        "unknown-kind",
        "missing-prompt",
        "bad-budget",
        "unknown-setting",
    ],
)
def test_a_broken_flow_is_refused_with_file_line_and_reason(
    tmp_path: Path,
    book: RegionBook,
    catalogue: Catalogue,
    edit: tuple[str, str],
    needle: str,
    reason: str,
) -> None:
    old, new = edit
    assert old in SAMPLE
    text = SAMPLE.replace(old, new, 1)
    problems = refused(tmp_path, text, book, catalogue)
    expected = f"{tmp_path / 'flows.toml'}:{line_of(text, needle)}:"
    assert any(p.startswith(expected) and reason in p for p in problems), problems


def test_a_prompt_a_language_lacks_is_named_with_the_language(
    tmp_path: Path, book: RegionBook, catalogue: Catalogue
) -> None:
    entries = {lang: dict(keys) for lang, keys in catalogue.entries.items()}
    del entries["ko-KR"]["main.title"]
    problems = refused(tmp_path, SAMPLE, book, Catalogue(entries))
    assert any("prompt 'main.title' is missing in ko-KR" in p for p in problems), problems


def test_a_region_changes_its_own_menu_only(
    tmp_path: Path, book: RegionBook, catalogue: Catalogue
) -> None:
    """The change docs/flows.md shows."""
    text = SAMPLE + "\n" + block("toml", "[regions.jp.nodes.main]")
    file = tmp_path / "flows.toml"
    file.write_text(text, encoding="utf-8")
    flows = load_flows(file, book, catalogue)
    japan = flows.for_region("jp").nodes["main"]
    assert [o.key for o in japan.options] == ["1", "2", "4", "0", "*", "5"]
    assert [o.key for o in flows.for_region("kr").nodes["main"].options] == [
        "1",
        "2",
        "3",
        "4",
        "0",
        "*",
    ]
    # Nodes the region did not change are the shared ones.
    assert flows.for_region("jp").nodes["pending"] is flows.default.nodes["pending"]


@pytest.mark.parametrize(
    ("region", "reason"),
    [
        ('[regions.atlantis]\nflow = "standard"', "unknown setting 'atlantis'"),
        ('[regions.jp]\nflow = "express"', "no flow 'express'"),
        ('[regions.jp.nodes.main]\ndrop = ["7"]', "menu 'main' has no key '7' to drop"),
        ('[regions.jp.nodes.pending]\ndrop = ["0"]', "has no menu 'pending' to change"),
    ],
)
def test_a_broken_region_change_is_refused(
    tmp_path: Path, book: RegionBook, catalogue: Catalogue, region: str, reason: str
) -> None:
    text = SAMPLE + "\n" + region + "\n"
    problems = refused(tmp_path, text, book, catalogue)
    assert any(reason in p for p in problems), problems


def test_every_sample_menu_announces_star_and_pound_where_they_work(flows: FlowBook) -> None:
    """* repeats and # is the main menu in every menu; each says so, except that the main
    menu needs no "#" (it is the main menu)."""
    flow = flows.default
    menus = {node.id: node.options for node in flow.nodes.values() if node.kind != "guidance"}
    menus["after_guidance"] = flow.after_guidance
    for name, options in menus.items():
        read = {option.key: option.to for option in options if option.read_out}
        assert read.get("*") == "repeat", name
        if name != flow.main:
            assert read.get("#") == "menu", name


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            '[regions.gb.nodes.tx]\ndrop = ["1", "2", "3", "*", "#"]',
            "menu 'tx' has no options left",
        ),
        (
            '[regions.gb.nodes.ways]\ndrop = ["1", "2", "3"]',
            "the ways menu needs a callback, a voice message or goodbye",
        ),
        ('[regions.uk.nodes.main]\ndrop = ["3"]', "unknown setting 'uk'"),
    ],
    ids=["empty-menu", "ways-leads-nowhere", "no-such-region"],
)
def test_a_region_change_that_leaves_callers_stuck_is_refused_at_its_line(
    tmp_path: Path, book: RegionBook, catalogue: Catalogue, change: str, reason: str
) -> None:
    text = SAMPLE + "\n" + change + "\n"
    problems = refused(tmp_path, text, book, catalogue)
    header = change.split("\n")[0]
    expected = f"{tmp_path / 'flows.toml'}:{line_of(text, header)}:"
    assert any(p.startswith(expected) and reason in p for p in problems), problems


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            ('speech = "callback.speech.voicemail"', 'speech = "callback.speech.voicemial"'),
            "prompt 'callback.speech.voicemial' is missing in",
        ),
        (
            (
                '{ key = "0", to = "agent", say = "main.agent" }',
                '{ key = "0", to = "agent", say = "main.agent" },\n'
                '    { key = "5", to = "callback", say = "callback.offer_open" }',
            ),
            "a callback is offered from the ways menu only",
        ),
        (
            ('{ say = "pending.now", key = "0" }', '{ say = "pending.now", key = ["0"] }'),
            'expected a prompt key, { say = "<prompt>", key = "<key>" }',
        ),
    ],
    ids=["speech-words-typo", "callback-outside-ways", "key-not-a-string"],
)
def test_what_the_engine_could_not_honour_is_refused(
    tmp_path: Path, book: RegionBook, catalogue: Catalogue, edit: tuple[str, str], reason: str
) -> None:
    old, new = edit
    assert old in SAMPLE
    problems = refused(tmp_path, SAMPLE.replace(old, new, 1), book, catalogue)
    assert any(reason in p for p in problems), problems
