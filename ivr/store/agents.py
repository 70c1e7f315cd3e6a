"""Agents in the shared store: who they are (phones, skills, a PIN hash), their state, and the
queue each is about to take a caller from. (Who waits where: ivr.store.staffing.)

Every change of an agent's state goes through `_move`, which applies
`ivr.engine.agent_line.next_state`:
an event that does not apply (a retried webhook, a Dial action after the hang-up) changes
nothing. Agents choosing at the same moment never take the same queue: a queue is claimed in
`queue_claims` with one atomic upsert that only wins over a lapsed claim or the agent's own.
A keyed PIN takes its share before it is compared (`take_pin_try`): one of the whole line's
failed-PIN budget in `pin_budget` (one row every replica upserts) and one of its agent's tries,
each with one conditional write, so PINs keyed at the same moment on any number of replicas
never compare more than the budget and the lock allow. A right PIN gives both back
(`log_in`); a refused one keeps them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, and_, case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from ivr.engine.agent_line import (
    MAX_PIN_TRIES,
    PRESENCE_CHECKED,
    AgentEvent,
    AgentState,
    Waiting,
    next_state,
    shown_state,
)
from ivr.engine.line_state import Skills
from ivr.engine.routing import WAKE_HOLD, IdleAgent
from ivr.store.models import (
    Agent,
    AgentPhone,
    Call,
    EndedLine,
    PinBudget,
    QueueClaim,
    UTCDateTime,
)
from ivr.store.repository import upsert_into

log = logging.getLogger("ivr")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Twilio ends a call after 4 hours: older queue entries and logins are leftovers of calls whose
# last webhook never reached us.
LONGEST_CALL = timedelta(hours=4)
AGENT_LINE = "agent"  # the pin_budget row of the agent line


class AgentExists(ValueError):
    pass


class PhoneTaken(ValueError):
    pass


@dataclass(frozen=True)
class AgentRecord:
    name: str
    phones: tuple[str, ...]
    skills: Skills
    state: AgentState
    state_since: datetime | None
    line_call: str | None
    serving: str | None
    wrap_up_until: datetime | None
    failed_pins: int
    locked_until: datetime | None
    created_at: datetime
    available_since: datetime | None = None
    offered_at: datetime | None = None
    calls_taken: int = 0

    @property
    def language(self) -> str:
        """The language the agent line speaks to them."""
        return self.skills.languages[0]

    def shown_state(self, now: datetime) -> AgentState:
        return shown_state(self.state, self.wrap_up_until, now)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def as_idle(self, now: datetime) -> IdleAgent:
        """The agent as routing counts them asking for a caller `now`: available since when
        they became so, or from now (back from a call, or just logged in)."""
        since = self.available_since if self.state is AgentState.AVAILABLE else None
        return IdleAgent(
            self.name,
            self.line_call or "",
            self.skills,
            since or now,
            self.offered_at,
            self.calls_taken,
        )


@dataclass(frozen=True)
class Credentials:
    """What the PIN check needs about the agent a number belongs to."""

    name: str
    pin_hash: str
    locked_until: datetime | None


@dataclass(frozen=True)
class PinCheck:
    """What a PIN check reads: the agent whose phone the number is (None for anyone else) and
    the failed PINs on the whole agent line in the current budget window."""

    agent: Credentials | None
    failures: int


@dataclass(frozen=True)
class PinTry:
    """What a keyed PIN took before it is compared. `counted_in`: the budget window its share
    of the line's budget went into, None when the budget was spent (then nothing was taken and
    the PIN must not be compared); `failures`: the line's count with it. `agent`: whose try it
    took ("" for none: no agent's phone, the agent locked, or this very try already taken).
    `lock`: the lock it set, being that agent's last try before one."""

    counted_in: datetime | None
    failures: int
    agent: str
    lock: datetime | None

    @property
    def within_budget(self) -> bool:
        return self.counted_in is not None

    @property
    def tried(self) -> bool:
        """The PIN may be compared with the agent's: both shares were taken."""
        return self.agent != ""


class AgentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- operators ------------------------------------------------------------------------
    def add(
        self,
        name: str,
        phones: Sequence[str],
        skills: Skills,
        pin_hash: str,
        at: datetime,
    ) -> AgentRecord:
        """A new agent, offline; raises AgentExists or PhoneTaken (nothing is stored then)."""
        if not NAME.fullmatch(name):
            raise ValueError(f"{name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        with Session(self.engine) as session, session.begin():
            _write_lock(session)
            if session.get(Agent, name) is not None:
                raise AgentExists(f"there is already an agent named {name!r}")
            taken = session.scalars(select(AgentPhone).where(AgentPhone.number.in_(phones)))
            for phone in taken:
                raise PhoneTaken(f"{phone.number} is already {phone.agent!r}'s phone")
            session.add(
                Agent(
                    name=name,
                    languages=",".join(skills.entries),
                    regions=",".join(skills.regions),
                    pin_hash=pin_hash,
                    state=AgentState.OFFLINE.value,
                    failed_pins=0,
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add_all(AgentPhone(number=number, agent=name) for number in phones)
        found = self.get(name)
        assert found is not None
        return found

    def remove(self, name: str, at: datetime) -> bool:
        with Session(self.engine) as session, session.begin():
            _write_lock(session)
            session.execute(delete(AgentPhone).where(AgentPhone.agent == name))
            _release(session, name, at)
            return _count(session.execute(delete(Agent).where(Agent.name == name))) == 1

    def get(self, name: str) -> AgentRecord | None:
        with Session(self.engine) as session:
            agent = session.get(Agent, name)
            return None if agent is None else _record(agent, _phones(session, name))

    def all(self) -> list[AgentRecord]:
        with Session(self.engine) as session:
            phones: dict[str, list[str]] = {}
            for phone in session.scalars(select(AgentPhone).order_by(AgentPhone.number)):
                phones.setdefault(phone.agent, []).append(phone.number)
            agents = session.scalars(select(Agent).order_by(Agent.name))
            return [_record(agent, tuple(phones.get(agent.name, ()))) for agent in agents]

    def set_skills(self, name: str, skills: Skills, at: datetime) -> AgentRecord | None:
        """New languages, levels and regions, from the agent's next caller on."""
        with Session(self.engine) as session, session.begin():
            agent = _agent_for_update(session, name)
            if agent is None:
                return None
            agent.languages, agent.regions = ",".join(skills.entries), ",".join(skills.regions)
            agent.updated_at = at
        return self.get(name)

    def set_pin(self, name: str, pin_hash: str, at: datetime) -> bool:
        """A new PIN; whoever is logged in with the old one is logged out (a PIN is changed
        because it leaked)."""
        with Session(self.engine) as session, session.begin():
            agent = _agent_for_update(session, name)
            if agent is None:
                return False
            agent.pin_hash, agent.failed_pins, agent.last_failure = pin_hash, 0, None
            _move(session, agent, AgentEvent.LOGOUT, at)
            return True

    def lock(self, name: str, until: datetime, at: datetime) -> bool:
        """No login until `until`; an agent logged in now is logged out (at their next step)."""
        with Session(self.engine) as session, session.begin():
            agent = _agent_for_update(session, name)
            if agent is None:
                return False
            agent.locked_until = until
            _move(session, agent, AgentEvent.LOGOUT, at)
            return True

    def unlock(self, name: str, at: datetime) -> bool:
        values = {"locked_until": None, "failed_pins": 0, "last_failure": None, "updated_at": at}
        return self._update(name, values)

    # -- the PIN ----------------------------------------------------------------------------
    def pin_check(self, number: str, window: datetime) -> PinCheck:
        """The agent whose phone `number` is and the agent line's failed PINs in `window`:
        one read of the same shape (always one row) for an agent's number, anyone else's and
        a withheld one (""), so its time does not tell which numbers are agents'."""
        asked = select(literal(number, String()).label("number")).subquery("asked")
        this_window = and_(PinBudget.line == AGENT_LINE, PinBudget.window_start == window)
        query = (
            select(Agent.name, Agent.pin_hash, Agent.locked_until, PinBudget.failures)
            .select_from(asked)
            .outerjoin(AgentPhone, AgentPhone.number == asked.c.number)
            .outerjoin(Agent, Agent.name == AgentPhone.agent)
            .outerjoin(PinBudget, this_window)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).one()
        found = None if row.name is None else Credentials(row.name, row.pin_hash, row.locked_until)
        return PinCheck(found, row.failures or 0)

    def take_pin_try(
        self,
        name: str,
        attempt: str,
        window: datetime,
        at: datetime,
        budget: int,
        lock_for: timedelta,
    ) -> PinTry:
        """Before a keyed PIN is compared: one of the agent line's `budget` failed PINs for
        `window` and, when `name` is an agent's (their phone; "" otherwise), one of that
        agent's MAX_PIN_TRIES in a row, the last of which locks them for `lock_for`. Each is
        one conditional write that takes nothing once none is left, so however many PINs are
        keyed at once, no more are compared than allowed. The same two statements in one
        transaction whoever called; the agent's try only with the budget's share. `attempt`
        (which entry of which call): a retried webhook takes no second try of the agent."""
        with self.engine.begin() as connection:
            counted = connection.execute(self._take_from_budget(window, budget)).first()
            whose = name if counted is not None else ""
            taken = connection.execute(_take_agent_try(whose, attempt, at, lock_for)).first()
        if counted is None:
            return PinTry(counted_in=None, failures=budget, agent="", lock=None)
        return PinTry(
            counted_in=counted.window_start,
            failures=counted.failures,
            agent=whose if taken is not None else "",
            lock=taken.locked_until if taken is not None and taken.failed_pins == 0 else None,
        )

    def _take_from_budget(self, window: datetime, budget: int) -> Any:
        """One more of the line's failed PINs in `window`, while fewer than `budget` are
        counted; a newer window starts the count again at 1 (an older one, from a replica
        whose clock lags, counts in the newer). PostgreSQL locks the row and checks the
        condition on its newest version; SQLite has one writer at a time."""
        table = PinBudget.__table__
        insert = upsert_into(self.engine, PinBudget).values(
            line=AGENT_LINE, window_start=window, failures=1
        )
        current = table.c.window_start >= insert.excluded.window_start
        return insert.on_conflict_do_update(
            index_elements=[table.c.line],
            set_={
                "failures": case((current, table.c.failures + 1), else_=1),
                "window_start": case(
                    (current, table.c.window_start), else_=insert.excluded.window_start
                ),
            },
            where=or_(~current, table.c.failures < budget),
        ).returning(table.c.failures, table.c.window_start)

    def log_in(
        self, name: str, line_call: str, at: datetime, tried: PinTry | None = None
    ) -> AgentRecord | None:
        """The right PIN on the agent line call `line_call`: available. None when locked, or
        when the line hung up meanwhile. `tried`: what the PIN took before it was compared,
        given back (a right PIN is no failure), the lock it set included."""
        with Session(self.engine) as session, session.begin():
            if tried is not None:  # the budget's row first: the order take_pin_try writes in
                _give_back(session, tried)
            agent = _agent_for_update(session, name)
            if agent is None:
                return None
            if tried is not None and tried.lock is not None and agent.locked_until == tried.lock:
                agent.locked_until = None
            if agent.locked_until is not None and agent.locked_until > at:
                return None
            agent.failed_pins, agent.last_failure, agent.locked_until = 0, None, None
            if session.get(EndedLine, line_call) is not None:
                return None  # the line hung up while its PIN was being checked
            _release(session, name, at)
            _move(session, agent, AgentEvent.LOGIN, at, line_call=line_call)
            return _record(agent, _phones(session, name))

    # -- the agent line -----------------------------------------------------------------------
    def on_line(self, line_call: str) -> AgentRecord | None:
        """The agent logged in on the agent line call `line_call`, if any: the only way a
        follow-up webhook of the agent line learns who it serves."""
        with Session(self.engine) as session:
            agent = session.scalar(select(Agent).where(Agent.line_call == line_call))
            if agent is None or agent.state == AgentState.OFFLINE.value:
                return None
            return _record(agent, _phones(session, agent.name))

    def available(self, now: datetime) -> list[IdleAgent]:
        """Agents waiting for a caller on the agent line now, for routing; an agent idle so
        long that the line is asking whether they are still there is left out (a wake must
        never put a caller through to someone who walked away)."""
        query = select(Agent).where(
            Agent.state == AgentState.AVAILABLE.value,
            Agent.line_call.is_not(None),
            or_(Agent.available_since.is_(None), Agent.available_since > now - PRESENCE_CHECKED),
        )
        with Session(self.engine) as session:
            return [
                IdleAgent(
                    agent.name,
                    agent.line_call or "",
                    skills_of(agent.languages, agent.regions),
                    _available_since(agent),
                    agent.offered_at,
                    agent.calls_taken,
                    agent.woken_for if _being_woken(agent, now) else None,
                )
                for agent in session.scalars(query)
            ]

    def wake(self, name: str, line_call: str, caller: str, at: datetime) -> bool:
        """Mark a wake of `name` for `caller` on its way, if they are still available on
        `line_call`, no wake is on its way to them, and none to another agent for `caller`:
        of two passes at once, one wakes them, and one caller wakes one agent."""
        table = Agent.__table__
        pending = and_(table.c.woken_at.is_not(None), table.c.woken_at > at - WAKE_HOLD)
        other = Agent.__table__.alias("other")
        coming = select(other.c.name).where(
            other.c.woken_for == caller,
            other.c.woken_at > at - WAKE_HOLD,
            other.c.state == AgentState.AVAILABLE.value,
        )
        woken = (
            update(Agent)
            .where(
                Agent.name == name,
                Agent.line_call == line_call,
                Agent.state == AgentState.AVAILABLE.value,
                ~pending,
                ~coming.exists(),
            )
            .values(woken_at=at, woken_for=caller, updated_at=at)
        )
        with self.engine.begin() as connection:
            return _count(connection.execute(woken)) == 1

    def unwake(self, name: str, woken_at: datetime) -> None:
        """The wake of `woken_at` did not reach Twilio: the agent is free to be chosen again."""
        cleared = (
            update(Agent)
            .where(Agent.name == name, Agent.woken_at == woken_at)
            .values(woken_at=None, woken_for=None)
        )
        with self.engine.begin() as connection:
            connection.execute(cleared)

    def take(
        self,
        name: str,
        line_call: str,
        candidates: Sequence[Waiting],
        at: datetime,
        hold: timedelta,
        woken_for: str | None = None,
    ) -> Waiting | None:
        """The first of `candidates` (best first) whose queue no other agent holds: claimed
        for `hold`, and the agent is on a call with them. None: nobody to take (the agent is
        then available). With a wake on its way (`wake`) the agent takes a caller only on the
        wake itself (`woken_for`: its caller, tried first), and only while available: their
        own check at that moment would be cut off by it."""
        with Session(self.engine) as session, session.begin():
            agent = _agent_for_update(session, name)
            if agent is None or agent.line_call != line_call:
                return None
            if woken_for is None and _being_woken(agent, at):
                return None
            if woken_for is not None and agent.state != AgentState.AVAILABLE.value:
                return None  # a late wake: the agent moved on meanwhile
            _release(session, name, at)
            _move(session, agent, AgentEvent.READY, at)
            agent.woken_at = agent.woken_for = None
            first = [c for c in candidates if c.call_sid == woken_for]
            for candidate in [*first, *(c for c in candidates if c.call_sid != woken_for)]:
                if self._claim(session, name, candidate, at, hold):
                    taking = {"serving": candidate.call_sid, "offered_at": at}
                    _move(session, agent, AgentEvent.TAKE, at, **taking)
                    return candidate
            agent.updated_at = at  # still here: counts for staffing
            return None

    def _claim(
        self, session: Session, name: str, caller: Waiting, at: datetime, hold: timedelta
    ) -> bool:
        table = QueueClaim.__table__
        insert = upsert_into(self.engine, QueueClaim).values(
            queue=caller.queue, agent=name, call_sid=caller.call_sid, claimed_until=at + hold
        )
        claim = insert.on_conflict_do_update(
            index_elements=[QueueClaim.queue],
            set_={
                "agent": insert.excluded.agent,
                "call_sid": insert.excluded.call_sid,
                "claimed_until": insert.excluded.claimed_until,
            },
            # Over another agent's claim only once it has lapsed; PostgreSQL locks the row,
            # so of two agents upserting at once the second sees the first's claim.
            where=or_(table.c.claimed_until <= at, table.c.agent == name),
        ).returning(table.c.agent)
        return session.execute(claim).first() is not None

    def dial_ended(
        self,
        name: str,
        line_call: str,
        taken_call: str | None,
        answered_at: datetime | None,
        at: datetime,
        wrap_up: timedelta,
        empty: tuple[str, datetime] | None = None,
    ) -> None:
        """The agent's Dial ended: after a conversation with `taken_call` (marked as theirs),
        wrap-up; without one, available again. The queue is free for others either way.
        `empty`: (queue, since) when the Dial found that queue empty all along, so callers our
        records show there from before `since` are gone (taken some other way, or left)."""
        with Session(self.engine) as session, session.begin():
            agent = _agent_for_update(session, name)
            if taken_call is not None:
                session.execute(
                    update(Call)
                    .where(Call.call_sid == taken_call)
                    .values(agent=name, answered_at=answered_at, updated_at=at)
                )
            if empty is not None:
                queue, since = empty
                session.execute(
                    update(QueueClaim).where(QueueClaim.queue == queue).values(empty_at=since)
                )
            if agent is None or agent.line_call != line_call:
                return  # a late action of a line call that is over: the call is marked, no more
            _release(session, name, at)
            if taken_call is not None:
                wrap = {"wrap_up_until": at + wrap_up, "serving": taken_call}
                _move(session, agent, AgentEvent.TALKED, at, **wrap)
            else:
                _move(session, agent, AgentEvent.MISSED, at)

    def claimed_by(self, queue: str, call_sid: str) -> str | None:
        """The agent who last chose caller `call_sid` of `queue` (their claim may have lapsed)."""
        query = select(QueueClaim.agent).where(
            QueueClaim.queue == queue, QueueClaim.call_sid == call_sid
        )
        with self.engine.connect() as connection:
            name = connection.scalar(query)
            return str(name) if name else None

    def line_ended(self, line_call: str, at: datetime) -> str | None:
        """The agent line call ended: its agent (returned) is offline."""
        with Session(self.engine) as session, session.begin():
            _write_lock(session)
            if session.get(EndedLine, line_call) is None:
                session.add(EndedLine(call_sid=line_call, ended_at=at))
            query = select(Agent).where(Agent.line_call == line_call).with_for_update()
            agent = session.scalar(query)
            if agent is None:
                return None
            _release(session, agent.name, at)
            _move(session, agent, AgentEvent.LOGOUT, at)
            return agent.name

    def _update(self, name: str, values: dict[str, Any]) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(update(Agent).where(Agent.name == name).values(**values))
            return _count(result) == 1


def _take_agent_try(name: str, attempt: str, at: datetime, lock_for: timedelta) -> Any:
    """One more try in a row for agent `name` (none when `name` is no agent's), unless they
    are locked or `attempt` already took one; the MAX_PIN_TRIES-th locks them and starts the
    count again. PostgreSQL checks the condition again on the row it waited for."""
    in_a_row = Agent.failed_pins + 1
    locks = in_a_row >= MAX_PIN_TRIES
    until = literal(at + lock_for, UTCDateTime())
    return (
        update(Agent)
        .where(
            Agent.name == name,
            or_(Agent.locked_until.is_(None), Agent.locked_until <= at),
            or_(Agent.last_failure.is_(None), Agent.last_failure != attempt),
        )
        .values(
            failed_pins=case((locks, 0), else_=in_a_row),
            locked_until=case((locks, until), else_=Agent.locked_until),
            last_failure=attempt,
            updated_at=at,
        )
        .returning(Agent.failed_pins, Agent.locked_until)
    )


def _give_back(session: Session, tried: PinTry) -> None:
    """The share of the budget a right PIN took, back to the window it was counted in (a
    window that started again since has not counted it)."""
    if tried.counted_in is None:
        return
    session.execute(
        update(PinBudget)
        .where(
            PinBudget.line == AGENT_LINE,
            PinBudget.window_start == tried.counted_in,
            PinBudget.failures > 0,
        )
        .values(failures=PinBudget.failures - 1)
    )


def _move(session: Session, agent: Agent, event: AgentEvent, at: datetime, **changes: Any) -> bool:
    """Apply `event` to `agent` (in `session`'s transaction): the one place states change."""
    state = next_state(AgentState(agent.state), event)
    if state is None:
        return False
    if event is AgentEvent.LOGOUT:
        changes = {"line_call": None, **changes}
    if state not in (AgentState.ON_CALL, AgentState.WRAP_UP):  # wrap-up: the call's code
        changes.setdefault("serving", None)
    if state is not AgentState.WRAP_UP:
        changes.setdefault("wrap_up_until", None)
    if state.value != agent.state:
        agent.state, agent.state_since = state.value, at
        if state is AgentState.AVAILABLE:
            agent.available_since = at
    if event is AgentEvent.LOGIN:
        agent.calls_taken = 0
    elif event is AgentEvent.TALKED:
        agent.calls_taken = (agent.calls_taken or 0) + 1
    for key, value in changes.items():
        setattr(agent, key, value)
    agent.updated_at = at
    session.flush()
    return True


def _being_woken(agent: Agent, at: datetime) -> bool:
    """A wake is on its way to the agent, sent while they were available: Twilio is moving
    their call."""
    woken, since = agent.woken_at, agent.state_since
    return (
        agent.state == AgentState.AVAILABLE.value
        and woken is not None
        and woken > at - WAKE_HOLD
        and (since is None or since < woken)
    )


def _available_since(agent: Agent) -> datetime:
    """Since when the agent has been available: kept on becoming so; for an agent available
    from before that was kept, since their state last changed."""
    return agent.available_since or agent.state_since or agent.updated_at


def _release(session: Session, name: str, at: datetime) -> None:
    """The queues `name` holds are free again from `at`."""
    held = update(QueueClaim).where(QueueClaim.agent == name, QueueClaim.claimed_until > at)
    session.execute(held.values(claimed_until=at))


def _write_lock(session: Session) -> None:
    """SQLite: take the database's write lock first (a write that changes nothing), so a
    transaction that reads then writes never fails to upgrade its lock (SQLITE_BUSY)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Agent).where(Agent.name == "").values(name=Agent.name))


def _agent_for_update(session: Session, name: str) -> Agent | None:
    _write_lock(session)
    return session.get(Agent, name, with_for_update=True)


def _phones(session: Session, name: str) -> tuple[str, ...]:
    query = select(AgentPhone.number).where(AgentPhone.agent == name).order_by(AgentPhone.number)
    return tuple(session.scalars(query))


def skills_of(languages: str, regions: str) -> Skills:
    """An agent's stored skills; a malformed entry (a hand edit) loses only its level."""
    try:
        return Skills.read(languages.split(","), regions.split(","))
    except ValueError as exc:
        log.error("agent skills %r: %s; read without levels", languages, exc)
        plain = (entry.partition(":")[0] for entry in languages.split(","))
        names = dict.fromkeys(name for name in plain if name and "@" not in name)
        return Skills(tuple(names), tuple(regions.split(",")))


def _record(agent: Agent, phones: tuple[str, ...]) -> AgentRecord:
    return AgentRecord(
        name=agent.name,
        phones=phones,
        skills=skills_of(agent.languages, agent.regions),
        state=AgentState(agent.state),
        state_since=agent.state_since,
        line_call=agent.line_call,
        serving=agent.serving,
        wrap_up_until=agent.wrap_up_until,
        failed_pins=agent.failed_pins,
        locked_until=agent.locked_until,
        created_at=agent.created_at,
        available_since=_available_since(agent),
        offered_at=agent.offered_at,
        calls_taken=agent.calls_taken or 0,
    )


def _count(result: Any) -> int:
    return int(result.rowcount)
