"""`ivr dispatch` and `ivr purge`: the work outside the webhooks, as operators run it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from ivr.commands import support
from ivr.config.settings import Settings

if TYPE_CHECKING:
    from ivr.jobs.dispatcher import Dispatcher

DISPATCH_EVERY = 15.0


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
    dispatcher = dispatcher_for(settings)
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


def dispatcher_for(settings: Settings) -> Dispatcher:
    from ivr.clock import SystemClock
    from ivr.jobs.dispatcher import Dispatcher, DispatchUnavailable, twilio_client
    from ivr.jobs.mail import Mailer
    from ivr.store import Store
    from ivr.store.migrate import upgrade
    from ivr.web.metrics import CallbackCounts

    config = support.config(settings)
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


def purge(
    older_than: Annotated[str, typer.Option(help="Age of the data to delete: 90d, 12w, 36h.")],
) -> None:
    """Delete calls, finished callbacks, voicemails and survey comments, and their recordings
    at Twilio."""
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
        typer.echo(
            "no Twilio credentials: voicemails and survey comments (and their recordings) are kept",
            err=True,
        )
    store = Store.connect(settings.database_url)
    try:
        upgrade(store.engine)
        report = purge_data(store, client, datetime.now(UTC) - age)
    finally:
        store.close()
    typer.echo(
        f"deleted {report.calls} calls, {report.callbacks} callbacks, "
        f"{report.voicemails} voicemails, {report.comments} survey comments; "
        f"kept {report.kept_voicemails} voicemails, {report.kept_comments} survey comments"
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
