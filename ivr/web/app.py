"""The FastAPI application: Twilio's voice webhooks in, TwiML out.

Each handler reads and checks the webhook (security, params), builds the call context
(caller), asks the pure engine what comes next (menu, waiting, ways, calling_back), keeps its
records (store, through `Services`) and renders TwiML (twiml). `ivr.web.services` holds the
shared parts and the error boundary; callback and voicemail routes live in
`ivr.web.routes.callbacks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import phonenumbers
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ivr.clock import Clock, SystemClock
from ivr.config.loading import Config, load_config
from ivr.config.settings import Settings
from ivr.engine import callback_call as calling_back
from ivr.engine import menu, waiting
from ivr.engine.callback_call import CALLBACK_MARK
from ivr.engine.context import CallContext, place_caller
from ivr.engine.questions import Heard
from ivr.engine.state import CallPlace, parse_place, parse_state
from ivr.engine.steps import (
    INCOMING,
    MENU,
    QUEUE_CONNECT,
    QUEUE_KEY,
    QUEUE_RESULT,
    QUEUE_WAIT,
    STATUS,
    Reject,
    Step,
    step,
)
from ivr.jobs.mail import Mailer
from ivr.store import Store
from ivr.store.migrate import upgrade
from ivr.store.records import Records
from ivr.store.spool import Spool
from ivr.web import metrics
from ivr.web.params import (
    CallParams,
    GatherParams,
    QueueResultParams,
    QueueWaitParams,
    StatusParams,
)
from ivr.web.services import (
    CheckedForm,
    Services,
    ServicesDep,
    Visit,
    answer_webhook,
    caller_id,
    parameters,
    step_key,
)
from ivr.web.services import webhook as services_webhook

log = logging.getLogger("ivr")
P = TypeVar("P", bound=CallParams)
Handler = TypeVar("Handler", bound=Callable[..., Any])
REPLAY_EVERY_SECONDS = 5.0

router = APIRouter()


def webhook(
    path: str, model: type[CallParams], status_code: int = 200
) -> Callable[[Handler], Handler]:
    return services_webhook(router, path, model, status_code)


@webhook(INCOMING, CallParams)
async def incoming(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """A call rings in (the number's voice URL): language menu, or welcome and main menu;
    a blocked number, or one calling too often, is refused before any menu."""
    refusal: list[str] = []

    async def decide(params: CallParams, ctx: CallContext) -> Step:
        # Rate limits count numbers we can tell apart; the blocklist also sees what a number
        # we cannot parse (a satellite phone, say) shows as its caller ID.
        caller = ctx.place.origin.number
        shown = caller or params.from_.strip()
        why = services.settings.screening.rejects(shown, await services.recent_calls(caller))
        if why is None:
            return menu.start(ctx)
        log.warning("refused a call from %s: %s (CallSid %s)", shown, why, params.call_sid)
        refusal.append(why)
        return step(Reject())

    def visit(params: CallParams) -> Visit:
        choice = f"rejected:{refusal[0]}" if refusal else ""
        return Visit(step_key(request, params), choice, stir_verstat=params.stir_verstat or None)

    response = await answer_webhook(services, form, CallParams, decide, visit=visit)
    if refusal:
        call_sid = parameters(CallParams, form).call_sid
        await services.write("record_outcome", call_sid=call_sid, outcome="rejected")
    return response


@webhook(MENU, GatherParams)
async def menu_answer(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The caller's keys, words or silence at a menu; the menu state is in the query."""
    state = parse_state(request.query_params)

    def decide(params: GatherParams, ctx: CallContext) -> Step:
        return menu.respond(ctx, state, Heard(params.digits, params.speech))

    def visit(params: GatherParams) -> Visit:
        node = state.node.value if state else "?"
        heard = params.digits or ("~" if params.speech.strip() else "-")
        if state and state.node.value in ("ref", "cb_num") and params.digits:
            heard = "#"  # a reference or phone number is kept elsewhere, not in the path
        key = step_key(request, params, params.digits, params.speech)
        return Visit(key, f"{node}:{heard}", state.language if state else None)

    return await answer_webhook(
        services, form, GatherParams, decide, state.region if state else None, visit=visit
    )


def served_callback(request: Request) -> int | None:
    """The callback whose person waits on this leg (a call we placed), from our URL."""
    mark = request.query_params.get(CALLBACK_MARK, "")
    return int(mark) if mark.isascii() and mark.isdigit() and len(mark) <= 12 else None


async def answer_in_queue(
    request: Request,
    services: Services,
    form: FormData,
    model: type[P],
    decide: Callable[[P, CallContext, CallPlace | None], Step],
) -> Response:
    """A queue webhook: the caller's region and language come from our URL's query. On a
    callback's leg the person is the callee: `From` is our own hotline."""
    place = parse_place(request.query_params)
    region = place.region if place else None
    outbound = served_callback(request) is not None
    return await answer_webhook(
        services, form, model, lambda p, ctx: decide(p, ctx, place), region, outbound=outbound
    )


@webhook(QUEUE_WAIT, QueueWaitParams)
async def queue_wait(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """Enqueue waitUrl: position, estimated wait, reminders, the way out; Twilio polls it
    again when the document ends."""
    queue = request.query_params.get("q", "")
    place = parse_place(request.query_params)
    region = services.config.regions.regions.get(place.region) if place else None
    known = region is not None and region.owns_queue(queue)
    answer_times = await services.answer_times(queue) if known else ()

    may_leave = served_callback(request) is None

    def decide(params: QueueWaitParams, ctx: CallContext, place: CallPlace | None) -> Step:
        status = waiting.QueueStatus(params.position, params.waited, params.size, answer_times)
        return waiting.queue_wait(ctx, place, status, may_leave)

    return await answer_in_queue(request, services, form, QueueWaitParams, decide)


@webhook(QUEUE_KEY, GatherParams)
async def queue_key(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """A key pressed while waiting in the queue."""

    def decide(params: GatherParams, ctx: CallContext, place: CallPlace | None) -> Step:
        return waiting.queue_key(ctx, place, params.digits)

    return await answer_in_queue(request, services, form, GatherParams, decide)


@webhook(QUEUE_RESULT, QueueResultParams)
async def queue_result(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """Enqueue action: the caller left the queue (bridged, hung up, left, full, error...)."""
    params = parameters(QueueResultParams, form)
    await services.write(
        "record_queue_result",
        call_sid=params.call_sid,
        result=params.result,
        queue_time=params.waited,
    )
    place = parse_place(request.query_params)
    metrics.left_queue(services.config.regions, place, params.result, params.waited)
    callback_id = served_callback(request)
    called_again = False
    if callback_id is not None:
        called_again = await services.callback_left_queue(callback_id, params.result)

    def decide(params: QueueResultParams, ctx: CallContext, place: CallPlace | None) -> Step:
        if callback_id is not None and params.result not in waiting.BRIDGED | {"hangup"}:
            return calling_back.not_connected(ctx, place.language if place else "", called_again)
        return waiting.queue_result(ctx, place, params.result)

    return await answer_in_queue(request, services, form, QueueResultParams, decide)


@webhook(QUEUE_CONNECT, CallParams)
async def queue_connect(services: ServicesDep, form: CheckedForm) -> Response:
    """<Dial><Queue url>: runs on the queued caller's leg just before an agent is bridged."""
    params = parameters(CallParams, form)
    try:
        record = await services.read(lambda: services.store.call(params.call_sid))
    except Exception:
        log.exception("could not read the queue entry of CallSid %s", params.call_sid)
        record = None
    language = record.language if record else None

    def decide(_: CallParams, ctx: CallContext) -> Step:
        return waiting.connect_notice(ctx, language)

    return await answer_webhook(
        services, form, CallParams, decide, record.region if record else None
    )


@webhook(STATUS, StatusParams, status_code=204)
async def status(services: ServicesDep, form: CheckedForm) -> Response:
    """Status callback at the end of a call: stored (an upsert, so retries are harmless).

    The 204 goes out only once the record is in the database or fsynced to the spool; a 503
    says it is in neither."""
    params = parameters(StatusParams, form)
    caller = caller_id(
        place_caller(services.config.regions, params.from_, params.to, params.from_country)
    )
    kept = await services.write(
        "record_status",
        call_sid=params.call_sid,
        caller=caller,
        status=params.call_status,
        duration=params.duration,
    )
    return Response(status_code=204 if kept else 503)


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    """Alive."""
    return "ok"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    config: Config | None = None,
) -> FastAPI:
    """Build the service; refuses to start on a broken configuration (ConfigError).

    A database that is down at start does not stop the service: callers are answered, records
    go to the spool, and the schema is brought up to date once the database answers."""
    from ivr.config.reload import ConfigReloader
    from ivr.dashboard import install_wallboard
    from ivr.web.routes.agents import router as agent_router
    from ivr.web.routes.callbacks import router as callback_router
    from ivr.web.routes.ops import router as ops_router

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

    app = FastAPI(
        title="ivr", summary="Regional wallet support hotlines over Twilio", lifespan=lifespan
    )
    app.state.services = services
    app.include_router(router)
    app.include_router(callback_router)
    app.include_router(agent_router)
    app.include_router(ops_router)
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
    the long pauses behind the worst latencies under load (p99 189 -> 70 ms in bench/)."""
    gc.collect()
    gc.freeze()


def __getattr__(name: str) -> Any:
    # `uvicorn ivr.web.app:app` builds the service on first access, not at import, so tests and
    # tools can import this module without reading configuration or opening a database.
    if name == "app":
        application = create_app()
        freeze_what_start_up_made()
        globals()["app"] = application
        return application
    raise AttributeError(name)
