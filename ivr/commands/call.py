"""`ivr call`: one emulated call, into the IVR in-process (virtual clock), or over HTTP to the
voice URL of any running TwiML app (ours or another team's), as Twilio calls a number's.

In-process calls get a throwaway SQLite file and a fresh auth token, so they exercise the
signature check and never mix with a real line's records. Over HTTP the server keeps its own
clock: `--at` is refused there. Nothing over HTTP reads our regions or prompts: the app at the
URL may not be ours.
"""

from __future__ import annotations

import enum
import random
import secrets
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr

from ivr.clock import SystemClock
from ivr.commands import support
from ivr.config.regions import RegionBook
from ivr.config.settings import Settings
from ivr.config.tomlfile import ConfigError
from ivr.emulator import (
    AudioToolMissing,
    Call,
    Event,
    Prompt,
    Switch,
    VirtualClock,
    events_to_json,
    parse_answer,
    render_audio,
    render_transcript,
    terminal_ask,
)
from ivr.emulator.console import transcript_line
from ivr.engine.context import place_caller
from ivr.engine.steps import INCOMING, QUEUE_CONNECT
from ivr.web.twiml import agent_takes_queue

AGENT = "client:agent"
IN_PROCESS_URL = "http://ivr.test"


class CallProblem(ValueError):
    """Options that cannot work together; the message says what to do instead."""


@dataclass(frozen=True)
class CallRequest:
    caller: str
    to: str | None = None
    at: str | None = None
    answers: tuple[str, ...] = ()
    url: str | None = None  # the voice URL of a running app: any path, query string included
    method: str = "POST"  # how the voice URL is requested, as a Twilio number's config says
    status_url: str | None = None  # where the call reports its end (with `url`); None: nowhere
    agent_after: float | None = None
    agent_talks: float = 60.0


def place_call(
    request: CallRequest, settings: Settings, regions: Callable[[], RegionBook], live: bool = False
) -> Call:
    """Run the call to its end and return it (its events, status and any TwiML error).

    `live`: a person at a terminal answers each question as it comes, and every event is
    printed as it happens.
    """
    ask = terminal_ask if live else None
    on_event = _print_event if live else None
    _check(request)
    # Over HTTP the switch dials its default number unless told: the app may not be ours.
    to = request.to or (None if request.url else _home_line(regions(), request.caller))
    with _switch(request, settings, ask, on_event) as switch:
        if request.agent_after is not None:
            switch.dial_twiml_later(
                request.agent_after,
                _agent_takes_the_caller(switch, _connect_url(request, switch.public_url)),
                from_=AGENT,
                talk=request.agent_talks,
            )
        return switch.dial(
            request.caller, to, at=request.at, answers=request.answers, run_to_end=True
        )


def _check(request: CallRequest) -> None:
    """Refuse options that cannot work together, saying what to do instead."""
    if request.url is None:
        if request.method != "POST" or request.status_url is not None:
            raise CallProblem(
                "--method and --status-url describe the app at --url; without --url the call "
                "goes to this IVR in-process, at its own voice and status URLs"
            )
    else:
        _check_url("--url", request.url)
        if request.at:
            raise CallProblem("--at works in-process only: a server over HTTP keeps its own clock")
        if request.agent_after is not None and not _is_our_voice_url(request.url):
            raise CallProblem(
                f"--agent-after works with this IVR only: its voice URL ends in {INCOMING}, "
                f"and the agent is connected through {QUEUE_CONNECT} next to it"
            )
    if request.status_url is not None:
        _check_url("--status-url", request.status_url)
    if request.method not in ("GET", "POST"):
        raise CallProblem(f"--method {request.method!r}: GET or POST, as Twilio requests URLs")
    for answer in request.answers:
        try:
            parse_answer(answer)
        except ValueError as exc:
            raise CallProblem(f"--press: {exc}") from None


def _check_url(option: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CallProblem(
            f"{option} {url!r}: give a full http(s) URL, e.g. http://127.0.0.1:5000/ivr/welcome"
        )


def _is_our_voice_url(url: str) -> bool:
    return urlsplit(url).path.endswith(INCOMING)


def _print_event(event: Event) -> None:
    line = transcript_line(event)
    if line is not None:
        print(line, flush=True)


def _home_line(book: RegionBook, caller: str) -> str:
    region = place_caller(book, caller, "").region
    if not region.hotlines:
        raise CallProblem(f"region {region.id!r} has no hotline; give the number to call with --to")
    return region.hotlines[0]


@contextmanager
def _switch(
    request: CallRequest,
    settings: Settings,
    ask: Callable[[Prompt], str] | None,
    on_event: Callable[[Event], None] | None,
) -> Iterator[Switch]:
    if request.url:
        # Requests are signed over the URLs as given (TWILIO_AUTH_TOKEN, if set), like Twilio's.
        origin = _origin(request.url)
        with Switch(
            origin,
            auth_token=settings.auth_token,
            public_url=origin,
            voice_path=request.url,
            voice_method=request.method,
            status_path=request.status_url,
            ask=ask,
            on_event=on_event,
        ) as switch:
            yield switch
        return
    from ivr.web.app import create_app  # the service itself, only for in-process calls

    start = _instant(request.at) if request.at else SystemClock().now()
    clock = VirtualClock(start)
    token = secrets.token_hex(16)
    public_url = settings.public_url or IN_PROCESS_URL
    with tempfile.TemporaryDirectory(prefix="ivr-call-") as scratch:
        local = settings.model_copy(
            update={
                "twilio_auth_token": SecretStr(token),
                "session_secret": SecretStr(secrets.token_hex(32)),  # no wallboard warning
                "public_url": public_url,
                "database_url": f"sqlite:///{Path(scratch) / 'calls.sqlite3'}",
                "spool_dir": Path(scratch) / "spool",
                "smtp_url": None,  # a rehearsal never mails the real support mailbox
            }
        )
        app = create_app(local, clock=clock)
        # Callback codes from a seeded generator: the same rehearsal prints the same code.
        codes = random.Random(0)
        app.state.services.codes = lambda: f"{codes.randrange(10**6):06d}"
        with Switch(
            app, clock=clock, auth_token=token, public_url=public_url, ask=ask, on_event=on_event
        ) as switch:
            yield switch


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CallProblem(
            f"--at {text!r}: give ISO 8601 with a UTC offset, e.g. 2026-03-01T03:00+08:00"
        )
    return moment


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _connect_url(request: CallRequest, public_url: str) -> str:
    """Where our IVR connects a caller to an agent: next to its voice URL over HTTP, under
    the public URL in-process."""
    if request.url:
        return urlsplit(request.url).path.removesuffix(INCOMING) + QUEUE_CONNECT
    return urlsplit(public_url).path.rstrip("/") + QUEUE_CONNECT


def _agent_takes_the_caller(switch: Switch, connect_url: str) -> Callable[[], str | None]:
    """An agent's call that dials the queue the caller waits in, if any, when it is placed."""

    def twiml() -> str | None:
        queue = next((call.queue for call in switch.calls.values() if call.queue), None)
        return None if queue is None else agent_takes_queue(queue, connect_url)

    return twiml


# -- the command --------------------------------------------------------------------------
class VoiceMethod(enum.StrEnum):
    """How Twilio requests a voice URL (a number's configuration offers these two)."""

    GET = "GET"
    POST = "POST"


def call(
    caller: Annotated[
        str, typer.Argument(metavar="FROM", help="The caller's number, e.g. +81312345678.")
    ],
    to: Annotated[
        str | None, typer.Option(help="The hotline dialed; default: the caller's own.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="When, ISO 8601 with offset: 2026-03-01T03:00+08:00 (in-process)."),
    ] = None,
    press: Annotated[
        str | None,
        typer.Option(
            help="One answer per question: keys, _ for silence, say:TEXT (quote it when TEXT has"
            " spaces). E.g. '1 _ 12345# \"say:my password\"'."
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Call a running TwiML app over HTTP at its full voice URL (any path), as Twilio"
            " calls a number's; this IVR's is http://HOST:PORT/voice/incoming."
        ),
    ] = None,
    method: Annotated[
        VoiceMethod, typer.Option(help="How --url is requested.", case_sensitive=False)
    ] = VoiceMethod.POST,
    status_url: Annotated[
        str | None,
        typer.Option(
            help="With --url: where the call reports its end (default: nowhere); this IVR's is"
            " http://HOST:PORT/voice/status."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
    audio: Annotated[
        Path | None, typer.Option(help="Also render the call to this WAV file (espeak-ng).")
    ] = None,
    agent_after: Annotated[
        float | None,
        typer.Option(help="An agent takes the caller from the queue after this many seconds."),
    ] = None,
) -> None:
    """Place an emulated call and print what the caller hears (exit 1 on a TwiML error)."""
    settings = support.settings()
    interactive = press is None and sys.stdin.isatty() and not as_json
    try:
        answers = tuple(shlex.split(press or ""))  # quotes keep speech together: "say:my password"
    except ValueError as exc:
        typer.echo(f"--press: {exc}", err=True)
        raise typer.Exit(2) from None
    request = CallRequest(
        caller,
        to,
        at,
        answers,
        url=url,
        method=method.value,
        status_url=status_url,
        agent_after=agent_after,
    )
    try:
        placed = place_call(
            request, settings, lambda: support.config(settings).regions, live=interactive
        )
    except (CallProblem, ConfigError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _show(placed.events, as_json=as_json, already_shown=interactive, audio=audio)
    if placed.error is not None:
        raise typer.Exit(1)


def _show(
    events: Sequence[Event], *, as_json: bool, already_shown: bool, audio: Path | None
) -> None:
    if not already_shown:
        typer.echo(events_to_json(events) if as_json else render_transcript(events))
    if audio is not None:
        try:
            typer.echo(f"audio: {render_audio(events, audio)}", err=True)
        except AudioToolMissing as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
