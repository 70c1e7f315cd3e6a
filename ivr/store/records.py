"""Writes from the webhooks: to the database, or to the spool while it is away.

A caller must never notice the database: when a write fails, it is spooled, and for a few
seconds the following writes go straight to the spool (a database that is down must not cost
every webhook a connect timeout). While the spool holds anything, new writes join it too, so
records replay in the order they happened.

Webhooks hand their call writes to one writer thread (`write_soon`), which commits whatever
has gathered while it was busy in one transaction (group commit): a webhook still answers only
once its record is committed or spooled, but a busy line pays one commit per batch, not per
webhook, and no thread-pool hand-off per write.

A webhook waits for the database only what is left of its time (ivr.store.database): then it
spools its record itself. Each record is kept exactly once, by the writer or by the webhook
(ivr.store.handover); a transaction the webhook gave up on may still commit later, which is
harmless (every write is an upsert, and the spooled copy is applied again on top of it), and
the spool is not replayed before such a transaction has ended, so a call's records keep their
order.

The writer and the replay never hang on the database: they wait for each of its answers at
most ANSWER_SECONDS (`answers_within`, ivr.store.database), even behind a proxy that swallows
everything, so a transaction a webhook gave up on ends, and the spool replays, soon after the
network is back.

Only a database that fails pauses (AWAY_ERRORS). Every pooled connection being busy (BUSY_ERRORS)
is a burst on a database that answers: a write is spooled and a booking refused, and nobody
else does without the database for it.

Callback bookings are never spooled: their fraud limits are counted in the database, so while
it is away they are refused ("unavailable"). A booking spooled by an earlier version is
counted against the limits when it is replayed, and set aside (rejected.jsonl) when over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import anyio
from sqlalchemy import Connection, event
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from ivr.engine.booking import UNAVAILABLE, Booking
from ivr.engine.numbers import masked
from ivr.store.callbacks import Limits
from ivr.store.database import Store, TooSlow, answers_within, in_time, seconds_left
from ivr.store.handover import COMMITTED, TO_SPOOL, Outcome, Write, settle_all
from ivr.store.repository import CallEnd, CallStore
from ivr.store.spool import REJECTED, Spool

log = logging.getLogger("ivr.records")
# The call writes a webhook makes, by the name a spooled entry keeps (ivr.store.call_log
# makes them, one typed method each); each joins a group commit's transaction.
CALL_WRITES: dict[str, Callable[[CallStore], Callable[..., object]]] = {
    "record_step": lambda store: store.record_step,
    "remember_queue_entry": lambda store: store.remember_queue_entry,
    "record_queue_result": lambda store: store.record_queue_result,
    "record_outcome": lambda store: store.record_outcome,
    "record_status": lambda store: store.record_status,
    "record_in_queue": lambda store: store.record_in_queue,
    "record_disposition": lambda store: store.record_disposition,
    "record_survey": lambda store: store.record_survey,
    "record_comment": lambda store: store.record_comment,
}
BOOK, VOICEMAIL = "book_callback", "save_voicemail"
PAUSE_SECONDS = 5.0
# Writes one transaction may carry: enough for a burst, small enough to commit in milliseconds.
BATCH_LIMIT = 64
# The database is away (down, unreachable, overloaded, silent): worth spooling, trying again,
# and doing without it for PAUSE_SECONDS.
AWAY_ERRORS = (OperationalError, InterfaceError)
# No pooled connection free within POOL_SECONDS: this process's own burst, on a database that
# may answer fine. Worth spooling and trying again, not pausing everyone for.
BUSY_ERRORS = (PoolTimeout,)
# Any other error is this record's own (a value the schema refuses) and would fail forever.
TRY_AGAIN_ERRORS = (*AWAY_ERRORS, *BUSY_ERRORS)
Handover = tuple[asyncio.AbstractEventLoop, list[Write]]
# Per thread: set once the webhook booking on this thread has stopped waiting (see `_book`).
_booking = threading.local()


class GivenUp(Exception):
    """The caller was told this callback could not be booked: it must not be stored now."""


@event.listens_for(Session, "before_commit")
def _no_booking_after_giving_up(_: Session) -> None:
    given_up: threading.Event | None = getattr(_booking, "given_up", None)
    if given_up is not None and given_up.is_set():
        raise GivenUp("the caller was told this callback could not be booked")


class Records:
    def __init__(
        self,
        store: Store,
        spool: Spool | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.spool = spool
        self._monotonic = monotonic
        self._paused_until = 0.0
        self._recovering = False  # paused, or trying the database again after a pause
        self._breaker = threading.Lock()
        # Told of each call end once it is stored (outcome as stored, for the metrics).
        self.on_call_end: Callable[[CallEnd], None] | None = None
        # A region's callback limits (None: the region is unknown), for spooled bookings.
        self.callback_limits: Callable[[str], Limits | None] = lambda _: None
        # Told of each spooled booking refused at replay: its region and why.
        self.on_refused_booking: Callable[[str, str], None] | None = None
        self._gathering: dict[asyncio.AbstractEventLoop, list[Write]] = {}
        self._handovers: queue.SimpleQueue[Handover | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._in_doubt = 0
        self._doubt_lock = threading.Lock()

    def write(self, op: str, **args: Any) -> None:
        """Apply the write `op` (a CALL_WRITES name, or VOICEMAIL) now, or spool it."""
        entry = _entry(op, args)
        outcome = self._outcome(entry)
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == TO_SPOOL:
            self._spool(entry)

    async def write_soon(self, op: str, **args: Any) -> None:
        """Like `write`, through the writer thread for call writes (see the module doc);
        returns once the record is committed or spooled, raises when neither took it. Waits
        for the database at most what is left of the webhook's time, then spools."""
        write = Write(_entry(op, args))
        if self.spool is not None and (self.spool.pending() or self.paused()):
            # Away: straight to the spool, without queueing behind a writer that may hang.
            await anyio.to_thread.run_sync(self._spool, write.entry)
            return
        try:
            if op in CALL_WRITES:
                await asyncio.wait_for(self._hand_to_writer(write), seconds_left())
            else:
                await in_time(partial(self._write_one, write))
        except TimeoutError:
            await self._give_up(write)

    async def book_callback(self, *, limits: Limits, **args: Any) -> Booking:
        """Book with the fraud limits (`args`: those of CallbackStore.book). While the
        bookings cannot be counted (the database away, or slower than the webhook's time),
        refused as UNAVAILABLE: spooled, it would skip the limits, and a count kept in this
        process would allow the limits once per worker and replica.

        Only a failing database pauses. A booking out of time, or without a free connection,
        queued behind the others (bookings of a region take turns, by design, for the
        limits): in a burst that says the line is busy, not that the database is away. A
        silent database is still noticed, by the webhooks' writes and reads."""
        if self.database_away():
            return Booking(None, UNAVAILABLE)
        given_up = threading.Event()
        try:
            booking = await in_time(partial(self._book, given_up, limits, args))
        except TooSlow:
            given_up.set()  # a commit still to come is refused: the caller hears "not booked"
            why = "did not answer in time"
        except BUSY_ERRORS:
            why = "had no connection free in time"
        except AWAY_ERRORS:
            self.pause()
            why = "is unavailable"
        else:
            self.database_answered()
            return booking
        log.warning("the database %s: callback booking refused, limits cannot be counted", why)
        return Booking(None, UNAVAILABLE)

    def _book(self, given_up: threading.Event, limits: Limits, args: dict[str, Any]) -> Booking:
        _booking.given_up = given_up
        try:
            return self.store.callbacks.book(**args, limits=limits)
        finally:
            _booking.given_up = None

    def database_away(self) -> bool:
        """True while webhooks should do without the database (spool, caches) instead of
        waiting for it: for PAUSE_SECONDS after it failed or was too slow, then while one of
        them tries it again. The first to ask after the pause is let through (False), the
        others keep doing without until it answers (`database_answered`) or another pause."""
        if not self._recovering:
            return False
        now = self._monotonic()
        with self._breaker:
            if now < self._paused_until:
                return True
            self._paused_until = now + PAUSE_SECONDS  # this caller tries; the others wait
            return False

    def paused(self) -> bool:
        """Like `database_away`, without becoming the one that tries the database again."""
        return self._recovering and self._monotonic() < self._paused_until

    def pause(self) -> None:
        """The database failed or was too slow: do without it for PAUSE_SECONDS."""
        with self._breaker:
            self._paused_until = self._monotonic() + PAUSE_SECONDS
            self._recovering = True

    def database_answered(self) -> None:
        """The database answered: every webhook may use it again."""
        if self._recovering:
            with self._breaker:
                self._recovering, self._paused_until = False, 0.0

    async def aclose(self) -> None:
        """On the event loop: hand over what it gathered, write it, stop the writer thread."""
        loop = asyncio.get_running_loop()
        if loop in self._gathering:
            self._hand_over(loop)
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Write what has been handed over, then stop the writer thread."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._handovers.put(None)
            writer.join()

    # -- the writer thread --------------------------------------------------------------------
    def _hand_to_writer(self, write: Write) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        write.future = loop.create_future()
        gathering = self._gathering.get(loop)
        if gathering is None:
            # Hand over everything this turn of the event loop gathers in one go: one wake-up
            # of the writer, and one back, per batch rather than per webhook.
            gathering = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathering.append(write)
        self._start_writer()
        return write.future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._gathering.pop(loop, None)
        if waiting:
            self._handovers.put((loop, waiting))

    def _start_writer(self) -> None:
        if self._writer is not None:
            return
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_handovers, name="ivr-records", daemon=True
                )
                self._writer.start()

    def _write_handovers(self) -> None:
        while True:
            first = self._handovers.get()
            if first is None:
                return
            handovers = [first]
            while sum(len(waiting) for _, waiting in handovers) < BATCH_LIMIT:
                try:
                    more = self._handovers.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._handovers.put(None)  # stop after these
                    break
                handovers.append(more)
            writes = [write for _, waiting in handovers for write in waiting if write.start()]
            for start in range(0, len(writes), BATCH_LIMIT):
                batch = writes[start : start + BATCH_LIMIT]
                outcomes = self._write_batch([write.entry for write in batch])
                for write, outcome in zip(batch, outcomes, strict=True):
                    write.failure = write.finish(outcome, self._spool, self._doubt)
            for loop, waiting in handovers:
                settled = [(write.future, write.failure) for write in waiting if write.future]
                with contextlib.suppress(RuntimeError):  # that event loop is closed: nobody waits
                    loop.call_soon_threadsafe(settle_all, settled)

    def _write_batch(self, entries: list[dict[str, Any]]) -> list[Outcome]:
        """Each entry's outcome: committed, to be spooled, or why neither."""
        try:
            together = self._tried(lambda: self._apply_together(entries), "a batch of writes")
        except TRY_AGAIN_ERRORS as exc:  # no spool to fall back on
            return [exc] * len(entries)
        except Exception:
            # One record the database refuses for good: the others must not share its fate.
            return [self._outcome(entry) for entry in entries]
        return [COMMITTED if together else TO_SPOOL] * len(entries)

    def _apply_together(self, entries: list[dict[str, Any]]) -> None:
        with self.store.engine.begin() as connection:
            done = [apply(self.store, entry, connection) for entry in entries]
        self._tell(done)  # once committed

    # -- one write, and giving up on it -----------------------------------------------------
    def _write_one(self, write: Write) -> None:
        """In a worker thread: keep a write the writer thread does not take (a voice message)."""
        if write.start():
            failure = write.finish(self._outcome(write.entry), self._spool, self._doubt)
            if failure is not None:
                raise failure

    async def _give_up(self, write: Write) -> None:
        """The webhook's time is up: spool its record (unless kept meanwhile), and do without
        the database for a while."""
        if self.spool is None:
            raise TooSlow(f"the database did not answer in time; {write.entry['op']} not kept")
        spooled = await anyio.to_thread.run_sync(write.give_up, self._spool, self._doubt)
        if spooled:
            self.pause()
            log.warning("the database did not answer in time; spooled %s", write.entry["op"])

    def _doubt(self, change: int) -> None:
        with self._doubt_lock:
            self._in_doubt += change

    def _outcome(self, entry: dict[str, Any]) -> Outcome:
        try:
            kept = self._tried(lambda: self._tell([apply(self.store, entry)]), entry["op"])
        except Exception as exc:
            return exc
        return COMMITTED if kept else TO_SPOOL

    def _tell(self, done: list[object]) -> None:
        """Tell `on_call_end` of the calls whose end was just stored (a failure there is
        logged; the records are safe either way)."""
        if self.on_call_end is None:
            return
        for end in done:
            if isinstance(end, CallEnd):
                try:
                    self.on_call_end(end)
                except Exception:
                    log.exception("could not count the end of a call")

    def _spool(self, entry: dict[str, Any]) -> None:
        assert self.spool is not None
        self.spool.append(entry)

    def _tried(self, work: Callable[[], object], op: str) -> bool:
        """Run `work` against the database when it is worth trying, waiting for each answer
        at most ANSWER_SECONDS; False when the database is away or every connection busy
        (the caller then spools). Without a spool, its errors are the caller's."""
        if not self._direct():
            return False
        try:
            with answers_within():
                work()
        except TRY_AGAIN_ERRORS as exc:
            if self.spool is None:
                raise
            if isinstance(exc, BUSY_ERRORS):
                log.warning("no database connection free in time; spooling %s", op)
                return False
            self.pause()
            log.warning("database unavailable; spooling %s", op, exc_info=True)
            return False
        self.database_answered()
        return True

    # -- replay ---------------------------------------------------------------------------
    def replay(self) -> int:
        """Move spooled records into the database; 0 when there is nothing, when it is still
        away, or while a transaction given up on may still commit (its call's later records
        are in the spool and must go in after it)."""
        if self.spool is None or not self.spool.pending():
            return 0
        with self._doubt_lock:
            if self._in_doubt:
                return 0
        spool = self.spool
        try:
            with answers_within():  # a silent database ends the replay, not hangs it
                self.store.ping()
                applied = spool.replay(lambda entry: self._replay_one(spool, entry))
        except BUSY_ERRORS:
            return 0  # the webhooks use every connection: the next round replays
        except AWAY_ERRORS:
            self.pause()
            return 0
        if applied:
            log.info("replayed %d spooled records into the database", applied)
        self.database_answered()
        return applied

    def _replay_one(self, spool: Spool, entry: dict[str, Any]) -> None:
        try:
            if entry.get("op") == BOOK:
                self._replay_booking(spool, entry)
            else:
                self._tell([apply(self.store, entry)])
        except TRY_AGAIN_ERRORS:
            raise
        except (SQLAlchemyError, ValueError, KeyError, TypeError):
            # Refused for good: set aside (rejected.jsonl) so the records behind it go in.
            log.exception("spooled %s refused by the database; set aside", entry.get("op"))
            spool.reject(entry)

    def _replay_booking(self, spool: Spool, entry: dict[str, Any]) -> None:
        """A booking spooled by an earlier version (which booked without limits while the
        database was away): counted against today's limits, as if booked now."""
        args = _arguments(entry)
        limits = self.callback_limits(args["region"])
        booking = (
            Booking(None, "unknown_region")
            if limits is None
            else self.store.callbacks.book(**args, limits=limits)
        )
        if booking.code is not None:
            return
        refused = booking.refused or "refused"
        spool.reject({**entry, "refused": refused})
        log.error(
            "callback for %s (CallSid %s, region %s) booked while the database was away is "
            "refused at replay (%s): not placed; set aside in %s",
            masked(str(args["number"])),
            args["call_sid"],
            args["region"],
            refused,
            spool.directory / REJECTED,
        )
        if self.on_refused_booking is not None:
            self.on_refused_booking(str(args["region"]), refused)

    def _direct(self) -> bool:
        if self.spool is None:
            return True
        # The spool first: asking database_away() may make this caller the one that tries.
        return not self.spool.pending() and not self.database_away()


def _entry(op: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"op": op, "args": {key: _json(value) for key, value in args.items()}}


def _arguments(entry: dict[str, Any]) -> dict[str, Any]:
    """A write's arguments, read back from JSON (moments as datetimes)."""
    args = dict(entry["args"])
    for moment in ("at", "due_at", "since"):
        if isinstance(args.get(moment), str):
            args[moment] = datetime.fromisoformat(args[moment])
    return args


def apply(store: Store, entry: dict[str, Any], connection: Connection | None = None) -> object:
    """Carry out one write (fresh, or read back from the spool); call writes join
    `connection`'s transaction when given. What the write returned (a CallEnd, or None)."""
    op = entry["op"]
    args = _arguments(entry)
    write = CALL_WRITES.get(op)
    if write is not None:
        return write(store)(**args, connection=connection)
    if op == VOICEMAIL:
        store.voicemails.save(**args)
    else:
        raise ValueError(f"unknown spooled write {op!r}")
    return None


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
