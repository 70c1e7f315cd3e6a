"""infra/fallback.xml is exactly what `ivr fallback` generates, and plays cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config.loading import load_config
from ivr.config.settings import Settings
from ivr.emulator import Switch
from ivr.web.app import create_app
from ivr.web.routes.ops import static_fallback
from tests.support.processes import INFRA
from tests.support.replicas import replica_env
from tests.support.repository import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.infra]

COMMITTED = INFRA / "fallback.xml"
REGENERATE = "regenerate it: ivr fallback > infra/fallback.xml"


def test_the_committed_document_is_the_generators_output(settings: Settings) -> None:
    generated = static_fallback(load_config(settings)) + "\n"
    assert COMMITTED.read_text(encoding="utf-8") == generated, REGENERATE


def test_ivr_fallback_prints_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ivr.commands.main", "fallback"],
        cwd=ROOT,
        env=replica_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == COMMITTED.read_text(encoding="utf-8"), REGENERATE


def test_ivr_fallback_refuses_a_broken_configuration(tmp_path: Path) -> None:
    broken = tmp_path / "regions.toml"
    broken.write_text('[regions.global]\nname = "World"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ivr.commands.main", "fallback"],
        cwd=ROOT,
        env=replica_env(IVR_REGIONS=str(broken)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "cannot build the fallback document" in result.stderr


def test_the_document_plays_as_twilio_would_play_it(settings: Settings) -> None:
    with Switch(create_app(settings)) as phone:
        call = phone.dial_twiml(COMMITTED.read_text(encoding="utf-8"), from_="+447700900123")
    assert call.heard == [
        "We're sorry, something went wrong on our side.",
        "There are other ways to reach us.",
        "For online chat, open the app, go to Help, and tap Chat. You'll also find chat on our official website.",
        "Or email us at support@example.com. We reply within 24 hours.",
        "Thank you for calling. Goodbye.",
    ]
    assert call.status == "completed"
    assert call.error is None and call.warnings == [], call.transcript
