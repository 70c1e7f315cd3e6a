"""The one error boundary of the webhooks: an unexpected failure inside a handler is logged
with an error id and the CallSid, counted, recorded as the call's `error` outcome, and the
caller hears an apology and the other channels in the region's language, answered 200 with
valid TwiML, so Twilio never plays its generic "application error". A status callback that
fails gets a 503 instead (it has nobody to speak to).

Bad requests are not failures: they get their 4xx before any handler runs (ivr.web.webhooks).
"""

from __future__ import annotations

import logging
import uuid

from fastapi import Request, Response
from starlette.datastructures import FormData

from ivr.engine import handoff
from ivr.web import metrics
from ivr.web.params import BadRequest, CallParams, parse
from ivr.web.services import Services
from ivr.web.twiml import CONTENT_TYPE, last_resort

log = logging.getLogger("ivr")


async def answer_failure(
    request: Request, services: Services, form: FormData, failure: Exception, *, speaks: bool
) -> Response:
    """What a webhook answers when its handler raised `failure`."""
    error_id = uuid.uuid4().hex[:12]
    call_sid = form.get("CallSid")
    log.error("webhook failed (error id %s, CallSid %s)", error_id, call_sid, exc_info=failure)
    metrics.apologized()
    try:
        params = parse(CallParams, form)
    except BadRequest:
        params = None
    if params is not None:
        await _record_error(services, params.call_sid)
    if not speaks:
        return Response(status_code=503)
    return _apology(services, params, request.query_params.get("r"))


async def _record_error(services: Services, call_sid: str) -> None:
    try:
        at = services.clock.now()
    except Exception:
        return  # the clock itself broke; the log line above has the error id
    await services.calls.record_outcome(call_sid=call_sid, outcome="error", at=at)


def _apology(services: Services, params: CallParams | None, region_id: str | None) -> Response:
    """Sorry, the other channels, goodbye: in the language of the caller's region (from our
    URL, else from the numbers); the last-resort document if even that fails."""
    try:
        if params is None:
            raise ValueError("no call to speak to")
        ctx = services.context(params, region_id)
        return services.twiml(handoff.apology(ctx, ctx.region.default_language))
    except Exception:
        log.exception("the apology failed too; answering with the last-resort message")
        return Response(last_resort(), media_type=CONTENT_TYPE)
