"""The emulator's virtual clock: simulated time that moves only when the scheduler says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def as_utc(instant: datetime | str) -> datetime:
    """An ISO 8601 string with an offset, or an aware datetime, as a UTC datetime."""
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    if value.tzinfo is None:
        raise ValueError(f"instant {instant!r} has no UTC offset; give one, e.g. +08:00")
    return value.astimezone(UTC)


class VirtualClock:
    """A clock that satisfies `ivr.clock.Clock` and never reads the wall clock.

    The service under test can be built with it in-process (`create_app(settings, clock=...)`),
    so that a two-hour queue wait is two hours for the service and no time at all for the test.
    """

    def __init__(self, start: datetime | str) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        """The current simulated instant (timezone-aware UTC)."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds` (not negative) and return the new instant."""
        if seconds < 0:
            raise ValueError(f"the virtual clock cannot go back ({seconds} s)")
        self._now += timedelta(seconds=seconds)
        return self._now

    def advance_to(self, instant: datetime) -> None:
        """Move forward to `instant`; going back raises ValueError."""
        target = as_utc(instant)
        if target < self._now:
            raise ValueError(f"the virtual clock cannot go back from {self._now} to {target}")
        self._now = target

    def set(self, instant: datetime | str) -> None:
        """Jump to any instant, forward or back: only for a switch with no live call."""
        self._now = as_utc(instant)
