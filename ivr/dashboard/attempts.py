"""Failed sign-ins, counted per name and address and per address, to slow password guessing.

Nobody is ever locked out by someone else's failures: each count is tied to the client's own
address (nginx's view of it: see docs/wallboard.md), so guesses from elsewhere delay only
their sender. After a few free failures each further try waits longer (10 s, 20 s, 40 s...,
at most 15 minutes), so an address guessing one name gets about a dozen tries an hour; an
address trying many names is slowed the same way after more free failures. A burst of
failures from many addresses is for the alert (`IvrWallboardSignInFailures`), not a lock.

Kept in the memory of each process: with several workers or replicas an attacker gets a few
more tries, not unlimited ones, and a restart forgets nothing that matters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Free failures before the delays start: five for one name from one address (a supervisor
# mistyping), twenty from one address whatever the names (an office behind one NAT).
FREE_PER_NAME_AND_ADDRESS = 5
FREE_PER_ADDRESS = 20
FIRST_DELAY_SECONDS = 10.0
LONGEST_DELAY_SECONDS = 900.0
# A key with no failure for this long is forgotten: longer than the longest delay, so a
# patient guesser keeps the longest delay rather than earning free tries again.
FORGET_AFTER_SECONDS = 3600.0
# Forget keys beyond this many, oldest first: a flood of made-up names cannot fill memory.
MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int
    last: float


def delay(failures: int, free: int) -> float:
    """How long to wait after the latest of `failures` before the next try."""
    if failures < free:
        return 0.0
    doublings = min(failures - free, 32)
    return min(FIRST_DELAY_SECONDS * float(2**doublings), LONGEST_DELAY_SECONDS)


class FailedSignIns:
    """Failures per (name, address) and per address, with the delay each one imposes."""

    def __init__(
        self,
        free_per_name_and_address: int = FREE_PER_NAME_AND_ADDRESS,
        free_per_address: int = FREE_PER_ADDRESS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"name": free_per_name_and_address, "address": free_per_address}
        self.monotonic = monotonic
        self._failures: dict[tuple[str, str], _Failures] = {}

    def wait(self, user: str, address: str) -> float:
        """Seconds before this name may be tried from this address again; 0: now."""
        now = self.monotonic()
        waits = [0.0]
        for key in self._keys(user, address):
            failures = self._current(key, now)
            if failures is not None:
                waits.append(failures.last + delay(failures.count, self.free[key[0]]) - now)
        return max(waits)

    def failed(self, user: str, address: str) -> None:
        """Count a failure now."""
        now = self.monotonic()
        for key in self._keys(user, address):
            failures = self._current(key, now) or _Failures(0, now)
            failures.count, failures.last = failures.count + 1, now
            self._failures.pop(key, None)
            self._failures[key] = failures  # most recently used last
        for key in list(self._failures)[: max(len(self._failures) - MAX_KEYS, 0)]:
            del self._failures[key]

    def signed_in(self, user: str, address: str) -> None:
        """Take back the failure counted for a sign-in whose password proved right (sign-ins
        count one before checking, so that simultaneous guesses cannot all pass `wait`
        first); this name from this address starts afresh."""
        name_key, address_key = self._keys(user, address)
        self._failures.pop(name_key, None)
        failures = self._failures.get(address_key)
        if failures is not None:
            failures.count -= 1
            if failures.count <= 0:
                del self._failures[address_key]

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        # The address first: it has no spaces, so no two (name, address) pairs share a key.
        return ("name", f"{address} {user.casefold()}"), ("address", address)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        failures = self._failures.get(key)
        if failures is not None and now - failures.last >= FORGET_AFTER_SECONDS:
            del self._failures[key]
            return None
        return failures
