"""What every webhook shares: configuration, clock, records, and the shape of a TwiML answer.

`answer_webhook` is the one error boundary: bad parameters get a 400; anything else that
fails is logged with an error id and the CallSid, and the caller hears an apology and the
other channels, so Twilio never plays its generic "application error".
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response
from starlette.datastructures import FormData

from ivr.clock import Clock
from ivr.config.loading import Config
from ivr.config.settings import Settings
from ivr.engine import handoff
from ivr.engine.context import CallContext, CallerPlace, failed_verification, place_caller
from ivr.engine.steps import CallbackUpdate, QueueEntry, Step
from ivr.engine.ways import next_due
from ivr.jobs.mail import Mailer
from ivr.logs import bind_call
from ivr.store import Limits, Store
from ivr.store.announcements import AnnouncementStore, LiveAnnouncements
from ivr.store.database import TooSlow, in_time, time_allowed
from ivr.store.records import AWAY_ERRORS, Records
from ivr.store.repository import BRIDGED
from ivr.store.staffing import LiveStaffing, QueueRecords
from ivr.web import metrics
from ivr.web.params import BadRequest, CallParams, parse
from ivr.web.signature import FORM, read_form
from ivr.web.twiml import CONTENT_TYPE, last_resort, render

log = logging.getLogger("ivr")
P = TypeVar("P", bound=CallParams)
T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Any])
# Answer times change slowly; one database read per queue every half minute is plenty.
ANSWER_TIMES_TTL = 30.0


def callback_code() -> str:
    """Six random digits: short to say and note down, unguessable enough to tell us from a
    scammer who only knows the caller's number."""
    return f"{secrets.randbelow(10**6):06d}"


@dataclass
class Services:
    """What the webhooks need, created once per process and shared by every request."""

    settings: Settings
    config: Config
    clock: Clock
    store: Store
    records: Records
    mailer: Mailer | None = None
    codes: Callable[[], str] = callback_code
    monotonic: Callable[[], float] = time.monotonic
    _answer_times: dict[str, tuple[float, tuple[int, ...]]] = field(default_factory=dict)
    announcements: LiveAnnouncements = field(init=False)
    staffing: LiveStaffing = field(init=False)

    def __post_init__(self) -> None:
        self.announcements = LiveAnnouncements(AnnouncementStore(self.store.engine))
        self.staffing = LiveStaffing(QueueRecords(self.store.engine))
        self.records.callback_limits = self.callback_limits
        self.records.on_refused_booking = partial(metrics.booking_refused, at="replay")

    def callback_limits(self, region_id: str) -> Limits | None:
        """The region's limits on callback bookings (as configured now); None if unknown."""
        region = self.config.regions.regions.get(region_id)
        if region is None:
            return None
        return Limits(region.callbacks.per_number_per_day, region.callbacks.per_hour)

    async def read(self, work: Callable[[], T]) -> T:
        """Blocking database `work` inside a webhook: at once DatabaseAway while the database
        is known to be away, else waited for in the webhook's time (TooSlow after it).
        Callers degrade on any failure (a cache, a default, a polite goodbye)."""
        if self.records.database_away():
            raise DatabaseAway("the database is away; not read")
        try:
            result = await in_time(work)
        except (TooSlow, *AWAY_ERRORS):
            self.records.pause()  # too slow or away: the next webhooks do without it
            raise
        self.records.database_answered()
        return result

    def context(
        self, params: CallParams, region_id: str | None = None, *, outbound: bool = False
    ) -> CallContext:
        """The call as the engine sees it. On a call we placed, the person is the callee."""
        person, line = (params.to, params.from_) if outbound else (params.from_, params.to)
        place = place_caller(
            self.config.regions, person, line, "" if outbound else params.from_country
        )
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
            announcements=self.announcements.for_region(region.id),
            staffing=self.staffing.current(),
            caller_id_failed=not outbound and failed_verification(params.stir_verstat),
        )

    def twiml(self, step: Step) -> Response:
        return Response(render(step, self.settings.path_prefix), media_type=CONTENT_TYPE)

    async def write(self, op: str, **args: Any) -> bool:
        """Keep a record (database or spool), at `at` (default: now); False when neither took
        it. The failure is logged, never heard by the caller."""
        try:
            if "at" not in args:
                args["at"] = self.clock.now()
            await self.records.write_soon(op, **args)
        except Exception:
            log.exception("could not keep %s for CallSid %s", op, args.get("call_sid"))
            return False
        return True

    async def keep(self, params: CallParams, step: Step, place: CallerPlace) -> None:
        """Store what the step asks to keep."""
        for effect in step.effects:
            if isinstance(effect, QueueEntry):
                await self.write(
                    "remember_queue_entry",
                    call_sid=params.call_sid,
                    caller=caller_id(place),
                    queue=effect.queue,
                    region=effect.region,
                    language=effect.language,
                    reason=effect.reason,
                    reference=effect.reference,
                    at=self.clock.now(),
                )
            elif isinstance(effect, CallbackUpdate):
                await self._update_callback(effect, params.call_sid)

    async def _update_callback(self, effect: CallbackUpdate, call_sid: str) -> None:
        callbacks = self.store.callbacks
        try:
            now = self.clock.now()
            if effect.change == "queued":
                await self.read(partial(callbacks.joined_queue, effect.callback_id, call_sid, now))
            else:
                await self.read(partial(callbacks.cancel, effect.callback_id, now))
        except Exception:
            log.exception("could not mark callback %s %s", effect.callback_id, effect.change)

    async def callback_left_queue(self, callback_id: int, result: str) -> bool:
        """The person we called back left the callback queue (QueueResult `result`): done when
        an agent took them, else due again or given up. True when we will call again."""
        callbacks = self.store.callbacks
        try:
            now = self.clock.now()
            if result in BRIDGED:
                await self.read(partial(callbacks.reached, callback_id, now))
                return False
            if result == "hangup":
                # They hung up while waiting: their choice; we do not call again.
                await self.read(partial(callbacks.cancel, callback_id, now))
                return False
            callback = await self.read(partial(callbacks.get, callback_id))
            region = self.config.regions.regions.get(callback.region) if callback else None
            if region is None:
                return False
            settings = region.callbacks
            status = await self.read(
                partial(
                    callbacks.left_queue,
                    callback_id,
                    result,
                    now,
                    settings.attempts,
                    settings.retry_after,
                    partial(next_due, region),
                )
            )
            return status == "pending"
        except Exception:
            log.exception("could not record how callback %s left its queue", callback_id)
            return False

    async def recent_calls(self, caller: str | None) -> int:
        """The caller's calls in the rate limit's window; 0 when unknown (withheld) or when
        the database cannot tell (a caller is never refused for our outage)."""
        screening = self.settings.screening
        if not caller or not screening.calls_per_window:
            return 0
        try:
            since = self.clock.now() - timedelta(seconds=screening.window_seconds)
            return await self.read(partial(self.store.calls_from, caller, since))
        except Exception:
            log.warning("could not count recent calls; the rate limit is off for this call")
            return 0

    async def refresh_shared(self) -> None:
        """Read operators' announcements and which lines have a logged-in agent again when due
        (every few seconds, one webhook pays for each read); a failed or slow read keeps the
        last, and none is tried while the database is away."""
        now = self.clock.now()
        for shared in (self.announcements, self.staffing):
            if self.records.paused() or not shared.claim(now):
                continue
            try:
                await self.read(partial(shared.refresh, now))
            except Exception as exc:
                log.warning("shared lists not read (%s); keeping the last", type(exc).__name__)

    async def answer_times(self, queue: str) -> tuple[int, ...]:
        """Answer times of `queue` in the last hour, cached; none when the database is away."""
        cached = self._answer_times.get(queue)
        if cached and self.monotonic() - cached[0] < ANSWER_TIMES_TTL:
            return cached[1]
        try:
            since = self.clock.now() - timedelta(hours=1)
            times = tuple(await self.read(partial(self.store.answer_times, queue, since)))
        except Exception:
            log.warning("answer times of %s unavailable; saying the position only", queue)
            times = ()
        self._answer_times[queue] = (self.monotonic(), times)
        return times


class DatabaseAway(Exception):
    """Not read: the database failed or was too slow a moment ago (see Services.read)."""


def caller_id(place: CallerPlace) -> str:
    """What we keep of the caller: the E.164 number, or how they called ("withheld", "sip"...)."""
    return place.origin.number or place.origin.kind.value


def step_key(request: Request, params: CallParams, *inputs: str) -> str:
    """Identifies one webhook delivery: Twilio's retry repeats the URL and the input exactly."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    text = "\x1f".join((request.url.path, query, params.call_sid, *inputs))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hand-off per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def checked_form(request: Request, services: ServicesDep) -> FormData:
    """The webhook's form, after content type, size and signature checks (4xx otherwise)."""
    form = await read_form(request, services.settings)
    bind_call(form.get("CallSid"))  # from here on, this webhook's log lines name its call
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def parameters(model: type[P], form: FormData) -> P:
    try:
        return parse(model, form)
    except BadRequest as exc:
        raise HTTPException(400, str(exc)) from None


def webhook(
    router: APIRouter, path: str, model: type[CallParams], status_code: int = 200
) -> Callable[[Handler], Handler]:
    """Register a Twilio webhook; OpenAPI documents its form body and its answer."""
    body = {"required": True, "content": {FORM: {"schema": model.model_json_schema(by_alias=True)}}}
    answer: dict[str, Any] = {"content": {"text/xml": {}}} if status_code == 200 else {}

    def register(handler: Handler) -> Handler:
        router.add_api_route(
            path,
            _endpoint(handler),
            methods=["POST"],
            response_class=Response,
            status_code=status_code,
            responses={status_code: answer, 400: {}, 403: {}, 413: {}, 415: {}},
            openapi_extra={"requestBody": body},
            route_class_override=metrics.WebhookRoute,  # timed, and logs scoped to the call
        )
        return handler

    return register


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route's endpoint: it hands the handler its request, services and checked form
    itself, so FastAPI has no dependencies to solve per request (that machinery cost more
    than the rest of the framework's work on a webhook). The handler still declares them with
    the usual annotations (`Request`, `ServicesDep`, `CheckedForm`)."""
    hints = get_type_hints(handler, include_extras=True)
    supplies = {
        Request: "request",
        ServicesDep: "services",
        CheckedForm: "form",
        BackgroundTasks: "background",
    }
    wanted: dict[str, str] = {}
    for name in inspect.signature(handler).parameters:
        supply = next((what for kind, what in supplies.items() if hints.get(name) == kind), None)
        if supply is None:
            raise TypeError(f"webhook {handler.__name__}: nothing supplies parameter {name!r}")
        wanted[name] = supply
    reads_form, runs_later = "form" in wanted.values(), "background" in wanted.values()

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        values: dict[str, Any] = {"request": request, "services": services}
        if reads_form:
            values["form"] = await checked_form(request, services)
        if runs_later:
            values["background"] = BackgroundTasks()
        # Every database wait of this webhook, together.
        with time_allowed(services.settings.database_wait_seconds):
            response: Response = await handler(
                **{name: values[what] for name, what in wanted.items()}
            )
        background = values.get("background")
        if background is not None and background.tasks and response.background is None:
            response.background = background  # run once the answer is sent, as FastAPI does
        return response

    endpoint.__name__ = endpoint.__qualname__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


@dataclass(frozen=True)
class Visit:
    """A menu step to add to the call's path: which webhook delivery, and what was chosen."""

    step: str
    choice: str
    language: str | None = None
    stir_verstat: str | None = None


async def answer_webhook(
    services: Services,
    form: FormData,
    model: type[P],
    decide: Callable[[P, CallContext], Step | Awaitable[Step]],
    region_id: str | None = None,
    *,
    visit: Callable[[P], Visit] | None = None,
    outbound: bool = False,
) -> Response:
    """Parse, decide, keep, render: the shape of every TwiML webhook (see the module doc)."""
    params = parameters(model, form)
    try:
        await services.refresh_shared()
        ctx = services.context(params, region_id, outbound=outbound)
        decided = decide(params, ctx)
        step = await decided if inspect.isawaitable(decided) else decided
        if visit is not None:
            seen = visit(params)
            metrics.menu_choice(ctx.region.id, seen.choice)
            await services.write(
                "record_step",
                call_sid=params.call_sid,
                caller=caller_id(ctx.place),
                region=ctx.region.id,
                language=seen.language,
                step=seen.step,
                choice=seen.choice,
                at=ctx.now,
                stir_verstat=seen.stir_verstat,
            )
        await services.keep(params, step, ctx.place)
        return services.twiml(step)
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("webhook failed (error id %s, CallSid %s)", error_id, params.call_sid)
        metrics.apologized()
        await _record_error(services, params.call_sid)
        return _apology(services, params, region_id)


async def _record_error(services: Services, call_sid: str) -> None:
    try:
        at = services.clock.now()
    except Exception:
        return  # the clock itself broke; the log line above has the error id
    await services.write("record_outcome", call_sid=call_sid, outcome="error", at=at)


def _apology(services: Services, params: CallParams, region_id: str | None) -> Response:
    try:
        ctx = services.context(params, region_id)
        return services.twiml(handoff.apology(ctx, ctx.region.default_language))
    except Exception:
        log.exception("the apology failed too; answering with the last-resort message")
        return Response(last_resort(), media_type=CONTENT_TYPE)
