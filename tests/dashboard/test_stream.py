"""One snapshot per interval per process, however many screens; streams that end by themselves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ivr.dashboard.figures import Snapshot
from ivr.dashboard.stream import Feed, Snapshots, events

EMPTY = Snapshot(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), 60, ())


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowFigures:
    """Figures that take as long as the test says: a stand-in for the database read, whose
    calls are counted."""

    def __init__(self) -> None:
        self.taken = 0
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self) -> Snapshot:
        self.taken += 1
        await self.release.wait()
        if self.fail:
            raise ConnectionError("database away")
        return EMPTY


def test_screens_arriving_together_share_one_computation() -> None:
    async def scenario() -> None:
        figures, ticks = SlowFigures(), Ticks()
        snapshots = Snapshots(figures, max_age=2.0, monotonic=ticks)
        screens = [asyncio.create_task(snapshots.latest()) for _ in range(20)]
        await asyncio.sleep(0)
        figures.release.set()
        assert await asyncio.gather(*screens) == [EMPTY] * 20
        assert figures.taken == 1
        ticks.now += 1.9
        await snapshots.latest()
        assert figures.taken == 1
        ticks.now += 0.1  # two seconds after the first: stale
        await snapshots.latest()
        assert figures.taken == 2 == snapshots.taken

    asyncio.run(scenario())


def test_figures_that_cannot_be_read_are_none_not_old_ones() -> None:
    async def scenario() -> None:
        figures, ticks = SlowFigures(), Ticks()
        figures.release.set()
        snapshots = Snapshots(figures, max_age=2.0, monotonic=ticks)
        assert await snapshots.latest() == EMPTY
        figures.fail = True
        ticks.now += 2
        assert await snapshots.latest() is None
        assert await snapshots.latest() is None  # and not asked again within the interval
        assert figures.taken == 2

    asyncio.run(scenario())


def stream(snapshots: Snapshots, ticks: Ticks, interval: float, lifetime: float) -> Feed:
    """A feed whose sleeps move the test's clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        ticks.now += seconds

    return Feed(snapshots, interval, lifetime, monotonic=ticks, sleep=sleep)


def collect(feed: Feed, session_valid: list[bool]) -> list[str]:
    async def read() -> list[str]:
        return [chunk async for chunk in events(feed, lambda: session_valid[0])]

    return asyncio.run(read())


def test_a_stream_sends_a_snapshot_at_once_then_one_per_interval_and_ends() -> None:
    figures, ticks = SlowFigures(), Ticks()
    figures.release.set()
    feed = stream(Snapshots(figures, max_age=2, monotonic=ticks), ticks, 2, lifetime=15)
    chunks = collect(feed, [True])
    assert chunks[0] == "retry: 2000\n\n"  # the browser comes back after one interval
    snapshots = [chunk for chunk in chunks[1:] if chunk.startswith("event: snapshot\n")]
    assert len(snapshots) == len(chunks) - 1 == 8  # at 0, 2, 4 ... 14 s: 16 is past 15
    assert figures.taken == 8
    assert snapshots[0].startswith('event: snapshot\ndata: {"at":"2026-03-02T10:00:00+00:00"')
    assert all(chunk.endswith("\n\n") for chunk in chunks)


def test_a_stream_of_an_expired_session_says_signed_out_and_ends() -> None:
    figures, ticks = SlowFigures(), Ticks()
    figures.release.set()
    feed = stream(Snapshots(figures, max_age=2, monotonic=ticks), ticks, 2, lifetime=15)
    assert collect(feed, [False]) == ["retry: 2000\n\n", "event: signed-out\ndata: {}\n\n"]


def test_a_stream_says_when_the_figures_are_unavailable() -> None:
    figures, ticks = SlowFigures(), Ticks()
    figures.fail = True
    figures.release.set()
    feed = stream(Snapshots(figures, max_age=2, monotonic=ticks), ticks, 2, lifetime=15)
    assert set(collect(feed, [True])[1:]) == {"event: unavailable\ndata: {}\n\n"}


def test_a_slow_pace_still_sends_one_snapshot_per_connection() -> None:
    figures, ticks = SlowFigures(), Ticks()
    figures.release.set()
    feed = stream(Snapshots(figures, max_age=30, monotonic=ticks), ticks, 30, lifetime=15)
    chunks = collect(feed, [True])
    assert chunks[0] == "retry: 30000\n\n" and len(chunks) == 2
