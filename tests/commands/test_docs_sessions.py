"""The console sessions of the README and docs/, run as shown in a fresh shell, with this venv's
`ivr` on the PATH (tests/support/console.py): in a scratch directory holding a copy of the
sample configuration (and so its own SQLite file), or, for a search of the code, in the
repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.console import run_session, session_env
from tests.support.docs import block
from tests.support.repository import ROOT

pytestmark = pytest.mark.slow  # each `ivr` in its own process

IN_THE_REPOSITORY = {"a spoken sentence"}  # the others run in a scratch directory
# The sessions by their first line; what their commands read from the environment.
SESSIONS = {
    "a spoken sentence": (block("console", '$ grep -rn "we can\'t call that number"'), {}),
    "a broken regions file": (block("console", "$ sed 's#Asia/Tokyo#Asia/Tokio#' regions"), {}),
    "a broken prompt": (block("console", "$ cp -r prompts broken-prompts"), {}),
    "announcements": (block("console", "$ ivr announce add --region jp"), {}),
    "wallboard users": (
        block("console", '$ export IVR_SESSION_SECRET="$(python3'),
        {"ANA_PASSWORD": "correct horse battery", "BO_PASSWORD": "staple of the wall"},
    ),
    "agents": (
        block("console", "$ printf '%s\\n' \"$LI_PIN\" | ivr agents add li.wei"),
        {"LI_PIN": "480215"},
    ),
}


@pytest.mark.parametrize("name", SESSIONS)
def test_the_session_prints_what_the_docs_show(name: str, tmp_path: Path) -> None:
    shutil.copy(ROOT / "regions.toml", tmp_path / "regions.toml")
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    shown, settings = SESSIONS[name]
    where = ROOT if name in IN_THE_REPOSITORY else tmp_path
    run_session(shown, where, session_env(tmp_path, **settings))
