"""The caller's side as audio, with espeak-ng and sox (skipped only where they are missing)."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path
from typing import Any

import pytest

from ivr.emulator import render_audio
from ivr.emulator.console import espeak_voice

needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are not installed (apt-get install -y espeak-ng sox)",
)

CALL = (
    "<Response><Say voice='Polly.Zhiyu' language='cmn-CN'>您好</Say><Pause length='2'/>"
    "<Gather numDigits='1' action='/choice'><Say>Press 1</Say></Gather></Response>"
)


@pytest.mark.audio
@needs_tools
def test_call_renders_to_one_wav_file(make_app: Any, make_switch: Any, tmp_path: Path) -> None:
    app = make_app({"/voice/incoming": CALL, "/choice": "<Response><Say>Bye</Say></Response>"})
    call = make_switch(app).dial("+8613812345678", to="+864001234567")
    call.press("1")
    target = render_audio(call.events, tmp_path / "call.wav")
    with wave.open(str(target)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        assert audio.getnchannels() == 1 and audio.getframerate() == 22050
    assert seconds > 2 + 0.2  # at least the pause and the key tone


def test_say_languages_map_to_espeak_voices() -> None:
    assert [espeak_voice(tag) for tag in ("en-US", "cmn-CN", "yue-HK", "es-MX", "pt-BR")] == [
        "en-us", "cmn", "yue", "es-419", "pt-br",
    ]  # fmt: skip
    assert espeak_voice("it-IT") == "it"


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ivr.emulator import AudioToolMissing

    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "sox" else "/bin/x")
    with pytest.raises(AudioToolMissing, match="sox not found"):
        render_audio([], tmp_path / "x.wav")
