"""What our records say about the queues: who waits where since when (for the agent line's
choice) and which lines have a logged-in agent (for the staffing rule, with each replica's
live copy). Read-only; agents and their claims change in ivr.store.agents."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select

from ivr.engine.agent_line import AgentState, Waiting
from ivr.engine.line_state import Staffing
from ivr.store.agents import LONGEST_CALL, skills_of
from ivr.store.models import Agent, Call, Callback, QueueClaim
from ivr.store.schedule import ReadSchedule

log = logging.getLogger("ivr")
REFRESH_EVERY = timedelta(seconds=5)
# We record a caller joining a queue as they are told "please hold", before Twilio enqueues
# them; their first wait webhook says when it did. Past this margin they are surely in it.
ENQUEUE_MARGIN = timedelta(seconds=30)
# After a failed read, wait longer: each attempt may hold one webhook up to the connect timeout.
RETRY_AFTER = timedelta(seconds=30)


class QueueRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def waiting(self, queues: Sequence[str], now: datetime) -> list[Waiting]:
        """The first caller of each of `queues` still waiting by our records (in Twilio's queue,
        not left, not ended, not with an agent), with their place in line."""
        if not queues:
            return []
        served = select(Agent.serving).where(
            Agent.serving.is_not(None), Agent.updated_at >= now - LONGEST_CALL
        )
        emptied = and_(QueueClaim.queue == Call.queue, QueueClaim.empty_at >= Call.queued_at)
        ranked = (
            select(
                Call.call_sid,
                Call.queue,
                Call.queued_at,
                Call.region,
                Call.language,
                Call.reason,
                Call.transaction_ref,
                func.row_number()
                .over(partition_by=Call.queue, order_by=(Call.queued_at, Call.call_sid))
                .label("place"),
            )
            .where(
                Call.queue.in_(queues),
                Call.queued_at >= now - LONGEST_CALL,
                # In Twilio's queue: its wait webhook said so, or long enough ago that it is
                # (a lost record must not hide a caller from the agents).
                or_(Call.in_queue_at.is_not(None), Call.queued_at <= now - ENQUEUE_MARGIN),
                Call.left_queue_at.is_(None),
                Call.ended_at.is_(None),
                Call.agent.is_(None),
                Call.call_sid.not_in(served),
                ~select(QueueClaim.queue).where(emptied).exists(),
            )
            .subquery()
        )
        # A person we called back keeps the place they had when they first queued.
        callback = and_(Callback.last_call_sid == ranked.c.call_sid, Callback.status == "queued")
        query = (
            select(ranked, Callback.waiting_since)
            .outerjoin(Callback, callback)
            .where(ranked.c.place == 1)
            .order_by(ranked.c.queued_at)
        )
        with self.engine.connect() as connection:
            return [
                Waiting(
                    call_sid=row.call_sid,
                    queue=row.queue,
                    queued_at=row.queued_at,
                    since=min(row.waiting_since or row.queued_at, row.queued_at),
                    region=row.region,
                    language=row.language,
                    reason=row.reason,
                    reference=row.transaction_ref,
                )
                for row in connection.execute(query)
            ]

    def staffing(self, now: datetime) -> Staffing | None:
        """The skills of the agents logged in now; None when no agent is configured at all
        (then nobody's language is checked: agents take callers some other way)."""
        with self.engine.connect() as connection:
            if not connection.scalar(select(func.count()).select_from(Agent)):
                return None
            rows = connection.execute(
                select(Agent.languages, Agent.regions).where(
                    Agent.state != AgentState.OFFLINE.value,
                    Agent.line_call.is_not(None),
                    Agent.updated_at >= now - LONGEST_CALL,
                )
            )
            return Staffing(tuple(skills_of(row.languages, row.regions) for row in rows))


class LiveStaffing:
    """One process's copy of which lines have a logged-in agent, read again every few seconds
    (on the service's clock) and at once after a login or logout through this process. A read
    that fails keeps the last answer; with none yet, no language is checked."""

    def __init__(
        self,
        store: QueueRecords,
        every: timedelta = REFRESH_EVERY,
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self.store = store
        self._schedule = ReadSchedule(every, retry_after)
        self._current: Staffing | None = None

    def claim(self, now: datetime) -> bool:
        """True when a read is due now (the caller then calls `refresh`)."""
        return self._schedule.claim(now)

    def refresh(self, now: datetime) -> None:
        try:
            current = self.store.staffing(now)
        except Exception as exc:
            log.warning("agents could not be read (%s); staffing as last known", type(exc).__name__)
            return
        self._current = current
        self._schedule.read(now)

    def stale(self) -> None:
        """Read again at the next webhook (an agent logged in or out through this process)."""
        self._schedule.stale()

    def current(self) -> Staffing | None:
        return self._current
