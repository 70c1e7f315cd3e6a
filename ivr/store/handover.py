"""One webhook's record on its way to the database: handed over to a writer, and kept exactly
once, by the writer (committed, or spooled while the database is away) or, once the webhook
stopped waiting, by the webhook (spooled). See ivr.store.records."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

# What became of a write: committed, to be spooled, or why neither.
COMMITTED, TO_SPOOL = "committed", "to spool"
Outcome = str | BaseException
Spooler = Callable[[dict[str, Any]], None]
Doubter = Callable[[int], None]


class Write:
    """One webhook's record on its way, kept exactly once: by the writer (committed, or
    spooled while the database is away) or, once the webhook stopped waiting, by the webhook
    (spooled). `doubt(+1/-1)` counts transactions that may still commit after the webhook
    spooled their record."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.future: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None
        self._lock = threading.Lock()
        self._writing = self._given_up = self._kept = False

    def start(self) -> bool:
        """The writer takes it; False when the webhook gave up on it (and spooled it)."""
        with self._lock:
            self._writing = not self._given_up
            return self._writing

    def finish(self, outcome: Outcome, spool: Spooler, doubt: Doubter) -> BaseException | None:
        """The writer's outcome (spooled here when asked); why the record was not kept, if so."""
        with self._lock:
            self._writing = False
            if self._given_up:
                doubt(-1)  # the webhook spooled it: a commit now was a repeat, a failure nothing
                return None
            if outcome == TO_SPOOL:
                try:
                    spool(self.entry)
                except Exception as exc:
                    return exc
            elif isinstance(outcome, BaseException):
                return outcome
            self._kept = True
            return None

    def give_up(self, spool: Spooler, doubt: Doubter) -> bool:
        """The webhook stops waiting: spool the record unless the writer kept it meanwhile.
        True when the webhook spooled it; raises when the spool refuses it."""
        with self._lock:
            if self._kept:
                return False
            spool(self.entry)
            self._given_up = True
            if self._writing:
                doubt(+1)
            return True


def settle_all(settled: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """On the event loop: tell each waiting webhook how its write went."""
    for future, failure in settled:
        if future.done():
            continue  # the webhook stopped waiting (its time was up, or its caller hung up)
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)
