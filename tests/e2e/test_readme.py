"""The examples of the README and docs/, run: the transcripts of `ivr call`, the callback the
dispatcher places, the agent line, the test API example, the quick start and regions.toml."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ivr.config.regions import load_regions
from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.calls import CALLERS, PUBLIC_URL, TOKEN, Line, agent_twiml
from tests.support.docs import Block, block, blocks_starting
from tests.support.repository import ROOT


@pytest.mark.slow
def test_the_readme_test_example_runs(signed_settings: Settings) -> None:
    clock = VirtualClock("2026-03-02T10:00+08:00")
    app = create_app(signed_settings, clock=clock)
    code = block("python", "with Switch(")
    exec(
        compile(code, "docs/emulator.md", "exec"),
        {
            "Switch": Switch,
            "app": app,
            "clock": clock,
            "TOKEN": TOKEN,
            "PUBLIC_URL": PUBLIC_URL,
            "agent_twiml": agent_twiml,
        },
    )


def test_the_readme_region_example_loads(tmp_path: Path) -> None:
    example = block("toml", "[regions.cn]")
    world = '[regions.global]\nname = "World"\ntimezone = "UTC"\nlanguages = ["en-US"]\nemail = "a@example.com"\nchat_url = "https://x.example.com"\n'
    file = tmp_path / "regions.toml"
    file.write_text(example + "\n" + world, encoding="utf-8")
    book = load_regions(file, prompt_languages=("en-US", "zh-CN"))
    assert book.regions["cn"].queue.announce_every == 45


def test_the_quick_start_installs_the_pinned_versions() -> None:
    """Without the constraints a fresh install takes whatever PyPI has that day (the pins'
    completeness is tests/infra/test_constraints.py's)."""
    quick_start = block("sh", "python3 -m venv .venv")
    commands = [
        command for line in quick_start.splitlines() for command in line.split("#")[0].split("&&")
    ]
    installs = [shlex.split(command) for command in commands if "pip install" in command]
    assert len(installs) == 1, quick_start
    words = installs[0]
    constraint = words[words.index("-c") + 1] if "-c" in words else None
    assert constraint == "infra/constraints.txt", " ".join(words)
    assert (ROOT / constraint).is_file()


CALL = "$ ivr call "
TRANSCRIPTS = blocks_starting("console", "$ ivr call ")


def test_the_docs_have_three_call_transcripts() -> None:
    # the pending transaction (README), the callback booked, the voice message (docs/callbacks.md)
    assert len(TRANSCRIPTS) == 3


@pytest.mark.slow
@pytest.mark.parametrize("shown", TRANSCRIPTS, ids=[b.where for b in TRANSCRIPTS])
def test_each_transcript_is_what_ivr_call_prints(shown: Block) -> None:
    from typer.testing import CliRunner

    from ivr.commands.main import cli

    command, transcript = shown.text.split("\n", 1)
    args = re.findall(r'"[^"]*"|\S+', command.removeprefix(CALL))
    result = CliRunner().invoke(cli, ["call", *(a.strip('"') for a in args)])
    assert result.exit_code == 0, result.output
    assert result.output == transcript


@pytest.mark.slow
def test_the_first_call_of_the_quick_start_runs() -> None:
    from typer.testing import CliRunner

    from ivr.commands.main import cli

    command = block("sh", "ivr call ").strip()
    result = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert "IVR [Polly.Mizuki, ja-JP]" in result.output  # a Japanese caller, Japanese chosen


@pytest.mark.slow
def test_the_readme_callback_call_is_what_the_dispatcher_places(line: Line) -> None:
    from ivr.emulator import render_transcript

    phone, records = line.phone, line.records
    phone.clock.set("2026-03-02T08:59+09:00")
    records.callbacks.book(
        "CA" + "0" * 32, CALLERS["jp"], "jp", "en-US", "main", "885440", phone.clock.now()
    )
    assert line.dispatcher.run_once().placed == []
    phone.clock.set("2026-03-02T09:00+09:00")
    assert line.dispatcher.run_once().placed != []
    phone.run()
    callee = phone.last_call_to(CALLERS["jp"])
    phone.dial_twiml_later(20, agent_twiml("jp-en-US-callback"), from_="+81355550100", talk=120)
    callee.press("1")
    phone.run()
    callee.silence()  # the agent hung up: no rating, the survey ends politely
    assert callee.ended
    shown = block("text", "# the callback").split("\n", 1)[1]
    assert render_transcript(callee.events) + "\n" == shown


@pytest.mark.slow
def test_the_readme_agent_line_is_what_an_agent_hears(
    switch: Switch, signed_app_store: Store
) -> None:
    from ivr.emulator import render_transcript
    from tests.e2e.test_agent_journeys import readme_agent_call

    agent = readme_agent_call(switch, signed_app_store)
    shown = block("text", "# the agent line").split("\n", 1)[1]
    assert render_transcript(agent.events) + "\n" == shown
