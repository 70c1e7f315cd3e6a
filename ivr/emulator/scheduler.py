"""A discrete-event scheduler over the virtual clock, for many calls at once.

Every call runs as an asyncio task. Whenever a call has to let time pass (a Say, a Pause, a
Gather timeout, a queue wait, a bridged conversation) it blocks in `wait()`. The scheduler moves
the clock only when every call is blocked, always to the earliest wake-up, and lets one call run
at a time: timed wake-ups in the order the waits were made, early wake-ups (below) in the order
they were sent. Two runs of the same script therefore give the same transcript and the same
ids, whether the app answers in-process or over real HTTP.

A blocked call can be woken early, with a value (`signal`: an agent is bridged) or an exception
(`interrupt`: the caller hung up, an agent took the caller). An interrupt for a call that is busy
(in the middle of an HTTP request) waits for its next `checkpoint` or `wait`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from ivr.emulator.clock import VirtualClock


class Wake(Enum):
    TIMEOUT = "timeout"
    NOTHING = "nothing"  # no early wake-up sent yet


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[object]
    wake_at: datetime
    settled: bool
    early: object = Wake.NOTHING  # the value or exception an early wake-up brings
    woken: bool = False

    @property
    def blocked(self) -> bool:
        return not self.woken and self.early is Wake.NOTHING


class Scheduler:
    """Runs call tasks on one event loop against one virtual clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[datetime, int, _Waiter]] = []
        self._order = itertools.count()
        self._waiters: dict[object, _Waiter] = {}
        self._ready: deque[_Waiter] = deque()
        self._pending: dict[object, BaseException] = {}
        self._running = 0
        self._idle: asyncio.Event | None = None
        self.crash: BaseException | None = None
        # Called whenever every call is blocked, before time moves on: what the REST API was
        # asked meanwhile (a webhook's background work) happens then. True: it woke a call.
        self.between_steps: Callable[[], bool] | None = None

    def spawn(self, body: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start a call task; it counts as running until it first blocks."""
        self._set_running(+1)
        return asyncio.get_running_loop().create_task(self._guard(body))

    async def _guard(self, body: Coroutine[Any, Any, None]) -> None:
        try:
            await body
        except Exception as error:  # a bug or a bad script: surface it to the driver
            self.crash = self.crash or error
        finally:
            self._set_running(-1)

    async def wait(
        self, owner: object, seconds: float | None, deadline: datetime, settled: bool = False
    ) -> object:
        """Block `owner` for `seconds` of virtual time (None: until signalled), never past
        `deadline`. Returns `Wake.TIMEOUT` or the signalled value; raises an interrupt.

        `settled` marks a wait that needs someone else to end it (the driver's answer, another
        call): the drivers stop running the simulation when the calls they watch are settled.
        """
        self.checkpoint(owner)
        now = self.clock.now()
        wake_at = deadline if seconds is None else min(now + timedelta(seconds=seconds), deadline)
        waiter = _Waiter(asyncio.get_running_loop().create_future(), max(wake_at, now), settled)
        heapq.heappush(self._heap, (waiter.wake_at, next(self._order), waiter))
        self._waiters[owner] = waiter
        self._set_running(-1)
        try:
            return await waiter.future
        finally:
            if self._waiters.get(owner) is waiter:
                del self._waiters[owner]

    def checkpoint(self, owner: object) -> None:
        """Raise the interrupt that arrived for `owner` while it was busy, if any."""
        if (error := self._pending.pop(owner, None)) is not None:
            raise error

    def signal(self, owner: object, value: object) -> bool:
        """Wake a blocked `owner` with `value` (once the running call blocks); False if it is
        not blocked."""
        waiter = self._waiters.get(owner)
        if waiter is None or not waiter.blocked:
            return False
        waiter.early = value
        self._ready.append(waiter)
        return True

    def interrupt(self, owner: object, error: BaseException) -> None:
        """Raise `error` in `owner`: soon if it is blocked, else at its next checkpoint."""
        waiter = self._waiters.get(owner)
        if waiter is None or waiter.woken:
            self._pending[owner] = error
        elif waiter.early is not Wake.NOTHING:
            waiter.early = error  # a hang-up beats a wake-up already on its way
        else:
            waiter.early = error
            self._ready.append(waiter)

    def is_settled(self, owner: object) -> bool:
        """True while `owner` is blocked in a wait someone else has to end."""
        waiter = self._waiters.get(owner)
        return waiter is not None and waiter.settled and waiter.blocked

    def is_blocked(self, owner: object) -> bool:
        """True while `owner` is blocked and nothing is on its way to wake it."""
        waiter = self._waiters.get(owner)
        return waiter is not None and waiter.blocked

    async def run(self, stop: Callable[[], bool], until: datetime | None = None) -> None:
        """Let the calls run until `stop()` holds once all are blocked, until the clock reaches
        `until`, or until nothing is left to wake."""
        while True:
            await self._settle()
            if self.between_steps is not None and self.between_steps():
                continue
            if self._ready:
                woken = self._ready.popleft()
                self._wake(woken, woken.early)
                continue
            if self.crash is not None or stop():
                return
            waiter = self._earliest()
            if waiter is None or (until is not None and waiter.wake_at > until):
                if until is not None:
                    self.clock.advance_to(max(until, self.clock.now()))
                return
            heapq.heappop(self._heap)
            self.clock.advance_to(waiter.wake_at)
            self._wake(waiter, Wake.TIMEOUT)

    def _wake(self, waiter: _Waiter, value: object) -> None:
        waiter.woken = True
        self._set_running(+1)
        if isinstance(value, BaseException):
            waiter.future.set_exception(value)
        else:
            waiter.future.set_result(value)

    def _earliest(self) -> _Waiter | None:
        while self._heap and not self._heap[0][2].blocked:
            heapq.heappop(self._heap)
        return self._heap[0][2] if self._heap else None

    async def _settle(self) -> None:
        while self._running:
            await self._idle_event().wait()

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            if self._running == 0:
                self._idle.set()
        return self._idle

    def _set_running(self, change: int) -> None:
        self._running += change
        if self._running == 0:
            self._idle_event().set()
        else:
            self._idle_event().clear()
