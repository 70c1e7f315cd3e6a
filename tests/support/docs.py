"""The README and docs/ as tests read them: their fenced blocks, and the layout the README
shows, generated from the code's own docstrings."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.repository import ROOT

PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# The part of the layout a person writes: what is not a module of ivr/.
LAYOUT_TAIL = """\
prompts/         prompts/<language>/<area>.toml: one file per menu area, the same keys in each language
regions.toml     the sample regions
flows.toml       the sample menus: questions, keys, where they lead, the caller-time budgets
infra/           Dockerfile, compose.yaml, nginx, fallback.xml, prometheus, constraints.txt
bench/           python -m bench: throughput, latency, cold start, memory, surge, reliability
docs/            the documentation the README links to
tests/           mirrors ivr/; support/ holds the helpers, golden/ the TwiML files
"""


@dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line of its opening fence, its language and text."""

    page: Path
    line: int
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path | None = None) -> list[Block]:
    """Every fenced block of `page` (default: the README and every page of docs/)."""
    found = []
    for path in PAGES if page is None else (page,):
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = 1 + text.count("\n", 0, match.start())
            found.append(Block(path, line, match.group(1), match.group(2)))
    return found


def block(language: str, starting: str) -> str:
    """The text of the one block in `language` that starts with `starting`, wherever it is."""
    found = [b.text for b in blocks() if b.language == language and b.text.startswith(starting)]
    assert len(found) == 1, f"{len(found)} ```{language} blocks start with {starting!r}"
    return found[0]


def blocks_starting(language: str, starting: str) -> list[Block]:
    """Every block in `language` that starts with `starting`."""
    return [b for b in blocks() if b.language == language and b.text.startswith(starting)]


def layout() -> str:
    """The README's layout: each room and top-level module of ivr/ with the first line of its
    docstring, then the rest of the repository."""
    package = ROOT / "ivr"
    entries = sorted(
        [path for path in package.iterdir() if (path / "__init__.py").is_file()]
        + [path for path in package.glob("*.py") if path.name != "__init__.py"]
    )
    lines = ["ivr/"]
    for path in entries:
        source = path / "__init__.py" if path.is_dir() else path
        doc = ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or ""
        name = path.name + ("/" if path.is_dir() else "")
        lines.append(f"  {name:<14} {doc.splitlines()[0] if doc else ''}".rstrip())
    return "\n".join(lines) + "\n" + LAYOUT_TAIL
