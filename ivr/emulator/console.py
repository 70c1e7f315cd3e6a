"""Showing a call to people: a readable transcript, JSON, audio of the caller's side, and an
interactive answer prompt for `ivr call` on a terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ivr.emulator.answers import parse_answer
from ivr.emulator.events import (
    BridgeEvent,
    DequeuedEvent,
    DialEndEvent,
    DialEvent,
    EnqueueEvent,
    ErrorEvent,
    Event,
    GatherEvent,
    HangupEvent,
    InputEvent,
    LeaveEvent,
    PauseEvent,
    PlayEvent,
    ProblemEvent,
    Prompt,
    QueueEvent,
    RecordEvent,
    RecordingEvent,
    RedirectEvent,
    RejectEvent,
    RequestEvent,
    SayEvent,
    StatusEvent,
)


def events_to_json(events: Sequence[Event]) -> str:
    """The events as a JSON array (shape documented in `ivr.emulator.events`)."""
    return json.dumps([event.to_json() for event in events], ensure_ascii=False, indent=2)


def render_transcript(events: Sequence[Event]) -> str:
    """One readable line per event: time offset, who speaks, voices, keys, queue, problems."""
    several_calls = len({event.call for event in events}) > 1
    lines = (transcript_line(event, several_calls) for event in events)
    return "\n".join(line for line in lines if line is not None)


def transcript_line(event: Event, with_call: bool = False) -> str | None:
    """The event's transcript line ("mm:ss  text"), or None for events a listener never notices."""
    text = render_event(event)
    if text is None:
        return None
    minutes, seconds = divmod(int(event.t), 60)
    prefix = f"{event.call[-6:]} " if with_call else ""
    return f"{prefix}{minutes:02d}:{seconds:02d}  {text}"


def render_event(event: Event) -> str | None:
    """The transcript line for one event (without the time), or None to leave it out."""
    match event:
        case SayEvent():
            return _say(event)
        case PlayEvent():
            return _play(event)
        case PauseEvent():
            return f"(pause {event.seconds} s)"
        case GatherEvent():
            return _gather(event)
        case InputEvent():
            return _input(event)
        case RecordingEvent():
            return f"... records (maxLength {event.max_length} s, timeout {event.timeout} s)"
        case RecordEvent():
            return f"recording ended after {event.duration} s ({event.digits or 'no key'})"
        case RequestEvent():
            status = event.status or "no answer"
            return f"-> {event.method} {event.url} ({event.purpose}) {status}"
        case RedirectEvent():
            return f"redirect to {event.method} {event.url}"
        case _:
            return _render_queue_and_dial(event) or _render_end(event)


def _render_queue_and_dial(event: Event) -> str | None:
    match event:
        case EnqueueEvent():
            return f"enters queue {event.queue!r} at position {event.position}"
        case QueueEvent():
            where = f"position {event.position} of {event.size}"
            return f"in queue {event.queue!r}: {where}, waited {event.waited} s"
        case LeaveEvent():
            return f"leaves queue {event.queue!r} ({event.result})"
        case DequeuedEvent():
            return f"taken from queue {event.queue!r} by {event.by} after {event.waited} s"
        case BridgeEvent():
            return f"connected with {event.peer}"
        case DialEvent():
            return f"dials {', '.join(event.nouns)} (timeout {event.timeout} s)"
        case DialEndEvent():
            talk = f", {event.duration} s with {event.peer}" if event.bridged else ""
            return f"dial ended: {event.status}{talk}"
    return None


def _render_end(event: Event) -> str | None:
    match event:
        case RejectEvent():
            return f"IVR rejects the call ({event.reason})"
        case HangupEvent():
            return {"caller": "Caller hangs up", "app": "IVR hangs up"}.get(
                event.by, f"{event.by} hangs up"
            )
        case ProblemEvent():
            return _problem(event)
        case StatusEvent():
            return f"call ended: {event.status}, {event.duration} s"
    return None


def _say(event: SayEvent) -> str:
    repeat = " (repeated until hang-up)" if event.loop == 0 else ""
    repeat = f" (x{event.loop})" if event.loop > 1 else repeat
    return f"IVR [{event.voice}, {event.language}]: {event.text}{repeat}"


def _play(event: PlayEvent) -> str:
    if event.digits:
        return f"IVR sends the digits {event.digits}"
    return f"IVR plays {event.url}" + (f" (x{event.loop})" if event.loop != 1 else "")


def _gather(event: GatherEvent) -> str:
    limits = f"finishOnKey={event.finish_on_key!r}, timeout {event.timeout} s"
    digits = f"numDigits={event.num_digits}, " if event.num_digits else ""
    return f"... waits for {' or '.join(event.input)} ({digits}{limits})"


def _input(event: InputEvent) -> str:
    if event.kind == "speech":
        return f'Caller says "{event.speech}"'
    if event.kind == "digits":
        submitted = f" (Digits={event.digits})" if event.digits != event.keys else ""
        return f"Caller presses {event.keys}{submitted}"
    return "Caller stays silent"


def _problem(event: ProblemEvent) -> str:
    level = "ERROR" if isinstance(event, ErrorEvent) else "WARNING"
    code = f" {event.code}" if event.code else ""
    where = f" in {event.element}" if event.element else ""
    link = f" ({event.url})" if event.url else ""
    return f"{level}{code} {event.title}: {event.message}{where}{link}"


# --- audio ---------------------------------------------------------------------------------

SAMPLE_RATE = 22050  # espeak-ng's own rate, so every piece concatenates without resampling
# espeak-ng voices for the <Say> languages the line uses; espeak-ng 1.51 has no Indian English
# voice, so en-IN is read with the British one.
ESPEAK_VOICES = {
    "en-us": "en-us",
    "en-gb": "en-gb",
    "en-in": "en-gb",
    "en-au": "en-gb",
    "cmn-cn": "cmn",
    "cmn-tw": "cmn",
    "yue-hk": "yue",
    "yue-cn": "yue",
    "ja-jp": "ja",
    "ko-kr": "ko",
    "es-es": "es",
    "es-mx": "es-419",
    "es-us": "es-419",
    "pt-br": "pt-br",
    "pt-pt": "pt",
    "id-id": "id",
    "vi-vn": "vi",
    "tr-tr": "tr",
    "hi-in": "hi",
    "de-de": "de",
    "fr-fr": "fr-fr",
    "fr-ca": "fr-fr",
}
_DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477),
}  # fmt: skip


class AudioToolMissing(RuntimeError):
    """espeak-ng or sox is not installed."""


def espeak_voice(language: str) -> str:
    """The espeak-ng voice for a <Say language> tag (its primary subtag if not listed)."""
    return ESPEAK_VOICES.get(language.lower(), language.split("-")[0].lower())


def render_audio(events: Sequence[Event], path: str | Path) -> Path:
    """Render what the caller hears as one WAV file: speech with espeak-ng, pauses and waits
    as silence, <Play> as a short tone (audio files are not fetched), keys as DTMF tones."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise AudioToolMissing(
            f"{' and '.join(missing)} not found; on Debian: apt-get install -y espeak-ng sox"
        )
    target = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        pieces = _audio_pieces(events, Path(scratch))
        if not pieces:
            pieces = [_silence(Path(scratch) / "empty.wav", 0.1)]
        _run(["sox", *map(str, pieces), str(target)])
    return target


def _audio_pieces(events: Sequence[Event], scratch: Path) -> list[Path]:
    pieces: list[Path] = []
    timeout = 5
    for index, event in enumerate(events):
        piece = scratch / f"{index:05d}.wav"
        match event:
            case SayEvent() if event.text:
                _run(
                    ["espeak-ng", "-v", espeak_voice(event.language), "-w", str(piece), event.text]
                )
                pieces.extend([piece] * max(1, event.loop))
            case PauseEvent():
                pieces.append(_silence(piece, event.seconds))
            case PlayEvent():
                pieces.append(_tone(piece, "sine 440", 1.0))
            case GatherEvent():
                timeout = event.timeout
            case InputEvent(kind="digits"):
                pieces.extend(_keys(scratch / f"{index:05d}", event.keys or ""))
            case InputEvent(kind="silence"):
                pieces.append(_silence(piece, timeout))
    return pieces


def _keys(stem: Path, keys: str) -> list[Path]:
    pieces = []
    for number, key in enumerate(keys):
        low, high = _DTMF[key]
        pieces.append(
            _tone(stem.with_name(f"{stem.name}-{number}.wav"), f"sine {low} sine {high}", 0.2)
        )
        pieces.append(_silence(stem.with_name(f"{stem.name}-{number}-gap.wav"), 0.1))
    return pieces


def _silence(path: Path, seconds: float) -> Path:
    _run(["sox", "-n", *_FORMAT, str(path), "trim", "0", f"{seconds:.2f}"])
    return path


def _tone(path: Path, synth: str, seconds: float) -> Path:
    _run(
        ["sox", "-n", *_FORMAT, str(path), "synth", f"{seconds:.2f}", *synth.split(), "vol", "0.3"]
    )
    return path


_FORMAT = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16"]


def _run(command: list[str], text: str | None = None) -> None:
    data = None if text is None else text.encode()
    subprocess.run(command, input=data, check=True, capture_output=True)


# --- interactive answers --------------------------------------------------------------------


def terminal_ask(prompt: Prompt, read: Callable[[str], str] = input) -> str:
    """Ask the person at the terminal for an answer to a Gather or Record (the Switch's `ask`).

    Keys `0-9*#`, `_` for silence, `say:TEXT` for speech; asks again until the answer is valid.
    End of input (Ctrl-D) raises EOFError, which the switch takes as the caller hanging up.
    """
    if isinstance(prompt, GatherEvent):
        question = f"[{' or '.join(prompt.input)}, finish key {prompt.finish_on_key!r}] > "
    else:
        question = f"[recording, keys {prompt.finish_on_key!r} end it] > "
    while True:
        answer = read(question).strip()
        try:
            parse_answer(answer)
        except ValueError as error:
            print(error)
            continue
        return answer
