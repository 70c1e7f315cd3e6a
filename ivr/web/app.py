"""The FastAPI application: Twilio's voice webhooks in, TwiML out.

A webhook flows one way: web/ checks the request (ivr.web.signature, ivr.web.params), builds
the call context (ivr.web.services), asks the pure engine (ivr.engine) what comes next, keeps
its records (ivr.web.keeping, ivr.store) and renders TwiML (ivr.web.twiml). The routes live in
ivr.web.routes, one module per area; this module builds the app around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import phonenumbers
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ivr.clock import Clock, SystemClock
from ivr.config.loading import Config, load_config
from ivr.config.settings import Settings
from ivr.jobs.mail import Mailer
from ivr.store import Store
from ivr.store.migrate import upgrade
from ivr.store.records import Records
from ivr.store.spool import Spool
from ivr.web import metrics
from ivr.web.services import Services
from ivr.web.waking import AgentWaker
from ivr.web.webhooks import Service

log = logging.getLogger("ivr")
REPLAY_EVERY_SECONDS = 5.0


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    config: Config | None = None,
) -> Service:
    """Build the service; refuses to start on a broken configuration (ConfigError).

    A database that is down at start does not stop the service: callers are answered, records
    go to the spool, and the schema is brought up to date once the database answers."""
    from ivr.config.reload import ConfigReloader
    from ivr.dashboard import install_wallboard
    from ivr.web import hold_music
    from ivr.web.routes import calls, ops, webhooks

    settings = settings or Settings()
    config = config or load_config(settings)  # `ivr serve` has loaded it to check it already
    migrated = store is not None
    if store is None:
        store = Store.connect(settings.database_url)
        migrated = _try_upgrade(store)
    # The first phonenumbers parse in a process loads its metadata (~20 ms): pay it now.
    phonenumbers.parse("+442079460000")
    _warn_about_unsigned_webhooks(settings)
    mailer = Mailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
    records = Records(store, Spool(settings.spool_dir))
    services = Services(settings, config, clock or SystemClock(), store, records, mailer)
    services.waker = AgentWaker.configured(settings)
    records.on_call_end = lambda end: metrics.call_ended(services.config.regions, end)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        keeper = asyncio.create_task(_keep_records(services, migrated))
        reloader = ConfigReloader(services).start()  # SIGHUP, and IVR_RELOAD=watch
        yield
        await reloader.stop()
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await services.records.aclose()
        services.store.close()

    app = Service(
        title="ivr", summary="Regional wallet support hotlines over Twilio", lifespan=lifespan
    )
    app.state.services = services
    app.serve_webhooks(services, webhooks())
    for routes in (calls, ops, hold_music):
        app.include_router(routes.router)
    install_wallboard(app, services)
    app.include_router(metrics.router)
    return app


def _warn_about_unsigned_webhooks(settings: Settings) -> None:
    """Said by every process that builds the service (each worker of `ivr serve`), at every
    start: an operator who allowed unsigned webhooks everywhere must not forget it."""
    if settings.auth_token is not None:
        return
    if settings.allow_unsigned:
        log.warning(
            "INSECURE: TWILIO_AUTH_TOKEN is not set and IVR_ALLOW_UNSIGNED is "
            "(ivr serve --insecure-unsigned): unsigned webhooks are answered on every address; "
            "anyone who reaches this service can drive calls."
        )
    else:
        log.warning(
            "TWILIO_AUTH_TOKEN is not set: unsigned webhooks are answered on loopback only "
            "(local mode); on any other address they get 403."
        )


def _try_upgrade(store: Store) -> bool:
    try:
        upgrade(store.engine)
    except Exception:
        log.exception("the database is unavailable; records are spooled until it is back")
        return False
    return True


async def _keep_records(services: Services, migrated: bool) -> None:
    """In the background: migrate once the database answers, then replay the spool."""
    while True:
        if not migrated:
            migrated = await run_in_threadpool(_try_upgrade, services.store)
        if migrated:
            try:
                await run_in_threadpool(services.records.replay)
            except Exception:
                log.exception("replaying the spool failed; trying again later")
        await asyncio.sleep(REPLAY_EVERY_SECONDS)


def freeze_what_start_up_made() -> None:
    """For a serving process, once the app is built: what start-up made (modules, the
    configuration, prompts, SQLAlchemy's compiled statements) lives as long as the process,
    so the cyclic garbage collector stops walking it. Its full passes over all of that were
    the long pauses behind the worst latencies under load (p99 189 -> 70 ms in bench/).

    `ivr serve` starts with the collector off (ivr.commands.main): start-up leaves a few
    hundred objects of cyclic garbage, not worth the passes over a heap of modules that grows
    with every import (about 0.2 s of a start). So they are frozen along with the rest, and
    collecting starts from here."""
    gc.freeze()
    gc.enable()


def __getattr__(name: str) -> Any:
    # `uvicorn ivr.web.app:app` builds the service on first access, not at import, so tests and
    # tools can import this module without reading configuration or opening a database.
    if name == "app":
        application = create_app()
        freeze_what_start_up_made()
        globals()["app"] = application
        return application
    raise AttributeError(name)
