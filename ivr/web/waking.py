"""Waking an idle agent for a waiting caller. Routing (ivr.engine.routing) chooses the agent;
Twilio's Calls API moves their agent-line call from its idle question to AGENT_OFFER, where they
take their next caller at once instead of at their next check (up to 15 s later). When Twilio
refuses, the next agent is woken. It runs once the webhook has answered (a background task), so
no caller waits on Twilio's API; without Twilio credentials agents find callers by their checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ivr.config.settings import Settings
from ivr.engine import routing
from ivr.engine.agent_line import Waiting, queue_named
from ivr.engine.steps import AGENT_OFFER
from ivr.store.agents import AgentStore
from ivr.store.database import TooSlow
from ivr.store.staffing import QueueRecords
from ivr.web import metrics
from ivr.web.services import DatabaseAway, Services, Waker

if TYPE_CHECKING:
    from twilio.rest import Client

log = logging.getLogger("ivr")
# Twilio: no such call (20404), or the call is not in progress (21220): the agent line ended.
LINE_GONE = frozenset({20404, 21220})


class AgentWaker:
    """Moves an agent-line call to AGENT_OFFER through Twilio's own client (made on first
    use: importing it would slow every start)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.public_url, "a waker needs the public URL Twilio reaches us at"
        self.settings = settings
        self.url = settings.public_url.rstrip("/") + AGENT_OFFER

    @cached_property
    def client(self) -> Client:
        from ivr.jobs.dispatcher import twilio_client

        return twilio_client(self.settings)

    @classmethod
    def configured(cls, settings: Settings) -> AgentWaker | None:
        """A waker when Twilio's credentials and the public URL are set, else None."""
        ready = settings.twilio_account_sid and settings.auth_token and settings.public_url
        return cls(settings) if ready else None

    def redirect(self, line_call: str) -> int | None:
        """None once Twilio took the new URL; else Twilio's error code (0: no answer)."""
        try:
            self.client.calls(line_call).update(url=self.url, method="POST")
        except Exception as exc:
            from twilio.base.exceptions import TwilioRestException

            if isinstance(exc, TwilioRestException):
                return int(exc.code or 0)
            log.warning("could not reach Twilio to wake an agent (%s)", type(exc).__name__)
            return 0
        return None


async def wake_agents(services: Services, queues: Iterable[str]) -> None:
    """For the first caller of each of `queues` (by our records), wake the agent routing
    chooses among those available; none is woken twice by one pass."""
    waker, names = services.waker, sorted(set(queues))
    if waker is None or not names:
        return
    now, store = services.clock.now(), AgentStore(services.store.engine)
    try:
        idle, waiting = await services.read(partial(_read, services, store, names, now))
    except (SQLAlchemyError, DatabaseAway, TooSlow):
        return  # the agents' own checks find the caller
    woken: set[str] = set()
    for caller in _fronts(waiting):
        left = [agent for agent in idle if agent.name not in woken]
        await _wake_one(services, waker, store, caller, left, woken, now)


async def _wake_one(
    services: Services,
    waker: Waker,
    store: AgentStore,
    caller: Waiting,
    idle: list[routing.IdleAgent],
    woken: set[str],
    now: datetime,
) -> None:
    """Wake the best of `idle` for `caller`, else the next best (each tried is `woken`)."""
    queue = queue_named(services.config.regions, caller.queue)
    if queue is None:
        return
    for agent in routing.ranked(idle, queue.region, queue.language):
        woken.add(agent.name)
        if not await services.read(partial(store.wake, agent.name, agent.line_call, now)):
            continue  # taken a caller meanwhile, or woken for another one a moment ago
        failure = await asyncio.to_thread(waker.redirect, agent.line_call)
        if failure is None:
            metrics.agent_woken("woken")
            log.info("agent %s woken for a caller of %s", agent.name, caller.queue)
            return
        log.warning("agent %s could not be woken (Twilio error %s)", agent.name, failure)
        if failure in LINE_GONE:
            metrics.agent_woken("line_gone")
            await services.read(partial(store.line_ended, agent.line_call, now))
        else:
            metrics.agent_woken("refused")


def _read(
    services: Services, store: AgentStore, queues: list[str], now: datetime
) -> tuple[list[routing.IdleAgent], list[Waiting]]:
    idle = store.available()
    if not idle:
        return idle, []
    return idle, QueueRecords(services.store.engine).waiting(queues, now)


def _fronts(waiting: Iterable[Waiting]) -> list[Waiting]:
    """The first caller of each queue, the longest waiting first."""
    fronts: dict[str, Waiting] = {}
    for caller in waiting:
        front = fronts.get(caller.queue)
        if front is None or (caller.queued_at, caller.call_sid) < (front.queued_at, front.call_sid):
            fronts[caller.queue] = caller
    return sorted(fronts.values(), key=lambda c: (c.since, c.queued_at, c.call_sid))
