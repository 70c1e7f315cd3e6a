"""The hold music callers hear between queue announcements by default: a 20-second clip the
project makes itself (so its licence is the project's), served at HOLD_MUSIC_PATH as WAV for
Twilio's <Play>, with no signature (Twilio fetches media without one) and cached by Twilio.

A soft arpeggio over four chords (C, A minor, F, G), 8 kHz 16-bit mono (what a phone line
carries), fading at both ends so it loops without a click. `make_clip` makes it; the package
ships what it made (ivr/web/audio/hold.wav, written by `python -m ivr.web.hold_music`), since
making it takes half a second of CPU a webhook must not wait behind. IVR_HOLD_MUSIC_URL
replaces it.
"""

from __future__ import annotations

import hashlib
import io
import math
import sys
import wave
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

HOLD_MUSIC_PATH = "/audio/hold.wav"
CLIP_SECONDS = 20
SAMPLE_RATE = 8000
# Each chord's notes (Hz), one chord every five seconds; each note rings for NOTE_SECONDS.
CHORDS = (
    (261.63, 329.63, 392.00, 523.25),
    (220.00, 261.63, 329.63, 440.00),
    (174.61, 220.00, 261.63, 349.23),
    (196.00, 246.94, 293.66, 392.00),
)
NOTE_EVERY = 0.625
NOTE_SECONDS = 1.6
PEAK = 0.25  # of full scale: quiet under the announcements, never clipping on a phone line
router = APIRouter()


CLIP_FILE = Path(__file__).with_name("audio") / "hold.wav"


@cache
def hold_clip() -> bytes:
    """The shipped clip, read once per process."""
    return CLIP_FILE.read_bytes()


def make_clip() -> bytes:
    """The clip as a WAV file, made from its notes."""
    samples = [0.0] * (CLIP_SECONDS * SAMPLE_RATE)
    chord_seconds = CLIP_SECONDS / len(CHORDS)
    notes_per_chord = round(chord_seconds / NOTE_EVERY)
    for index, chord in enumerate(CHORDS):
        for beat in range(notes_per_chord):
            start = index * chord_seconds + beat * NOTE_EVERY
            _ring(samples, chord[beat % len(chord)], start)
    loudest = max(abs(sample) for sample in samples) or 1.0
    fade = SAMPLE_RATE // 20
    frames = bytearray()
    for n, sample in enumerate(samples):
        edge = min(n, len(samples) - 1 - n)
        level = PEAK * sample / loudest * min(1.0, edge / fade)
        frames += int(level * 32767).to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(SAMPLE_RATE)
        clip.writeframes(bytes(frames))
    return out.getvalue()


def _ring(samples: list[float], frequency: float, start: float) -> None:
    """Add one soft note (a sine and a quiet octave, struck and fading) from `start` seconds;
    what rings past the end wraps to the beginning, so the clip loops seamlessly."""
    first = int(start * SAMPLE_RATE)
    length = int(NOTE_SECONDS * SAMPLE_RATE)
    for n in range(length):
        t = n / SAMPLE_RATE
        envelope = min(1.0, t / 0.01) * math.exp(-3.0 * t)
        phase = 2 * math.pi * frequency * t
        value = envelope * (math.sin(phase) + 0.2 * math.sin(2 * phase))
        samples[(first + n) % len(samples)] += value


@router.api_route(HOLD_MUSIC_PATH, methods=["GET", "HEAD"], include_in_schema=False)
async def hold_music(request: Request) -> Response:
    """The clip, for Twilio's <Play>: audio/wav, cached a day, the same bytes every time."""
    clip = await run_in_threadpool(hold_clip)  # read on first use: never on the event loop
    etag = '"' + hashlib.sha256(clip).hexdigest()[:16] + '"'
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else clip
    headers["Content-Length"] = str(len(clip))
    return Response(body, media_type="audio/wav", headers=headers)


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else CLIP_FILE).write_bytes(make_clip())
