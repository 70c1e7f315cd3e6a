"""Queues shared by several calls: <Enqueue>, the waitUrl loop, <Leave>, and agents taking
callers with <Dial><Queue>."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from ivr.emulator.call import CallNotWaiting

LINE = "+864001234567"
AGENT = "+8613900000000"
INCOMING = (
    "<Response><Enqueue waitUrl='/wait' action='/after'>support</Enqueue>"
    "<Say>Unreachable after an action</Say></Response>"
)
WAIT = "<Response><Say>Please hold</Say><Pause length='30'/></Response>"
AFTER = "<Response><Say>Goodbye</Say></Response>"
CONNECT = "<Response><Say>Connecting you now</Say></Response>"
TAKE = (
    '<Response><Dial action="/agent-done"><Queue url="/connect">support</Queue></Dial></Response>'
)


@pytest.fixture
def twiml_app(make_app: Any) -> Any:
    return make_app(
        {
            "/voice/incoming": INCOMING,
            "/wait": WAIT,
            "/after": AFTER,
            "/connect": CONNECT,
            "/agent-done": "<Response><Say>Next caller?</Say></Response>",
        }
    )


def at(switch: Any, seconds: float) -> str:
    return (switch.clock.now() + timedelta(seconds=seconds)).isoformat()


def waited(switch: Any, call: Any) -> str:
    """Whole seconds since `call` started, as the QueueTime parameter spells it."""
    return str(int((switch.clock.now() - call.started_at).total_seconds()))


def queue_events(call: Any) -> list[dict[str, Any]]:
    return [e.to_json() for e in call.events if e.to_json()["type"] == "queue"]


def test_two_callers_wait_and_an_agent_takes_the_first(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    first = switch.dial("+8613800000001", to=LINE)
    second = switch.dial("+8613800000002", to=LINE, at=at(switch, 10))
    queue = switch.queues["support"]
    assert [member.call_sid for member in queue.members] == [first.sid, second.sid]
    assert (first.queue, second.queue) == ("support", "support")
    assert queue_events(second)[0]["position"] == 2

    agent = switch.dial_twiml(TAKE, from_=AGENT, talk=60)

    assert [member.call_sid for member in queue.members] == [second.sid]
    assert first.queue is None and any(e.to_json()["type"] == "bridge" for e in first.events)
    assert agent.status == "completed"
    switch.run(40)
    assert twiml_app.to("/wait")[-1].params["CallSid"] == second.sid
    assert twiml_app.to("/wait")[-1].params["QueuePosition"] == "1"
    assert queue_events(second)[-1]["position"] == 1


def test_queue_url_document_runs_on_the_callers_leg(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(25)
    queue_time = waited(switch, caller)
    agent = switch.dial_twiml(TAKE, from_=AGENT, talk=60)
    (connect,) = twiml_app.to("/connect")
    assert connect.params["CallSid"] == caller.sid
    assert connect.params["DequeingCallSid"] == agent.sid
    assert connect.params["QueueSid"] == switch.queues["support"].sid
    assert connect.params["QueueTime"] == queue_time
    assert "Connecting you now" in caller.heard and "Connecting you now" not in agent.heard


def test_enqueue_action_reports_bridged_after_the_talk(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(25)
    queue_time = waited(switch, caller)
    agent = switch.dial_twiml(TAKE, from_=AGENT, talk=60)
    switch.run()
    (after,) = twiml_app.to("/after")
    assert after.params["QueueResult"] == "bridged"
    assert after.params["QueueTime"] == queue_time
    assert after.params["QueueSid"] == switch.queues["support"].sid
    assert caller.hears("Goodbye") and caller.status == "completed"
    assert agent.status == "completed"
    agent_done = twiml_app.to("/agent-done")[0].params
    assert agent_done["DialCallStatus"] == "completed"
    assert agent_done["DialCallSid"] == caller.sid
    assert agent_done["DialBridged"] == "true"
    assert agent_done["DialCallDuration"] == "60"
    assert agent_done["QueueTime"] == queue_time


def test_star_ends_the_talk_of_a_hangup_on_star_dial_and_both_sides_go_on(
    twiml_app: Any, make_switch: Any
) -> None:
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(5)
    agent = switch.dial_twiml(TAKE.replace("<Dial ", '<Dial hangupOnStar="true" '), from_=AGENT)
    switch.run(30)
    agent.press_star()
    assert agent.hears("Next caller?")  # the agent went on with the Dial action
    assert twiml_app.to("/agent-done")[0].params["DialCallDuration"] == "30"
    (after,) = twiml_app.to("/after")
    assert after.params["QueueResult"] == "bridged" and caller.hears("Goodbye")
    # Without hangupOnStar, * is no way out of the talk.
    plain = switch.dial("+8613800000002", to=LINE)
    taker = switch.dial_twiml(TAKE, from_=AGENT)
    with pytest.raises(CallNotWaiting, match="hangupOnStar"):
        taker.press_star()
    for call in (plain, taker):
        call.hangup()


def test_agent_waits_for_a_caller_until_one_arrives(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    switch.set_queue_max_size("support", 10)
    agent = switch.dial_twiml(TAKE, from_=AGENT)
    assert agent.status == "in-progress" and switch.queues["support"].waiting_agents == [agent]
    caller = switch.dial("+8613800000001", to=LINE, at=at(switch, 12))
    bridge = [e.to_json() for e in agent.events if e.to_json()["type"] == "bridge"]
    assert bridge == [{**bridge[0], "peer": caller.sid}]
    assert bridge[0]["t"] == pytest.approx(12 + 1.2)  # after "Connecting you now" on the caller
    caller.hangup()
    done = twiml_app.to("/agent-done")[0].params
    assert (done["DialCallStatus"], done["QueueTime"]) == ("completed", "0")
    assert agent.hears("Next caller?")
    assert twiml_app.to("/after")[0].params["QueueResult"] == "bridged"


def test_agent_gives_up_after_the_dial_timeout(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    switch.set_queue_max_size("support", 10)
    agent = switch.dial_twiml(TAKE.replace("<Dial ", "<Dial timeout='20' "), from_=AGENT)
    agent.wait(25)
    done = twiml_app.to("/agent-done")[0]
    assert done.params["DialCallStatus"] == "no-answer" and "DialCallSid" not in done.params
    assert agent.events[-1].t == pytest.approx(20 + 1, abs=0.5)


def test_dialing_a_queue_that_does_not_exist_fails_the_dial(
    twiml_app: Any, make_switch: Any
) -> None:
    agent = make_switch(twiml_app).dial_twiml(TAKE, from_=AGENT)
    assert twiml_app.to("/agent-done")[0].params["DialCallStatus"] == "failed"
    assert agent.warnings[0].code is None and "no queue" in agent.warnings[0].message


def test_caller_leaves_from_a_gather_in_the_wait_document(make_app: Any, make_switch: Any) -> None:
    wait = (
        "<Response><Gather numDigits='1' action='/wait-choice'>"
        "<Say>Press 1 to leave</Say></Gather></Response>"
    )
    twiml_app = make_app(
        {
            "/voice/incoming": INCOMING,
            "/wait": wait,
            "/wait-choice": "<Response><Leave/></Response>",
            "/after": AFTER,
        }
    )
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    assert caller.prompt is not None and caller.queue == "support"
    caller.press("1")
    assert twiml_app.to("/after")[0].params["QueueResult"] == "leave"
    assert caller.hears("Goodbye") and switch.queues["support"].members == []


def test_full_queue_refuses_with_queue_full(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    switch.set_queue_max_size("support", 1)
    switch.dial("+8613800000001", to=LINE)
    second = switch.dial("+8613800000002", to=LINE)
    params = twiml_app.to("/after")[0].params
    assert params["QueueResult"] == "queue-full" and "QueueSid" not in params
    assert [w.code for w in second.warnings] == [14207]
    assert second.hears("Goodbye")


def test_hanging_up_in_the_queue_reports_hangup(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(45)
    caller.hangup()
    params = twiml_app.to("/after")[0].params
    assert (params["QueueResult"], params["QueueTime"]) == ("hangup", waited(switch, caller))
    assert params["CallStatus"] == "completed" and caller.status == "completed"
    assert switch.queues["support"].members == []


def test_wait_url_is_fetched_again_with_queue_parameters(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    switch.set_queue_max_size("support", 50)
    switch.dial("+8613800000001", to=LINE)  # returns after the first round: 31 s
    assert len(twiml_app.to("/wait")) == 1
    switch.run(70)
    polls = twiml_app.to("/wait")
    assert len(polls) == 4  # each round: "Please hold" (1 s) then 30 s of pause
    assert [poll.params["QueueTime"] for poll in polls] == ["0", "31", "62", "93"]
    assert polls[-1].params["AvgQueueTime"] == "93"
    assert polls[-1].params["CurrentQueueSize"] == "1"
    assert polls[-1].params["MaxQueueSize"] == "50"
    assert polls[-1].params["QueueSid"].startswith("QU")


def test_wait_url_can_be_fetched_with_get(make_app: Any, make_switch: Any) -> None:
    incoming = "<Response><Enqueue waitUrl='/wait' waitUrlMethod='GET'>support</Enqueue></Response>"
    twiml_app = make_app({"/voice/incoming": incoming, "/wait": WAIT}, auth_token="secret")
    make_switch(twiml_app).dial("+8613800000001", to=LINE)
    (poll,) = twiml_app.to("/wait")
    assert poll.method == "GET" and "QueuePosition=1" in poll.url


def test_bad_wait_document_leaves_with_error_and_falls_through(
    make_app: Any, make_switch: Any
) -> None:
    incoming = "<Response><Enqueue waitUrl='/wait'>support</Enqueue><Say>Sorry</Say></Response>"
    wait = "<Response><Dial>+15550001111</Dial></Response>"
    twiml_app = make_app({"/voice/incoming": incoming, "/wait": wait})
    caller = make_switch(twiml_app).dial("+8613800000001", to=LINE)
    assert caller.hears("Sorry") and caller.status == "completed"
    leave = next(e.to_json() for e in caller.events if e.to_json()["type"] == "leave")
    assert leave["result"] == "error"
    assert "12200" in caller.warnings[0].message and "not allowed" in caller.warnings[0].message


def test_enqueue_without_wait_url_plays_twilio_hold_music(make_app: Any, make_switch: Any) -> None:
    twiml_app = make_app({"/voice/incoming": "<Response><Enqueue>support</Enqueue></Response>"})
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(25)
    plays = [e.to_json()["url"] for e in caller.events if e.to_json()["type"] == "play"]
    assert len(plays) == 4 and "twimlets.com/holdmusic" in plays[0]  # 10 s each


def test_queue_url_document_may_not_gather(twiml_app: Any, make_switch: Any) -> None:
    twiml_app.routes["/connect"] = "<Response><Gather><Say>Press 1</Say></Gather></Response>"
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.dial_twiml(TAKE, from_=AGENT)
    assert caller.status == "failed" and caller.error is not None
    assert caller.error.code == 12200
    assert twiml_app.to("/agent-done")[0].params["DialCallStatus"] == "no-answer"


def test_caller_is_taken_in_the_middle_of_a_prompt(twiml_app: Any, make_switch: Any) -> None:
    twiml_app.routes["/wait"] = "<Response><Say loop='50'>Your call matters to us</Say></Response>"
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)  # one round: 50 x 1.5 s
    switch.run(5)
    switch.dial_twiml(TAKE, from_=AGENT, talk=10)
    kinds = [e.to_json()["type"] for e in caller.events]
    dequeued = caller.events[kinds.index("dequeued")]
    last_say = [e for e in caller.events[: kinds.index("dequeued")] if e.type == "say"][-1]
    assert last_say.to_json()["text"] == "Your call matters to us"
    assert dequeued.t == pytest.approx(last_say.t + 5)


def test_two_hour_queue_wait_takes_no_real_time(make_app: Any, make_switch: Any) -> None:
    wait = "<Response><Say>Still holding</Say><Pause length='299'/></Response>"
    routes = {"/voice/incoming": INCOMING, "/wait": wait, "/after": AFTER, "/connect": CONNECT}
    twiml_app = make_app(routes)
    started = time.perf_counter()
    switch = make_switch(twiml_app)
    caller = switch.dial("+8613800000001", to=LINE)
    switch.run(2 * 3600 - 300)  # dial() returned after the first 300 s round
    switch.dial_twiml(TAKE, from_=AGENT, talk=30)
    switch.run()
    assert time.perf_counter() - started < 1.0
    assert twiml_app.to("/after")[0].params["QueueTime"] == "7200"
    assert caller.status == "completed"
