"""Calls placed and changed through the REST API (Calls.json), handed from the HTTP server's thread
to the switch's own loop.

The REST handlers run on the server's thread; the simulation runs on the switch's event loop, and
only while a driver (`dial`, `run`, `press`...) runs it. So a handler only registers what it was
asked, under a lock, and the switch carries it out at the start of its next drive, and while it
runs whenever every call waits, before virtual time moves on (`deliver`), so a request a webhook
made (after its answer, say) takes effect at that very instant, as on Twilio: new calls first,
then updates (end, cancel, redirect) to calls under way, in the order received.

Who picks up: the switch's `callees`, by number (answering, by default). An answering callee
picks up after `Limits.ring_seconds`; then the call's Url (or Twiml) runs like any call's and the
driver answers its Gathers. Busy and failed calls end at once; no-answer rings for the call's
Timeout. Neither requests the Url.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ivr.emulator.call import Call, Driver
from ivr.emulator.callbacks import StatusCallback
from ivr.emulator.exchange import Exchange
from ivr.emulator.flow import ApiHungUp, ApiRedirect, CallerHungUp, Goto
from ivr.emulator.runner import CallRunner

CALLEE_BEHAVIOURS = frozenset({"answer", "busy", "no-answer", "failed"})


@dataclass(frozen=True)
class Callee:
    """What the phone at a number does when the switch calls it through the REST API.

    `behaviour`: "answer", "busy", "no-answer" or "failed". `answers` go to the call's Gathers
    and Records in order (when they run out, the call waits for the driver); `talk`: seconds
    the callee talks once bridged before hanging up (None: until the other side does).
    """

    behaviour: str = "answer"
    answers: tuple[str, ...] = ()
    talk: float | None = None

    def __post_init__(self) -> None:
        if self.behaviour not in CALLEE_BEHAVIOURS:
            allowed = ", ".join(sorted(CALLEE_BEHAVIOURS))
            raise ValueError(f"a callee behaves as one of {allowed}, not {self.behaviour!r}")


@dataclass(frozen=True)
class OutboundRequest:
    """A call the REST API accepted and the switch has not started yet (status "queued")."""

    sid: str
    to: str
    from_: str
    first: Goto | str  # the Url to request once answered, or inline Twiml
    timeout: int
    callback: StatusCallback | None
    created_at: datetime
    canceled: bool = False  # ended through the API before it started


@dataclass(frozen=True)
class CallUpdate:
    """Status=completed|canceled (`status`) or new instructions (`redirect`) for a call."""

    sid: str
    status: str | None = None
    redirect: Goto | str | None = None


class NotInProgress(Exception):
    """Only a call in progress can be redirected (Twilio's 21220)."""


class Outbox:
    """REST requests about calls, waiting for the switch's next drive. Thread-safe."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._lock = threading.Lock()
        self._queued: dict[str, OutboundRequest] = {}
        self._updates: list[CallUpdate] = []

    def place(
        self,
        *,
        to: str,
        from_: str,
        first: Goto | str,
        timeout: int,
        callback: StatusCallback | None,
    ) -> OutboundRequest:
        """Accept a new call; it starts at the switch's next drive."""
        x = self._exchange
        with self._lock:  # the sid is drawn under the lock, so sids follow the queue's order
            request = OutboundRequest(
                x.new_sid("CA"), to, from_, first, timeout, callback, x.clock.now()
            )
            self._queued[request.sid] = request
        return request

    def find(self, sid: str) -> OutboundRequest | Call | None:
        """The call `sid`, still queued or on the switch (never between the two)."""
        with self._lock:
            return self._queued.get(sid) or self._exchange.calls.get(sid)

    def all_calls(self) -> list[Call | OutboundRequest]:
        """Every call, started ones in the order they started, then the queued ones."""
        with self._lock:
            return [*self._exchange.calls.values(), *self._queued.values()]

    def update(
        self, sid: str, *, status: str | None = None, redirect: Goto | str | None = None
    ) -> OutboundRequest | Call | None:
        """Ask for a change to call `sid`; returns the call as it is now (None: no such call).

        Raises `NotInProgress` for a redirect of a call that is not in progress.
        """
        with self._lock:
            if (request := self._queued.get(sid)) is not None:
                if redirect is not None:
                    raise NotInProgress(sid)
                if status is not None:
                    request = self._queued[sid] = replace(request, canceled=True)
                return request
            call = self._exchange.calls.get(sid)
            if call is None:
                return None
            if redirect is not None and call.status != "in-progress":
                raise NotInProgress(sid)
            if not call.ended and (status is not None or redirect is not None):
                self._updates.append(CallUpdate(sid, status, redirect))
            return call

    def deliver(self, callees: Mapping[str, Callee], driver: Driver) -> bool:
        """Start the queued calls and pass on the updates. Runs on the switch's loop. True
        when there was anything to do."""
        x = self._exchange
        with self._lock:  # a call moves from the queue to `calls` in one step for `find`
            if not self._queued and not self._updates:
                return False
            requests, self._queued = list(self._queued.values()), {}
            updates, self._updates = self._updates, []
            started = [(request, _start(x, request)) for request in requests]
        for request, call in started:
            callee = callees.get(request.to, Callee())
            call._driver = driver
            call.talk = callee.talk
            call.queue_answers(callee.answers)
            x.scheduler.spawn(_ring(x, call, request, callee.behaviour))
        for update in updates:
            if x.limits.update_seconds > 0:
                x.scheduler.spawn(_apply_later(x, update, x.limits.update_seconds))
            else:
                _apply(x, update)
        return True


def _start(x: Exchange, request: OutboundRequest) -> Call:
    return x.new_call(request.from_, request.to, sid=request.sid, direction="outbound-api")


async def _apply_later(x: Exchange, update: CallUpdate, seconds: float) -> None:
    """Twilio's delay between answering an update and carrying it out (Limits.update_seconds)."""
    deadline = x.clock.now() + timedelta(seconds=seconds)
    await x.scheduler.wait(object(), seconds, deadline)
    _apply(x, update)


def _apply(x: Exchange, update: CallUpdate) -> None:
    call = x.calls.get(update.sid)
    if call is None or call.ended:
        return
    if update.status == "canceled" and call.answered_at is not None:
        return  # Twilio: `canceled` only ends calls that are queued or ringing
    if update.status is not None:
        x.scheduler.interrupt(call, ApiHungUp())
    elif update.redirect is not None:
        x.scheduler.interrupt(call, ApiRedirect(update.redirect))


async def _ring(x: Exchange, call: Call, request: OutboundRequest, behaviour: str) -> None:
    """An outbound call's life: ring the callee, then run its TwiML if they pick up."""
    runner = CallRunner(x, call, request.first, callback=request.callback)
    if request.canceled:
        await runner.finish("canceled")
        return
    await runner.progress("initiated", "initiated")
    if behaviour in ("busy", "failed"):
        await runner.finish(behaviour)
        return
    await runner.progress("ringing", "ringing")
    ring = x.limits.ring_seconds
    picks_up = behaviour == "answer" and ring <= request.timeout
    try:
        await runner.wait(ring if picks_up else request.timeout)
    except CallerHungUp:  # ended through the API while it rang
        await runner.finish("canceled")
        return
    if not picks_up:
        await runner.finish("no-answer")
        return
    runner.mark_answered()
    await runner.progress("answered", "in-progress")
    await runner.run()
