"""Webhooks of the ways out of a queue: booking a callback, the callback call we place, and
voice messages. Same shape as the caller's webhooks (see `ivr.web.routes.calls`)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from functools import partial

from fastapi import BackgroundTasks, Request, Response
from starlette.concurrency import run_in_threadpool

from ivr.engine import callback_call, handoff, ways
from ivr.engine.callback_call import PlacedCallback
from ivr.engine.context import CallContext, failed_verification
from ivr.engine.state import parse_place
from ivr.engine.steps import (
    CALLBACK_ANSWER,
    CALLBACK_BOOK,
    CALLBACK_KEY,
    CALLBACK_STATUS,
    RECORDING,
)
from ivr.engine.waiting import fitting
from ivr.jobs.voicemail import deliver_voicemails
from ivr.store import Limits
from ivr.store.callbacks import OPEN_STATUSES
from ivr.web import metrics
from ivr.web.keeping import caller_id, keep
from ivr.web.params import CallParams, GatherParams, RecordingParams, StatusParams
from ivr.web.services import Services
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

log = logging.getLogger("ivr")
hooks = Webhooks()
_ID = re.compile(r"[0-9]{1,10}")
# The largest id the callbacks table holds (an integer column: 4 bytes in PostgreSQL). A larger
# one in a URL is nobody's callback; asking the database for it is an error there.
LARGEST_CALLBACK_ID = 2**31 - 1
_SAID = re.compile(r"[0-9]")
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@hooks.post(CALLBACK_BOOK, CallParams)
async def book_callback(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The caller confirmed a number (in `d`): book the callback and tell them its code."""
    params = parameters(CallParams, form)
    place = parse_place(request.query_params)
    digits = request.query_params.get("d", "")
    ctx = await services.call_context(
        params,
        place.region if place else None,
        caller_id_failed=place is not None and place.caller_id_failed,
    )
    ctx = await _with_kept_verdict(services, params.call_sid, ctx, digits)
    kept = fitting(ctx, place)
    number = ways.bookable_number(ctx, digits)
    if number is None or not ctx.region.hotlines:
        return services.twiml(ways.not_bookable(ctx, kept))
    rules = ctx.region.callbacks
    booking = await services.records.book_callback(
        call_sid=params.call_sid,
        number=number,
        region=ctx.region.id,
        language=kept.language,
        reason=kept.reason,
        code=services.codes(),
        at=ctx.now,
        due_at=ways.first_attempt(ctx),
        limits=Limits(rules.per_number_per_day, rules.per_hour),
    )
    if booking.code is not None:
        await services.calls.record_outcome(
            call_sid=params.call_sid, outcome="callback", at=ctx.now
        )
        metrics.callback_event(ctx.region.id, "booked")
    else:
        metrics.booking_refused(ctx.region.id, booking.refused or "", "booking")
    return services.twiml(ways.booked(ctx, kept, booking))


async def _with_kept_verdict(
    services: Services, call_sid: str, ctx: CallContext, digits: str
) -> CallContext:
    """The call with the caller-ID verdict kept from its first webhook: Twilio documents
    StirVerstat on the incoming call's request, not on the later ones. Read only when the link
    asks for the calling number, the one a failed verdict refuses; unreadable means unknown."""
    if ctx.caller_id_failed or digits != (ctx.place.origin.number or "").lstrip("+"):
        return ctx
    try:
        call = await services.read(partial(services.store.call, call_sid))
    except Exception:
        log.warning("caller-ID verdict unreadable for CallSid %s; taken as unknown", call_sid)
        return ctx
    failed = call is not None and failed_verification(call.stir_verstat or "")
    return replace(ctx, caller_id_failed=True) if failed else ctx


@hooks.post(RECORDING, RecordingParams)
async def recording(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """The <Record> action: the voice message is a ticket, mailed to the support team."""
    params = parameters(RecordingParams, form)
    place = parse_place(request.query_params)
    ctx = await services.call_context(
        params,
        place.region if place else None,
        caller_id_failed=place is not None and place.caller_id_failed,
    )
    kept = fitting(ctx, place)
    spoken = ways.message_seconds(params.duration, params.digits)
    if spoken < ways.MIN_MESSAGE_SECONDS:
        return services.twiml(ways.no_message(ctx, kept.language))
    saved = await services.calls.save_voicemail(
        recording_sid=params.recording_sid,
        call_sid=params.call_sid,
        recording_url=params.recording_url,
        duration=spoken,
        caller=caller_id(ctx.place),
        region=ctx.region.id,
        language=kept.language,
        reason=kept.reason,
        at=ctx.now,
    )
    if not saved:
        # Neither the database nor the spool took it: never say "saved" for a lost message.
        return services.twiml(handoff.apology(ctx, kept.language))
    await services.calls.record_outcome(call_sid=params.call_sid, outcome="voicemail", at=ctx.now)
    if services.mailer is not None:
        background.add_task(run_in_threadpool, _mail_voicemails, services)
    return services.twiml(ways.voicemail_saved(ctx, kept))


@hooks.post(CALLBACK_ANSWER, CallParams)
async def callback_answered(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The person we call back picked up (the Url of the call the dispatcher placed)."""
    params = parameters(CallParams, form)
    callback, said = await _placed_callback(request, services)
    ctx = await services.call_context(params, callback.region, outbound=True)
    return services.twiml(callback_call.greeting(ctx, callback, said))


@hooks.post(CALLBACK_KEY, GatherParams)
async def callback_key(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """Their key: talk to an agent now (the callback queue), or cancel."""
    params = parameters(GatherParams, form)
    callback, said = await _placed_callback(request, services)
    ctx = await services.call_context(params, callback.region, outbound=True)
    answer = callback_call.answer(ctx, callback, params.digits, said)
    await keep(services, params, answer, ctx)
    return services.twiml(answer)


@hooks.post(CALLBACK_STATUS, StatusParams, status_code=204)
async def callback_status(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The callback call ended: when it did not reach the person, try again later or give up."""
    params = parameters(StatusParams, form)
    callback_id = callback_in_url(request.query_params.get("cb", ""))
    if params.call_status in FINAL_CALL_STATUSES and callback_id is not None:
        try:
            await services.read(partial(_attempt_ended, services, callback_id, params))
        except Exception:
            log.exception("could not record the end of callback %s", callback_id)
    return Response(status_code=204)


def callback_in_url(text: str) -> int | None:
    """The callback id in one of our URLs (`cb`); None when it cannot be one."""
    if not _ID.fullmatch(text) or int(text) > LARGEST_CALLBACK_ID:
        return None
    return int(text)


def _mail_voicemails(services: Services) -> None:
    """After the answer went out; what cannot be mailed now, the dispatcher mails later."""
    if services.mailer is None:
        return
    try:
        deliver_voicemails(services.store, services.mailer, services.config.regions, services.clock)
    except Exception:
        log.exception("voicemail mail deferred to the dispatcher")


def _attempt_ended(services: Services, callback_id: int, params: StatusParams) -> None:
    callbacks = services.store.callbacks
    callback = callbacks.get(callback_id)
    region = services.config.regions.regions.get(callback.region) if callback else None
    if callback is None or region is None:
        return
    settings = region.callbacks
    result = "unanswered" if params.call_status == "completed" else params.call_status
    call = services.store.call(params.call_sid)  # how its callback queue ended, if it did
    callbacks.attempt_ended(
        callback_id,
        params.call_sid,
        result,
        services.clock.now(),
        settings.attempts,
        settings.retry_after,
        partial(ways.next_due, region),
        call.queue_result if call else None,
    )
    if callback.status == "dialing" and callback.last_call_sid in (None, params.call_sid):
        metrics.callback_not_reached(region.id, last_attempt=callback.attempts >= settings.attempts)


async def _placed_callback(request: Request, services: Services) -> tuple[PlacedCallback, int]:
    """The callback of `cb` in the query, and how often its greeting was said (`s`)."""
    callback_id = callback_in_url(request.query_params.get("cb", ""))
    said_text = request.query_params.get("s", "0")
    said = int(said_text) if _SAID.fullmatch(said_text) else callback_call.GREETINGS
    record = None
    if callback_id is not None:
        try:
            record = await services.read(partial(services.store.callbacks.get, callback_id))
        except Exception:
            log.exception("could not read callback %s", callback_id)
    if record is None:
        # Unknown, or the database is away: say goodbye politely; the retry comes later.
        return PlacedCallback(0, "", None, "", None, None, open=False), said
    region = services.config.regions.regions.get(record.region)
    attempts = region.callbacks.attempts if region else 1
    placed = PlacedCallback(
        id=record.id,
        region=record.region,
        last_attempt=record.attempts >= attempts,
        code=record.code,
        language=record.language,
        reason=record.reason,
        reference=record.transaction_ref,
        open=record.status in OPEN_STATUSES,
    )
    return placed, said
