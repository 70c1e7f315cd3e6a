"""The FastAPI application: Twilio's voice webhooks in, TwiML out. The only HTTP module.

Each handler reads and checks the webhook (security, params), builds the call context
(caller), asks the pure engine what comes next (menu, waiting), keeps its records (store)
and renders TwiML (twiml). One error boundary turns any unexpected failure into a spoken
apology.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import phonenumbers
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ivr import handoff, menu, waiting
from ivr.caller import CallContext, CallerPlace, place_caller
from ivr.clock import Clock, SystemClock
from ivr.menu import Heard
from ivr.params import (
    BadRequest,
    CallParams,
    GatherParams,
    QueueResultParams,
    QueueWaitParams,
    StatusParams,
    parse,
)
from ivr.prompts import Catalogue, check_prompts, load_prompts
from ivr.regions import RegionBook, load_regions
from ivr.security import FORM, read_form
from ivr.settings import Settings
from ivr.state import CallPlace, parse_place, parse_state
from ivr.steps import (
    INCOMING,
    MENU,
    QUEUE_CONNECT,
    QUEUE_KEY,
    QUEUE_RESULT,
    QUEUE_WAIT,
    STATUS,
    QueueEntry,
    Step,
)
from ivr.store import Store
from ivr.store.migrate import upgrade
from ivr.twiml import CONTENT_TYPE, last_resort, render

log = logging.getLogger("ivr")
P = TypeVar("P", bound=CallParams)
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Config:
    regions: RegionBook
    prompts: Catalogue


def load_config(settings: Settings) -> Config:
    """Prompts and regions, checked together; raises ConfigError with file, line and reason."""
    prompts = load_prompts(settings.prompts)
    regions = load_regions(settings.regions, prompt_languages=prompts.languages)
    for problem in check_prompts(prompts):
        log.warning("prompt fallback in use: %s", problem)
    return Config(regions, prompts)


@dataclass
class Services:
    """What the webhooks need, created once per process and shared by every request."""

    settings: Settings
    config: Config
    clock: Clock
    store: Store

    def context(self, params: CallParams, region_id: str | None = None) -> CallContext:
        place = place_caller(self.config.regions, params.from_, params.to, params.from_country)
        region = self.config.regions.regions.get(region_id or "", place.region)
        return CallContext(
            place=place,
            region=region,
            now=self.clock.now(),
            prompts=self.config.prompts,
            company=self.settings.company_name,
            reference_lengths=(
                self.settings.reference_min_digits,
                self.settings.reference_max_digits,
            ),
            hold_music=self.settings.hold_music_url,
        )

    def twiml(self, step: Step) -> Response:
        return Response(render(step, self.settings.path_prefix), media_type=CONTENT_TYPE)

    async def keep(self, params: CallParams, step: Step, place: CallerPlace) -> None:
        """Store what the step asks to keep; a storage failure must not cost the caller the call."""
        for effect in step.effects:
            if isinstance(effect, QueueEntry):
                now = self.clock.now()
                try:
                    await run_in_threadpool(
                        self.store.remember_queue_entry,
                        params.call_sid,
                        caller_id(place),
                        effect,
                        now,
                    )
                except Exception:
                    log.exception("could not store the queue entry of CallSid %s", params.call_sid)


def caller_id(place: CallerPlace) -> str:
    """What we keep of the caller: the E.164 number, or how they called ("withheld", "sip"...)."""
    return place.origin.number or place.origin.kind.value


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def checked_form(request: Request, services: ServicesDep) -> FormData:
    """The webhook's form, after content type, size and signature checks (4xx otherwise)."""
    return await read_form(request, services.settings)


CheckedForm = Annotated[FormData, Depends(checked_form)]


def parameters(model: type[P], form: FormData) -> P:
    try:
        return parse(model, form)
    except BadRequest as exc:
        raise HTTPException(400, str(exc)) from None


async def answer_webhook(
    services: Services,
    form: FormData,
    model: type[P],
    decide: Callable[[P, CallContext], Step],
    region_id: str | None = None,
) -> Response:
    """Parse, decide, keep, render: the shape of every TwiML webhook.

    Bad parameters get a 400. Anything else that fails is logged with an error id and the
    CallSid, and the caller hears an apology and the other channels: Twilio never plays its
    generic "application error".
    """
    params = parameters(model, form)
    try:
        ctx = services.context(params, region_id)
        step = decide(params, ctx)
        await services.keep(params, step, ctx.place)
        return services.twiml(step)
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("webhook failed (error id %s, CallSid %s)", error_id, params.call_sid)
        return _apology(services, params, region_id)


def _apology(services: Services, params: CallParams, region_id: str | None) -> Response:
    try:
        ctx = services.context(params, region_id)
        return services.twiml(handoff.apology(ctx, ctx.region.default_language))
    except Exception:
        log.exception("the apology failed too; answering with the last-resort message")
        return Response(last_resort(), media_type=CONTENT_TYPE)


router = APIRouter()


def webhook(path: str, model: type[CallParams]) -> Callable[[Handler], Handler]:
    """Register a Twilio webhook; OpenAPI documents its form body and its TwiML answer."""
    body = {"required": True, "content": {FORM: {"schema": model.model_json_schema(by_alias=True)}}}
    return router.post(
        path,
        response_class=Response,
        responses={200: {"content": {"text/xml": {}}}, 400: {}, 403: {}, 413: {}, 415: {}},
        openapi_extra={"requestBody": body},
    )


@webhook(INCOMING, CallParams)
async def incoming(services: ServicesDep, form: CheckedForm) -> Response:
    """A call rings in (the number's voice URL): language menu, or welcome and main menu."""
    return await answer_webhook(services, form, CallParams, lambda _, ctx: menu.start(ctx))


@webhook(MENU, GatherParams)
async def menu_answer(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The caller's keys, words or silence at a menu; the menu state is in the query."""
    state = parse_state(request.query_params)

    def decide(params: GatherParams, ctx: CallContext) -> Step:
        return menu.respond(ctx, state, Heard(params.digits, params.speech))

    return await answer_webhook(
        services, form, GatherParams, decide, state.region if state else None
    )


async def answer_in_queue(
    request: Request,
    services: Services,
    form: FormData,
    model: type[P],
    decide: Callable[[P, CallContext, CallPlace | None], Step],
) -> Response:
    """A queue webhook: the caller's region and language come from our URL's query."""
    place = parse_place(request.query_params)
    region = place.region if place else None
    return await answer_webhook(services, form, model, lambda p, ctx: decide(p, ctx, place), region)


@webhook(QUEUE_WAIT, QueueWaitParams)
async def queue_wait(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """Enqueue waitUrl: position, reminders, the way out; Twilio polls it again when it ends."""

    def decide(params: QueueWaitParams, ctx: CallContext, place: CallPlace | None) -> Step:
        status = waiting.QueueStatus(params.position, params.waited, params.size)
        return waiting.queue_wait(ctx, place, status)

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

    def decide(params: QueueResultParams, ctx: CallContext, place: CallPlace | None) -> Step:
        return waiting.queue_result(ctx, place, params.result)

    return await answer_in_queue(request, services, form, QueueResultParams, decide)


@webhook(QUEUE_CONNECT, CallParams)
async def queue_connect(services: ServicesDep, form: CheckedForm) -> Response:
    """<Dial><Queue url>: runs on the queued caller's leg just before an agent is bridged."""
    params = parameters(CallParams, form)
    try:
        record = await run_in_threadpool(services.store.call, params.call_sid)
    except Exception:
        log.exception("could not read the queue entry of CallSid %s", params.call_sid)
        record = None
    language = record.language if record else None

    def decide(_: CallParams, ctx: CallContext) -> Step:
        return waiting.connect_notice(ctx, language)

    return await answer_webhook(
        services, form, CallParams, decide, record.region if record else None
    )


@webhook(STATUS, StatusParams)
async def status(services: ServicesDep, form: CheckedForm) -> Response:
    """Status callback at the end of a call: stored (an upsert, so retries are harmless)."""
    params = parameters(StatusParams, form)
    caller = caller_id(
        place_caller(services.config.regions, params.from_, params.to, params.from_country)
    )
    try:
        await run_in_threadpool(
            services.store.record_status,
            params.call_sid,
            caller,
            params.call_status,
            params.duration,
            services.clock.now(),
        )
    except Exception:
        # Twilio does not retry status callbacks; the error id lets an operator find it.
        log.exception(
            "could not store the status of CallSid %s (error id %s)",
            params.call_sid,
            uuid.uuid4().hex[:12],
        )
    return Response(status_code=204)


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    """Alive."""
    return "ok"


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, store: Store | None = None
) -> FastAPI:
    """Build the service; refuses to start on a broken configuration (ConfigError)."""
    settings = settings or Settings()
    config = load_config(settings)
    if store is None:
        store = Store.connect(settings.database_url)
        upgrade(store.engine)
    # The first phonenumbers parse in a process loads its metadata (~20 ms): pay it now.
    phonenumbers.parse("+442079460000")
    if settings.auth_token is None:
        log.warning(
            "TWILIO_AUTH_TOKEN is not set: webhook signatures are NOT checked (local mode). "
            "Never expose this service to the internet like this."
        )
    services = Services(settings, config, clock or SystemClock(), store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.store.close()

    app = FastAPI(
        title="ivr", summary="Regional wallet support hotlines over Twilio", lifespan=lifespan
    )
    app.state.services = services
    app.include_router(router)
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn ivr.app:app` builds the service on first access, not at import, so tests and
    # tools can import this module without reading configuration or opening a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
