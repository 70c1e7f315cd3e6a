"""When one process reads a shared list again (announcements, staffing): every few seconds on
the service's injected clock, one webhook at a time, later after a failure, and at once after
a change made through this process."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class ReadSchedule:
    """Whether a read is due is decided on the event loop (`claim`); the read itself runs in a
    worker thread and reports back (`read`). A clock jumping backwards just causes a read."""

    def __init__(self, every: timedelta, retry_after: timedelta) -> None:
        self._every = every
        self._retry_after = retry_after
        self._claimed_at: datetime | None = None
        self._due: datetime | None = None  # None: read on the next webhook
        self._lock = threading.Lock()

    def claim(self, now: datetime) -> bool:
        """True when a read is due now, for the caller to make. Until it reports, other webhooks
        keep the last answer instead of reading too; if it never does, the next read is due
        after `retry_after`."""
        with self._lock:
            due, claimed_at = self._due, self._claimed_at
            if due is not None and claimed_at is not None and claimed_at <= now < due:
                return False
            self._claimed_at, self._due = now, now + self._retry_after
            return True

    def read(self, now: datetime) -> None:
        """The read claimed at `now` succeeded: the next is due `every` later (unless the
        schedule was made stale meanwhile)."""
        with self._lock:
            if self._claimed_at == now and self._due is not None:
                self._due = now + self._every

    def stale(self) -> None:
        """Read again at the next webhook."""
        with self._lock:
            self._due = None
