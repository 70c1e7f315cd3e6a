"""The wallboard's live feed: one snapshot per interval per process, sent as server-sent events.

However many screens are open, the figures are computed at most once per interval: each
stream asks `Snapshots.latest()`, which hands out the last snapshot while it is fresh.

A stream lasts STREAM_SECONDS at most, then ends after a snapshot; the browser's EventSource
reconnects one interval later (the `retry` we send), so the screen keeps its pace, and the
session is checked again on the way. So a user removed
or a password changed loses the feed within that time, and a server asked to stop (SIGTERM)
is never held up longer than that by open screens: uvicorn waits for every response in
flight before it exits, and a stream would otherwise never finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass

from ivr.dashboard.figures import Snapshot

log = logging.getLogger("ivr.dashboard")
STREAM_SECONDS = 10.0


class Snapshots:
    """The latest snapshot, taken again when it is older than `max_age` seconds."""

    def __init__(
        self,
        take: Callable[[], Awaitable[Snapshot]],
        max_age: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._take = take
        self.max_age = max_age
        self._monotonic = monotonic
        self._latest: Snapshot | None = None
        self._taken_at: float | None = None  # when the latest attempt was made
        self._lock = asyncio.Lock()
        self.taken = 0  # how many snapshots this process computed

    async def latest(self) -> Snapshot | None:
        """The figures, at most `max_age` old; None when they cannot be read right now (the
        database is away): the screens say so rather than show old figures as current."""
        async with self._lock:  # screens arriving together wait for one computation
            if self._taken_at is not None and self._monotonic() - self._taken_at < self.max_age:
                return self._latest
            try:
                snapshot = await self._take()
            except Exception:
                log.exception("the wallboard figures could not be read")
                self._latest = None
                self._taken_at = self._monotonic()
                return None
            self.taken += 1
            self._latest, self._taken_at = snapshot, self._monotonic()
            return snapshot


@dataclass
class Feed:
    """What every stream of one app shares: the snapshots, their pace, a stream's lifetime,
    and the passing of time (a test brings its own)."""

    snapshots: Snapshots
    interval: float
    lifetime: float = STREAM_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


async def events(
    feed: Feed, session_valid: Callable[[], bool], regions: Collection[str] = ()
) -> AsyncIterator[str]:
    """The text of one event stream: a snapshot now, then one every `interval` seconds, for
    `lifetime` seconds. `session_valid` is asked before each one: once the session expires the
    stream says `signed-out` and ends. `regions`: the screen's, for its survey groups (empty:
    all). Starlette cancels this when the client goes away."""
    snapshots, interval = feed.snapshots, feed.interval
    ends_at = feed.monotonic() + feed.lifetime
    yield f"retry: {max(100, round(interval * 1000))}\n\n"
    while True:
        if not session_valid():
            yield "event: signed-out\ndata: {}\n\n"
            return
        snapshot = await snapshots.latest()
        if snapshot is None:
            yield "event: unavailable\ndata: {}\n\n"
        else:
            yield f"event: snapshot\ndata: {snapshot.to_json(regions)}\n\n"
        if feed.monotonic() + interval >= ends_at:
            return
        await feed.sleep(interval)
