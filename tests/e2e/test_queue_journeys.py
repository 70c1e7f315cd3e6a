"""To an agent: what to prepare, the transaction reference, the queues, and how waiting ends."""

from __future__ import annotations

import pytest

from ivr.emulator import Call, Switch
from ivr.store import Store
from tests.support.calls import CALLERS, LINES, agent_twiml


def test_pending_transaction_caller_keys_a_reference_and_joins_the_priority_queue(
    switch: Switch, signed_app_store: Store
) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    call.press("1")
    call.press("4")
    assert call.hears("交易一旦确认，通常就无法撤销或修改了。")
    assert call.hears("请尽快处理。")
    call.press("0")
    assert call.hears("为您转接前，请准备好：您的账户名、相关的交易记录，以及问题的简单描述。")
    assert call.hears(
        "如果您手边有交易记录里的交易编号，请现在输入，以井号键结束。如果不需要，请按星号键跳过。"
    )
    call.press("202603021234#")
    assert call.hears("您输入的是：2 0 2 6, 0 3 0 2, 1 2 3 4。")
    call.press("1")
    assert call.hears("谢谢，客服人员会看到这个编号。")
    assert call.queue == "cn-zh-CN-priority"
    assert call.hears("下一位就是您。")
    record = signed_app_store.call(call.sid)
    assert record is not None
    assert (record.reason, record.transaction_ref, record.language) == (
        "pending",
        "202603021234",
        "zh-CN",
    )


@pytest.mark.slow
def test_reference_too_short_is_asked_again_then_can_be_skipped(
    switch: Switch, signed_app_store: Store
) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    call.press("2")
    call.press("3")
    call.press("2")  # rejected or failed
    assert call.hears("If it still shows as rejected or failed, our agents can find out why.")
    call.press("0")
    call.press("123#")
    assert call.hears("That number should have between 6 and 20 digits.")
    call.press("*")  # skip; Twilio submits it after the timeout
    assert call.hears("That's fine. Your agent can ask you for it.")
    assert call.queue == "cn-en-US"
    record = signed_app_store.call(call.sid)
    assert record is not None and (record.reason, record.transaction_ref) == ("tx_failed", None)


@pytest.mark.slow
def test_reference_read_back_wrong_can_be_entered_again(
    switch: Switch, signed_app_store: Store
) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    call.press("2")
    call.press("3")
    call.press("1")
    call.press("0")
    call.press("11112222#")
    call.press("2")  # not right
    assert call.hears(
        "If you have the transaction's reference number from your history, enter it now"
    )
    call.press("33334444#")
    assert call.hears("You entered: 3 3 3 3, 4 4 4 4.")
    call.press("1")
    record = signed_app_store.call(call.sid)
    assert record is not None and record.transaction_ref == "33334444"


US_OPEN = "2026-03-02T10:00-05:00"  # Monday morning in New York


def us_caller_asks_for_an_agent(
    switch: Switch, number: str = CALLERS["us"], at: str | None = US_OPEN
) -> Call:
    call = switch.dial(number, LINES["us"], at=at)
    call.press("1")  # English
    call.press("0")
    return call


@pytest.mark.slow
def test_an_agent_takes_the_first_caller_and_the_second_moves_up(switch: Switch) -> None:
    first = us_caller_asks_for_an_agent(switch)
    assert first.queue == "us-en-US"
    second = us_caller_asks_for_an_agent(switch, "+12025550177", at=None)
    assert second.hears("You are number 2 in line.")
    agent = switch.dial_twiml(agent_twiml("us-en-US"), from_="client:agent-1", talk=120)
    assert first.hears("Connecting you to an agent now.")
    assert first.queue is None
    switch.run(130)
    assert first.ended and first.heard[-1] == "Thank you for calling. Goodbye."
    assert agent.ended
    assert second.queue == "us-en-US"
    assert second.hears("You're next in line.")


@pytest.mark.slow
def test_caller_presses_1_to_leave_the_queue_for_other_channels(switch: Switch) -> None:
    call = us_caller_asks_for_an_agent(switch)
    call.wait(130)  # leaving is offered after two minutes on the US line
    assert "To stop waiting and have us call you back, or leave a message, press 1." in call.heard
    call.answers.extend(["1", "3"])  # 1 during the next announcement, then 3: other ways
    call.wait(120)
    assert "OK. You've left the line." in call.heard
    assert "To hear other ways to reach us, press 3." in call.heard
    assert "Or email us at support-us@example.com. We reply within 24 hours." in call.heard
    assert call.ended and call.heard[-1] == "Thank you for calling. Goodbye."


@pytest.mark.slow
def test_the_longest_wait_ends_politely_with_other_channels(switch: Switch) -> None:
    call = us_caller_asks_for_an_agent(switch)
    call.wait(1300)  # the US line's max wait is 1200 s
    assert call.ended
    assert "We're sorry. Our agents are much busier than usual" in " ".join(call.heard)
    assert call.heard[-1] == "Thank you for calling. Goodbye."


@pytest.mark.slow
def test_callers_still_waiting_when_agents_close_hear_when_they_are_back(switch: Switch) -> None:
    call = us_caller_asks_for_an_agent(switch, at="2026-03-02T19:58-05:00")  # closes at 20:00
    assert call.queue == "us-en-US"
    call.wait(300)
    assert "Our agents aren't available right now. They'll be back tomorrow at 8 AM." in call.heard
    assert call.ended and call.heard[-1] == "Thank you for calling. Goodbye."
    assert call.events[-1].to_json()["duration"] < 600


@pytest.mark.slow
def test_the_maximum_wait_is_kept_to_within_one_announcement(switch: Switch) -> None:
    call = us_caller_asks_for_an_agent(switch)
    call.wait(1300)
    leave = next(e for e in call.events if e.type == "leave")
    assert leave.to_json()["result"] == "leave"
    waited = [e.to_json()["waited"] for e in call.events if e.type == "queue"]
    assert max(waited) >= 1200  # the poll that said goodbye came at the maximum wait...
    assert max(waited) < 1200 + 30  # ...and not a whole announcement later


@pytest.mark.slow
def test_a_full_queue_refuses_politely(switch: Switch) -> None:
    switch.set_queue_max_size("us-en-US", 1)
    us_caller_asks_for_an_agent(switch)
    second = us_caller_asks_for_an_agent(switch, "+12025550177", at=None)
    assert second.hears(
        "We're sorry. All our agents are busy, and our waiting line is full right now."
    )
    assert second.hears(
        "To have an agent call you back as soon as one is free, press 1, or say: call me back."
    )
    second.press("3")
    assert second.ended and second.status == "completed"


def test_caller_who_hangs_up_in_the_queue_is_recorded(
    switch: Switch, signed_app_store: Store
) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"], at="2026-03-02T10:00+00:00")
    call.press("0")
    call.hangup()
    record = signed_app_store.call(call.sid)
    assert record is not None and record.status == "completed" and record.queue == "gb-en-GB"


@pytest.mark.slow
def test_requests_signed_with_the_wrong_token_fail_the_call(
    switch: Switch, signed_settings: object
) -> None:
    from ivr.emulator import VirtualClock
    from ivr.web.app import create_app

    clock = VirtualClock("2026-03-02T10:00+00:00")
    app = create_app(signed_settings, clock=clock)  # type: ignore[arg-type]
    with Switch(
        app, clock=clock, auth_token="not-the-token", public_url="https://ivr.example.com"
    ) as bad:
        call = bad.dial(CALLERS["gb"], LINES["gb"])
    assert call.status == "failed"
    assert call.error is not None and call.error.code == 11200
