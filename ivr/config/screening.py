"""Who is turned away before any menu: blocked numbers and callers calling too often.

Pure: the edge counts the caller's recent calls and passes them in. A rejected call is
refused with <Reject> (busy), so it costs no queue place, no agent time and no call minutes.
Withheld callers cannot be told apart and are never rate-limited one by one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Screening:
    blocked: tuple[str, ...] = ()  # E.164 numbers, or prefixes ending in "*" ("+88216*")
    calls_per_window: int = 0  # 0: no rate limit
    window_seconds: int = 600

    def is_blocked(self, number: str | None) -> bool:
        if not number:
            return False
        return any(
            number.startswith(entry[:-1]) if entry.endswith("*") else number == entry
            for entry in self.blocked
        )

    def too_often(self, recent_calls: int) -> bool:
        """`recent_calls`: the caller's calls in the last window, this one not included (the
        edge counts 0 for a caller it cannot tell apart)."""
        return 0 < self.calls_per_window <= recent_calls

    def rejects(self, number: str | None, recent_calls: int) -> str | None:
        """Why the call is refused ("blocked", "rate-limited"), or None to answer it."""
        if self.is_blocked(number):
            return "blocked"
        if self.too_often(recent_calls):
            return "rate-limited"
        return None
