"""Console sessions shown in the docs, run for real: each `$ command` line of a block runs, in
order, in one bash shell (so `export` and files made by one command reach the next), and what
they print together must be the lines the block shows.

Two allowances, both visible in the docs: a line `...` stands for any number of lines, and
instants (`2026-12-01 23:28:37`, `2026-12-01T19:16-05:00`, `23:16 UTC`) match any instant of
the same shape, since a session runs at the time it is run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

_INSTANT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:,\d{3})?(?: UTC|[+-]\d\d:\d\d|Z)?")


def session_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell: this venv's `ivr` first on PATH, no IVR_ or TWILIO_
    setting of the machine running the tests, a wide terminal for tables."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    path = f"{Path(sys.executable).parent}{os.pathsep}{inherited.get('PATH', '')}"
    return {
        **inherited,
        "PATH": path,
        "HOME": str(home),
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def run_session(text: str, cwd: Path, env: dict[str, str]) -> None:
    """Run the block `text` in `cwd`; fail showing both sides when the output differs."""
    commands = [line[2:] for line in text.splitlines() if line.startswith("$ ")]
    shown = [line for line in text.splitlines() if not line.startswith("$ ")]
    script = "exec 2>&1\n" + "\n".join(commands) + "\n"
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    printed = done.stdout.splitlines()
    assert matches(shown, printed), "\n".join(["shown:", *shown, "", "printed:", *printed])


def matches(shown: list[str], printed: list[str]) -> bool:
    """True when `printed` is `shown`, with `...` for any lines and instants for instants."""
    if not shown:
        return not printed
    first, rest = shown[0], shown[1:]
    if first == "...":
        return any(matches(rest, printed[skip:]) for skip in range(len(printed) + 1))
    return (
        bool(printed)
        and _shape(first).rstrip() == _shape(printed[0]).rstrip()
        and matches(rest, printed[1:])
    )


def shown_in_order(shown: list[str], printed: list[str]) -> bool:
    """True when every line of `shown` is a line of `printed`, in that order (an excerpt)."""
    rest = iter(_shape(line).rstrip() for line in printed)
    return all(any(line == _shape(one).rstrip() for line in rest) for one in shown)


def _shape(line: str) -> str:
    return _INSTANT.sub(lambda m: re.sub(r"\d", "0", m.group(0)), line)
