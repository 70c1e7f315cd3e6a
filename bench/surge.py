"""A surge of whole calls against a running `ivr serve`, and a check that no record was lost.

`run_surge` places N emulated calls at the same virtual moment (see `bench.surge_plan`): each
goes through the menus into its queue, hears several rounds of wait music while the virtual
clock runs, then an agent takes it or the caller hangs up; a few callers only hear
self-service guidance, a few leave the queue with 1 for the other channels. Afterwards every
call's row is read from the server's database and compared with what happened on the wire.

How the calls run at once: one switch runs the calls it holds one at a time (its scheduler is
deterministic, so requests of calls resting at the same virtual moment would go one after
another). So every caller gets a switch of its own on a thread of its own, each switch's
clock starting at SURGE_START; a barrier releases them together, and the caller's agent is
placed on the caller's switch. Requests of different callers then reach the server
concurrently, as many as there are callers waiting for an answer; `bench.surge_wire` counts
them on their way.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.surge_plan import (
    BRIDGED,
    HANGUP,
    SELF_SERVED,
    SURGE_START,
    PlannedCall,
    open_lines,
    plan_surge,
)
from bench.surge_records import ExpectedRow, RecordCheck, check_records
from bench.surge_wire import CountingForwarder, InFlight
from ivr.config.regions import load_regions
from ivr.emulator import Call, Switch, VirtualClock
from ivr.emulator.events import (
    EnqueueEvent,
    LeaveEvent,
    ProblemEvent,
    RequestEvent,
    StatusEvent,
)
from ivr.web.twiml import agent_takes_queue

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_REGIONS = ROOT / "regions.toml"
DEFAULT_CALLS = 300
DEFAULT_SEED = 20260303
# A call still going after this much virtual time counts as one that did not end.
MAX_CALL_SECONDS = 1800.0
CONNECT_PATH = "/voice/queue/connect"
# The outcome the service keeps, by how the caller's wait ended (None: never queued). A caller
# who left the line is still counted as queued when the call ends, so abandoned.
OUTCOMES = {None: "self-served", "bridged": "bridged", "hangup": "abandoned", "leave": "abandoned"}


@dataclass(frozen=True)
class Observed:
    """What the switch saw of one planned caller (and the agent who took them)."""

    plan: PlannedCall
    sid: str | None = None
    status: str | None = None  # the final CallStatus of the status callback
    duration: int | None = None
    queue: str | None = None  # the queue the caller entered
    queue_result: str | None = None
    requests: Counter[str] = field(default_factory=Counter)  # by purpose, every leg
    http_errors: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # Twilio errors and warnings, application errors
    legs: int = 0
    ended: bool = False
    failure: str | None = None  # the driver itself failed

    def expected_row(self) -> ExpectedRow | None:
        """The row the service should hold for this call, from what happened on the wire."""
        if self.sid is None:
            return None
        plan, queued = self.plan, self.queue is not None
        return ExpectedRow(
            call_sid=self.sid,
            caller=plan.caller,
            region=plan.line.region,
            language=plan.language,
            status=self.status,
            duration=self.duration,
            path=plan.path,
            queue=self.queue,
            queue_result=self.queue_result,
            outcome=OUTCOMES.get(self.queue_result, f"? ({self.queue_result})"),
            reason=plan.reason if queued else None,
            transaction_ref=plan.reference if queued else None,
        )

    @property
    def off_script(self) -> str | None:
        """How the call strayed from its plan (a queue or an ending other than planned)."""
        plan = self.plan
        wanted = None if plan.fate == SELF_SERVED else plan.fate
        if (self.queue, self.queue_result) == (plan.queue, wanted):
            return None
        return (
            f"{self.sid} ({plan.journey}, {plan.line.region}/{plan.language}): queue"
            f" {self.queue!r} ended {self.queue_result!r}, planned {plan.queue!r} {wanted!r}"
        )


@dataclass(frozen=True)
class SurgeSummary:
    """What one surge did and found."""

    calls: int
    lines: tuple[str, ...]  # "region/language" pairs the callers used
    fates: dict[str, int]  # planned: bridged, hangup, leave, self-served
    agents: int
    requests: int
    by_purpose: dict[str, int]
    http_errors: tuple[str, ...]
    problems: tuple[str, ...]
    driver_failures: tuple[str, ...]
    unanswered: tuple[str, ...]  # requests the server never answered (seen as 502)
    not_ended: tuple[str, ...]
    off_script: tuple[str, ...]
    records: RecordCheck
    peak_in_flight: int
    wall_seconds: float
    longest_call_seconds: int

    @property
    def errors(self) -> int:
        return len(self.http_errors) + len(self.problems) + len(self.driver_failures)

    @property
    def lost(self) -> tuple[str, ...]:
        return self.records.lost

    @property
    def clean(self) -> bool:
        """No error, every call ended as planned, every record kept."""
        return not (self.errors or self.not_ended or self.off_script or self.lost)


def run_surge(
    base_url: str,
    token: str,
    public_url: str,
    store_url: str,
    calls: int = DEFAULT_CALLS,
    seed: int = DEFAULT_SEED,
    *,
    sample: Path = SAMPLE_REGIONS,
    patience: float = 15.0,
) -> SurgeSummary:
    """Run the surge against the `ivr serve` at `base_url` (signing with `token` over
    `public_url`, its IVR_PUBLIC_URL), then check its database at `store_url`.

    The server must serve the regions of `sample` open at SURGE_START around the clock (see
    `surge_plan.staffed_around_the_clock`): it keeps the real time. `patience`: seconds to
    wait for records the server spooled to be replayed before calling them lost."""
    plans = plan_surge(open_lines(load_regions(sample)), calls, seed)
    in_flight = InFlight()
    barrier = threading.Barrier(len(plans))
    wire = (base_url, token, public_url)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(plans), thread_name_prefix="surge-call") as pool:
        observed = list(pool.map(lambda plan: _drive(plan, wire, in_flight, barrier, seed), plans))
    wall = time.perf_counter() - started
    expected = [row for seen in observed if (row := seen.expected_row()) is not None]
    records = check_records(store_url, expected, patience)
    return _summary(observed, in_flight, records, wall)


def _drive(
    plan: PlannedCall,
    wire: tuple[str, str, str],
    in_flight: InFlight,
    barrier: threading.Barrier,
    seed: int,
) -> Observed:
    """One caller on a switch of its own: dialled when every thread is ready."""
    base_url, token, public_url = wire
    switch: Switch | None = None
    call: Call | None = None
    failure = None
    try:
        forwarder = CountingForwarder(base_url, public_url, in_flight)
        switch = Switch(
            forwarder,
            clock=VirtualClock(SURGE_START),
            auth_token=token,
            public_url=public_url,
            seed=seed * 100_003 + plan.index,  # CallSids come from the seed: one each
        )
        barrier.wait()
        call = switch.dial(plan.caller, plan.line.hotline, answers=plan.keys)
        _finish(switch, call, plan)
    except Exception as error:  # reported in the summary; the other callers go on
        barrier.abort()
        failure = f"caller {plan.index} ({plan.caller}): {type(error).__name__}: {error}"
    finally:
        if switch is not None:
            switch.close()
    return _observe(plan, switch, call, failure)


def _finish(switch: Switch, call: Call, plan: PlannedCall) -> None:
    """After the menus: the agent comes, the caller hangs up, or they go on by themselves."""
    if plan.fate == SELF_SERVED:
        if not call.ended:
            call.hangup()  # guidance heard; they hang up at the next menu
    elif plan.fate == BRIDGED:

        def agent() -> str | None:
            queue = call.queue
            return None if queue is None else agent_takes_queue(queue, CONNECT_PATH, timeout=30)

        switch.dial_twiml_later(
            plan.after, agent, from_=f"client:agent-{plan.index}", talk=plan.talk
        )
    elif plan.fate == HANGUP:
        switch.run(plan.after)
        if not call.ended:
            call.hangup()
    waited = 0.0
    while not all(leg.ended for leg in switch.calls.values()) and waited < MAX_CALL_SECONDS:
        switch.run(60)
        waited += 60


def _observe(
    plan: PlannedCall, switch: Switch | None, call: Call | None, failure: str | None
) -> Observed:
    if switch is None or call is None:
        return Observed(plan, failure=failure)
    requests: Counter[str] = Counter()
    http_errors, problems = [], []
    for leg in switch.calls.values():
        for event in leg.events:
            if isinstance(event, RequestEvent):
                requests[event.purpose] += 1
                if event.status is None or not 200 <= event.status < 300:
                    http_errors.append(f"{leg.sid}: {event.method} {event.url} -> {event.status}")
            elif isinstance(event, ProblemEvent):
                problems.append(f"{leg.sid}: {event.type} {event.code} {event.title}")
        if leg.status == "failed":
            problems.append(f"{leg.sid}: the call failed (an application error)")
    status = next((e for e in reversed(call.events) if isinstance(e, StatusEvent)), None)
    entered = next((e for e in call.events if isinstance(e, EnqueueEvent)), None)
    left = next((e for e in reversed(call.events) if isinstance(e, LeaveEvent)), None)
    return Observed(
        plan=plan,
        sid=call.sid,
        status=None if status is None else status.status,
        duration=None if status is None else status.duration,
        queue=None if entered is None else entered.queue,
        queue_result=None if left is None else left.result,
        requests=requests,
        http_errors=tuple(http_errors),
        problems=tuple(problems),
        legs=len(switch.calls),
        ended=all(leg.ended for leg in switch.calls.values()),
        failure=failure,
    )


def _summary(
    observed: list[Observed], in_flight: InFlight, records: RecordCheck, wall: float
) -> SurgeSummary:
    by_purpose: Counter[str] = Counter()
    for seen in observed:
        by_purpose.update(seen.requests)
    pairs = dict.fromkeys(f"{s.plan.line.region}/{s.plan.language}" for s in observed)
    return SurgeSummary(
        calls=sum(1 for seen in observed if seen.sid is not None),
        lines=tuple(pairs),
        fates=dict(Counter(seen.plan.fate for seen in observed).most_common()),
        agents=sum(max(0, seen.legs - 1) for seen in observed),
        requests=sum(by_purpose.values()),
        by_purpose=dict(by_purpose.most_common()),
        http_errors=tuple(error for seen in observed for error in seen.http_errors),
        problems=tuple(problem for seen in observed for problem in seen.problems),
        driver_failures=tuple(seen.failure for seen in observed if seen.failure),
        unanswered=tuple(in_flight.failures),
        not_ended=tuple(f"{s.sid} ({s.plan.journey})" for s in observed if s.sid and not s.ended),
        off_script=tuple(s.off_script for s in observed if s.sid and s.off_script),
        records=records,
        peak_in_flight=in_flight.peak,
        wall_seconds=wall,
        longest_call_seconds=max((seen.duration or 0 for seen in observed), default=0),
    )
