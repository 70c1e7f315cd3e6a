"""The agent line's webhooks: the PIN (checked in `ivr.web.agent_pins`), the next caller, a
wake for a caller (`ivr.web.waking`), the agent's keys after a call (the call's code, then the
next caller), the end of each Dial, and the line's status callback. Same shape as the caller's
webhooks (see `ivr.web.routes.calls`): what the agent hears is decided in
`ivr.engine.agent_line`; who they are and what they are doing is kept by `ivr.store.agents`.

Only a call that keyed the right PIN from an agent's phone has an agent: every follow-up
webhook looks the agent up by its CallSid, never by anything in the URL, so the agent line is
never a way into the queues for anyone else.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from functools import partial

from fastapi import BackgroundTasks, Request, Response
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from ivr.config.regions import Region, RegionBook
from ivr.engine import agent_line as agents
from ivr.engine import dispositions, routing
from ivr.engine.agent_line import IDLE_ROUNDS, MAX_CHOICES, MAX_PIN_TRIES, MAX_TRIES
from ivr.engine.context import CallContext
from ivr.engine.routing import IdleAgent
from ivr.engine.steps import (
    AGENT,
    AGENT_DIALED,
    AGENT_KEY,
    AGENT_OFFER,
    AGENT_PIN,
    AGENT_STATUS,
    Step,
)
from ivr.store.agents import AgentRecord, AgentStore
from ivr.store.database import TooSlow
from ivr.store.staffing import QueueRecords
from ivr.web import metrics
from ivr.web.agent_pins import check_pin
from ivr.web.params import CallParams, GatherParams, StatusParams
from ivr.web.services import DatabaseAway, Services
from ivr.web.waking import wake_agents
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

log = logging.getLogger("ivr")
hooks = Webhooks()
# The database failed, or did not answer within the webhook's time: the agent hears so.
DATABASE_TROUBLE = (SQLAlchemyError, DatabaseAway, TooSlow)
# A queue stays with the agent who chose it while the whisper plays and the Dial connects;
# then others may take its next caller (the one being talked to is marked as being served).
CLAIM_HOLD = timedelta(seconds=45)
# We record a caller joining a queue just before Twilio enqueues them: up to one webhook's
# 15 seconds earlier. A Dial that found a queue empty tells about callers recorded before that.
ENQUEUE_DELAY = timedelta(seconds=15)
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_SID = re.compile(r"CA[0-9a-fA-F]{32}")


class DialParams(CallParams):
    """The agent's <Dial> action: how taking a caller from the queue ended."""

    dial_status: str = Field("", alias="DialCallStatus", pattern=r"^[a-z-]{0,32}$")
    dial_bridged: str = Field("", alias="DialBridged", pattern=r"^(?i:true|false)?$")
    dial_call_sid: str = Field("", alias="DialCallSid", pattern=r"^(CA[0-9a-fA-F]{32})?$")
    dial_duration: int = Field(0, alias="DialCallDuration", ge=0, le=10**6)

    @property
    def bridged(self) -> bool:
        if self.dial_bridged:
            return self.dial_bridged.lower() == "true"
        return self.dial_status == "completed" and bool(self.dial_call_sid)


@hooks.post(AGENT, CallParams)
async def agent_line(services: ServicesDep, form: CheckedForm) -> Response:
    """The agent line's voice URL: the PIN is asked of whoever calls."""
    params = parameters(CallParams, form)
    ctx = await services.call_context(params)
    return services.twiml(agents.pin_prompt(ctx, _line_language(ctx)))


@hooks.post(AGENT_PIN, GatherParams)
async def agent_pin(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """The PIN, checked with the caller ID: the agent logs in and takes the next caller; a
    wrong PIN is asked again, and the third ends the call (`t`: wrong PINs so far)."""
    params = parameters(GatherParams, form)
    tries = _count(request.query_params.get("t"), MAX_PIN_TRIES - 1)
    ctx = await services.call_context(params)
    return services.twiml(await _after_pin(services, ctx, params, tries, background))


@hooks.post(AGENT_KEY, GatherParams)
async def agent_key(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """The agent's key for the call just ended (`m=code`: its disposition, among region `r`'s
    codes), after a call (1: the next caller; `t`: misses so far) or while nobody waits (1:
    check now; silence: checked again, `i`: how often so far)."""
    params = parameters(GatherParams, form)
    query = request.query_params
    menu = query.get("m")
    tries = _count(query.get("t"), MAX_TRIES - 1)
    idle = _count(query.get("i"), IDLE_ROUNDS)
    ctx = await services.call_context(params)
    region = query.get("r", "")
    answer = await _after_key(services, ctx, params, menu, tries, idle, region, background)
    return services.twiml(answer)


@hooks.post(AGENT_DIALED, DialParams)
async def agent_dialed(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """The agent's Dial action: after a conversation, wrap-up and then the next caller; when
    the chosen caller was gone, the next choice (`n`: choices so far), a few times at most.
    `q` and `c` are the queue and the caller the whisper was about."""
    params = parameters(DialParams, form)
    queue = request.query_params.get("q", "")
    whispered = request.query_params.get("c", "")
    choices = _count(request.query_params.get("n"), MAX_CHOICES)
    ctx = await services.call_context(params)
    answer = await _after_dial(services, ctx, params, queue, whispered, choices, background)
    return services.twiml(answer)


@hooks.post(AGENT_OFFER, CallParams)
async def agent_offer(
    request: Request, services: ServicesDep, form: CheckedForm, background: BackgroundTasks
) -> Response:
    """An idle agent woken for caller `c` (Twilio moved their call here, ivr.web.waking):
    they take that caller now (or, gone meanwhile, their next one), or hear that nobody
    waits."""
    params = parameters(CallParams, form)
    caller = request.query_params.get("c", "")
    ctx = await services.call_context(params)
    woken_for = caller if _SID.fullmatch(caller) else ""
    return services.twiml(await _after_wake(services, ctx, params, woken_for, background))


# -- what the agent hears next (the database read here; the words in ivr.engine.agent_line) --
async def _after_pin(
    services: Services,
    ctx: CallContext,
    params: GatherParams,
    tries: int,
    background: BackgroundTasks,
) -> Step:
    language = _line_language(ctx)
    try:
        agent = await services.read(partial(check_pin, services, ctx, params, tries))
        if agent is None:
            return agents.pin_refused(ctx, language, tries)
        services.staffing.stale()
        offer = await _next_caller(services, ctx, agent, params.call_sid, background=background)
    except DATABASE_TROUBLE:
        log.exception("the agent line cannot read the agents (CallSid %s)", params.call_sid)
        return agents.unavailable(ctx, language)
    return agents.logged_in(ctx, agent.language).then(offer)


async def _after_wake(
    services: Services,
    ctx: CallContext,
    params: CallParams,
    caller: str,
    background: BackgroundTasks,
) -> Step:
    try:
        store = _agents(services)
        agent = await services.read(partial(store.on_line, params.call_sid))
        if agent is None:
            return agents.not_logged_in(ctx, _line_language(ctx))
        if agent.state is agents.AgentState.AVAILABLE:
            woken_for = caller or "-"  # "-": a wake for no caller in particular
            return await _next_caller(
                services, ctx, agent, params.call_sid, background=background, woken_for=woken_for
            )
        # A wake that came late: the agent had moved on, and the move cut that off.
        log.warning(
            "agent %s was woken while %s (CallSid %s)", agent.name, agent.state, params.call_sid
        )
        if agent.state is agents.AgentState.WRAP_UP and agent.serving:
            served = await services.read(partial(services.store.call, agent.serving))
            region = services.config.regions.regions.get(served.region or "" if served else "")
            region = region or ctx.region
            return dispositions.disposition_question(
                ctx, agent.language, region.id, region.dispositions
            )
        return await _next_caller(services, ctx, agent, params.call_sid, background=background)
    except DATABASE_TROUBLE:
        log.exception("the agent line cannot read the agents (CallSid %s)", params.call_sid)
        return agents.unavailable(ctx, _line_language(ctx))


async def _after_key(
    services: Services,
    ctx: CallContext,
    params: GatherParams,
    menu: str | None,
    tries: int,
    idle: int,
    request_region: str,
    background: BackgroundTasks,
) -> Step:
    try:
        agent = await services.read(partial(_agents(services).on_line, params.call_sid))
        if agent is None:
            return agents.not_logged_in(ctx, _line_language(ctx))
        if menu == agents.CODE:
            region = services.config.regions.regions.get(request_region) or ctx.region
            return await _disposition(services, ctx, agent, region, params.digits, tries)
        if params.digits == agents.NEXT:
            return await _next_caller(services, ctx, agent, params.call_sid, background=background)
        if menu == agents.IDLE and not params.digits:
            call = params.call_sid
            return await _next_caller(
                services, ctx, agent, call, idle=idle + 1, background=background
            )
    except DATABASE_TROUBLE:
        log.exception("the agent line cannot read the agents (CallSid %s)", params.call_sid)
        return agents.unavailable(ctx, _line_language(ctx))
    if menu == agents.IDLE:
        return agents.idle_missed(ctx, agent.language)
    return agents.next_missed(ctx, agent.language, tries, params.digits)


async def _disposition(
    services: Services,
    ctx: CallContext,
    agent: AgentRecord,
    region: Region,
    digits: str,
    tries: int,
) -> Step:
    """The code keyed for the call the agent is wrapping up: kept with that call (a spooled
    write: an outage loses nothing), read back, then the wrap-up and the next caller."""
    wrap_up = int(_region_wrap_up(services, region).total_seconds())
    code = dispositions.disposition_keyed(digits, region.dispositions)
    if code is None:
        return dispositions.disposition_missed(ctx, agent.language, region, tries, wrap_up)
    if agent.state is agents.AgentState.WRAP_UP and agent.serving:
        await services.calls.record_disposition(
            call_sid=agent.serving, disposition=code, agent=agent.name, at=ctx.now
        )
        metrics.disposition_keyed(services.config.regions, region.id, code)
    else:  # a retried webhook after the agent moved on, or no call to wrap up
        log.info("agent %s keyed a code with no call to wrap up; not kept", agent.name)
    return dispositions.disposition_kept(ctx, agent.language, code, wrap_up)


async def _after_dial(
    services: Services,
    ctx: CallContext,
    params: DialParams,
    queue: str,
    whispered: str,
    choices: int,
    background: BackgroundTasks,
) -> Step:
    try:
        store = _agents(services)
        agent = await services.read(partial(store.on_line, params.call_sid))
        taken = _taken_call(params, whispered)
        wrap_up = _wrap_up(services, queue)
        answered = ctx.now - timedelta(seconds=params.dial_duration) if taken else None
        if agent is None:
            # The line's status callback came first (Twilio does not promise the order):
            # the agent is offline, but the call they took is still theirs.
            name = await services.read(partial(store.claimed_by, queue, whispered))
            if name is not None and taken is not None:
                args = (name, params.call_sid, taken, answered, ctx.now, wrap_up)
                await services.read(partial(store.dial_ended, *args))
            return agents.not_logged_in(ctx, _line_language(ctx))
        language = agent.language
        empty = None
        if taken is None and params.call_status == "in-progress":
            # The Dial waited its whole timeout on an empty queue (the agent is still on
            # the line): whoever our records show there from before is gone.
            dialed_at = ctx.now - timedelta(seconds=agents.DIAL_TIMEOUT)
            empty = (queue, dialed_at - ENQUEUE_DELAY)
        await services.read(
            partial(
                store.dial_ended,
                agent.name,
                params.call_sid,
                taken,
                answered,
                ctx.now,
                wrap_up,
                empty,
            )
        )
        if taken is not None:
            if taken != whispered:
                log.warning(
                    "agent %s was put through to %s, not to %s of the whisper (queue %s)",
                    agent.name,
                    taken,
                    whispered or "?",
                    queue,
                )
            region = _region_of(services.config.regions, queue) or ctx.region
            return dispositions.after_call(ctx, language, region)
        gone = agents.caller_gone(ctx, language)
        if choices + 1 >= MAX_CHOICES:
            return gone.then(agents.nobody_waiting(ctx, language))
        offer = await _next_caller(
            services, ctx, agent, params.call_sid, choices + 1, background=background
        )
    except DATABASE_TROUBLE:
        log.exception("the agent line cannot read the agents (CallSid %s)", params.call_sid)
        return agents.unavailable(ctx, _line_language(ctx))
    return gone.then(offer)


@hooks.post(AGENT_STATUS, StatusParams, status_code=204)
async def agent_status(services: ServicesDep, form: CheckedForm) -> Response:
    """The agent line's status callback: once its call is over, the agent is offline."""
    params = parameters(StatusParams, form)
    if params.call_status in FINAL_STATUSES:
        store = _agents(services)
        try:
            name = await services.read(
                partial(store.line_ended, params.call_sid, services.clock.now())
            )
        except Exception:
            log.exception("could not log out the agent of CallSid %s", params.call_sid)
            return Response(status_code=503)
        if name is not None:
            services.staffing.stale()
            log.info("agent %s logged out (CallSid %s)", name, params.call_sid)
    return Response(status_code=204)


# -- the edge's part: the store, the clock's instant, the log --------------------------------
def _agents(services: Services) -> AgentStore:
    return AgentStore(services.store.engine)


def _line_language(ctx: CallContext) -> str:
    """Before the PIN the line speaks the language of the caller's number's region: the same
    for an agent and a stranger, so nothing tells which numbers are agents'."""
    return ctx.region.default_language


async def _next_caller(
    services: Services,
    ctx: CallContext,
    agent: AgentRecord,
    line_call: str,
    choices: int = 0,
    idle: int = 0,
    *,
    background: BackgroundTasks | None = None,
    woken_for: str | None = None,
) -> Step:
    """Choose the agent's next caller from our records and claim their queue: the whisper and
    the Dial, or (nobody waiting) the idle question. `woken_for`: the caller a wake brought the
    agent for, tried first. Where agents are woken (ivr.web.waking), an agent asking by
    themselves leaves a caller routing gives to another free agent, and that agent is woken,
    and one another agent is already coming for."""
    queues = agents.agent_queues(agent.skills, services.config.regions)
    store = _agents(services)
    me = agent.as_idle(ctx.now)
    waker = services.waker
    deferring = woken_for is None and waker is not None and waker.ready()

    def choose() -> tuple[agents.Waiting | None, list[str]]:
        waiting = QueueRecords(services.store.engine).waiting(list(queues), ctx.now)
        best_first = agents.in_order(waiting, queues)
        others: list[str] = []
        if deferring and best_first:
            idle_agents = store.available(ctx.now)
            coming, free = routing.awaited(idle_agents), routing.free(idle_agents)
            best_first = [caller for caller in best_first if caller.call_sid not in coming]
            mine = [caller for caller in best_first if _mine(free, me, queues[caller.queue])]
            others = [caller.queue for caller in best_first if caller not in mine]
            best_first = mine
        taken = store.take(agent.name, line_call, best_first, ctx.now, CLAIM_HOLD, woken_for)
        return taken, others

    taken, others = await services.read(choose)
    if others and background is not None:
        background.add_task(wake_agents, services, others)
    if taken is None:
        return agents.nobody_waiting(ctx, agent.language, idle)
    return agents.take_caller(ctx, agent.language, taken, queues[taken.queue], choices)


def _mine(free: list[IdleAgent], me: IdleAgent, queue: agents.AgentQueue) -> bool:
    return routing.first_choice(free, me, queue.region, queue.language)


def _taken_call(params: DialParams, whispered: str) -> str | None:
    """The caller the agent talked to: Twilio's DialCallSid, else the one whispered about."""
    if not params.bridged:
        return None
    if params.dial_call_sid:
        return params.dial_call_sid
    return whispered if _SID.fullmatch(whispered) else None


def _wrap_up(services: Services, queue: str) -> timedelta:
    """The wrap-up after a call of `queue`: its region's, else the global setting."""
    return _region_wrap_up(services, _region_of(services.config.regions, queue))


def _region_wrap_up(services: Services, region: Region | None) -> timedelta:
    seconds = region.wrap_up if region and region.wrap_up is not None else None
    return timedelta(
        seconds=services.settings.agent_wrap_up_seconds if seconds is None else seconds
    )


def _region_of(book: RegionBook, queue: str) -> Region | None:
    return next((region for region in book.regions.values() if region.owns_queue(queue)), None)


def _count(text: str | None, most: int) -> int:
    """A small count from our own URL; anything else (an old or hand-made URL) is 0."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 3:
        return 0
    return min(int(text), most)
