"""`ivr check` and `ivr graph` as an operator runs them, in their own processes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.commands.test_main import clean_env, run
from tests.support.docs import block
from tests.support.repository import ROOT

MONDAY = "2026-03-02T10:00+08:00"


def sample_copy(tmp_path: Path) -> tuple[Path, Path]:
    """The sample regions.toml and prompts/, copied to break them."""
    regions = tmp_path / "regions.toml"
    shutil.copy(ROOT / "regions.toml", regions)
    prompts = Path(shutil.copytree(ROOT / "prompts", tmp_path / "prompts"))
    return regions, prompts


def replace_line(file: Path, old: str, new: str) -> int:
    """Replace `old` in the one line holding it; that line's number."""
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    [number] = [n for n, line in enumerate(lines, start=1) if old in line]
    lines[number - 1] = lines[number - 1].replace(old, new)
    file.write_text("".join(lines), encoding="utf-8")
    return number


def env_for(regions: Path, prompts: Path) -> dict[str, str]:
    return clean_env(
        IVR_REGIONS=str(regions), IVR_PROMPTS=str(prompts), IVR_FLOWS=str(ROOT / "flows.toml")
    )


# -- ivr check -------------------------------------------------------------------------------
@pytest.mark.slow
def test_check_on_the_sample_keeps_the_budgets_shows_the_times_and_passes() -> None:
    result = run("check", "--at", MONDAY, env=clean_env())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "budget: " not in out
    row = r"\n  {} +{} +{} +0 +\d+ +\d+ +\d+  {}\n"
    assert re.search(row.format("cn", "zh-CN", "0", "cn-zh-CN"), out)
    assert re.search(row.format("cn", "en-US", "2 0", "cn-en-US"), out)
    assert re.search(row.format("gb", "en-GB", "0", "gb-en-GB"), out)
    assert out.splitlines()[-1].startswith("ok: 18 regions, 16 languages (de-DE, en-GB")
    warnings = sum(line.startswith("warning: ") for line in out.splitlines())
    assert out.splitlines()[-1].endswith(f"; {warnings} warnings")


@pytest.mark.slow
def test_check_fails_the_old_layout_naming_the_flow_file_and_line() -> None:
    before = ROOT / "docs" / "flows" / "before.toml"
    result = run("check", "--at", MONDAY, env=clean_env(IVR_FLOWS=str(before)))
    assert result.returncode == 1
    out = result.stdout
    main = replace_line_number(before, "[flows.standard.nodes.main]")
    assert (
        f"budget: {before}:{main}: menu main: 6 choices read out (1 2 3 4 9 0), more than 5" in out
    )
    assert re.search(
        rf"budget: {re.escape(str(before))}:\d+: regions.jp ja-JP: the key for a person is first "
        r"named after \d+ s, more than 15 s",
        out,
    )
    assert out.splitlines()[-1].startswith("failed: ")


def replace_line_number(file: Path, needle: str) -> int:
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


@pytest.mark.slow
def test_the_docs_show_lines_check_prints_on_the_sample() -> None:
    command, shown_lines = block("console", "$ ivr check --at ").split("\n", 1)
    result = run(*command.split()[2:], env=clean_env())
    assert result.returncode == 0, result.stderr
    printed = iter(result.stdout.splitlines())
    for shown in shown_lines.splitlines():
        if shown.strip() != "...":  # each line shown is printed, in the order shown
            assert any(line == shown for line in printed), shown


@pytest.mark.slow
def test_check_catches_a_broken_sample_regions_file_with_file_and_line(tmp_path: Path) -> None:
    regions, prompts = sample_copy(tmp_path)
    line = replace_line(regions, 'timezone = "Asia/Tokyo"', 'timezone = "Asia/Tokio"')
    result = run("check", env=env_for(regions, prompts))
    assert result.returncode == 1
    assert result.stderr == (
        f"{regions}:{line}: regions.jp.timezone: unknown timezone 'Asia/Tokio'; "
        "use an IANA name such as 'Asia/Tokyo'\n"
    )
    assert result.stdout == ""


@pytest.mark.slow
def test_check_catches_a_broken_sample_prompt_with_file_and_line(tmp_path: Path) -> None:
    regions, prompts = sample_copy(tmp_path)
    main = prompts / "ja-JP" / "main.toml"
    text = main.read_text(encoding="utf-8")
    line = 1 + text[: text.index("password = ")].count("\n")
    main.write_text(text.replace("password = ", "password = 1 +", 1), encoding="utf-8")
    result = run("check", env=env_for(regions, prompts))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{main}:{line}: TOML syntax:")


@pytest.mark.slow
def test_check_names_every_problem_of_a_file_at_once(tmp_path: Path) -> None:
    regions, prompts = sample_copy(tmp_path)
    zone = replace_line(regions, 'timezone = "Asia/Seoul"', 'timezone = "Korea/Seoul"')
    email = replace_line(regions, 'email = "support-br@example.com"', 'email = "support-br"')
    result = run("check", env=env_for(regions, prompts))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{regions}:{zone}", f"{regions}:{email}"]


@pytest.mark.slow
def test_check_passes_with_warnings_on_a_region_that_never_opens(tmp_path: Path) -> None:
    regions, prompts = sample_copy(tmp_path)
    hours = _close_turkey(regions)  # no weekday hours, no special days
    result = run("check", "--at", MONDAY, env=env_for(regions, prompts))
    assert result.returncode == 0, result.stderr
    assert (
        f"warning: {regions}:{hours}: regions.tr: agents never open in the next 366 days"
        in result.stdout
    )
    assert "  tr " not in result.stdout  # no way to an agent to show


def _close_turkey(regions: Path) -> int:
    text = regions.read_text(encoding="utf-8")
    start = text.index("[regions.tr]")
    hours = text.index("\nhours = ", start) + 1
    end = text.index("\n", hours)
    regions.write_text(text[:hours] + "hours = {}" + text[end:], encoding="utf-8")
    return 1 + text[:hours].count("\n")


@pytest.mark.slow
def test_check_refuses_an_instant_without_offset() -> None:
    result = run("check", "--at", "2026-03-02T10:00", env=clean_env())
    assert result.returncode == 2 and "--at '2026-03-02T10:00'" in result.stderr


# -- ivr graph -------------------------------------------------------------------------------
@pytest.mark.slow
def test_graph_draws_one_region_and_language_in_mermaid() -> None:
    args = ("graph", "--region", "jp", "--language", "ja-JP", "--format", "mermaid")
    result = run(*args, "--at", MONDAY, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        'flowchart LR\n  subgraph t0["jp ja-JP, agents open (Mon 2026-03-02 11:00 Asia/Tokyo)"]'
    )
    assert '(["queue jp-ja-JP"])' in result.stdout and "jp en-US" not in result.stdout


@pytest.mark.slow
def test_the_docs_show_the_graph_ivr_graph_draws() -> None:
    command = block("console", "$ ivr graph --region gb --at ").strip()
    result = run(*command.split()[2:], env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == block("mermaid", "flowchart LR")


@pytest.mark.slow
def test_graph_draws_every_language_of_a_region_in_dot_at_the_next_opening() -> None:
    result = run("graph", "--region", "cn", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph ivr {")
    assert result.stdout.count("subgraph cluster_") == 2
    assert 'label="cn zh-CN, agents open' in result.stdout
    assert '"cn en-US/main" -> "cn en-US/queue cn-en-US" [label="0"];' in result.stdout


@pytest.mark.slow
def test_graph_closed_draws_the_other_ways() -> None:
    result = run("graph", "--region", "gb", "--closed", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "agents closed" in result.stdout and '"gb en-GB/voice message"' in result.stdout
    assert "queue gb-en-GB" not in result.stdout


@pytest.mark.slow
def test_graph_writes_svg_with_graphviz(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (apt-get install graphviz)")
    svg = tmp_path / "jp.svg"
    args = ("graph", "--region", "jp", "--format", "svg", "--output", str(svg))
    result = run(*args, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote {svg}\n"
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()


@pytest.mark.slow
def test_graph_without_graphviz_says_how_to_get_svg(tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    env = {**clean_env(), "PATH": str(no_tools)}
    result = run("graph", "--region", "jp", "--format", "svg", env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert "SVG needs Graphviz's `dot`, which is not installed" in result.stderr
    assert "--format dot or --format mermaid work without it" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--region", "mars"), "--region 'mars': no such region; known: cn, hk"),
        (("--region", "gb", "--language", "ja-JP"), "--language 'ja-JP': not offered in region gb"),
        (("--language", "xx-XX"), "--language 'xx-XX': not offered in any region"),
    ],
)
def test_graph_refuses_what_is_not_configured(args: tuple[str, ...], message: str) -> None:
    result = run("graph", *args, env=clean_env())
    assert result.returncode == 2 and message in result.stderr
