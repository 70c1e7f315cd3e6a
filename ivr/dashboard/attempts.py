"""Failed sign-ins, counted per user name and per client address, to stop password guessing.

Kept in the memory of each process: with several workers or replicas an attacker gets a few
more tries a minute, not unlimited ones, and a restart forgets nothing that matters.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

# Five wrong passwords a minute for one name, or twenty from one address (an office behind
# one NAT has several supervisors), then "try again in a minute".
PER_USER = 5
PER_ADDRESS = 20
WINDOW_SECONDS = 60.0
# Forget keys beyond this many, oldest first: a flood of made-up names cannot fill memory.
MAX_KEYS = 10_000


class FailedSignIns:
    """Sliding one-minute windows of failures per key ("user:NAME", "address:IP")."""

    def __init__(
        self,
        per_user: int = PER_USER,
        per_address: int = PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self.monotonic = monotonic
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, user: str, address: str) -> bool:
        """Too many recent failures for this name or this address: refuse without checking."""
        now = self.monotonic()
        return (
            self._recent(f"user:{user.casefold()}", now) >= self.per_user
            or self._recent(f"address:{address}", now) >= self.per_address
        )

    def failed(self, user: str, address: str) -> float:
        """Count a failure now; its time, for `forgive`."""
        now = self.monotonic()
        for key in self._keys(user, address):
            self._failures.setdefault(key, deque()).append(now)
            self._failures[key] = self._failures.pop(key)  # most recently used last
        self._forget_oldest(len(self._failures) - MAX_KEYS)
        return now

    def forgive(self, user: str, address: str, at: float) -> None:
        """Take back the failure counted at `at`: sign-ins count one before the password is
        checked, so that simultaneous guesses cannot all pass `blocked` first."""
        for key in self._keys(user, address):
            failures = self._failures.get(key)
            if failures is not None and at in failures:
                failures.remove(at)

    @staticmethod
    def _keys(user: str, address: str) -> tuple[str, str]:
        return f"user:{user.casefold()}", f"address:{address}"

    def _recent(self, key: str, now: float) -> int:
        failures = self._failures.get(key)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        return len(failures)

    def _forget_oldest(self, count: int) -> None:
        oldest: Iterable[str] = list(self._failures)[: max(count, 0)]
        for key in oldest:
            del self._failures[key]
