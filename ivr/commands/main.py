"""The `ivr` command: serve the webhooks, check and draw the configuration, place emulated calls."""

from __future__ import annotations

import enum
import os
import shlex
import shutil
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ivr.commands import support
from ivr.commands.agents import agents
from ivr.commands.announce import announce
from ivr.commands.config import check, fallback, graph
from ivr.commands.reports import calls, report
from ivr.commands.users import users
from ivr.config.settings import Settings
from ivr.config.tomlfile import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivr.config.loading import Config
    from ivr.emulator import Event
    from ivr.jobs.dispatcher import Dispatcher

cli = typer.Typer(help="Regional wallet support hotlines over Twilio.", no_args_is_help=True)
DISPATCH_EVERY = 15.0
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    dispatch: Annotated[
        bool, typer.Option(help="Also place callbacks from this process (see `ivr dispatch`).")
    ] = False,
    access_log: Annotated[
        bool,
        typer.Option(
            envvar="IVR_ACCESS_LOG",
            help="Log every request (off behind a proxy that logs them already).",
        ),
    ] = True,
    insecure_unsigned: Annotated[
        bool,
        typer.Option(
            "--insecure-unsigned",
            help="Without TWILIO_AUTH_TOKEN, answer unsigned webhooks on a public --host too "
            "(IVR_ALLOW_UNSIGNED=1): anyone who reaches the port can drive calls.",
        ),
    ] = False,
) -> None:
    """Run the webhook service (uvicorn) on the configuration in the environment."""
    import uvicorn

    from ivr.logs import configure_logging, server_logging

    if insecure_unsigned:
        os.environ["IVR_ALLOW_UNSIGNED"] = "1"  # read by this process and by every worker
    settings = support.settings()
    _check_what_a_public_host_exposes(host, settings)
    configure_logging(log_format=settings.log_format)
    created = _metrics_dir(workers)  # before anything imports prometheus_client
    from ivr.config.loading import load_config

    try:
        config = load_config(settings)  # refuse a broken file before binding the port
    except ConfigError as exc:
        typer.echo(f"refusing to start, the configuration is broken:\n{exc}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()
    if dispatch:
        dispatcher = _dispatcher(settings)
        threading.Thread(
            target=dispatcher.run_forever, args=(DISPATCH_EVERY, stop), daemon=True
        ).start()
    application: Any = "ivr.web.app:app"  # each worker process builds its own
    if workers == 1:
        from ivr.web.app import create_app, freeze_what_start_up_made

        application = create_app(settings, config=config)  # read the files once, not twice
        freeze_what_start_up_made()
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_config=server_logging(settings.log_format),
            access_log=access_log,
        )
    finally:
        stop.set()
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)


def _check_what_a_public_host_exposes(host: str, settings: Settings) -> None:
    """Exit 2, like a broken configuration, rather than serve unsigned webhooks on an address
    other machines reach, unless the operator allowed it by name. (The app checks each request
    too, for servers other than `ivr serve`; this says it before anything listens.)"""
    from ivr.web.exposure import loopback_host

    if loopback_host(host):
        return
    if settings.auth_token is None and not settings.allow_unsigned:
        typer.echo(
            f"refusing to start: --host {host} is not a loopback address and TWILIO_AUTH_TOKEN "
            "is not set; set TWILIO_AUTH_TOKEN (or, to answer unsigned webhooks knowingly, "
            "--insecure-unsigned or IVR_ALLOW_UNSIGNED=1)",
            err=True,
        )
        raise typer.Exit(2)
    if settings.metrics_token is None:
        typer.echo(
            f"IVR_METRICS_TOKEN is not set: /metrics answers 403 on --host {host} "
            "(it stays open on loopback)",
            err=True,
        )


def _metrics_dir(workers: int) -> str | None:
    """Several workers add up their metrics in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
    multiprocess mode): a fresh directory, removed at exit, unless one is given (which must
    exist and be emptied before each start). The path made, if any."""
    given = os.environ.get(MULTIPROC_DIR)
    if given:
        if not Path(given).is_dir():
            typer.echo(f"environment: {MULTIPROC_DIR}: {given!r} is not a directory", err=True)
            raise typer.Exit(2)
        return None
    if workers == 1:
        return None
    os.environ[MULTIPROC_DIR] = created = tempfile.mkdtemp(prefix="ivr-metrics-")
    return created


@cli.command(name="dispatch")
def dispatch_callbacks(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    every: Annotated[float, typer.Option(min=1, help="Seconds between passes.")] = DISPATCH_EVERY,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve GET /metrics on this port (IVR_METRICS_TOKEN).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Place booked callbacks through Twilio when regions are open and queues are short; text
    the callers we could not reach; mail voicemails; purge old data (IVR_RETENTION_DAYS)."""
    from ivr.logs import configure_logging

    settings = support.settings()
    configure_logging(log_format=settings.log_format)
    dispatcher = _dispatcher(settings)
    if once:
        typer.echo(str(dispatcher.run_once()))
        return
    if metrics_port is not None:
        from ivr.web.metrics import serve_metrics

        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        serve_metrics(metrics_host, metrics_port, token)
    stop = threading.Event()
    try:
        dispatcher.run_forever(every, stop)
    except KeyboardInterrupt:
        stop.set()


def _dispatcher(settings: Settings) -> Dispatcher:
    from ivr.clock import SystemClock
    from ivr.jobs.dispatcher import Dispatcher, DispatchUnavailable, twilio_client
    from ivr.jobs.mail import Mailer
    from ivr.store import Store
    from ivr.store.migrate import upgrade
    from ivr.web.metrics import CallbackCounts

    config = _config_or_exit(settings)
    try:
        client = twilio_client(settings)
        store = Store.connect(settings.database_url)
        upgrade(store.engine)
        mailer = Mailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
        return Dispatcher(
            store,
            config.regions,
            config.prompts,
            settings,
            SystemClock(),
            client,
            mailer,
            events=CallbackCounts(),
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

    from ivr.jobs.dispatcher import DispatchUnavailable, twilio_client
    from ivr.jobs.retention import purge as purge_data
    from ivr.store import Store
    from ivr.store.migrate import upgrade

    age = _age(older_than)
    settings = support.settings()
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


cli.command()(check)
cli.command()(graph)
cli.command()(fallback)


class VoiceMethod(enum.StrEnum):
    """How Twilio requests a voice URL (a number's configuration offers these two)."""

    GET = "GET"
    POST = "POST"


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
    from ivr.commands.call import CallProblem, CallRequest, place_call

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
    from ivr.config.loading import load_config

    return load_config(settings)


cli.command()(calls)
cli.command()(report)
cli.add_typer(users, name="users")
cli.add_typer(announce, name="announce")
cli.add_typer(agents, name="agents")


def main() -> None:
    cli(prog_name="ivr")


if __name__ == "__main__":
    main()
