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
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.booking import Booking
from ivr.store.callbacks import Limits
from ivr.store.database import Store
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
Pending = tuple[dict[str, Any], Future[None]]
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
        self._pending: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
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
        future: Future[None] = Future()
        self._pending.put((_entry(op, args), future))
        self._start_writer()
        await asyncio.wrap_future(future)

    def close(self) -> None:
        """Write what is pending, then stop the writer thread."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._pending.put(None)
            writer.join()

    def _start_writer(self) -> None:
        if self._writer is not None:
            return
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_batches, name="ivr-records", daemon=True
                )
                self._writer.start()

    def _write_batches(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH_LIMIT:
                try:
                    more = self._pending.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._pending.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._write_batch(batch)

    def _write_batch(self, batch: list[Pending]) -> None:
        entries = [entry for entry, _ in batch]
        try:
            together = self._tried(lambda: self._apply_together(entries), "a batch of writes")
        except UNAVAILABLE as exc:  # no spool to fall back on
            for _, future in batch:
                future.set_exception(exc)
            return
        except Exception:
            # One record the database refuses for good: the others must not share its fate.
            for entry, future in batch:
                _settle(future, partial(self._keep, entry))
            return
        for entry, future in batch:
            if together:
                future.set_result(None)
            else:
                _settle(future, partial(self._spool, entry))

    def _apply_together(self, entries: list[dict[str, Any]]) -> None:
        with self.store.engine.begin() as connection:
            for entry in entries:
                apply(self.store, entry, connection)

    def _keep(self, entry: dict[str, Any]) -> None:
        if not self._tried(lambda: apply(self.store, entry), entry["op"]):
            self._spool(entry)

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
            apply(self.store, entry)
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


def _settle(future: Future[None], work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as exc:
        future.set_exception(exc)
    else:
        future.set_result(None)


def apply(store: Store, entry: dict[str, Any], connection: Connection | None = None) -> None:
    """Carry out one write (fresh, or read back from the spool); call writes join
    `connection`'s transaction when given."""
    op = entry["op"]
    args = dict(entry["args"])
    for moment in ("at", "due_at"):
        if isinstance(args.get(moment), str):
            args[moment] = datetime.fromisoformat(args[moment])
    if op in CALL_WRITES:
        getattr(store, op)(**args, connection=connection)
    elif op == BOOK:
        store.callbacks.book(**args)
    elif op == VOICEMAIL:
        store.voicemails.save(**args)
    else:
        raise ValueError(f"unknown spooled write {op!r}")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
