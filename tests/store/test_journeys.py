"""The paths callers took, tallied in the database: by region, language, path and outcome, over
a window of call starts, the most taken first, bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.store import Store
from ivr.store.journeys import PathTally, path_tallies

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def a_call(store: Store, n: int, region: str, path: str, minutes_ago: int) -> str:
    call_sid = f"CA{n:032d}"
    at = NOW - timedelta(minutes=minutes_ago)
    store.record_step(call_sid, "+447700900123", region, None, "incoming", "", at)
    for number, choice in enumerate(path.split()):
        store.record_step(call_sid, "+447700900123", region, "en-GB", f"{number}", choice, at)
    return call_sid


def test_paths_are_tallied_by_region_language_path_and_outcome(store: Store) -> None:
    for n in range(3):
        a_call(store, n, "gb", "main:1", minutes_ago=10 + n)
    a_call(store, 3, "gb", "main:1", minutes_ago=20)
    store.record_outcome(a_call(store, 4, "gb", "main:0", minutes_ago=30), "voicemail", NOW)
    a_call(store, 5, "us", "", minutes_ago=40)
    a_call(store, 6, "gb", "main:2", minutes_ago=60 * 24)  # before the window
    a_call(store, 7, "gb", "main:2", minutes_ago=-1)  # after it
    read = path_tallies(store.engine, NOW - timedelta(hours=1), NOW)
    assert read.complete
    assert read.tallies == (
        PathTally("gb", "en-GB", "main:1", "self-served", 4),
        PathTally("gb", "en-GB", "main:0", "voicemail", 1),
        PathTally("us", None, "", "self-served", 1),
    )
    only_us = path_tallies(store.engine, NOW - timedelta(hours=1), NOW, regions=["us"])
    assert only_us.tallies == (PathTally("us", None, "", "self-served", 1),)


def test_past_the_bound_the_rarest_paths_are_left_out_and_it_says_so(store: Store) -> None:
    for n, path in enumerate(["main:1", "main:1", "main:1", "main:2", "main:2", "main:3"]):
        a_call(store, n, "gb", path, minutes_ago=n + 1)
    read = path_tallies(store.engine, NOW - timedelta(hours=1), NOW, limit=2)
    assert not read.complete
    assert [(t.path, t.calls) for t in read.tallies] == [("main:1", 3), ("main:2", 2)]
    assert path_tallies(store.engine, NOW - timedelta(hours=1), NOW, limit=3).complete
