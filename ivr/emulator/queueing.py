"""Queues on the line: <Enqueue> and its waitUrl loop on the caller's side, and taking the first
caller of a queue for an agent's <Dial><Queue>.

A queued caller loops over the waitUrl document (fetched again whenever it runs out of verbs)
until it leaves (<Leave/>, hang-up, a failing document) or an agent takes it; then the <Queue url>
document runs on the caller's leg and both legs are bridged until one side hangs up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.emulator.documents import Context
from ivr.emulator.errors import Finding, Problem, TwilioError
from ivr.emulator.events import (
    BridgeEvent,
    DequeuedEvent,
    EnqueueEvent,
    LeaveEvent,
    PlayEvent,
    QueueEvent,
)
from ivr.emulator.exchange import Exchange
from ivr.emulator.flow import (
    ApiRedirect,
    AppHungUp,
    CallerHungUp,
    Connection,
    Dequeued,
    Goto,
    LeaveQueue,
    Peer,
)
from ivr.emulator.queues import Queue, QueueMember, QueueResult
from ivr.emulator.scheduler import Wake
from ivr.emulator.verb_runner import VerbRunner
from ivr.emulator.verbs import DialNoun, Enqueue

# What Twilio plays to a queued caller when <Enqueue> has no waitUrl.
DEFAULT_HOLD_MUSIC = "https://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
# Emulator limits and boundaries end the call wherever they happen, queue or not.
_FATAL_ANYWAY = frozenset(
    {Problem.MAX_CALL_DURATION, Problem.MAX_DOCUMENTS, Problem.UNSUPPORTED_TWIML}
)


@dataclass(eq=False)
class Stay:
    """One caller's time in a queue."""

    queue: Queue
    member: QueueMember
    left_at: datetime | None = None
    result_on_hangup: QueueResult = QueueResult.HANGUP

    def params(self, result: QueueResult, now: datetime) -> dict[str, str]:
        """The QueueResult, QueueSid and QueueTime of the <Enqueue> action."""
        waited = int(((self.left_at or now) - self.member.enqueued_at).total_seconds())
        return {"QueueResult": result, "QueueSid": self.queue.sid, "QueueTime": str(waited)}


async def enqueue(runner: VerbRunner, verb: Enqueue) -> Goto | None:
    """Put the caller in the named queue until it leaves; then post the action, or go on with
    the next verb when <Enqueue> has none."""
    x, call = runner.x, runner.call
    queue = x.queues.get_or_create(verb.name)
    if queue.full:
        message = f"queue {queue.name!r} already holds its maximum of {queue.max_size} calls"
        runner.report(Finding(Problem.QUEUE_FULL, message, verb.element))
        runner.emit(LeaveEvent, queue=queue.name, result=QueueResult.QUEUE_FULL)
        return _after(verb, {"QueueResult": QueueResult.QUEUE_FULL})
    stay = Stay(queue, QueueMember(call, x.clock.now()))
    queue.members.append(stay.member)
    call.queue = queue.name
    runner.emit(EnqueueEvent, queue=queue.name, position=queue.size)
    _wake_first_agent(x, queue)
    try:
        result = await _wait_in_queue(runner, verb, stay)
    except (CallerHungUp, AppHungUp, ApiRedirect) as left:
        # The action is still posted (its answer ignored): the call is gone or has new TwiML.
        result = _redirected(stay) if isinstance(left, ApiRedirect) else stay.result_on_hangup
        _leave(runner, stay, result)
        if nav := _after(verb, stay.params(result, x.clock.now())):
            await runner.notify(nav)
        raise
    _leave(runner, stay, result)
    return _after(verb, stay.params(result, x.clock.now()))


def leave(runner: VerbRunner, context: Context) -> None:
    """<Leave/>: in a waitUrl document it ends the wait; elsewhere there is no queue to leave."""
    if context is Context.WAIT:
        raise LeaveQueue()


def _after(verb: Enqueue, params: dict[str, str]) -> Goto | None:
    if verb.action is None:
        return None
    return Goto(verb.action, verb.method, "action", params, verb.element)


def _redirected(stay: Stay) -> QueueResult:
    """The QueueResult of a caller redirected out of the queue by a REST update."""
    if stay.result_on_hangup is QueueResult.BRIDGED:
        return QueueResult.REDIRECTED_FROM_BRIDGED
    return QueueResult.REDIRECTED


def _leave(runner: VerbRunner, stay: Stay, result: QueueResult) -> None:
    if stay.member in stay.queue.members:
        stay.queue.members.remove(stay.member)
    stay.left_at = stay.left_at or runner.x.clock.now()
    runner.call.queue = None
    runner.emit(LeaveEvent, queue=stay.queue.name, result=result)


async def _wait_in_queue(runner: VerbRunner, verb: Enqueue, stay: Stay) -> QueueResult:
    try:
        while True:
            runner.checkpoint()
            await _poll(runner, verb, stay)
            # Between two rounds of the wait document: a driver watching this caller gets
            # control back here (the loop itself would never end).
            await runner.wait(0, settled=True)
    except LeaveQueue:
        return QueueResult.LEAVE
    except Dequeued as dequeued:
        return await _connect(runner, stay, dequeued.connection)
    except TwilioError as error:
        if error.finding.problem in _FATAL_ANYWAY:
            raise
        row = error.finding.row
        message = (
            f"the waitUrl document failed ({row.code or 'emulator'} {row.title}: "
            f"{error.finding.message}); the caller leaves the queue with QueueResult=error"
        )
        runner.report(Finding(Problem.WAIT_URL_FAILED, message, error.finding.element))
        return QueueResult.ERROR


async def _poll(runner: VerbRunner, verb: Enqueue, stay: Stay) -> None:
    """One round of the wait loop: the waitUrl document once, or hold music, or silence."""
    now = runner.x.clock.now()
    queue, member = stay.queue, stay.member
    position = queue.position(runner.call) or 0
    waited = member.waited(now)
    runner.emit(QueueEvent, queue=queue.name, position=position, size=queue.size, waited=waited)
    if verb.wait_url is None:
        runner.emit(PlayEvent, url=DEFAULT_HOLD_MUSIC, loop=1, digits=None)
        await runner.elapse(runner.x.limits.play_seconds)
    elif verb.wait_url == "":
        await runner.wait(None, settled=True)  # waitUrl="" means silence until dequeued
    else:
        params = {
            "QueuePosition": str(position),
            "QueueSid": queue.sid,
            "QueueTime": str(waited),
            "AvgQueueTime": str(queue.average_wait(now)),
            "CurrentQueueSize": str(queue.size),
            "MaxQueueSize": str(queue.max_size),
        }
        nav = Goto(verb.wait_url, verb.wait_url_method, "wait", params, verb.element)
        await runner.follow(nav, Context.WAIT)


async def _connect(runner: VerbRunner, stay: Stay, connection: Connection) -> QueueResult:
    """Taken by an agent: run the <Queue url> document, then talk until the bridge ends."""
    x, call, agent = runner.x, runner.call, connection.agent
    stay.left_at = connection.dequeued_at
    stay.result_on_hangup = QueueResult.BRIDGING_IN_PROCESS
    call.queue = None
    runner.emit(DequeuedEvent, queue=stay.queue.name, by=agent.sid, waited=connection.queue_time)
    try:
        await _queue_url_document(runner, connection)
    except Exception:
        x.scheduler.signal(agent, Peer.GONE)
        raise
    if connection.agent_gone:
        # The agent hung up while this leg was still hearing the <Queue url> document.
        return QueueResult.BRIDGING_IN_PROCESS
    stay.result_on_hangup = QueueResult.BRIDGED
    runner.emit(BridgeEvent, peer=agent.sid)
    x.scheduler.signal(agent, Peer.BRIDGED)
    try:
        woken = await runner.wait(call.talk, settled=call.talk is None)
    except Exception:
        x.scheduler.signal(agent, Peer.HUNG_UP)
        raise
    if woken is Wake.TIMEOUT:  # this caller's own talk time is over: they hang up
        x.scheduler.signal(agent, Peer.HUNG_UP)
        runner.caller_hangs_up()
        raise CallerHungUp()
    return QueueResult.BRIDGED


async def _queue_url_document(runner: VerbRunner, connection: Connection) -> None:
    noun = connection.noun
    if noun.url is None:
        return
    params = {
        "QueueSid": connection.queue.sid,
        "QueueTime": str(connection.queue_time),
        "DequeingCallSid": connection.agent.sid,
    }
    await runner.follow(Goto(noun.url, noun.method, "queue-url", params), Context.QUEUE_URL)


def _wake_first_agent(exchange: Exchange, queue: Queue) -> None:
    if queue.waiting_agents:
        exchange.scheduler.signal(queue.waiting_agents.pop(0), Peer.MEMBER_ARRIVED)


async def take_member(runner: VerbRunner, queue: Queue, timeout: int) -> QueueMember | None:
    """The first caller of `queue`, waiting up to `timeout` seconds for one to arrive."""
    deadline = runner.x.clock.now().timestamp() + timeout
    while not queue.members:
        remaining = deadline - runner.x.clock.now().timestamp()
        if remaining <= 0:
            return None
        queue.waiting_agents.append(runner.call)
        try:
            await runner.wait(remaining, settled=True)
        finally:
            if runner.call in queue.waiting_agents:
                queue.waiting_agents.remove(runner.call)
    return queue.members[0]


def dequeue(runner: VerbRunner, queue: Queue, member: QueueMember, noun: DialNoun) -> Connection:
    """Take `member` out of the line and tell its call (interrupting whatever it hears)."""
    queue.members.remove(member)
    connection = Connection(
        agent=runner.call,
        caller=member.call,
        queue=queue,
        noun=noun,
        enqueued_at=member.enqueued_at,
        dequeued_at=runner.x.clock.now(),
    )
    runner.x.scheduler.interrupt(member.call, Dequeued(connection))
    return connection
