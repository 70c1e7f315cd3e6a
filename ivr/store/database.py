"""The store as the service sees it: calls, callbacks and voicemails on one database, and how
long a webhook may wait for it.

A webhook waits for the database at most WAIT_SECONDS, all its waits together (`time_allowed`
around the webhook, `in_time` around each wait); then it answers without the database, as when
the database refuses. The thread left waiting ends on its own within the driver's timeouts
(ivr.store.repository.make_engine).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import anyio
from sqlalchemy import Connection, Engine, delete, text

from ivr.store.callbacks import FINAL_STATUSES, CallbackStore
from ivr.store.models import Call, Callback, EndedLine
from ivr.store.repository import CallStore, make_engine
from ivr.store.voicemails import VoicemailStore

T = TypeVar("T")
# What one webhook may wait for the database, all its waits together. Twilio gives up after
# 15 s; we answer within 2 s whatever the database does. Under a surge of 50 calls on two
# cores, the rest of a webhook (waiting for the CPU, the spool) took up to 0.8 s as the callers
# saw it (bench/RELIABILITY.md): a 1.5 s wait left too little of the 2 s.
WAIT_SECONDS = 1.0
_DEADLINE: ContextVar[float | None] = ContextVar("ivr_database_deadline", default=None)


class TooSlow(TimeoutError):
    """The database did not answer within the time allowed."""


@contextmanager
def time_allowed(seconds: float | None = None) -> Iterator[None]:
    """Within the block (one webhook), the database waits of `in_time` share `seconds`
    (default WAIT_SECONDS)."""
    allowed = WAIT_SECONDS if seconds is None else seconds
    token = _DEADLINE.set(time.monotonic() + allowed)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def seconds_left() -> float:
    """What is left of the time allowed (WAIT_SECONDS per wait outside `time_allowed`)."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return WAIT_SECONDS
    return max(0.0, deadline - time.monotonic())


async def in_time(work: Callable[[], T]) -> T:
    """`work` (blocking database calls) in a worker thread, waited for at most `seconds_left()`;
    TooSlow after that. The thread is abandoned, not stopped: the driver's timeouts end it."""
    left = seconds_left()
    if left > 0:
        with anyio.move_on_after(left):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    raise TooSlow(f"the database did not answer within {WAIT_SECONDS:g} s")


@dataclass(frozen=True)
class Purged:
    calls: int
    callbacks: int


class Store(CallStore):
    """Calls (inherited), `callbacks` and `voicemails`, sharing one engine."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.callbacks = CallbackStore(engine)
        self.voicemails = VoicemailStore(engine)

    @classmethod
    def connect(cls, url: str) -> Store:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raises when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def purge(self, before: datetime) -> Purged:
        """Delete calls and finished callbacks older than `before` (personal data).

        Voicemails are purged one by one by the caller of this, after their recording is
        deleted at Twilio, so a failure there never leaves a recording without its ticket."""
        with self.engine.begin() as connection:
            _unhurried(connection)
            calls = connection.execute(delete(Call).where(Call.created_at < before))
            callbacks = connection.execute(
                delete(Callback).where(
                    Callback.booked_at < before, Callback.status.in_(FINAL_STATUSES)
                )
            )
            connection.execute(delete(EndedLine).where(EndedLine.ended_at < before))
            return Purged(int(calls.rowcount), int(callbacks.rowcount))


def _unhurried(connection: Connection) -> None:
    """Lift PostgreSQL's statement timeout for this transaction: made for webhooks, it must not
    stop a purge of months of calls."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = 0"))
