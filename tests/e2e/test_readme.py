"""The README's examples, run: the test API example and the regions.toml table."""

from __future__ import annotations

import re
from pathlib import Path

from ivr.app import create_app
from ivr.emulator import Switch, VirtualClock
from ivr.regions import load_regions
from ivr.settings import Settings
from tests.conftest import ROOT
from tests.e2e.conftest import PUBLIC_URL, TOKEN, agent_twiml

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(language: str, starting: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)
    return next(text for text in found if text.startswith(starting))


def test_the_readme_test_example_runs(signed_settings: Settings) -> None:
    clock = VirtualClock("2026-03-02T10:00+08:00")
    app = create_app(signed_settings, clock=clock)
    code = block("python", "with Switch(")
    exec(
        compile(code, "README.md", "exec"),
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


def test_the_readme_transcript_is_what_ivr_call_prints() -> None:
    from typer.testing import CliRunner

    from ivr.cli import cli

    command = re.search(r"\$ ivr call (.*)\n", README)
    assert command is not None
    args = re.findall(r'"[^"]*"|\S+', command.group(1))
    result = CliRunner().invoke(cli, ["call", *(a.strip('"') for a in args)])
    assert result.exit_code == 0, result.output
    transcript = README.split(command.group(0))[1].split("```")[0]
    assert result.output == transcript
