"""Writes from the webhooks: to the database, or to the spool while it is away.

A caller must never notice the database: when a write fails, it is spooled, and for a few
seconds the following writes go straight to the spool (a database that is down must not cost
every webhook a connect timeout). While the spool holds anything, new writes join it too, so
records replay in the order they happened.

Webhooks hand their call writes to one writer thread (`write_soon`), which commits whatever
has gathered while it was busy in one transaction (group commit): a webhook still answers only
once its record is committed or spooled, but a busy line pays one commit per batch, not per
webhook, and no thread-pool hand-off per write.
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

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.booking import Booking
from ivr.store.callbacks import Limits
from ivr.store.database import Store
from ivr.store.repository import CallEnd
from ivr.store.spool import Spool

log = logging.getLogger("ivr.records")
# Writes a webhook makes, by name; a spooled entry names one of them.
CALL_WRITES = frozenset(
    {
        "record_step",
        "remember_queue_entry",
        "record_queue_result",
        "record_outcome",
        "record_status",
    }
)
BOOK, VOICEMAIL = "book_callback", "save_voicemail"
PAUSE_SECONDS = 5.0
# Writes one transaction may carry: enough for a burst, small enough to commit in milliseconds.
BATCH_LIMIT = 64
Waiting = tuple[dict[str, Any], "asyncio.Future[None]"]
Handover = tuple[asyncio.AbstractEventLoop, list[Waiting]]
# The database is away (down, unreachable, overloaded): worth spooling and trying again.
# Any other error is this record's own (a value the schema refuses) and would fail forever.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


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
        # Told of each call end once it is stored (outcome as stored, for the metrics).
        self.on_call_end: Callable[[CallEnd], None] | None = None
        self._gathering: dict[asyncio.AbstractEventLoop, list[Waiting]] = {}
        self._handovers: queue.SimpleQueue[Handover | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def write(self, op: str, **args: Any) -> None:
        """Apply the write `op` (a CALL_WRITES name, or BOOK/VOICEMAIL) now, or spool it."""
        self._keep(_entry(op, args))

    async def write_soon(self, op: str, **args: Any) -> None:
        """Like `write`, through the writer thread for call writes (see the module doc);
        returns once the record is committed or spooled, raises when neither took it."""
        if op not in CALL_WRITES:
            await asyncio.to_thread(self.write, op, **args)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        gathering = self._gathering.get(loop)
        if gathering is None:
            # Hand over everything this turn of the event loop gathers in one go: one wake-up
            # of the writer, and one back, per batch rather than per webhook.
            gathering = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathering.append((_entry(op, args), future))
        self._start_writer()
        await future

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
            entries = [entry for _, waiting in handovers for entry, _ in waiting]
            outcomes: list[BaseException | None] = []
            for start in range(0, len(entries), BATCH_LIMIT):
                outcomes += self._write_batch(entries[start : start + BATCH_LIMIT])
            done = iter(outcomes)
            for loop, waiting in handovers:
                settled = [(future, next(done)) for _, future in waiting]
                with contextlib.suppress(RuntimeError):  # that event loop is closed: nobody waits
                    loop.call_soon_threadsafe(_settle_all, settled)

    def _write_batch(self, entries: list[dict[str, Any]]) -> list[BaseException | None]:
        """Each entry's outcome: None when committed or spooled, else why neither."""
        try:
            together = self._tried(lambda: self._apply_together(entries), "a batch of writes")
        except UNAVAILABLE as exc:  # no spool to fall back on
            return [exc] * len(entries)
        except Exception:
            # One record the database refuses for good: the others must not share its fate.
            return [_failure(partial(self._keep, entry)) for entry in entries]
        if together:
            return [None] * len(entries)
        return [_failure(partial(self._spool, entry)) for entry in entries]

    def _apply_together(self, entries: list[dict[str, Any]]) -> None:
        with self.store.engine.begin() as connection:
            done = [apply(self.store, entry, connection) for entry in entries]
        self._tell(done)  # once committed

    def _keep(self, entry: dict[str, Any]) -> None:
        if not self._tried(lambda: self._tell([apply(self.store, entry)]), entry["op"]):
            self._spool(entry)

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

    def book_callback(self, *, limits: Limits, **args: Any) -> Booking:
        """Book with the fraud limits (`args`: those of CallbackStore.book); with the database
        away, accept and spool the booking (its limits cannot be counted, and a caller must
        not lose the callback for that)."""
        booked: list[Booking] = []
        if self._tried(
            lambda: booked.append(self.store.callbacks.book(**args, limits=limits)), BOOK
        ):
            return booked[0]
        self.write(BOOK, **args)
        return Booking(args["code"])

    def _tried(self, work: Callable[[], object], op: str) -> bool:
        """Run `work` against the database when it is worth trying; False when the database
        is away (the caller then spools). Without a spool, its errors are the caller's."""
        if not self._direct():
            return False
        try:
            work()
        except UNAVAILABLE:
            if self.spool is None:
                raise
            self._pause()
            log.warning("database unavailable; spooling %s", op, exc_info=True)
            return False
        return True

    def replay(self) -> int:
        """Move spooled records into the database; 0 when there is nothing or it is still away."""
        if self.spool is None or not self.spool.pending():
            return 0
        spool = self.spool
        try:
            self.store.ping()
            applied = spool.replay(lambda entry: self._replay_one(spool, entry))
        except UNAVAILABLE:
            self._pause()
            return 0
        if applied:
            log.info("replayed %d spooled records into the database", applied)
        self._paused_until = 0.0
        return applied

    def _replay_one(self, spool: Spool, entry: dict[str, Any]) -> None:
        try:
            self._tell([apply(self.store, entry)])
        except UNAVAILABLE:
            raise
        except (SQLAlchemyError, ValueError, KeyError, TypeError):
            # Refused for good: set aside (rejected.jsonl) so the records behind it go in.
            log.exception("spooled %s refused by the database; set aside", entry.get("op"))
            spool.reject(entry)

    def _direct(self) -> bool:
        if self.spool is None:
            return True
        return self._monotonic() >= self._paused_until and not self.spool.pending()

    def _pause(self) -> None:
        self._paused_until = self._monotonic() + PAUSE_SECONDS


def _entry(op: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"op": op, "args": {key: _json(value) for key, value in args.items()}}


def _failure(work: Callable[[], None]) -> BaseException | None:
    try:
        work()
    except Exception as exc:
        return exc
    return None


def _settle_all(settled: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """On the event loop: tell each waiting webhook how its write went."""
    for future, failure in settled:
        if future.done():
            continue  # the webhook was cancelled (its caller hung up); the record is kept
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)


def apply(store: Store, entry: dict[str, Any], connection: Connection | None = None) -> object:
    """Carry out one write (fresh, or read back from the spool); call writes join
    `connection`'s transaction when given. What the write returned (a CallEnd, or None)."""
    op = entry["op"]
    args = dict(entry["args"])
    for moment in ("at", "due_at"):
        if isinstance(args.get(moment), str):
            args[moment] = datetime.fromisoformat(args[moment])
    if op in CALL_WRITES:
        done: object = getattr(store, op)(**args, connection=connection)
        return done
    if op == BOOK:
        store.callbacks.book(**args)
    elif op == VOICEMAIL:
        store.voicemails.save(**args)
    else:
        raise ValueError(f"unknown spooled write {op!r}")
    return None


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
