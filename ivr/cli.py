"""The `ivr` command: serve the webhooks, check the configuration, place emulated calls."""

from __future__ import annotations

import shlex
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from ivr.report_commands import calls, report
from ivr.settings import Settings
from ivr.tomlfile import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivr.dispatch import Dispatcher
    from ivr.emulator import Event
    from ivr.services import Config

cli = typer.Typer(help="Regional wallet support hotlines over Twilio.", no_args_is_help=True)
DISPATCH_EVERY = 15.0


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = Settings.variable(str(error["loc"][0])) if error["loc"] else "settings"
            typer.echo(f"environment: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    dispatch: Annotated[
        bool, typer.Option(help="Also place callbacks from this process (see `ivr dispatch`).")
    ] = False,
) -> None:
    """Run the webhook service (uvicorn) on the configuration in the environment."""
    import uvicorn

    from ivr.logs import configure_logging
    from ivr.services import load_config

    configure_logging()
    uvicorn_log = {"version": 1, "disable_existing_loggers": False}
    settings = _settings()
    try:
        load_config(settings)  # refuse a broken file before binding the port
    except ConfigError as exc:
        typer.echo(f"refusing to start, the configuration is broken:\n{exc}", err=True)
        raise typer.Exit(2) from None
    if settings.auth_token is None:
        typer.secho(
            "WARNING: TWILIO_AUTH_TOKEN is not set; signatures are not checked. Local use only.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    stop = threading.Event()
    if dispatch:
        dispatcher = _dispatcher(settings)
        threading.Thread(
            target=dispatcher.run_forever, args=(DISPATCH_EVERY, stop), daemon=True
        ).start()
    try:
        uvicorn.run(
            "ivr.app:app",
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_config=uvicorn_log,
        )
    finally:
        stop.set()


@cli.command(name="dispatch")
def dispatch_callbacks(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    every: Annotated[float, typer.Option(min=1, help="Seconds between passes.")] = DISPATCH_EVERY,
) -> None:
    """Place booked callbacks through Twilio when regions are open and queues are short; text
    the callers we could not reach; mail voicemails; purge old data (IVR_RETENTION_DAYS)."""
    from ivr.logs import configure_logging

    configure_logging()
    dispatcher = _dispatcher(_settings())
    if once:
        typer.echo(str(dispatcher.run_once()))
        return
    stop = threading.Event()
    try:
        dispatcher.run_forever(every, stop)
    except KeyboardInterrupt:
        stop.set()


def _dispatcher(settings: Settings) -> Dispatcher:
    from ivr.clock import SystemClock
    from ivr.dispatch import Dispatcher, DispatchUnavailable, twilio_client
    from ivr.mail import Mailer
    from ivr.store import Store
    from ivr.store.migrate import upgrade

    config = _config_or_exit(settings)
    try:
        client = twilio_client(settings)
        store = Store.connect(settings.database_url)
        upgrade(store.engine)
        mailer = Mailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
        return Dispatcher(
            store, config.regions, config.prompts, settings, SystemClock(), client, mailer
        )
    except DispatchUnavailable as exc:
        typer.echo(f"cannot dispatch callbacks: {exc}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def purge(
    older_than: Annotated[str, typer.Option(help="Age of the data to delete: 90d, 12w, 36h.")],
) -> None:
    """Delete calls, finished callbacks, voicemails and their recordings at Twilio."""
    from datetime import UTC, datetime

    from ivr.dispatch import DispatchUnavailable, twilio_client
    from ivr.retention import purge as purge_data
    from ivr.store import Store
    from ivr.store.migrate import upgrade

    age = _age(older_than)
    settings = _settings()
    try:
        client = twilio_client(settings)
    except DispatchUnavailable:
        client = None
        typer.echo("no Twilio credentials: voicemails (and their recordings) are kept", err=True)
    store = Store.connect(settings.database_url)
    try:
        upgrade(store.engine)
        report = purge_data(store, client, datetime.now(UTC) - age)
    finally:
        store.close()
    typer.echo(
        f"deleted {report.calls} calls, {report.callbacks} callbacks, "
        f"{report.voicemails} voicemails; kept {report.kept_voicemails} voicemails"
    )


def _age(text: str) -> timedelta:
    units = {"d": "days", "w": "weeks", "h": "hours"}
    number, unit = text[:-1], text[-1:]
    if not number.isascii() or not number.isdigit() or unit not in units or int(number) < 1:
        typer.echo(
            f"--older-than: expected a number and d, w or h (like 90d), not {text!r}", err=True
        )
        raise typer.Exit(2)
    return timedelta(**{units[unit]: int(number)})


def _config_or_exit(settings: Settings) -> Config:
    try:
        return _config(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@cli.command()
def check() -> None:
    """Validate regions.toml and the prompts; list errors and prompt gaps with file and line."""
    from ivr.prompts import check_prompts
    from ivr.services import load_config

    settings = _settings()
    try:
        config = load_config(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    gaps = check_prompts(config.prompts)
    for problem in gaps:
        typer.echo(f"warning: {problem}")
    regions = config.regions.regions
    languages = sorted(config.prompts.languages)
    typer.echo(f"ok: {len(regions)} regions, {len(languages)} languages ({', '.join(languages)})")


@cli.command()
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
        str | None, typer.Option(help="Call a running service over HTTP at this base URL.")
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
    from ivr.calling import CallProblem, CallRequest, place_call

    settings = _settings()
    interactive = press is None and sys.stdin.isatty() and not as_json
    try:
        answers = tuple(shlex.split(press or ""))  # quotes keep speech together: "say:my password"
    except ValueError as exc:
        typer.echo(f"--press: {exc}", err=True)
        raise typer.Exit(2) from None
    request = CallRequest(caller, to, at, answers, url, agent_after)
    try:
        placed = place_call(request, settings, lambda: _config(settings).regions, live=interactive)
    except (CallProblem, ConfigError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _show(placed.events, as_json=as_json, already_shown=interactive, audio=audio)
    if placed.error is not None:
        raise typer.Exit(1)


def _show(
    events: Sequence[Event], *, as_json: bool, already_shown: bool, audio: Path | None
) -> None:
    from ivr.emulator import AudioToolMissing, events_to_json, render_audio, render_transcript

    if not already_shown:
        typer.echo(events_to_json(events) if as_json else render_transcript(events))
    if audio is not None:
        try:
            typer.echo(f"audio: {render_audio(events, audio)}", err=True)
        except AudioToolMissing as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None


def _config(settings: Settings) -> Config:
    from ivr.services import load_config

    return load_config(settings)


cli.command()(calls)
cli.command()(report)


def main() -> None:
    cli(prog_name="ivr")


if __name__ == "__main__":
    main()
