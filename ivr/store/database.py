"""The store as the service sees it: calls, callbacks and voicemails on one database, and how
long a webhook may wait for it.

A webhook waits for the database at most WAIT_SECONDS, all its waits together (`time_allowed`
around the webhook, `in_time` around each wait); then it answers without the database, as when
the database refuses. The thread left waiting ends on its own within the driver's timeouts
(ivr.store.repository.make_engine) and, for PostgreSQL, `answers_within`.

Threads that must never hang (the records' writer, the replay, the threads webhooks abandon)
wait `answers_within` ANSWER_SECONDS: behind a proxy that accepts connections and then swallows
everything, none of the driver's timeouts fire (the proxy acknowledges what we send and answers
the keepalives), and libpq has no timeout for an answer; such a connection is cut instead.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine, delete, event, select, text, update
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.pool import ConnectionPoolEntry

from ivr.store.callbacks import FINAL_STATUSES, CallbackStore
from ivr.store.models import Call, Callback, EndedLine
from ivr.store.repository import STATEMENT_MS, CallStore, make_engine
from ivr.store.voicemails import VoicemailStore

T = TypeVar("T")
# What one webhook may wait for the database, all its waits together. Twilio gives up after
# 15 s; we answer within 2 s whatever the database does. Under a surge of 50 calls on two
# cores, the rest of a webhook (waiting for the CPU, the spool) took up to 0.8 s as the callers
# saw it (bench/RELIABILITY.md): a 1.5 s wait left too little of the 2 s.
WAIT_SECONDS = 1.0
_DEADLINE: ContextVar[float | None] = ContextVar("ivr_database_deadline", default=None)
# What a thread under `answers_within` waits for one answer of PostgreSQL at most: twice what
# the server lets any statement run (STATEMENT_MS), so only a server that is not answering at
# all (or a network that swallows its answers) is cut, never a slow statement.
ANSWER_SECONDS = 2 * STATEMENT_MS / 1000
_answer_bound = threading.local()  # .seconds: this thread's bound, None outside `answers_within`


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
    TooSlow after that. The thread is abandoned, not stopped: the driver's timeouts end it, and
    `answers_within` when the server stays silent."""
    left = seconds_left()
    if left > 0:
        with anyio.move_on_after(left):
            return await anyio.to_thread.run_sync(
                partial(_answered_within, work), abandon_on_cancel=True
            )
    raise TooSlow(f"the database did not answer within {WAIT_SECONDS:g} s")


def _answered_within(work: Callable[[], T]) -> T:
    with answers_within():
        return work()


@contextmanager
def answers_within(seconds: float | None = None) -> Iterator[None]:
    """Within the block, in this thread: a PostgreSQL connection of `Store.connect` whose server
    owes it an answer for longer than `seconds` (default ANSWER_SECONDS) is cut, and the call
    fails as for a dropped connection (OperationalError: the caller spools, pauses, tries again
    later). The pool discards the connection; the server rolls back what was not committed."""
    previous = getattr(_answer_bound, "seconds", None)
    _answer_bound.seconds = ANSWER_SECONDS if seconds is None else seconds
    try:
        yield
    finally:
        _answer_bound.seconds = previous


class _Watch:
    """One wait for the server, on the socket `fd`, due to end by `deadline`."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.deadline = deadline
        self.cut = False

    def cut_now(self) -> None:
        """Shut the socket down under the driver: its wait returns at once and it finds the
        connection closed. Once the driver closes it, it is reset (SO_LINGER 0): the kernel
        drops what the server never acknowledged instead of sending it again later. (What a
        proxy acknowledged it may still deliver: that commit is in doubt, as any whose answer
        was lost, and the replay's upserts repeat it.)"""
        self.cut = True
        with suppress(OSError), socket.socket(fileno=os.dup(self.fd)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process, asleep until the earliest wait is due: it cuts the connections
    whose answer is overdue. A wait leaves the watch under the same lock as the cut, so a
    socket is never cut once its wait has ended (and its descriptor could be another's).

    With no wait watched it still wakes every shortest bound, so that a wait starting meanwhile
    (due no earlier than that) need not wake it: most waits last milliseconds, and a wake-up
    for each would cost every query a thread switch."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._watches: set[_Watch] = set()
        self._wake_at = math.inf
        self._shortest = math.inf
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, fd: int, seconds: float) -> Iterator[_Watch]:
        watch = _Watch(fd, time.monotonic() + seconds)
        with self._changed:
            self._watches.add(watch)
            self._shortest = min(self._shortest, seconds)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ivr-answers", daemon=True)
                self._thread.start()
            if watch.deadline < self._wake_at:
                self._changed.notify()
        try:
            yield watch
        finally:
            with self._changed:
                self._watches.discard(watch)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for watch in [watch for watch in self._watches if watch.deadline <= now]:
                    watch.cut_now()
                    self._watches.discard(watch)
                idle = now + self._shortest
                self._wake_at = min((watch.deadline for watch in self._watches), default=idle)
                self._changed.wait(self._wake_at - now)


_WATCHDOG = _Watchdog()


def _new_watchdog() -> None:
    """In a forked process: the parent's watchdog thread (and perhaps its lock) did not come
    along, so watch with a new one."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog)


@cache
def _answer_bound_connection() -> type[Any]:
    """psycopg's connection, with each wait for the server (every query, commit, rollback and
    the pool's pre-ping go through `wait`) watched while the thread is under `answers_within`.
    Made on the first PostgreSQL connection: a service on SQLite never imports psycopg."""
    import psycopg

    class AnswerBoundConnection(psycopg.Connection[Any]):
        def wait(self, *args: Any, **kwargs: Any) -> Any:
            seconds: float | None = getattr(_answer_bound, "seconds", None)
            if seconds is None or self.closed:
                return super().wait(*args, **kwargs)  # no socket to watch: psycopg says why
            with _WATCHDOG.watching(self.fileno(), seconds) as watch:
                try:
                    return super().wait(*args, **kwargs)
                except psycopg.OperationalError as exc:
                    if watch.cut:
                        raise psycopg.OperationalError(
                            f"the database did not answer within {seconds:g} s: connection cut"
                        ) from exc
                    raise

    return AnswerBoundConnection


def _connect_answer_bound(
    _dialect: Dialect, _entry: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
) -> Any:
    """SQLAlchemy's connect, with psycopg's connection class replaced by ours."""
    return _answer_bound_connection().connect(*cargs, **cparams)


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
        """The service's store: `make_engine`'s bounds and, on psycopg, `answers_within`."""
        engine = make_engine(url)
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "do_connect", _connect_answer_bound)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raises when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def purge(self, before: datetime) -> Purged:
        """Delete calls and finished callbacks older than `before` (personal data).

        Voicemails and survey comments are purged one by one by the caller of this, after their
        recording is deleted at Twilio, so a failure there never leaves a recording without
        what points to it: a call still holding a comment is kept until `forget_comment`, with
        the caller's number, reference and path cleared."""
        with self.engine.begin() as connection:
            _unhurried(connection)
            old_calls = delete(Call).where(Call.created_at < before, Call.comment_sid.is_(None))
            calls = connection.execute(old_calls)
            # A call kept only for its comment's recording keeps nothing else of the caller.
            kept = update(Call).where(Call.created_at < before, Call.comment_sid.is_not(None))
            connection.execute(kept.values(caller="", transaction_ref=None, path=""))
            callbacks = connection.execute(
                delete(Callback).where(
                    Callback.booked_at < before, Callback.status.in_(FINAL_STATUSES)
                )
            )
            connection.execute(delete(EndedLine).where(EndedLine.ended_at < before))
            return Purged(int(calls.rowcount), int(callbacks.rowcount))

    def comments_older_than(self, before: datetime) -> list[tuple[str, str]]:
        """(CallSid, RecordingSid) of the survey comments left on calls older than `before`."""
        query = select(Call.call_sid, Call.comment_sid).where(
            Call.created_at < before, Call.comment_sid.is_not(None)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query)
            return [(call_sid, comment_sid) for call_sid, comment_sid in rows if comment_sid]

    def forget_comment(self, call_sid: str) -> None:
        """The comment's recording is gone from Twilio: clear what pointed to it."""
        with self.engine.begin() as connection:
            connection.execute(
                update(Call)
                .where(Call.call_sid == call_sid)
                .values(comment_sid=None, comment_url=None, comment_duration=None)
            )


def _unhurried(connection: Connection) -> None:
    """Lift PostgreSQL's statement timeout for this transaction: made for webhooks, it must not
    stop a purge of months of calls."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = 0"))
