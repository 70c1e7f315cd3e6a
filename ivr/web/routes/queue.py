"""The webhooks of a caller waiting in a Twilio queue: what they hear while they wait, a key
pressed there, how they left, and the notice just before an agent is bridged.

On a callback's leg (a call we placed: `cb` in our URL) the person is the callee, so `From`
is our own hotline.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from fastapi import BackgroundTasks, Request, Response

from ivr.engine import callback_call, survey, waiting
from ivr.engine.callback_call import CALLBACK_MARK
from ivr.engine.context import CallContext
from ivr.engine.state import CallPlace, parse_place
from ivr.engine.steps import QUEUE_CONNECT, QUEUE_KEY, QUEUE_RESULT, QUEUE_WAIT
from ivr.store.staffing import ENQUEUE_MARGIN
from ivr.web import metrics
from ivr.web.keeping import callback_left_queue, keep
from ivr.web.params import CallParams, GatherParams, QueueResultParams, QueueWaitParams
from ivr.web.routes.callbacks import FINAL_CALL_STATUSES, callback_in_url
from ivr.web.services import Services
from ivr.web.waking import wake_agents
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

log = logging.getLogger("ivr")
hooks = Webhooks()


def served_callback(request: Request) -> int | None:
    """The callback whose person waits on this leg (a call we placed), from our URL."""
    return callback_in_url(request.query_params.get(CALLBACK_MARK, ""))


def callback_marks(callback: int | None) -> tuple[tuple[str, str], ...]:
    """What our links carry on a callback's leg: the callback served (`cb`)."""
    return ((CALLBACK_MARK, str(callback)),) if callback is not None else ()


async def waiting_call(
    request: Request, services: Services, params: CallParams
) -> tuple[CallPlace | None, int | None, CallContext]:
    """Where the waiting caller is from (our URL's region and language), the callback served
    on this leg if any, and the call context (on a callback's leg the person is the callee)."""
    place = parse_place(request.query_params)
    callback = served_callback(request)
    ctx = await services.call_context(
        params,
        place.region if place else None,
        outbound=callback is not None,
        caller_id_failed=place is not None and place.caller_id_failed,
    )
    return place, callback, ctx


@hooks.post(QUEUE_WAIT, QueueWaitParams)
async def queue_wait(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """Enqueue waitUrl: position, estimated wait, reminders, the way out; Twilio polls it
    again when the document ends. Once answered, an idle agent is woken for the queue."""
    params = parameters(QueueWaitParams, form)
    place, callback, ctx = await waiting_call(request, services, params)
    queue = request.query_params.get("q", "")
    region = services.config.regions.regions.get(place.region) if place else None
    known = region is not None and region.owns_queue(queue)
    answer_times = await services.answer_times(queue) if known else ()
    status = waiting.QueueStatus(params.position, params.waited, params.size, answer_times)
    answer = waiting.queue_wait(ctx, place, status, may_leave=callback is None)
    await keep(services, params, answer, ctx)
    if known and params.waited < ENQUEUE_MARGIN.total_seconds():
        # Twilio has them in the queue now: agents may take them (kept once answered).
        since = ctx.now - timedelta(seconds=params.waited)
        record = services.calls.record_in_queue
        background.add_task(record, call_sid=params.call_sid, since=since, at=ctx.now)
    if known and params.position == 1 and services.waker is not None:
        background.add_task(wake_agents, services, (queue,))
    return services.twiml(answer)


@hooks.post(QUEUE_KEY, GatherParams)
async def queue_key(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """A key pressed while waiting in the queue."""
    params = parameters(GatherParams, form)
    place, _, ctx = await waiting_call(request, services, params)
    answer = waiting.queue_key(ctx, place, params.digits)
    await keep(services, params, answer, ctx)
    return services.twiml(answer)


@hooks.post(QUEUE_RESULT, QueueResultParams)
async def queue_result(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """Enqueue action: the caller left the queue (bridged, hung up, left, full, error...)."""
    params = parameters(QueueResultParams, form)
    place, callback, ctx = await waiting_call(request, services, params)
    await services.calls.record_queue_result(
        call_sid=params.call_sid,
        result=params.result,
        queue_time=params.waited,
        at=services.clock.now(),
    )
    metrics.left_queue(services.config.regions, place, params.result, params.waited)
    called_again = False
    if callback is not None:
        called_again = await callback_left_queue(services, callback, params.result)
    # A caller who hung up on the agent leaves "bridged" too, with a final CallStatus: Twilio
    # ignores the answer then, and no survey is recorded as asked.
    on_the_line = params.call_status not in FINAL_CALL_STATUSES
    if callback is not None and params.result not in waiting.BRIDGED | {"hangup"}:
        language = place.language if place else ""
        answer = callback_call.not_connected(ctx, language, called_again)
    elif survey.follows(ctx, params.result, on_the_line):
        await services.calls.record_survey(call_sid=params.call_sid, at=ctx.now, rating=None)
        metrics.survey_event(services.config.regions, place.region if place else None, "asked")
        answer = survey.question(ctx, place, callback_marks(callback))
    else:
        answer = waiting.queue_result(ctx, place, params.result)
    await keep(services, params, answer, ctx)
    return services.twiml(answer)


@hooks.post(QUEUE_CONNECT, CallParams)
async def queue_connect(services: ServicesDep, form: CheckedForm) -> Response:
    """<Dial><Queue url>: runs on the queued caller's leg just before an agent is bridged."""
    params = parameters(CallParams, form)
    try:
        record = await services.read(partial(services.store.call, params.call_sid))
    except Exception as exc:
        log.warning(
            "the queue entry of CallSid %s is unreadable (%s); the notice is in the region's "
            "language",
            params.call_sid,
            type(exc).__name__,
        )
        record = None
    ctx = await services.call_context(params, record.region if record else None)
    answer = waiting.connect_notice(ctx, record.language if record else None)
    return services.twiml(answer)
