"""The README and docs/ stay true: every fenced block in them is run or checked by a test,
every file they name exists, their links lead somewhere, and the README's layout is the
code's own.

A test claims a block by calling `block(language, start)` or `blocks_starting(language,
start)` (tests/support/docs.py) with literal strings; this module finds those calls in the
test sources, so a block nobody runs fails here with its page and line.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docs import PAGES, Block, block, blocks, blocks_starting, layout
from tests.support.repository import ROOT

CLAIMING = ("block", "blocks_starting")


def claims() -> Iterator[tuple[str, str, Path]]:
    """(language, start, test file) of every literal claim in the tests."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) != 2:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            language, start = node.args
            if (
                name in CLAIMING
                and isinstance(language, ast.Constant)
                and isinstance(start, ast.Constant)
                and isinstance(language.value, str)
                and isinstance(start.value, str)
            ):
                yield language.value, start.value, path


CLAIMS = list(claims())
BLOCKS = blocks()


@pytest.mark.parametrize("shown", BLOCKS, ids=[b.where for b in BLOCKS])
def test_every_block_is_run_or_checked_by_a_test(shown: Block) -> None:
    claimed = [
        path
        for language, start, path in CLAIMS
        if language == shown.language and shown.text.startswith(start)
    ]
    assert claimed, f"{shown.where}: no test runs this ```{shown.language} block"


def test_every_claim_finds_its_block() -> None:
    for language, start, path in CLAIMS:
        found = [b for b in BLOCKS if b.language == language and b.text.startswith(start)]
        assert found, f"{path.relative_to(ROOT)} claims a ```{language} block starting {start!r}"


# A path of the repository, as the docs write them: ivr/web/app.py, tests/web/, infra/...
_PATH = re.compile(r"(?<![\w/.-])((?:ivr|tests|infra|bench|prompts|docs|\.ci)/[\w./*<>-]*[\w*/])")
# Files an operator creates, and placeholders.
NOT_IN_THE_REPOSITORY = ("infra/.env", "infra/certs/", "<")


def named_paths() -> Iterator[tuple[Path, int, str]]:
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for match in _PATH.finditer(line):
                yield page, number, match.group(1).rstrip(".")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_file_the_docs_name_exists(page: Path) -> None:
    missing = [
        f"{page.relative_to(ROOT)}:{number}: {path}"
        for where, number, path in named_paths()
        if where == page
        and not any(part in path for part in NOT_IN_THE_REPOSITORY)
        and not any(ROOT.glob(path.rstrip("/")))
    ]
    assert missing == []


_LINK = re.compile(r"\]\(([^)#\s:]*)(#[\w-]+)?\)")  # relative: no scheme


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of `page`."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {"#" + re.sub(r"[^\w -]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_link_between_the_docs_leads_somewhere(page: Path) -> None:
    broken = []
    for target, anchor in _LINK.findall(page.read_text(encoding="utf-8")):
        linked = (page.parent / target).resolve() if target else page
        if not linked.exists() or (anchor and anchor not in _anchors(linked)):
            broken.append(target + anchor)
    assert broken == []


def test_the_readme_layout_is_the_code() -> None:
    assert block("text", "ivr/\n") == layout(), "regenerate it with tests.support.docs.layout()"


# The steps the README's flow names, as the menu webhook calls them.
FLOW_CALLS = {
    "parse": "parameters",
    "context": "call_context",
    "engine": "respond",
    "keep": "keep",
    "render": "twiml",
}


def test_the_menu_webhook_takes_the_steps_the_readme_draws_in_that_order() -> None:
    flow = block("text", "# the flow of a webhook")
    steps = re.findall(r"^  \d (\w+) ", flow, flags=re.MULTILINE)
    assert steps == list(FLOW_CALLS)
    module = ast.parse((ROOT / "ivr" / "web" / "routes" / "calls.py").read_text("utf-8"))
    [handler] = [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "menu_answer"
    ]
    called = [
        getattr(node.func, "id", getattr(node.func, "attr", ""))
        for node in sorted(
            (n for n in ast.walk(handler) if isinstance(n, ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
    ]
    firsts = [called.index(FLOW_CALLS[step]) for step in steps]
    assert firsts == sorted(firsts), called


def _collected(*args: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return sum("::" in line for line in done.stdout.splitlines())


@pytest.mark.slow
def test_the_fast_lane_leaves_out_the_slow_tests_and_ci_runs_them_all() -> None:
    shown = blocks_starting("sh", '.venv/bin/pytest -m "not slow"')
    commands = [[shlex.split(line.split("#")[0]) for line in b.text.splitlines()] for b in shown]
    assert len(commands) == 2 and commands[0] == commands[1]  # the README and docs/testing.md
    fast_lane, everything = commands[0]
    assert fast_lane == [".venv/bin/pytest", "-m", "not slow"]
    assert everything == [".ci/run"]
    assert re.search(r'^CI=true pytest "\$@"$', (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    fast, every = _collected("-m", "not slow"), _collected()
    assert 0 < fast < every


def _section(page: Path, heading: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_quotes_its_performance_figures_from_one_bench_run() -> None:
    """Every figure in the README's performance table is in bench/RESULTS.md, written by
    `python -m bench --results` from one run."""
    results = (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    rows = [
        line
        for line in _section(ROOT / "README.md", "Performance").splitlines()
        if line.startswith("|") and not set(line) <= set("|- ")
    ][1:]  # the header row names columns, not figures
    figures = [
        figure
        for row in rows
        for cell in row.strip("|").split("|")[1:]
        for figure in re.findall(r"\d[\d,]*(?:\.\d+)?", cell)
    ]
    assert figures, "the README's performance table quotes no figures"
    missing = [figure for figure in figures if figure not in results]
    assert missing == [], f"not in bench/RESULTS.md: {missing}"
