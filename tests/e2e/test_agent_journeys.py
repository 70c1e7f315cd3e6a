"""The agent line end to end: agents log in with caller ID and PIN, hear about each caller
before taking them, and take callers in our order of service; callers whose language no
logged-in agent speaks are not left waiting for nobody.

Runs on SQLite and PostgreSQL (the `line` fixture), with the callback dispatcher placing the
callback through Twilio's own client."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from ivr.emulator import Call, Switch
from ivr.emulator.events import SayEvent
from ivr.engine.agent_line import (
    MAX_PIN_TRIES,
    PIN_BUDGET,
    PIN_BUDGET_WINDOW,
    AgentState,
    budget_window,
)
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore
from tests.support.agent_line import (
    AGENT_LINE,
    AMY,
    BOB,
    LI,
    US_OPEN,
    add_agent,
    bridged,
    log_in,
    queued,
)
from tests.support.calls import CALLERS, LINES, Line, agent_twiml

STRANGER = "+12025550166"


def whispers(agent: Call) -> list[list[str]]:
    """What the agent heard between choosing a caller and each Dial."""
    heard: list[list[str]] = []
    since_last: list[str] = []
    for event in agent.events:
        if isinstance(event, SayEvent):
            since_last.append(event.text)
        elif event.type == "dial":
            first = next(i for i, text in enumerate(since_last) if _opens_whisper(text))
            heard.append(since_last[first:])
            since_last = []
    return heard


def _opens_whisper(text: str) -> bool:
    return text.startswith(("Next caller:", "下一位来电："))


def order_of_service(callers: dict[str, Call], agents: dict[str, Call]) -> list[tuple[str, str]]:
    """(caller, agent) in the order agents took callers from the queues."""
    name_of = {call.sid: name for name, call in agents.items()}
    taken = [
        (event.at, name, name_of[event.to_json()["by"]])
        for name, call in callers.items()
        for event in call.events
        if event.type == "dequeued"
    ]
    return [(caller, agent) for _, caller, agent in sorted(taken)]


@pytest.mark.slow
def test_two_agents_take_five_callers_in_order_with_whispers(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, LI, Skills(("zh-CN", "en-US"), ("cn", "sg")), phone)
    add_agent(records, AMY, Skills(("en-US",), ("jp", "cn")), phone)
    li, amy = log_in(phone, LI), log_in(phone, AMY)
    assert li.hears("您已登录。") and li.hears("目前没有来电在等待。")
    assert amy.hears("You're logged in.") and amy.hears("Nobody is waiting right now.")

    # A (only Amy speaks to Japan) and B (only Li speaks Mandarin) are taken at once...
    a = queued(phone, CALLERS["jp"], LINES["jp"], ["2", "0"], "jp-en-US")
    phone.run(30)
    assert bridged(amy, a)
    amy.answers.extend(["#", "1"])  # after A: no code, then the next caller
    b = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(30)
    assert bridged(li, b)
    li.answers.extend(["#", "1"])
    # ...then E (English, either agent), C (a callback we place) and D (a pending
    # transaction, with its reference) wait while both agents talk.
    e = queued(phone, "+8613812345679", LINES["cn"], ["2", "0"], "cn-en-US")
    callback_number = "+8613700001234"
    records.callbacks.book(
        "CA" + "c" * 32,
        callback_number,
        "cn",
        "zh-CN",
        "password",
        "424242",
        phone.clock.now() - timedelta(minutes=40),
    )
    phone.callee(callback_number, answers=["1"])  # picks up and presses 1 to talk
    assert line.dispatcher.run_once().placed != []
    phone.run(60)
    c = phone.last_call_to(callback_number)
    assert c.queue == "cn-zh-CN-callback"
    d = queued(
        phone,
        "+8613912345678",
        LINES["cn"],
        ["1", "4", "0", "202603021234#", "1"],
        "cn-zh-CN-priority",
    )
    phone.run(20)
    assert e.queue and c.queue and d.queue  # all three still waiting

    b.hangup()
    phone.run(60)  # the agent keys no code, then 1
    assert bridged(li, c)  # the callback first, though E has waited longer and Li speaks English
    li.answers.extend(["#", "1"])
    c.hangup()
    phone.run(60)  # the agent keys no code, then 1
    assert bridged(li, d)  # then the pending transaction, though E has still waited longer
    li.answers.extend(["#", "1"])
    a.hangup()
    phone.run(60)  # the agent keys no code, then 1
    assert bridged(amy, e)  # Amy's longest waiting caller, in another region than her first
    amy.answers.extend(["#", "1"])
    d.hangup()
    e.hangup()
    phone.run(30)

    callers = {"A": a, "B": b, "C": c, "D": d, "E": e}
    assert order_of_service(callers, {"li": li, "amy": amy}) == [
        ("A", "amy"),
        ("B", "li"),
        ("C", "li"),
        ("D", "li"),
        ("E", "amy"),
    ]
    assert whispers(li) == [
        [
            "下一位来电：Mainland China，使用普通话。",
            "来电者在主菜单选择了人工服务。",
            "已等待不到1分钟。",
        ],
        [
            "下一位来电：Mainland China，使用普通话。",
            "这是我们回拨的电话。",
            "来电事由：忘记密码。",
            "已等待3分钟。",
        ],
        [
            "下一位来电：Mainland China，使用普通话。",
            "优先处理：撤销或修改未完成的交易。",
            "交易编号：2 0 2 6, 0 3 0 2, 1 2 3 4。",
            "已等待2分钟。",
        ],
    ]
    assert whispers(amy) == [
        [
            "Next caller: Japan, speaking American English.",
            "Asked for an agent from the main menu.",
            "Waiting less than a minute.",
        ],
        [
            "Next caller: Mainland China, speaking American English.",
            "Asked for an agent from the main menu.",
            "Waiting 6 minutes.",
        ],
    ]
    assert c.hears("正在为您接通人工客服。")  # the caller's own notice, on their leg
    # Each call is marked with the agent who took it; the callback is done.
    taken = {name: records.call(call.sid) for name, call in callers.items()}
    assert {name: record.agent for name, record in taken.items() if record} == {
        "A": "amy",
        "B": "li",
        "C": "li",
        "D": "li",
        "E": "amy",
    }
    callback = records.callbacks.for_call("CA" + "c" * 32)
    assert callback is not None and callback.status == "done"
    # Both agents wait for the next caller; hanging up logs them out.
    assert (
        li.heard[-2] == "目前没有来电在等待。" and amy.heard[-2] == "Nobody is waiting right now."
    )
    store = AgentStore(records.engine)
    assert {agent.name: agent.state for agent in store.all()} == {
        "amy": AgentState.AVAILABLE,
        "li": AgentState.AVAILABLE,
    }
    li.hangup()
    amy.hangup()
    assert {agent.state for agent in store.all()} == {AgentState.OFFLINE}


@pytest.mark.slow
def test_a_caller_whose_language_nobody_logged_in_speaks_is_offered_a_callback(
    line: Line,
) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, AMY, Skills(("en-US",), ("jp", "cn")), phone)
    log_in(phone, AMY)
    call = phone.dial(CALLERS["jp"], LINES["jp"], answers=["1", "0"])  # Japanese, an agent
    assert call.hears(
        "申し訳ございません。ただいま、ご希望の言語に対応できるオペレーターがおりません。"
    )
    assert call.hears("オペレーターの手が空き次第、折り返しお電話いたします。")
    assert call.queue is None and not any(e.type == "enqueue" for e in call.events)
    call.press("1")  # the callback
    assert call.hears("5 6 7 8")  # their own number, read back to confirm
    # An English caller of the same line still reaches Amy's queue.
    english = queued(phone, "+819087654321", LINES["jp"], ["2", "0"], "jp-en-US")
    assert english.hears("Connecting you to an agent now.")


@pytest.mark.slow
def test_with_agents_set_up_but_none_logged_in_callers_get_the_other_ways(line: Line) -> None:
    phone, records = line.phone, line.records
    add_agent(records, AMY, Skills(("en-US",), ("us",)), phone)
    call = phone.dial(CALLERS["us"], LINES["us"], at=US_OPEN, answers=["1", "0"])
    assert call.hears("We're sorry. Right now, none of our agents who speak your language")
    assert call.hears("To leave a voice message for our support team, press 2")
    assert call.queue is None


@pytest.mark.slow
def test_a_region_overflow_takes_callers_nobody_speaks_to(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    # hk's overflow is hk-en-GB (regions.toml): Cantonese callers go there while no agent
    # for Cantonese is logged in.
    add_agent(records, AMY, Skills(("en-GB",), ("hk",)), phone)
    amy = log_in(phone, AMY)
    call = phone.dial("+85291234567", "+85221234567", answers=["1", "0"])  # Cantonese
    assert call.hears("而家識講你所揀語言嘅客服主任都唔得閒，會由講英式英文嘅客服主任幫你。")
    joined = [e.to_json()["queue"] for e in call.events if e.type == "enqueue"]
    assert joined == ["hk-en-GB"]
    phone.run(20)
    assert bridged(amy, call)
    assert whispers(amy)[0][0] == "Next caller: Hong Kong and Macau, speaking Cantonese."


@pytest.mark.slow
def test_three_wrong_pins_end_the_call_and_lock_the_agent(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, AMY, Skills(("en-US",), ("us",)), phone)
    _, number, pin = AMY
    with caplog.at_level(logging.WARNING, logger="ivr"):
        call = phone.dial(number, AGENT_LINE, at=US_OPEN, answers=["111111#", "222222#"])
        assert call.hears("That PIN isn't right.")
        call.press("333333#")
    assert call.ended and call.heard[-1] == "Too many wrong attempts. Goodbye."
    assert not any(e.type == "dial" for e in call.events)
    wrong = [r.getMessage() for r in caplog.records if "wrong PIN for" in r.getMessage()]
    assert len(wrong) == 3 and all("+1 ••• ••0123" in line for line in wrong)
    assert not any(number in r.getMessage() for r in caplog.records)
    assert any(
        "agent amy locked" in r.getMessage() and "+1 ••• ••0123" in r.getMessage()
        for r in caplog.records
    )
    agent = AgentStore(records.engine).get("amy")
    assert agent is not None and agent.locked_until is not None
    assert agent.locked_until - phone.clock.now() > timedelta(minutes=14)

    # Locked: the right PIN is refused, with the same words as a wrong one.
    again = phone.dial(number, AGENT_LINE, answers=[pin + "#"])
    assert again.hears("That PIN isn't right.") and not again.hears("logged in")
    again.hangup()
    phone.clock.set(phone.clock.now() + timedelta(minutes=16))
    later = phone.dial(number, AGENT_LINE, answers=[pin + "#"])
    assert later.hears("You're logged in.")


@pytest.mark.slow
def test_an_unknown_number_hears_the_same_line_and_never_gets_in(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, AMY, Skills(("en-US",), ("us",)), phone)
    _, number, pin = AMY
    # Amy's PIN from a stranger's phone, then from a withheld number: asked, refused, goodbye.
    for caller in (STRANGER, "anonymous"):
        stranger = phone.dial(caller, AGENT_LINE, answers=[pin + "#", pin + "#", pin + "#"])
        assert stranger.ended
        assert stranger.heard == [
            "Agent line. Enter your PIN, then press the pound key.",
            "That PIN isn't right.",
            "Agent line. Enter your PIN, then press the pound key.",
            "That PIN isn't right.",
            "Agent line. Enter your PIN, then press the pound key.",
            "Too many wrong attempts. Goodbye.",
        ]
        assert not any(e.type in ("dial", "enqueue") for e in stranger.events)
    # Amy herself with three wrong PINs hears exactly the same.
    amy = phone.dial(number, AGENT_LINE, answers=["000000#"] * 3)
    assert amy.heard == stranger.heard
    assert AgentStore(records.engine).get("amy") is not None


@pytest.mark.slow
def test_a_spent_budget_of_wrong_pins_keeps_every_agent_out_until_the_hour_passes(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, AMY, Skills(("en-US",), ("us",)), phone)
    add_agent(records, BOB, Skills(("en-US",), ("us",)), phone)
    bob = log_in(phone, BOB)  # before the guessing starts
    assert bob.hears("You're logged in.")
    # Someone guesses from numbers of their choosing: three PINs a call, the budget's worth.
    guesses = [f"{n:06d}#" for n in range(PIN_BUDGET)]
    with caplog.at_level(logging.WARNING, logger="ivr"):
        for n, call in enumerate(range(0, PIN_BUDGET, MAX_PIN_TRIES)):
            guesser = phone.dial(
                f"+1202555{n:04d}", AGENT_LINE, answers=guesses[call : call + MAX_PIN_TRIES]
            )
            assert not guesser.hears("You're logged in.")
            if not guesser.ended:  # the last guesser, with two PINs left in the budget
                guesser.hangup()
        _, number, pin = AMY
        amy = phone.dial(number, AGENT_LINE, answers=[pin + "#"])
        assert amy.heard[:2] == [
            "Agent line. Enter your PIN, then press the pound key.",
            "That PIN isn't right.",
        ]
        amy.hangup()
    spent = [r for r in caplog.records if "the budget for the hour" in r.getMessage()]
    assert len(spent) == 1 and spent[0].levelno == logging.ERROR
    assert AgentStore(records.engine).on_line(bob.sid) is not None  # still taking callers
    bob.hangup()
    phone.clock.set(budget_window(phone.clock.now()) + PIN_BUDGET_WINDOW)
    assert log_in(phone, AMY).hears("You're logged in.")


@pytest.mark.slow
def test_the_agent_line_is_never_a_way_into_a_queue(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, LI, Skills(("zh-CN",), ("cn",)), phone)
    li = log_in(phone, LI)
    first = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(20)
    assert bridged(li, first)
    second = queued(phone, "+8613812345679", LINES["cn"], ["1", "0"], "cn-zh-CN")
    assert second.queue == "cn-zh-CN"  # someone a stranger could try to reach
    # A stranger keys what a caller would (0 for an agent, 1, star): the PIN question again,
    # then goodbye. And a call that never logged in, requesting the agent line's follow-up
    # webhooks itself (signed: a leaked URL), is told so and hung up on.
    stranger = phone.dial(STRANGER, AGENT_LINE, answers=["0", "1#", "*"])
    assert stranger.ended and stranger.heard[-1] == "Too many wrong attempts. Goodbye."
    forged = (
        '<Response><Gather action="/voice/agent/key?m=after" numDigits="1"/>'
        "<Redirect>/voice/agent/key?m=idle</Redirect></Response>"
    )
    for answers in (["1"], ["_"]):
        follow_up = phone.dial_twiml(forged, from_=STRANGER, to=AGENT_LINE, answers=answers)
        assert follow_up.ended
        assert follow_up.heard == ["You're not logged in on this call. Goodbye."]
    for call in (stranger, follow_up):
        assert {e.type for e in call.events}.isdisjoint({"enqueue", "dial", "dequeued"})
    assert second.queue == "cn-zh-CN"  # still waiting for an agent
    li.hangup()


@pytest.mark.slow
def test_a_caller_taken_during_the_whisper_makes_the_agent_choose_again(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, LI, Skills(("zh-CN",), ("cn",)), phone)
    li = log_in(phone, LI)
    first = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(20)
    assert bridged(li, first)
    li.answers.extend(["#", "1"])
    pending = queued(
        phone, "+8613912345678", LINES["cn"], ["1", "4", "0", "*"], "cn-zh-CN-priority"
    )
    other = queued(phone, "+8613812345679", LINES["cn"], ["1", "0"], "cn-zh-CN")
    first.hangup()
    while not li.heard[-1].startswith("下一位来电"):
        phone.run(1)  # Li now hears about the pending caller...
    # ...whom someone dequeuing some other way (not through the agent line) takes first.
    elsewhere = phone.dial_twiml(agent_twiml("cn-zh-CN-priority"), from_="client:desk-7")
    assert pending.queue is None and bridged(elsewhere, pending)
    phone.run(40)
    assert "这位来电者已不在等待了。" in li.heard
    assert bridged(li, other)  # chose again: the next caller
    said = li.heard[li.heard.index("这位来电者已不在等待了。") :]
    assert said[1] == "下一位来电：Mainland China，使用普通话。"
    li.hangup()


def readme_agent_call(switch: Switch, signed_app_store: Store) -> Call:
    """The agent line call docs/agents.md shows: Amy logs in while a caller with a pending
    transaction waits (Bob, busy with another caller, is logged in for their language), hears
    about them, talks, keys the code of the call (4: the pending transaction cancelled),
    presses 1 for the next caller, finds nobody, and hangs up."""
    switch.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(signed_app_store, BOB, Skills(("en-US",), ("us",)), switch)
    add_agent(signed_app_store, AMY, Skills(("en-US", "es-MX"), ("us",)), switch)
    _, number, pin = BOB
    bob = switch.dial(number, AGENT_LINE, at=US_OPEN, answers=[pin + "#"])
    first = queued(switch, "+12025550177", LINES["us"], ["1", "0"], "us-en-US")
    switch.run(20)
    assert bridged(bob, first)
    keys = ["1", "4", "0", "20260302#", "1"]
    caller = queued(switch, CALLERS["us"], LINES["us"], keys, "us-en-US-priority")
    _, number, pin = AMY
    amy = switch.dial(number, AGENT_LINE, answers=[pin + "#", "4", "1"])
    assert bridged(amy, caller)
    switch.run(95)
    caller.hangup()
    switch.run()  # until Amy waits for a caller again
    amy.hangup()
    first.hangup()
    bob.hangup()
    return amy


@pytest.mark.slow
def test_an_agent_logs_in_and_takes_the_pending_transaction_waiting(line: Line) -> None:
    amy = readme_agent_call(line.phone, line.records)
    assert whispers(amy) == [
        [
            "Next caller: United States and Canada, speaking American English.",
            "Priority: a pending transaction to cancel or change.",
            "Transaction reference: 2 0 2 6, 0 3 0 2.",
            "Waiting 1 minute.",
        ]
    ]
    assert amy.heard[-14:] == [
        "The call has ended.",
        "Key the code for this call.",
        "password reset done: press 1.",
        "security case opened: press 2.",
        "transaction traced: press 3.",
        "pending transaction cancelled: press 4.",
        "follow-up needed: press 5.",
        "other: press 6.",
        "To skip, press the pound key.",
        "Recorded: pending transaction cancelled.",
        "You have 30 seconds to wrap up.",
        "For the next caller, press 1. To log out, hang up.",
        "Nobody is waiting right now.",
        "We'll keep checking. To check now, press 1. To log out, hang up.",
    ]
    agent = AgentStore(line.records.engine).get("amy")
    assert agent is not None and agent.state is AgentState.OFFLINE
    talked_to = next(event.to_json()["peer"] for event in amy.events if event.type == "bridge")
    taken = line.records.call(talked_to)
    assert taken is not None and (taken.agent, taken.disposition) == ("amy", "pending_cancelled")


@pytest.mark.slow
def test_an_agent_hanging_up_mid_call_is_offline_and_the_call_stays_theirs(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.configure_number(AGENT_LINE, "/voice/agent", "/voice/agent/status")
    add_agent(records, LI, Skills(("zh-CN",), ("cn",)), phone)
    li = log_in(phone, LI)
    caller = queued(phone, CALLERS["cn"], LINES["cn"], ["1", "0"], "cn-zh-CN")
    phone.run(20)
    assert bridged(li, caller)
    phone.run(60)
    li.hangup()  # Twilio posts the Dial action, then the status callback
    agent = AgentStore(records.engine).get("li")
    assert agent is not None and agent.state is AgentState.OFFLINE
    record = records.call(caller.sid)
    assert record is not None and record.agent == "li"
    # Nobody is logged in for Mandarin now: the next Mandarin caller is not queued.
    later = phone.dial("+8613812345679", LINES["cn"], answers=["1", "0"])
    assert later.hears("非常抱歉，目前没有会说您所选语言的客服人员在线。") and later.queue is None
