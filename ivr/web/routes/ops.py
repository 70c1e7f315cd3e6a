"""Operations: readiness for load balancers, the number's Fallback URL, and its static twin.

`GET /readyz` says whether this replica can take calls: its configuration is loaded, its
database answers within a webhook's time, and its records have somewhere to go (the database,
or the spool while the database refuses). Probes that overlap (several load balancers, a slow
database) share one ping: a silent database costs one thread and one connection, whatever the
probes' number, and the webhooks keep the rest of the pool.
`POST /voice/fallback` is what Twilio requests when one of our webhooks failed: an apology, the
other channels and, when agents are open, the region's queue. It reads no database and writes
no record, so it still answers when the database is the reason the webhook failed.
`ivr fallback` prints the static fallback document (infra/fallback.xml) that nginx serves,
or a TwiML Bin hosts, when no replica answers at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import Field
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from ivr.config.loading import Config
from ivr.engine import handoff
from ivr.engine.context import CallContext, place_caller
from ivr.engine.steps import QUEUE_CONNECT, QUEUE_KEY, QUEUE_RESULT, QUEUE_WAIT
from ivr.store.database import WAIT_SECONDS, Store, answers_within
from ivr.store.repository import POOL_SECONDS
from ivr.web.params import CallParams
from ivr.web.services import Services
from ivr.web.twiml import CONTENT_TYPE, last_resort, render
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

log = logging.getLogger("ivr.web.routes.ops")
FALLBACK = "/voice/fallback"
# A database slower than a webhook may wait for it (ivr.store.database) makes this replica
# not ready: its webhooks would answer late now and then.
PING_SECONDS = WAIT_SECONDS
# The static document has no caller: it speaks for the `global` region, in this language.
STATIC_LANGUAGE = "en-US"
# The static document must not depend on when it was generated; nothing in it tells the time.
STATIC_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)
# A caller whose queue webhooks failed is not queued again: that could loop them forever.
QUEUE_PATHS = frozenset({QUEUE_WAIT, QUEUE_KEY, QUEUE_RESULT, QUEUE_CONNECT})
READY = "ready"
# How the database took the readiness probe's ping (BUSY: no pooled connection was free).
ANSWERS, REFUSES, SILENT, BUSY = "answers", "refuses", "silent", "busy"

router = APIRouter()
hooks = Webhooks()


class FallbackParams(CallParams):
    """Twilio adds what failed to the usual call parameters (free text: never a reason to 400)."""

    error_code: str = Field("", alias="ErrorCode")
    error_url: str = Field("", alias="ErrorUrl")


# -- readiness ------------------------------------------------------------------------------
@router.get(
    "/readyz",
    response_class=PlainTextResponse,
    responses={503: {"description": "Not ready, with a short reason."}},
)
async def readyz(request: Request) -> PlainTextResponse:
    """Ready: the configuration is loaded, the database answers in time, and records can be
    kept (in the database, or in the spool while the database refuses)."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return PlainTextResponse("not ready: no configuration loaded", status_code=503)
    answer = await _database_answer(services)
    if answer == ANSWERS:
        return PlainTextResponse(READY)
    if answer == SILENT:
        # Records still go to the spool, but webhooks that try the database first answer up to
        # PING_SECONDS late: a load balancer should prefer a replica whose database answers.
        return PlainTextResponse(
            f"not ready: the database did not answer within {PING_SECONDS:g} s"
            " (records are spooled meanwhile)",
            status_code=503,
        )
    if answer == BUSY:
        # Not the database refusing: this replica's webhooks hold every connection, and new
        # ones would wait for a turn. Better sent elsewhere until the burst has passed.
        return PlainTextResponse(
            f"not ready: no database connection was free within {POOL_SECONDS:g} s",
            status_code=503,
        )
    spool = services.records.spool
    if spool is not None and await run_in_threadpool(spool_writable, spool.directory):
        # A database that refuses costs a webhook nothing (ivr.store.records): still ready.
        return PlainTextResponse(f"{READY} (database unavailable: records are spooled)")
    return PlainTextResponse(
        "not ready: the database is unavailable and the spool is not writable", status_code=503
    )


async def _database_answer(services: Services) -> str:
    """ANSWERS, REFUSES (an error, in time), BUSY (no free connection, in time) or SILENT
    (nothing within PING_SECONDS of the ping's start, even when this probe joined it late). A
    ping too slow is left to end on its own (the driver's timeouts, `answers_within`)."""
    probe = _PROBES.get(services.store)
    if probe is None:
        probe = _PROBES[services.store] = DatabaseProbe()
    answer, started = probe.ping(services.store)
    left = started + PING_SECONDS - time.monotonic()
    if left <= 0:
        return SILENT  # the ping in flight is overdue already: no second one beside it
    try:
        return await asyncio.wait_for(asyncio.wrap_future(answer), left)
    except TimeoutError:
        return SILENT


class DatabaseProbe:
    """One readiness ping of a store in flight at a time, which the probes arriving meanwhile
    share: without it, each probe of a silent database left a thread and a pooled connection
    behind, until the pool was empty and the next probes, out of connections, read the pool's
    timeout as a database that refuses (ready!) and the webhooks found no connection either."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[Future[str], float] | None = None

    def ping(self, store: Store) -> tuple[Future[str], float]:
        """The ping in flight, or a new one: its answer to come, and when it started."""
        with self._lock:
            if self._current is None or self._current[0].done():
                answer: Future[str] = Future()
                answer.set_running_or_notify_cancel()  # a probe that stops waiting keeps it
                self._current = (answer, time.monotonic())
                threading.Thread(
                    target=_ping, args=(store, answer), name="ivr-readyz", daemon=True
                ).start()
            return self._current


# Per store (a test's app, a reloaded service): the probe of its database.
_PROBES: WeakKeyDictionary[Store, DatabaseProbe] = WeakKeyDictionary()


def _ping(store: Store, answer: Future[str]) -> None:
    try:
        with answers_within():
            store.ping()
    except PoolTimeout:
        answer.set_result(BUSY)
    except Exception:
        answer.set_result(REFUSES)
    else:
        answer.set_result(ANSWERS)


def spool_writable(directory: Path) -> bool:
    """True when a record could be spooled now. It is tried for real (create, write, fsync,
    delete a probe file), since os.access says nothing of read-only mounts or a full disk."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".readyz-", suffix=".probe") as f:
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        return False
    return True


# -- the Fallback URL -----------------------------------------------------------------------
@hooks.post(FALLBACK, FallbackParams)
async def fallback(services: ServicesDep, form: CheckedForm) -> Response:
    """The number's Fallback URL: Twilio requests it when a webhook of ours failed (error,
    timeout, invalid TwiML). Sorry, the other channels, and the queue when agents are open.

    Touches no database, on purpose: the primary webhook may have failed because of it. The
    call is not recorded here; its status callback still is."""
    params = parameters(FallbackParams, form)
    failed_path = urlsplit(params.error_url).path  # the path only: queries carry keyed digits
    log.warning(
        "Twilio fell back after error %s at %s (CallSid %s)",
        params.error_code[:16] or "?",
        failed_path[:200] or "?",
        params.call_sid,
    )
    try:
        ctx = services.context(params)
        return services.twiml(handoff.fallback(ctx, may_queue=not _in_queue(failed_path)))
    except Exception:
        log.exception(
            "the fallback failed (CallSid %s); answering the last resort", params.call_sid
        )
        return Response(last_resort(), media_type=CONTENT_TYPE)


def _in_queue(path: str) -> bool:
    return any(path.endswith(queue_path) for queue_path in QUEUE_PATHS)


# -- the static fallback document ------------------------------------------------------------
def static_fallback(config: Config, language: str = STATIC_LANGUAGE) -> str:
    """infra/fallback.xml: sorry, the `global` region's channels and goodbye, for when no
    replica answers (nginx serves it for /voice/fallback, or a TwiML Bin hosts it)."""
    place = place_caller(config.regions, "", "")  # no caller and no line: the global region
    ctx = CallContext(
        place=place,
        region=place.region,
        now=STATIC_INSTANT,
        prompts=config.prompts,
        flow=config.flows.for_region(place.region.id),
    )
    return render(handoff.apology(ctx, language))
