"""What a webhook keeps besides its answer: the call's path, the effects a step asks for (a
queue entry, a callback's change), and how a callback's person left its queue.

Nothing here changes what the caller hears: a record that cannot be kept is logged (and
spooled while the database is away), and the answer goes out all the same.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial

from fastapi import Request

from ivr.engine.context import CallContext, CallerPlace
from ivr.engine.steps import CallbackUpdate, QueueEntry, Step
from ivr.engine.ways import next_due
from ivr.store.repository import BRIDGED
from ivr.web import metrics
from ivr.web.params import CallParams
from ivr.web.services import Services
from ivr.web.signature import request_path

log = logging.getLogger("ivr")


def caller_id(place: CallerPlace) -> str:
    """What we keep of the caller: the E.164 number, or how they called ("withheld", "sip"...)."""
    return place.origin.number or place.origin.kind.value


def delivery(request: Request, params: CallParams, *inputs: str) -> str:
    """Identifies one webhook delivery: Twilio's retry repeats the URL and the input exactly,
    so a retried step adds nothing to the call's path."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    text = "\x1f".join((request_path(request), query, params.call_sid, *inputs))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


async def record_visit(
    services: Services,
    ctx: CallContext,
    params: CallParams,
    step: str,
    choice: str,
    language: str | None = None,
) -> None:
    """A menu answer on the call's path (`choice`: "main:4", "lang:1", ""), and its metric."""
    metrics.menu_choice(ctx.region.id, choice)
    await services.calls.record_step(
        call_sid=params.call_sid,
        caller=caller_id(ctx.place),
        region=ctx.region.id,
        language=language,
        step=step,
        choice=choice,
        at=ctx.now,
        stir_verstat=params.stir_verstat or None,
    )


async def keep(services: Services, params: CallParams, step: Step, ctx: CallContext) -> None:
    """Store what the step asks to keep: the queue the caller joins, a callback's change."""
    for effect in step.effects:
        if isinstance(effect, QueueEntry):
            await services.calls.remember_queue_entry(
                call_sid=params.call_sid,
                caller=caller_id(ctx.place),
                queue=effect.queue,
                region=effect.region,
                language=effect.language,
                reason=effect.reason,
                reference=effect.reference,
                at=ctx.now,
            )
        elif isinstance(effect, CallbackUpdate):
            await _update_callback(services, effect, params.call_sid, ctx)


async def _update_callback(
    services: Services, effect: CallbackUpdate, call_sid: str, ctx: CallContext
) -> None:
    callbacks = services.store.callbacks
    try:
        if effect.change == "queued":
            await services.read(
                partial(callbacks.joined_queue, effect.callback_id, call_sid, ctx.now)
            )
        else:
            await services.read(partial(callbacks.cancel, effect.callback_id, ctx.now))
    except Exception:
        log.exception("could not mark callback %s %s", effect.callback_id, effect.change)


async def callback_left_queue(services: Services, callback_id: int, result: str) -> bool:
    """The person we called back left the callback queue (QueueResult `result`): done when an
    agent took them, else due again or given up. True when we will call again."""
    callbacks = services.store.callbacks
    try:
        now = services.clock.now()
        if result in BRIDGED:
            await services.read(partial(callbacks.reached, callback_id, now))
            return False
        if result == "hangup":
            # They hung up while waiting: their choice; we do not call again.
            await services.read(partial(callbacks.cancel, callback_id, now))
            return False
        callback = await services.read(partial(callbacks.get, callback_id))
        region = services.config.regions.regions.get(callback.region) if callback else None
        if region is None:
            return False
        rules = region.callbacks
        left = partial(
            callbacks.left_queue,
            callback_id,
            result,
            now,
            rules.attempts,
            rules.retry_after,
            partial(next_due, region),
        )
        return await services.read(left) == "pending"
    except Exception:
        log.exception("could not record how callback %s left its queue", callback_id)
        return False
