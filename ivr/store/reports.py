"""Operator reports: per-region call and callback figures computed from records (pure, no I/O).

Definitions, as operators read them:

- `calls`: every call record of the region; `self_served`: outcome "self-served";
  `self_service_rate` = self_served / calls.
- `queued`: calls that joined an agent queue (`queued_at` set), whatever happened next;
  `bridged` / `abandoned`: outcome "bridged" / "abandoned"; `abandonment_rate` =
  abandoned / queued.
- Waits (`average_wait`, `p90_wait`) are over the calls that were bridged or abandoned and
  whose wait in the queue is known (`queue_time`). `p90_wait` uses the nearest-rank method:
  sort the n waits ascending and take the one at rank ceil(0.9 * n) (1-based), so it is
  always a wait that really happened.
- `service_level` is the usual contact-center one over the same calls: answered within the
  threshold / (answered + abandoned after the threshold). "Within" includes the threshold
  itself (a 60 s wait is within 60 s); callers who gave up within the threshold are left
  out, since no agent could reasonably have taken them.
- Callbacks are counted by their status now: `callbacks_pending` (pending or dialing),
  `callbacks_done`, `callbacks_expired`; a callback given twice (same id) counts once.
- `voicemails` / `errors`: outcome "voicemail" / "error".

Every rate is None when its denominator is zero: "no data" must not read as 0 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ivr.store.callbacks import CallbackRecord
from ivr.store.repository import CallRecord

# Calls whose region was never learned (a status callback arrived alone) are grouped here;
# it is not a valid region id, so it never merges with a real region.
UNKNOWN_REGION = "?"
# The region name of the row that sums every region.
TOTAL = "total"
DEFAULT_ANSWER_WITHIN = 60


@dataclass(frozen=True)
class RegionReport:
    """The figures of one region (or of all of them, region == TOTAL) over some calls."""

    region: str
    calls: int
    self_served: int
    self_service_rate: float | None
    queued: int
    bridged: int
    abandoned: int
    abandonment_rate: float | None
    average_wait: float | None
    p90_wait: int | None
    service_level: float | None
    callbacks_pending: int
    callbacks_done: int
    callbacks_expired: int
    voicemails: int
    errors: int


def build_report(
    calls: Iterable[CallRecord],
    callbacks: Iterable[CallbackRecord],
    answer_within: int = DEFAULT_ANSWER_WITHIN,
) -> list[RegionReport]:
    """One report per region seen in `calls` or `callbacks`, sorted by region id."""
    by_region: dict[str, tuple[list[CallRecord], list[CallbackRecord]]] = {}
    for call in calls:
        by_region.setdefault(call.region or UNKNOWN_REGION, ([], []))[0].append(call)
    for callback in _unique(callbacks):
        by_region.setdefault(callback.region, ([], []))[1].append(callback)
    return [
        region_report(region, *by_region[region], answer_within=answer_within)
        for region in sorted(by_region)
    ]


def total_report(
    calls: Iterable[CallRecord],
    callbacks: Iterable[CallbackRecord],
    answer_within: int = DEFAULT_ANSWER_WITHIN,
) -> RegionReport:
    """Every region together, named TOTAL; computed from the records themselves, since a
    percentile cannot be added up from the regions' percentiles."""
    return region_report(TOTAL, calls, callbacks, answer_within=answer_within)


def region_report(
    region: str,
    calls: Iterable[CallRecord],
    callbacks: Iterable[CallbackRecord],
    answer_within: int = DEFAULT_ANSWER_WITHIN,
) -> RegionReport:
    """The figures of `calls` and `callbacks`, all taken as `region`'s."""
    calls = list(calls)
    callbacks = _unique(callbacks)
    outcomes = [call.outcome for call in calls]
    self_served = outcomes.count("self-served")
    queued = sum(1 for call in calls if call.queued_at is not None)
    abandoned = outcomes.count("abandoned")
    waited = [
        (call.outcome, call.queue_time)
        for call in calls
        if call.outcome in ("bridged", "abandoned") and call.queue_time is not None
    ]
    waits = [seconds for _, seconds in waited]
    answered = [seconds for outcome, seconds in waited if outcome == "bridged"]
    answered_in_time = sum(1 for seconds in answered if seconds <= answer_within)
    abandoned_late = sum(
        1 for outcome, seconds in waited if outcome == "abandoned" and seconds > answer_within
    )
    statuses = [callback.status for callback in callbacks]
    return RegionReport(
        region=region,
        calls=len(calls),
        self_served=self_served,
        self_service_rate=_share(self_served, len(calls)),
        queued=queued,
        bridged=outcomes.count("bridged"),
        abandoned=abandoned,
        abandonment_rate=_share(abandoned, queued),
        average_wait=sum(waits) / len(waits) if waits else None,
        p90_wait=nearest_rank(waits, 90),
        service_level=_share(answered_in_time, len(answered) + abandoned_late),
        callbacks_pending=statuses.count("pending") + statuses.count("dialing"),
        callbacks_done=statuses.count("done"),
        callbacks_expired=statuses.count("expired"),
        voicemails=outcomes.count("voicemail"),
        errors=outcomes.count("error"),
    )


def nearest_rank(values: Sequence[int], percent: int) -> int | None:
    """The `percent`-th percentile of `values` by nearest rank: the value at 1-based rank
    ceil(percent / 100 * n) once sorted; None for no values. Integer arithmetic, so 90 % of
    10 values is exactly rank 9 (floats would make it 9.000000000000002 and round up)."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], not {percent}")
    if not values:
        return None
    rank = -(-percent * len(values) // 100)  # ceiling division
    return sorted(values)[rank - 1]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _unique(callbacks: Iterable[CallbackRecord]) -> list[CallbackRecord]:
    # The day's bookings and the open callbacks overlap: a callback booked today and still
    # pending is in both lists.
    return list({callback.id: callback for callback in callbacks}.values())
