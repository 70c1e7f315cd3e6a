"""`ivr check` confirms that IVR_HOLD_MUSIC_URL answers with audio that fits between the
announcements, against a real HTTP server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.commands.main import cli
from ivr.web.hold_music import hold_clip
from tests.support.repository import ROOT


class Media(BaseHTTPRequestHandler):
    """/hold.wav: audio; /twimlet: TwiML, as Twilio's old hold-music twimlet answers."""

    def do_GET(self) -> None:
        audio = self.path == "/hold.wav"
        body = hold_clip() if audio else b"<Response><Play>x</Play></Response>"
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav" if audio else "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Media)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def check(tmp_path: Path, url: str, seconds: int) -> str:
    env = {
        "IVR_REGIONS": str(ROOT / "regions.toml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_FLOWS": str(ROOT / "flows.toml"),
        "IVR_DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "IVR_HOLD_MUSIC_URL": url,
        "IVR_HOLD_MUSIC_SECONDS": str(seconds),
    }
    result = CliRunner().invoke(cli, ["check"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_audio_that_fits_passes(tmp_path: Path, media: str) -> None:
    assert "IVR_HOLD_MUSIC" not in check(tmp_path, f"{media}/hold.wav", 20)


def test_a_page_that_is_not_audio_is_named(tmp_path: Path, media: str) -> None:
    output = check(tmp_path, f"{media}/twimlet", 20)
    assert f"warning: IVR_HOLD_MUSIC_URL {media}/twimlet answers 200 text/xml, not audio" in output


def test_a_clip_longer_than_a_regions_announcements_is_named(tmp_path: Path, media: str) -> None:
    output = check(tmp_path, f"{media}/hold.wav", 50)
    assert "IVR_HOLD_MUSIC_SECONDS 50 is longer than region cn's announce_every (45 s)" in output


def test_a_url_nobody_answers_is_named(tmp_path: Path) -> None:
    output = check(tmp_path, "http://127.0.0.1:9/hold.wav", 20)
    assert "IVR_HOLD_MUSIC_URL http://127.0.0.1:9/hold.wav does not answer (ConnectError)" in output
