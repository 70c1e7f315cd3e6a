"""Golden TwiML: a few whole documents per menu and language, byte for byte.

The twilio builder sorts attributes, so a document only changes when what callers hear or
what Twilio does changes. Regenerate after a deliberate change with
`IVR_UPDATE_GOLDEN=1 pytest tests/web/test_twiml_golden.py` and read the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from xml.dom import minidom

import pytest

from ivr.engine.context import CallContext
from ivr.engine.menu import answer, start
from ivr.engine.questions import Heard
from ivr.engine.state import CallPlace, MenuState, Node
from ivr.engine.steps import Step
from ivr.engine.waiting import QueueStatus, queue_result, queue_wait
from ivr.web.twiml import render
from tests.support.contexts import ContextFactory
from tests.support.repository import ROOT

GOLDEN = ROOT / "tests" / "golden"
CN = {"from_": "+8613812345678", "to": "+864001234567", "at": "2026-03-02T10:00+08:00"}
TOKYO_SUNDAY_NIGHT = {
    "from_": "+819012345678",
    "to": "+81345678901",
    "at": "2026-03-01T23:59+09:00",
}

CASES: dict[str, tuple[dict[str, str], Callable[[CallContext], Step]]] = {
    "language-menu-cn": (CN, start),
    "main-menu-zh-CN": (
        CN,
        lambda ctx: answer(ctx, MenuState(Node.LANGUAGE, "cn", "zh-CN"), Heard(digits="1")),
    ),
    "main-menu-en-US": (
        CN,
        lambda ctx: answer(ctx, MenuState(Node.LANGUAGE, "cn", "zh-CN"), Heard(digits="2")),
    ),
    "password-zh-CN": (
        CN,
        lambda ctx: answer(ctx, MenuState("main", "cn", "zh-CN"), Heard(digits="1")),
    ),
    "security-en-US": (
        CN,
        lambda ctx: answer(ctx, MenuState("main", "cn", "en-US"), Heard(speech="security")),
    ),
    "agents-closed-en-US": (
        TOKYO_SUNDAY_NIGHT,
        lambda ctx: answer(ctx, MenuState("main", "jp", "en-US"), Heard(digits="0")),
    ),
    "reference-zh-CN": (
        CN,
        lambda ctx: answer(ctx, MenuState("pending", "cn", "zh-CN"), Heard(digits="0")),
    ),
    "queue-wait-zh-CN": (
        CN,
        lambda ctx: queue_wait(ctx, CallPlace("cn", "zh-CN", "pending"), QueueStatus(3, 100)),
    ),
    "queue-left-en-US": (
        CN,
        lambda ctx: queue_result(ctx, CallPlace("cn", "en-US", "main"), "leave"),
    ),
}


def pretty(xml: str) -> str:
    return minidom.parseString(xml).toprettyxml(indent="  ")


@pytest.mark.parametrize("name", sorted(CASES))
def test_twiml_matches_its_golden_file(name: str, make_context: ContextFactory) -> None:
    call, decide = CASES[name]
    document = pretty(render(decide(make_context(**call))))
    golden = GOLDEN / f"{name}.xml"
    if os.environ.get("IVR_UPDATE_GOLDEN") == "1":
        golden.write_text(document, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; create it with IVR_UPDATE_GOLDEN=1"
    assert document == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_a_case() -> None:
    assert {path.stem for path in GOLDEN.glob("*.xml")} == set(CASES)
