"""Prometheus metrics: what operators watch (calls, menu choices, queue waits, webhook latency,
signature failures, callbacks), the small functions that record them, and `GET /metrics`.

Labels stay bounded: regions and languages come from the validated configuration (anything
else is "unknown"), outcomes from `OUTCOMES`, routes from the registered paths, queue results
and menu answers from fixed lists. With several worker processes, prometheus-client's
multiprocess mode adds up every worker's values: set PROMETHEUS_MULTIPROC_DIR to an empty
directory before the service starts (`ivr serve --workers N` makes a fresh one when unset).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from contextvars import ContextVar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import perf_counter
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool

from ivr.config.flows import NODE_ID
from ivr.config.regions import SKIPPED
from ivr.logs import CALL_SID
from ivr.store.repository import OUTCOMES, CallEnd
from ivr.web.exposure import public_address, reached_publicly

if TYPE_CHECKING:
    from ivr.config.regions import RegionBook
    from ivr.engine.state import CallPlace

log = logging.getLogger("ivr.web.metrics")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN = "unknown"
NO_LANGUAGE = "none"  # the caller hung up (or was refused) before a language was chosen
# Twilio's QueueResult values (its <Enqueue> docs); anything else is counted as "other".
QUEUE_RESULTS = frozenset(
    {
        "bridged",
        "bridging-in-process",
        "error",
        "hangup",
        "leave",
        "queue-full",
        "redirected",
        "redirected-from-bridged",
        "system-error",
    }
)
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
KEYS = frozenset("0123456789*#")
SCREENED = "rejected"
HEARD = {"~": "speech", "-": "silence"}
CALLBACK_EVENTS = ("booked", "placed", "refused", "not_reached", "expired", "texted")
# No `_created` series beside every counter: Prometheus' text format would store them as
# separate gauges, doubling the series for nothing the alerts use.
disable_created_metrics()  # type: ignore[no-untyped-call]

CALLS = Counter(
    "ivr_calls",
    "Calls that ended (status callback), by the caller's region and language and the outcome.",
    ["region", "language", "outcome"],
)
MENU_CHOICES = Counter(
    "ivr_menu_choices",
    "Answers at a menu: a key, speech or silence (at ref and cb_num any keys count as '#').",
    ["region", "menu", "choice"],
)
QUEUE_LEFT = Counter(
    "ivr_queue_results",
    "Callers who left an agent queue, by how it ended (Twilio's QueueResult).",
    ["region", "language", "result"],
)
QUEUE_WAIT = Histogram(
    "ivr_queue_wait_seconds",
    "Time callers spent in an agent queue before leaving it, answered or not (QueueTime).",
    ["region", "language"],
    buckets=(15, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600),
)
WEBHOOK_SECONDS = Histogram(
    "ivr_webhook_duration_seconds",
    "Time to answer a webhook, form and signature checks included.",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
WEBHOOK_ANSWERS = Counter(
    "ivr_webhook_responses", "Webhook answers by HTTP status code.", ["route", "code"]
)
APOLOGIES = Counter(
    "ivr_webhook_apologies",
    "Webhooks that failed inside and answered with the error boundary's apology (still 200).",
    ["route"],
)
SIGNATURE_FAILURES = Counter(
    "ivr_webhook_signature_failures",
    "Webhooks refused (403) for a missing or invalid X-Twilio-Signature.",
    ["route"],
)
CALLBACKS = Counter(
    "ivr_callbacks",
    "Callbacks booked, placed, refused by Twilio, not reached, expired, and texts sent.",
    ["region", "event"],
)

# The registered path of the webhook being answered, for counters recorded deep inside it.
_ROUTE: ContextVar[str] = ContextVar("ivr_route", default="other")


# -- recording --------------------------------------------------------------------------------
def where(regions: RegionBook, region_id: str | None, language: str | None) -> tuple[str, str]:
    """Region and language labels: configured values only, never what a request claimed."""
    region = regions.regions.get(region_id or "")
    if region is None:
        return UNKNOWN, UNKNOWN if language else NO_LANGUAGE
    if not language:
        return region.id, NO_LANGUAGE
    return region.id, language if language in region.languages else UNKNOWN


def menu_choice(region_id: str, choice: str) -> None:
    """A visit's choice ("main:1", "ways:-"); other visits (the first webhook) are not menus."""
    menu, _, heard = choice.partition(":")
    # The webhook counts only questions its flow knows ("?" otherwise); a screened call's
    # "rejected:<why>" is no question.
    if not NODE_ID.fullmatch(menu) or menu == SCREENED:
        return
    answer = heard if heard in KEYS else HEARD.get(heard, "other")
    MENU_CHOICES.labels(region_id, menu, answer).inc()


def left_queue(
    regions: RegionBook, place: CallPlace | None, result: str, waited: int | None
) -> None:
    """The Enqueue action: how the caller left the queue, and after how long."""
    region, language = where(regions, *((place.region, place.language) if place else (None, None)))
    QUEUE_LEFT.labels(region, language, result if result in QUEUE_RESULTS else "other").inc()
    if waited is not None:
        QUEUE_WAIT.labels(region, language).observe(waited)


def call_ended(regions: RegionBook, end: CallEnd) -> None:
    """A status callback was stored: count the call by its outcome as stored (the most telling
    outcome wins there, whatever order the webhooks came in), once it has ended. Called by
    the records writer after the commit, so it costs no read. Calls that end while the
    database is away are counted when the spool is replayed."""
    if end.status not in FINAL_CALL_STATUSES or end.outcome not in OUTCOMES:
        return
    region, language = where(regions, end.region, end.language)
    CALLS.labels(region, language, end.outcome).inc()


def callback_event(region_id: str, event: str, count: int = 1) -> None:
    """`region_id` comes from a stored callback or the configuration; see CALLBACK_EVENTS."""
    if count:
        CALLBACKS.labels(region_id, event).inc(count)


def callback_not_reached(region_id: str, last_attempt: bool, *, refused: bool = False) -> None:
    """A callback call that did not reach the person (or that Twilio refused to place); on
    the last attempt the callback expires."""
    CALLBACKS.labels(region_id, "refused" if refused else "not_reached").inc()
    if last_attempt:
        CALLBACKS.labels(region_id, "expired").inc()


class CallbackCounts:
    """The dispatcher's callback events as metrics (ivr.jobs.dispatcher.CallbackEvents)."""

    def event(self, region_id: str, event: str, count: int = 1) -> None:
        callback_event(region_id, event, count)

    def not_reached(self, region_id: str, last_attempt: bool, *, refused: bool = False) -> None:
        callback_not_reached(region_id, last_attempt, refused=refused)


def apologized() -> None:
    APOLOGIES.labels(_ROUTE.get()).inc()


def signature_failed() -> None:
    SIGNATURE_FAILURES.labels(_ROUTE.get()).inc()


# -- the webhooks' meters ---------------------------------------------------------------------
class WebhookMeter:
    """A webhook's latency and answers by status code (a few microseconds, no middleware);
    while one is timed, counters recorded deep inside it know its route, and log lines are
    scoped to its call (`ivr.logs.bind_call` sets the CallSid once the signed form is read)."""

    def __init__(self, route: str) -> None:
        self.route = route
        self.observe = WEBHOOK_SECONDS.labels(route).observe
        # Exported at 0 from the start, so rates and ratios exist before the first failure.
        APOLOGIES.labels(route)
        SIGNATURE_FAILURES.labels(route)
        self.answers: dict[int, Any] = {}

    def timing(self) -> Timing:
        return Timing(self)

    def answered(self, code: int, seconds: float) -> None:
        self.observe(seconds)
        counter = self.answers.get(code)
        if counter is None:
            counter = self.answers[code] = WEBHOOK_ANSWERS.labels(self.route, str(code))
        counter.inc()


class Timing:
    """`with meter.timing() as timed: ...; timed.code = answer.status_code` (500 if it
    raised)."""

    __slots__ = ("meter", "code", "_start", "_route", "_call")

    def __init__(self, meter: WebhookMeter) -> None:
        self.meter = meter
        self.code = 500

    def __enter__(self) -> Timing:
        self._start = perf_counter()
        self._route = _ROUTE.set(self.meter.route)
        self._call = CALL_SID.set(None)
        return self

    def __exit__(self, *_: object) -> None:
        self.meter.answered(self.code, perf_counter() - self._start)
        CALL_SID.reset(self._call)
        _ROUTE.reset(self._route)


# -- exposition -------------------------------------------------------------------------------
def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


def exposition() -> bytes:
    """Every metric in Prometheus' text format: this process's, or with several workers,
    all of theirs added up from PROMETHEUS_MULTIPROC_DIR."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


# Without a token, metrics stay on loopback: they tell an outsider the traffic, the queues and
# the refusals. Off elsewhere rather than a refusal to start: a missing monitoring token must
# not keep a hotline from answering calls (the wallboard is off without its secret likewise).
OFF_ON_PUBLIC_ADDRESS = "/metrics is off on this address: set IVR_METRICS_TOKEN to serve it here"


def authorized(header: str | None, token: str | None) -> bool:
    """No token configured: open (the callers make sure the request came in on loopback).
    Otherwise `Authorization: Bearer <token>`."""
    if token is None:
        return True
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest((header or "").encode("utf-8", "replace"), expected)


router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {}, 403: {}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics; with IVR_METRICS_TOKEN set, only for `Authorization: Bearer` it;
    without, only on a loopback address (403 elsewhere)."""
    secret = request.app.state.services.settings.metrics_token
    token = secret.get_secret_value() if secret is not None else None
    if token is None and reached_publicly(request.scope):
        return PlainTextResponse(OFF_ON_PUBLIC_ADDRESS, status_code=403)
    if not authorized(request.headers.get("authorization"), token):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(await run_in_threadpool(exposition), media_type=CONTENT_TYPE_LATEST)


def serve_metrics(host: str, port: int, token: str | None) -> ThreadingHTTPServer:
    """`GET /metrics` on a small server of its own, in a thread: for `ivr dispatch`, which has
    no web app. Same rules as the service's route."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
            elif token is None and public_address(str(self.connection.getsockname()[0])):
                self.send_error(403, explain=OFF_ON_PUBLIC_ADDRESS)
            elif not authorized(self.headers.get("Authorization"), token):
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Bearer")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                body = exposition()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every 15 s is not news

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# -- wallboard sign-ins -----------------------------------------------------------------------
SIGN_IN_REASONS = ("wrong", "too_soon")
WALLBOARD_SIGN_IN_FAILURES = Counter(
    "ivr_wallboard_sign_in_failures",
    "Wallboard sign-ins refused: a wrong name or password, or a try before its delay was over.",
    ["reason"],
)
for _reason in SIGN_IN_REASONS:  # exported at 0 from the start, so the alert's increase works
    WALLBOARD_SIGN_IN_FAILURES.labels(_reason)


def wallboard_sign_in_failed(reason: str) -> None:
    """`reason` is one of SIGN_IN_REASONS."""
    WALLBOARD_SIGN_IN_FAILURES.labels(reason).inc()


# -- callback bookings refused ------------------------------------------------------------------
BOOKINGS_REFUSED = Counter(
    "ivr_callback_bookings_refused",
    "Callback bookings refused, by why (number_limit, region_limit; unavailable: the database"
    " could not count bookings; unknown_region) and when: at booking, or at the replay of a"
    " booking an earlier version spooled (then set aside in the spool's rejected.jsonl).",
    ["region", "reason", "at"],
)
REFUSED_BECAUSE = frozenset({"number_limit", "region_limit", "unavailable", "unknown_region"})


def booking_refused(region_id: str, reason: str, at: str) -> None:
    """A callback not booked, `at` "booking" or "replay"."""
    BOOKINGS_REFUSED.labels(region_id, reason if reason in REFUSED_BECAUSE else "other", at).inc()


# -- the agent line's PINs --------------------------------------------------------------------
# ivr.engine.agent_line.PinRefusal's values: a number that is no agent's, a wrong PIN, any PIN
# at a locked agent's phone (never compared), any PIN while the line's failed-PIN budget is spent.
PIN_REFUSALS = ("unknown_number", "wrong_pin", "locked", "over_budget")
AGENT_PIN_FAILURES = Counter(
    "ivr_agent_pin_failures",
    "PINs refused on the agent line, by why (silence is not counted).",
    ["refused"],
)
for _refused in PIN_REFUSALS:  # exported at 0 from the start, so the alert's increase works
    AGENT_PIN_FAILURES.labels(_refused)


def agent_pin_refused(refused: str) -> None:
    """`refused` is one of PIN_REFUSALS."""
    AGENT_PIN_FAILURES.labels(refused).inc()


# -- after the call -----------------------------------------------------------------------------
DISPOSITIONS = Counter(
    "ivr_dispositions",
    "Wrap-up codes agents keyed for the calls they took (skipped: none was keyed).",
    ["region", "code"],
)
SURVEYS = Counter(
    "ivr_surveys",
    "Callers asked to rate a call, their ratings (1-5) and the comments they left.",
    ["region", "event"],
)
SURVEY_EVENTS = ("asked", "1", "2", "3", "4", "5", "comment")
WAKE_RESULTS = ("woken", "refused", "line_gone")
AGENT_WAKES = Counter(
    "ivr_agent_wakes",
    "Idle agents woken for a caller through Twilio's Calls API: woken, refused by Twilio (the "
    "next agent is woken), or their line gone (logged out).",
    ["result"],
)
for _result in WAKE_RESULTS:
    AGENT_WAKES.labels(_result)


def disposition_keyed(regions: RegionBook, region_id: str, code: str) -> None:
    """A code from the region's own list (or skipped); anything else counts as `unknown`."""
    region = regions.regions.get(region_id)
    if region is None:
        return
    known = code in region.dispositions or code == SKIPPED
    DISPOSITIONS.labels(region.id, code if known else UNKNOWN).inc()


def survey_event(regions: RegionBook, region_id: str | None, event: str) -> None:
    """`event` is one of SURVEY_EVENTS."""
    region, _ = where(regions, region_id, None)
    SURVEYS.labels(region, event if event in SURVEY_EVENTS else UNKNOWN).inc()


def agent_woken(result: str) -> None:
    """`result` is one of WAKE_RESULTS."""
    AGENT_WAKES.labels(result).inc()
