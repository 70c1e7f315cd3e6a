"""Waking an idle agent for a waiting caller. Routing (ivr.engine.routing) chooses the agent;
Twilio's Calls API moves their agent-line call from its idle question to AGENT_OFFER, where they
take that caller at once instead of at their next check (up to 15 s later). It runs once the
webhook has answered (a background task), so no caller waits on Twilio's API.

A wake is kept in the records while it is on its way (`AgentStore.wake`, WAKE_HOLD): the agent
takes nobody by their own check meanwhile (the move would cut it off), and no other agent is
woken for that caller. An agent whose line has ended (Twilio: 20404, 21220) is logged out and
the next one woken; any other refusal puts waking to rest for a minute in this process, and
agents then find callers by their own checks, as without Twilio credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError

from ivr.config.settings import Settings
from ivr.engine import routing
from ivr.engine.agent_line import AgentQueue, Waiting, in_order, queue_named
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
REST_AFTER_REFUSAL = 60.0  # seconds without waking once Twilio refused (or did not answer)
DATABASE_TROUBLE = (SQLAlchemyError, DatabaseAway, TooSlow)


class AgentWaker:
    """Moves an agent-line call to AGENT_OFFER through Twilio's own client (made on first
    use: importing it would slow every start)."""

    def __init__(self, settings: Settings, monotonic: Callable[[], float] = time.monotonic):
        assert settings.public_url, "a waker needs the public URL Twilio reaches us at"
        self.settings = settings
        self.url = settings.public_url.rstrip("/") + AGENT_OFFER
        self.monotonic = monotonic
        self.resting_until = 0.0

    @cached_property
    def client(self) -> Client:
        from ivr.jobs.dispatcher import twilio_client

        return twilio_client(self.settings)

    @classmethod
    def configured(cls, settings: Settings) -> AgentWaker | None:
        """A waker when Twilio's credentials and the public URL are set, else None."""
        ready = settings.twilio_account_sid and settings.auth_token and settings.public_url
        return cls(settings) if ready else None

    def ready(self) -> bool:
        """Not resting after a refusal."""
        return self.monotonic() >= self.resting_until

    def redirect(self, line_call: str, caller: Waiting) -> int | None:
        """Move the agent's call to take `caller`: None once Twilio took the new URL, else
        Twilio's error code (0: no answer); a refusal other than LINE_GONE rests the waker."""
        url = f"{self.url}?{urlencode({'q': caller.queue, 'c': caller.call_sid})}"
        try:
            self.client.calls(line_call).update(url=url, method="POST")
        except Exception as exc:
            from twilio.base.exceptions import TwilioRestException

            code = int(exc.code or 0) if isinstance(exc, TwilioRestException) else 0
            if code not in LINE_GONE:
                self.resting_until = self.monotonic() + REST_AFTER_REFUSAL
                log.warning("Twilio refused to wake an agent (%s); waking rests a minute", code)
            return code
        return None


async def wake_agents(services: Services, queues: Iterable[str]) -> None:
    """For the first caller of each of `queues` (by our records) with no agent coming yet,
    wake the agent routing chooses among those free; none is woken twice by one pass."""
    waker, names = services.waker, sorted(set(queues))
    if waker is None or not waker.ready() or not names:
        return
    store = AgentStore(services.store.engine)
    try:
        idle, waiting = await services.read(partial(_read, services, store, names))
    except DATABASE_TROUBLE:
        return  # the agents' own checks find the caller
    coming, free = routing.awaited(idle), routing.free(idle)
    book = services.config.regions
    ours = {name: queue for name in names if (queue := queue_named(book, name)) is not None}
    for caller in in_order(waiting, ours):  # the agent line's order of service
        if caller.call_sid in coming:
            continue
        woken = await _wake_one(services, waker, store, caller, ours[caller.queue], free)
        free = [agent for agent in free if agent.name != woken]
        if not waker.ready():
            return


async def _wake_one(
    services: Services,
    waker: Waker,
    store: AgentStore,
    caller: Waiting,
    queue: AgentQueue,
    free: list[routing.IdleAgent],
) -> str | None:
    """Wake the best of `free` for `caller` of `queue`, else the next best while lines turn
    out to have ended; the name of the agent woken, if any."""
    for agent in routing.ranked(free, queue.region, queue.language):
        at = services.clock.now()
        try:
            if not await services.read(
                partial(store.wake, agent.name, agent.line_call, caller.call_sid, at)
            ):
                continue  # took a caller meanwhile, or another pass woke them or one for it
            failure = await asyncio.to_thread(waker.redirect, agent.line_call, caller)
            if failure is None:
                metrics.agent_woken("woken")
                log.info("agent %s woken for a caller of %s", agent.name, caller.queue)
                return agent.name
            await services.read(partial(store.unwake, agent.name, at))
            if failure not in LINE_GONE:
                metrics.agent_woken("refused")
                return None
            metrics.agent_woken("line_gone")
            log.warning("agent %s's line has ended (Twilio error %s)", agent.name, failure)
            await services.read(partial(store.line_ended, agent.line_call, at))
        except DATABASE_TROUBLE:
            return None
    return None


def _read(
    services: Services, store: AgentStore, queues: list[str]
) -> tuple[list[routing.IdleAgent], list[Waiting]]:
    now = services.clock.now()
    idle = store.available(now)
    if not idle:
        return idle, []
    return idle, QueueRecords(services.store.engine).waiting(queues, now)
