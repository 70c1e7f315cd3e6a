"""The caller's webhooks: the call rings in, the caller answers a menu, the call ends.

Each handler reads top to bottom: parameters, the call context, the engine's answer, what to
keep, the TwiML. Failures inside become an apology (ivr.web.boundary).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from ivr.engine import menu
from ivr.engine.context import place_caller
from ivr.engine.questions import Heard
from ivr.engine.state import parse_state
from ivr.engine.steps import INCOMING, MENU, STATUS, Reject, step
from ivr.web.keeping import caller_id, delivery, keep, record_visit
from ivr.web.params import CallParams, GatherParams, StatusParams
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

log = logging.getLogger("ivr")
router = APIRouter()
hooks = Webhooks()
# Menu nodes whose keys are a number or a reference: kept elsewhere, never in the path.
_KEYED_NODES = ("ref", "cb_num")


@hooks.post(INCOMING, CallParams)
async def incoming(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """A call rings in (the number's voice URL): language menu, or welcome and main menu;
    a blocked number, or one calling too often, is refused before any menu."""
    params = parameters(CallParams, form)
    ctx = await services.call_context(params)
    # Rate limits count numbers we can tell apart; the blocklist also sees what a number we
    # cannot parse (a satellite phone, say) shows as its caller ID.
    number = ctx.place.origin.number
    shown = number or params.from_.strip()
    refusal = services.settings.screening.rejects(shown, await services.recent_calls(number))
    answer = menu.start(ctx) if refusal is None else step(Reject())
    choice = f"rejected:{refusal}" if refusal else ""
    await record_visit(services, ctx, params, delivery(request, params), choice)
    if refusal is not None:
        log.warning("refused a call from %s: %s (CallSid %s)", shown, refusal, params.call_sid)
        await services.calls.record_outcome(
            call_sid=params.call_sid, outcome="rejected", at=ctx.now
        )
    return services.twiml(answer)


@hooks.post(MENU, GatherParams)
async def menu_answer(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The caller's keys, words or silence at a menu; the menu state is in the query."""
    params = parameters(GatherParams, form)
    state = parse_state(request.query_params)
    ctx = await services.call_context(
        params,
        state.region if state else None,
        caller_id_failed=state is not None and state.caller_id_failed,
    )
    answer = menu.respond(ctx, state, Heard(params.digits, params.speech))
    heard = params.digits or ("~" if params.speech.strip() else "-")
    if state and state.node in _KEYED_NODES and params.digits:
        heard = "#"
    # Only questions the flow knows are counted (a forged or stale node is "?").
    known = state is not None and menu.knows(ctx.flow, state.node)
    choice = f"{state.node if state and known else '?'}:{heard}"
    key = delivery(request, params, params.digits, params.speech)
    await record_visit(services, ctx, params, key, choice, state.language if state else None)
    await keep(services, params, answer, ctx)
    return services.twiml(answer)


@hooks.post(STATUS, StatusParams, status_code=204)
async def status(services: ServicesDep, form: CheckedForm) -> Response:
    """Status callback at the end of a call: stored (an upsert, so retries are harmless).

    The 204 goes out only once the record is in the database or fsynced to the spool; a 503
    says it is in neither."""
    params = parameters(StatusParams, form)
    place = place_caller(services.config.regions, params.from_, params.to, params.from_country)
    kept = await services.calls.record_status(
        call_sid=params.call_sid,
        caller=caller_id(place),
        status=params.call_status,
        duration=params.duration,
        at=services.clock.now(),
    )
    return Response(status_code=204 if kept else 503)


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    """Alive."""
    return "ok"
