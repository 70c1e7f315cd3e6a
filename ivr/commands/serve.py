"""`ivr serve`: the webhook service under uvicorn, refusing a broken configuration or an open
door (unsigned webhooks on a public address) before it binds the port."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from ivr.commands import support
from ivr.commands.jobs import DISPATCH_EVERY, dispatcher_for
from ivr.config.settings import Settings
from ivr.config.tomlfile import ConfigError

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


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
        dispatcher = dispatcher_for(settings)
        threading.Thread(
            target=dispatcher.run_forever, args=(DISPATCH_EVERY, stop), daemon=True
        ).start()
    application: Any = "ivr.web.app:app"  # each worker process builds its own
    if workers == 1:
        from ivr.web.app import create_app, freeze_what_start_up_made

        application = create_app(settings, config=config)  # read the files once, not twice
        freeze_what_start_up_made()
    else:
        gc.enable()  # the supervisor of the workers serves nothing: nothing to freeze
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
