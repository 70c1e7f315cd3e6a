"""The service's own hold music: a 20-second clip it makes and serves for Twilio's <Play>,
unsigned, cached, the same bytes every time; and what waiting callers are played."""

from __future__ import annotations

import io
import wave

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from ivr.config.settings import Settings
from ivr.engine.context import HoldMusic
from ivr.web.hold_music import CLIP_SECONDS, HOLD_MUSIC_PATH, hold_clip, make_clip
from tests.support.app_client import AppClient
from tests.support.calls import PUBLIC_URL


def test_the_clip_is_twenty_seconds_of_phone_line_audio_served_without_a_signature(
    signed_app: FastAPI,
) -> None:
    client = AppClient(signed_app)  # a service that asks webhooks for signatures
    try:
        answer = client.get(HOLD_MUSIC_PATH)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "audio/wav"
        assert answer.headers["cache-control"] == "public, max-age=86400"
        with wave.open(io.BytesIO(answer.content)) as clip:
            assert (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) == (1, 2, 8000)
            assert clip.getnframes() / clip.getframerate() == CLIP_SECONDS
            frames = clip.readframes(clip.getnframes())
        levels = [
            abs(int.from_bytes(frames[i : i + 2], "little", signed=True))
            for i in range(0, len(frames), 2)
        ]
        # It fades in and out: no click where the loop starts again.
        assert levels[0] == levels[-1] == 0 and max(levels[:80] + levels[-80:]) < 0.05 * 32767
        assert 0.2 * 32767 < max(levels) <= 0.25 * 32767  # quiet, never clipping
        again = client.get(HOLD_MUSIC_PATH, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
        head = client.head(HOLD_MUSIC_PATH)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(answer.content))
    finally:
        client.close()


def test_waiting_callers_are_played_the_services_clip_unless_one_is_configured(
    signed_app: FastAPI, signed_settings: Settings
) -> None:
    services = signed_app.state.services
    assert services.hold_music == HoldMusic(PUBLIC_URL + HOLD_MUSIC_PATH, CLIP_SECONDS)
    own = signed_settings.model_copy(
        update={"hold_music_url": "https://cdn.example.com/hold.mp3", "hold_music_seconds": 30}
    )
    services.settings = own
    del services.hold_music  # read again from the new settings
    assert services.hold_music == HoldMusic("https://cdn.example.com/hold.mp3", 30)


def test_a_hold_music_url_without_its_length_is_refused() -> None:
    with pytest.raises(ValidationError, match="IVR_HOLD_MUSIC_SECONDS"):
        Settings(_env_file=None, hold_music_url="https://cdn.example.com/hold.mp3")


def test_the_shipped_clip_is_what_the_project_makes() -> None:
    """The package's clip comes from `make_clip` (python -m ivr.web.hold_music), not from
    anywhere else; a sample may differ by one where this machine's libm rounds otherwise."""
    shipped, made = (wave.open(io.BytesIO(clip)) for clip in (hold_clip(), make_clip()))
    with shipped, made:
        assert shipped.getparams() == made.getparams()
        ours = shipped.readframes(shipped.getnframes())
        theirs = made.readframes(made.getnframes())
    pairs = zip(memoryview(ours).cast("h"), memoryview(theirs).cast("h"), strict=True)
    assert max(abs(a - b) for a, b in pairs) <= 1
