"""<Dial>: ringing numbers and clients, taking callers from queues, and the bridged talk.

The switch knows no real phones: a dialled number or client rings for the Dial timeout and
gives no-answer, unless the test registers it in `switch.endpoints` as a number of seconds it
talks once it answers (after `Limits.ring_seconds` of ringing) or as "busy".
"""

from __future__ import annotations

from ivr.emulator import queueing
from ivr.emulator.call import Call
from ivr.emulator.errors import Finding, Problem
from ivr.emulator.events import BridgeEvent, DialEndEvent, DialEvent
from ivr.emulator.flow import ApiRedirect, CallerHungUp, DialProgress, Goto, Keyed, Peer
from ivr.emulator.scheduler import Wake
from ivr.emulator.verb_runner import VerbRunner
from ivr.emulator.verbs import Dial, DialNoun


async def dial(runner: VerbRunner, verb: Dial) -> Goto | None:
    """Dial, then post the outcome to the action URL, or go on with the next verb."""
    runner.emit(
        DialEvent, nouns=tuple(noun.describe() for noun in verb.nouns), timeout=verb.timeout
    )
    progress = DialProgress()
    queue_noun = next((noun for noun in verb.nouns if noun.kind == "queue"), None)
    try:
        if queue_noun is not None:
            await _dial_queue(runner, verb, queue_noun, progress)
        else:
            await _dial_endpoints(runner, verb, progress)
    except CallerHungUp:
        # Twilio still posts the Dial action when the caller hangs up; the answer is ignored.
        _end(runner, progress)
        if verb.action is not None:
            await runner.notify(_action(verb, progress))
        raise
    except ApiRedirect:
        _end(runner, progress)  # the call goes on with its new TwiML, not with the action
        raise
    _end(runner, progress)
    return None if verb.action is None else _action(verb, progress)


def _end(runner: VerbRunner, progress: DialProgress) -> None:
    if progress.bridged and progress.ended_at is None:
        progress.ended_at = runner.x.clock.now()
    runner.emit(DialEndEvent, progress.status, progress.peer, progress.duration, progress.bridged)


def _action(verb: Dial, progress: DialProgress) -> Goto:
    params = {"DialCallStatus": progress.status, "DialBridged": str(progress.bridged).lower()}
    if progress.peer is not None:
        params["DialCallSid"] = progress.peer
    if progress.bridged:
        params["DialCallDuration"] = str(progress.duration)
    return Goto(verb.action, verb.method, "action", {**params, **progress.extra}, verb.element)


async def _dial_queue(
    runner: VerbRunner, verb: Dial, noun: DialNoun, progress: DialProgress
) -> None:
    queue = runner.x.queues.get(noun.target)
    if queue is None:
        message = f"there is no queue named {noun.target!r}; Dial posts DialCallStatus=failed"
        runner.report(Finding(Problem.QUEUE_NOT_FOUND, message, verb.element))
        progress.status = "failed"
        return
    member = await queueing.take_member(runner, queue, verb.timeout)
    if member is None:
        return
    connection = queueing.dequeue(runner, queue, member, noun)
    progress.peer = member.call_sid
    progress.extra = {"QueueSid": queue.sid, "QueueTime": str(connection.queue_time)}
    try:
        reply = await runner.wait(None)  # the caller hears the <Queue url> document first
    except (CallerHungUp, ApiRedirect):
        connection.agent_gone = True
        raise
    if reply is Peer.BRIDGED:
        await _talk(runner, verb, progress, peer=member.call)


async def _dial_endpoints(runner: VerbRunner, verb: Dial, progress: DialProgress) -> None:
    progress.peer = runner.x.new_sid("CA")
    behaviours = [runner.x.endpoints.get(noun.target) for noun in verb.nouns]
    talk_times = [float(b) for b in behaviours if isinstance(b, int | float)]
    ring = runner.x.limits.ring_seconds
    if talk_times and ring <= verb.timeout:
        await runner.elapse(ring)
        await _talk(runner, verb, progress, endpoint_seconds=talk_times[0])
    elif behaviours and all(behaviour == "busy" for behaviour in behaviours):
        progress.status = "busy"
    else:
        await runner.elapse(verb.timeout)


async def _talk(
    runner: VerbRunner,
    verb: Dial,
    progress: DialProgress,
    peer: Call | None = None,
    endpoint_seconds: float | None = None,
) -> None:
    """The bridged conversation, ended by whichever side or limit comes first."""
    call, scheduler = runner.call, runner.x.scheduler
    runner.emit(BridgeEvent, peer=progress.peer or "")
    progress.status, progress.bridged_at = "completed", runner.x.clock.now()
    others = [float(verb.time_limit)] + ([] if endpoint_seconds is None else [endpoint_seconds])
    limit = min(others + ([] if call.talk is None else [call.talk]))
    settled = call.talk is None and endpoint_seconds is None
    call.star_ends_talk = verb.hangup_on_star
    try:
        woken = await runner.wait(limit, settled=settled)
    except Exception:
        if peer is not None:
            scheduler.signal(peer, Peer.ENDED)
        raise
    finally:
        progress.ended_at = runner.x.clock.now()
        call.star_ends_talk = False
    if woken is Keyed.STAR:  # this side ended the talk and stays: the Dial action comes next
        if peer is not None:
            scheduler.signal(peer, Peer.ENDED)
        return
    if woken is not Wake.TIMEOUT:
        return  # the queued caller hung up
    if peer is not None:
        scheduler.signal(peer, Peer.ENDED)
    if call.talk is not None and call.talk < min(others):
        runner.caller_hangs_up()  # this side's own talk time is over
        raise CallerHungUp()
