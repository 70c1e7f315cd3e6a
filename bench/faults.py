"""Faults under load, measured from the callers' side: the surge's whole calls (bench.surge)
with every webhook timed, a fault injected while they run, and what became of the records.

`surge_under_fault` places the surge's callers against a running `ivr serve`; once `after`
webhooks have been answered, the fault begins (`Fault.begin`), and it ends (`Fault.end`) once
`lasting` more have been answered or `longest` seconds have passed. Every call's row is then
checked as in the surge (bench.surge_records), for the calls whose webhooks were all answered:
their records were acknowledged. `burst_with_kill` is the other fault: a burst of status
callbacks, the server killed (SIGKILL) in the middle, and every 204 looked for afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from twilio.request_validator import RequestValidator

from bench.surge import SAMPLE_REGIONS, Observed, _finish, _observe
from bench.surge_plan import SURGE_START, PlannedCall, open_lines, plan_surge
from bench.surge_records import RecordCheck, check_records
from bench.surge_wire import CountingForwarder, InFlight
from ivr.config.regions import load_regions
from ivr.emulator import Call, Switch, VirtualClock
from ivr.store import Store
from ivr.store.models import Call as CallRow

# A webhook answered later than this counts as late (Twilio waits 15 s; we promise 2 s).
LATE_SECONDS = 2.0
BURST_CALLER, BURST_LINE = "+12025550188", "+12025550142"


@dataclass(frozen=True)
class Answer:
    """One webhook as the caller's side saw it: its path, status (None: no answer) and time."""

    path: str
    status: int | None
    seconds: float
    at: float = 0.0  # when it was sent (time.time())


class Timings:
    """Every webhook of a run, in the order answered; wakes whoever waits for a count."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self._changed = threading.Condition()

    def add(self, answer: Answer) -> None:
        with self._changed:
            self.answers.append(answer)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Until `count` webhooks have been answered; False after `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.answers) >= count, timeout)

    @property
    def late(self) -> list[Answer]:
        return [a for a in self.answers if a.status is not None and a.seconds > LATE_SECONDS]

    @property
    def unanswered(self) -> list[Answer]:
        """No answer at all, or the forwarder's 502 for a server that did not answer."""
        return [a for a in self.answers if a.status is None or a.status == 502]

    @property
    def slowest(self) -> float:
        return max((a.seconds for a in self.answers), default=0.0)


class TimedForwarder:
    """ASGI: times each request through `inner` (the surge's forwarder) into `timings`."""

    def __init__(self, inner: ASGIApp, timings: Timings) -> None:
        self.inner = inner
        self.timings = timings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        sent, started = time.time(), time.perf_counter()
        try:
            await self.inner(scope, receive, sending)
        finally:  # also when the switch gives up waiting (Twilio's 15 s)
            seconds = time.perf_counter() - started
            answered = status[0] if status else None
            self.timings.add(Answer(scope["path"], answered, seconds, sent))


@dataclass
class Fault:
    """What to do to the service while the callers call, and for how long."""

    name: str
    begin: Callable[[], None]
    end: Callable[[], None]
    after: int  # webhooks answered before it begins
    lasting: int  # webhooks answered during it, at most
    longest: float  # seconds, at most
    began_at: float | None = None
    seconds: float = 0.0  # how long it lasted
    answered_during: int = 0


@dataclass(frozen=True)
class SurgeRun:
    """What one surge under a fault did and found."""

    calls: int
    at_once: int  # calls in progress together
    timings: Timings
    observed: tuple[Observed, ...]
    records: RecordCheck
    acknowledged: int  # calls whose every webhook was answered 2xx: their rows were promised
    wall_seconds: float
    peak_in_flight: int
    fault: Fault | None = None
    problems: tuple[str, ...] = field(default=())  # Twilio errors and warnings, driver failures

    @property
    def stored(self) -> int:
        return self.acknowledged - len(self.records.lost)


def surge_under_fault(
    base_url: str,
    token: str,
    public_url: str,
    store_url: str,
    calls: int,
    seed: int,
    fault: Fault | None = None,
    *,
    rounds: int = 1,
    patience: float = 30.0,
) -> SurgeRun:
    """The surge's `calls` callers against `base_url`, each calling `rounds` times in a row
    (so `calls` calls are in progress for the whole run), with `fault` injected meanwhile;
    then the rows of the calls answered throughout, read from `store_url` until right or
    `patience` seconds have passed (spooled records are replayed every few seconds)."""
    plans = plan_surge(open_lines(load_regions(SAMPLE_REGIONS)), calls * rounds, seed)
    timings, in_flight = Timings(), InFlight()
    barrier = threading.Barrier(calls)
    director = threading.Thread(target=_direct, args=(fault, timings), daemon=True)
    if fault is not None:
        director.start()
    wire = (base_url, token, public_url)

    def caller(first: int) -> list[Observed]:
        mine = plans[first::calls]
        return [
            _drive(plan, wire, timings, in_flight, barrier if n == 0 else None, seed)
            for n, plan in enumerate(mine)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=calls, thread_name_prefix="fault-call") as pool:
        observed = [seen for seens in pool.map(caller, range(calls)) for seen in seens]
    wall = time.perf_counter() - started
    if fault is not None:
        director.join()
    answered_throughout = [seen for seen in observed if _answered_throughout(seen)]
    expected = [row for seen in answered_throughout if (row := seen.expected_row()) is not None]
    records = check_records(store_url, expected, patience)
    problems = tuple(p for seen in observed for p in seen.problems) + tuple(
        seen.failure for seen in observed if seen.failure
    )
    return SurgeRun(
        calls=len(plans),
        at_once=calls,
        timings=timings,
        observed=tuple(observed),
        records=records,
        acknowledged=len(expected),
        wall_seconds=wall,
        peak_in_flight=in_flight.peak,
        fault=fault,
        problems=problems,
    )


def _answered_throughout(seen: Observed) -> bool:
    return seen.sid is not None and not seen.http_errors and not seen.failure


def _direct(fault: Fault, timings: Timings) -> None:
    """Begin the fault after `fault.after` answers, end it after `lasting` more or `longest`
    seconds. The callers' threads never wait for this one."""
    if not timings.wait_for(fault.after, timeout=120.0):
        return  # the surge ended first (too few webhooks): no fault
    fault.begin()
    fault.began_at = time.perf_counter()
    timings.wait_for(fault.after + fault.lasting, timeout=fault.longest)
    fault.answered_during = len(timings.answers) - fault.after
    fault.end()
    fault.seconds = time.perf_counter() - fault.began_at


def _drive(
    plan: PlannedCall,
    wire: tuple[str, str, str],
    timings: Timings,
    in_flight: InFlight,
    barrier: threading.Barrier | None,
    seed: int,
) -> Observed:
    """One call on a switch of its own, as in bench.surge, through a timed forwarder; the
    first of each caller waits at `barrier` for the others."""
    base_url, token, public_url = wire
    switch: Switch | None = None
    call: Call | None = None
    failure = None
    try:
        forwarder = TimedForwarder(CountingForwarder(base_url, public_url, in_flight), timings)
        switch = Switch(
            forwarder,
            clock=VirtualClock(SURGE_START),
            auth_token=token,
            public_url=public_url,
            seed=seed * 100_003 + plan.index,
        )
        if barrier is not None:
            barrier.wait()
        call = switch.dial(plan.caller, plan.line.hotline, answers=plan.keys)
        _finish(switch, call, plan)
    except Exception as error:  # reported; the other callers go on
        if barrier is not None:
            barrier.abort()
        failure = f"caller {plan.index} ({plan.caller}): {type(error).__name__}: {error}"
    finally:
        if switch is not None:
            switch.close()
    return _observe(plan, switch, call, failure)


# -- kill -9 in a burst of status callbacks -----------------------------------------------------
def burst_with_kill(
    base_url: str,
    signing: tuple[str, str],
    pid: int,
    total: int,
    kill_after: int,
    concurrency: int = 16,
) -> tuple[Timings, list[str], float]:
    """POST `total` status callbacks, `concurrency` at a time, signed with `signing` (the auth
    token, the public URL); SIGKILL `pid` (a server this benchmark started) once `kill_after`
    are acknowledged. Timings, acknowledged CallSids, seconds."""
    sids = iter(f"CA{uuid.uuid4().hex}" for _ in range(total))
    timings, acknowledged = Timings(), []
    token, public_url = signing
    validator = RequestValidator(token)

    async def worker(client: httpx.AsyncClient) -> None:
        for call_sid in sids:
            form = {
                "CallSid": call_sid,
                "From": BURST_CALLER,
                "To": BURST_LINE,
                "CallStatus": "completed",
                "CallDuration": "42",
            }
            signature = validator.compute_signature(f"{public_url}/voice/status", form)
            headers = {"X-Twilio-Signature": signature, **_forwarded(public_url)}
            sent, started = time.time(), time.perf_counter()
            try:
                answer = await client.post(f"{base_url}/voice/status", data=form, headers=headers)
            except httpx.TransportError:
                timings.add(Answer("/voice/status", None, time.perf_counter() - started, sent))
                continue  # killed mid-request, or down: never acknowledged
            seconds = time.perf_counter() - started
            timings.add(Answer("/voice/status", answer.status_code, seconds, sent))
            if answer.status_code == 204:
                acknowledged.append(call_sid)
                if len(acknowledged) == kill_after:
                    os.kill(pid, signal.SIGKILL)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=15.0) as client:
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(run())
    return timings, acknowledged, time.perf_counter() - started


def _forwarded(public_url: str) -> dict[str, str]:
    """What a proxy in front of the server would add (the server signs over the public URL)."""
    public = urlsplit(public_url)
    return {"X-Forwarded-Proto": public.scheme, "X-Forwarded-Host": public.netloc}


def stored_status_callbacks(store_url: str, sids: list[str], patience: float) -> int:
    """How many of `sids` have their completed status row, read again for up to `patience`
    seconds while a restarted server replays its spool."""
    store = Store.connect(store_url)
    wanted = set(sids)
    deadline = time.monotonic() + patience
    try:
        while True:
            with store.engine.connect() as connection:
                rows = connection.execute(
                    select(CallRow.call_sid).where(
                        CallRow.status == "completed", CallRow.duration == 42
                    )
                ).scalars()
                found = wanted & set(rows)
            if len(found) == len(wanted) or time.monotonic() > deadline:
                return len(found)
            time.sleep(0.2)
    finally:
        store.close()


def server_timings(base_url: str) -> dict[str, float]:
    """The server's own count of webhooks answered within each bucket of
    ivr_webhook_duration_seconds (all routes together), from its /metrics (open on loopback)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5.0).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("ivr_webhook_duration_seconds_bucket{"):
            bucket = line.split('le="', 1)[1].split('"', 1)[0]
            counts[bucket] = counts.get(bucket, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts
