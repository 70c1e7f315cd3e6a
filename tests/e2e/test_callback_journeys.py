"""Callbacks end to end: booked by a caller, placed by the dispatcher through Twilio's own
client (pointed at the emulator's REST API), answered, and taken by an agent first.

Every test runs on SQLite and on PostgreSQL (the `line` fixture's store)."""

from __future__ import annotations

import pytest

from ivr.emulator import Call
from tests.support.calls import CALLERS, LINES, Line, agent_twiml

MONDAY_10_TOKYO = "2026-03-02T10:00+09:00"
SUNDAY_2359_TOKYO = "2026-03-01T23:59+09:00"
TOKYO_LINE_SPOKEN = "plus 8 1, 3, 4 5 6 7, 8 9 0 1"


def spoken_code(code: str) -> str:
    return ", ".join(" ".join(code[i : i + 3]) for i in range(0, len(code), 3))


def tokyo_caller_in_the_queue(
    line: Line, caller: str = CALLERS["jp"], at: str | None = MONDAY_10_TOKYO
) -> Call:
    call = line.phone.dial(caller, LINES["jp"], at=at)
    call.press("2")  # English
    call.press("0")  # an agent
    assert call.queue == "jp-en-US"
    return call


@pytest.mark.slow
def test_caller_leaves_the_queue_for_a_callback_and_an_agent_takes_it_first(line: Line) -> None:
    phone, records = line.phone, line.records
    call = tokyo_caller_in_the_queue(line)
    call.wait(125)  # leaving is offered after two minutes on the Japanese line
    call.answers.extend(["1", "1", "1"])  # leave the line; a callback; on this number
    call.wait(90)
    assert (
        "To have an agent call you back as soon as one is free, press 1, or say: call me back."
        in call.heard
    )
    assert "We'll call you back on your number ending in 5 6 7 8." in call.heard
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None and booked.status == "pending" and booked.number == CALLERS["jp"]
    assert (
        f"Thank you. An agent will call you back as soon as one is free, from our number {TOKYO_LINE_SPOKEN}."
        in call.heard
    )
    assert (
        f"Your callback code is {spoken_code(booked.code)}. We'll say this code when we call, so you'll know it's really us."
        in call.heard
    )
    assert call.ended and call.heard[-1] == "Thank you for calling. Goodbye."
    record = records.call(call.sid)
    assert record is not None and record.outcome == "callback"
    assert booked.waiting_since == record.queued_at  # the place in line is kept

    placed = line.dispatcher.run_once()
    assert placed.placed == [booked.id]
    phone.run()
    callee = phone.last_call_to(CALLERS["jp"])
    assert callee.from_ == LINES["jp"] and callee.direction == "outbound-api"
    assert callee.hears("Hello, this is wallet support, calling you back as you asked.")
    assert callee.hears(f"Your callback code is {spoken_code(booked.code)}.")
    assert callee.hears("To talk to an agent now, press 1.")
    callee.press("1")
    assert callee.queue == "jp-en-US-callback"
    waiting = records.callbacks.get(booked.id)
    assert waiting is not None and waiting.status == "queued"
    assert waiting.last_call_sid == callee.sid

    # A new caller waits in the normal queue; the agent takes the callback queue first.
    other = tokyo_caller_in_the_queue(line, "+819087654321", at=None)
    agent = phone.dial_twiml(agent_twiml("jp-en-US-callback"), from_="+81355550100", talk=60)
    assert callee.hears("Connecting you to an agent now.")
    assert agent.ended and other.queue == "jp-en-US"
    done = records.callbacks.get(booked.id)
    assert done is not None and done.status == "done" and done.last_result == "reached"
    callback_call = records.call(callee.sid)
    assert callback_call is not None and callback_call.queue == "jp-en-US-callback"


@pytest.mark.slow
def test_withheld_caller_after_hours_keys_a_number_and_is_called_when_agents_open(
    line: Line,
) -> None:
    phone, records = line.phone, line.records
    call = phone.dial("+266696687", LINES["jp"], at=SUNDAY_2359_TOKYO)  # ANONYMOUS
    call.press("2")
    call.press("0")
    assert call.hears("Our agents aren't available right now. They'll be back tomorrow at 9 AM.")
    assert call.hears(
        "To have an agent call you back after we open, press 1, or say: call me back."
    )
    call.press("1")
    assert call.hears(
        "Please enter the phone number to call back, starting with the area code, then press the pound key."
    )
    call.press("0570012345#")  # a Navi Dial number: shared cost, never called back
    assert call.hears("Sorry, we can't call that number.")
    call.press("09012345678#")
    assert call.hears("You entered: 0 9 0 1, 2 3 4 5, 6 7 8.")
    call.press("1")
    assert call.hears(
        f"Thank you. An agent will call you back after we open, from our number {TOKYO_LINE_SPOKEN}."
    )
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None and booked.number == "+819012345678"

    assert line.dispatcher.run_once().placed == []  # closed: nobody to talk to
    assert call.ended
    phone.clock.set("2026-03-02T08:59+09:00")
    assert line.dispatcher.run_once().placed == []
    phone.clock.set("2026-03-02T09:00+09:00")
    assert line.dispatcher.run_once().placed == [booked.id]


@pytest.mark.slow
def test_a_callback_nobody_answers_is_retried_then_the_caller_gets_a_text(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.callee(CALLERS["jp"], behaviour="no-answer")
    call = phone.dial(CALLERS["jp"], LINES["jp"], at=MONDAY_10_TOKYO)
    call.press("2")
    call.press("4")  # a pending transaction
    call.press("0")
    call.press("*")  # no reference
    assert call.queue == "jp-en-US-priority"
    call.hangup()
    booked = records.callbacks.book(
        call.sid, CALLERS["jp"], "jp", "en-US", "pending", "424242", phone.clock.now()
    )
    assert booked.code == "424242"
    callback = records.callbacks.for_call(call.sid)
    assert callback is not None
    for attempt in (1, 2, 3):
        assert line.dispatcher.run_once().placed == [callback.id]
        phone.run()
        state = records.callbacks.get(callback.id)
        assert state is not None and state.attempts == attempt
        assert state.last_result == "no-answer"
        if attempt < 3:
            assert state.status == "pending"
            assert line.dispatcher.run_once().placed == []  # not before retry_after
            phone.run(600)
    final = records.callbacks.get(callback.id)
    assert final is not None and final.status == "expired"
    line.dispatcher.run_once()
    line.dispatcher.run_once()
    texts = [message for message in phone.messages if message.to == CALLERS["jp"]]
    assert len(texts) == 1
    assert texts[0].from_ == LINES["jp"] and "424242" in texts[0].body
    assert "https://help.example.com/chat?region=jp" in texts[0].body


def booked_and_ringing(line: Line, code: str) -> tuple[Call, Call]:
    """A caller who booked a callback (with `code`), and our call back to them, answered."""
    call = tokyo_caller_in_the_queue(line)
    call.hangup()
    line.records.callbacks.book(
        call.sid, CALLERS["jp"], "jp", "en-US", "main", code, line.phone.clock.now()
    )
    line.dispatcher.run_once()
    line.phone.run()
    return call, line.phone.last_call_to(CALLERS["jp"])


@pytest.mark.slow
def test_the_person_called_back_can_cancel(line: Line) -> None:
    call, callee = booked_and_ringing(line, "135790")
    assert callee.hears("If you don't need help any more, press 9.")
    callee.press("9")
    assert callee.hears("Your callback is cancelled. Thank you, goodbye.") and callee.ended
    callback = line.records.callbacks.for_call(call.sid)
    assert callback is not None and callback.status == "cancelled"


@pytest.mark.slow
def test_an_answering_machine_that_presses_nothing_is_tried_again_later(line: Line) -> None:
    phone, records = line.phone, line.records
    call, machine = booked_and_ringing(line, "246801")
    machine.silence()
    machine.silence()
    assert machine.hears("We'll try calling you again later. Goodbye.") and machine.ended
    phone.run()
    callback = records.callbacks.for_call(call.sid)
    assert callback is not None and (callback.status, callback.attempts) == ("pending", 1)
    assert machine.queue is None


@pytest.mark.slow
def test_one_number_cannot_book_callbacks_without_limit(line: Line) -> None:
    phone = line.phone
    heard: list[str] = []
    for _ in range(3):  # the sample regions allow two a day per number
        call = tokyo_caller_in_the_queue(line, at=None)
        call.answers.extend(["1", "1", "1"])
        call.wait(400)
        heard.append(" ".join(call.heard))
        assert call.ended
    assert "Your callback code is" in heard[0] and "Your callback code is" in heard[1]
    assert "Sorry, this number already has as many callbacks as we can book in one day." in heard[2]
    assert "Or email us at support-jp@example.com. We reply within 24 hours." in heard[2]
    assert phone.messages == []


@pytest.mark.slow
def test_cancelling_a_callback_makes_no_room_for_another_that_day(line: Line) -> None:
    phone = line.phone
    for _ in range(2):  # the sample regions allow two a day per number
        call = tokyo_caller_in_the_queue(line, at=None)
        call.answers.extend(["1", "1", "1"])
        call.wait(400)
        assert "Your callback code is" in " ".join(call.heard)
    line.dispatcher.run_once()
    phone.run()
    callee = phone.last_call_to(CALLERS["jp"])
    callee.press("9")
    assert callee.hears("Your callback is cancelled. Thank you, goodbye.") and callee.ended
    again = tokyo_caller_in_the_queue(line, at=None)
    again.answers.extend(["1", "1", "1"])
    again.wait(400)
    assert again.hears(
        "Sorry, this number already has as many callbacks as we can book in one day."
    )
    assert line.records.callbacks.for_call(again.sid) is None


@pytest.mark.slow
def test_a_person_called_back_is_not_offered_to_leave_and_is_called_again_if_agents_close(
    line: Line,
) -> None:
    phone, records = line.phone, line.records
    call = phone.dial(CALLERS["jp"], LINES["jp"], at="2026-03-02T17:40+09:00")  # closes 18:00
    call.press("2")
    call.press("0")
    call.hangup()
    records.callbacks.book(
        call.sid, CALLERS["jp"], "jp", "en-US", "main", "112358", phone.clock.now()
    )
    assert line.dispatcher.run_once().placed != []  # 17:4x: still 15 minutes before closing
    phone.run()
    callee = phone.last_call_to(CALLERS["jp"])
    callee.press("1")
    assert callee.queue == "jp-en-US-callback"
    callee.wait(300)  # past the line's leave_offer_after: the callback queue offers no way out
    assert not any("press 1" in line for line in callee.heard[-10:])
    callee.wait(900)  # nobody takes the callback queue; agents close at 18:00
    assert (
        "Our agents aren't available right now. They'll be back tomorrow at 9 AM." in callee.heard
    )
    assert (
        callee.ended
        and callee.heard[-1]
        == "We couldn't connect you to an agent this time. We'll try calling you again. Goodbye."
    )
    again = records.callbacks.for_call(call.sid)
    assert again is not None and (again.status, again.attempts) == ("pending", 1)
    assert again.last_result == "leave"
    # Not placed again before closing, nor on a call that would meet no agent.
    assert line.dispatcher.run_once().placed == []


@pytest.mark.slow
def test_the_dispatcher_places_no_callback_just_before_closing(line: Line) -> None:
    phone, records = line.phone, line.records
    phone.clock.set("2026-03-02T17:50+09:00")
    records.callbacks.book(
        "CA" + "2" * 32, CALLERS["jp"], "jp", "en-US", "main", "999000", phone.clock.now()
    )
    assert line.dispatcher.run_once().placed == []  # 10 minutes before closing


@pytest.mark.slow
def test_a_callback_booked_on_a_holiday_eve_waits_for_the_next_opening(line: Line) -> None:
    phone, records = line.phone, line.records
    call = phone.dial(CALLERS["jp"], LINES["jp"], at="2026-12-28T19:00+09:00")  # closed to 4 Jan
    call.answers.extend(["2", "0", "1", "1"])
    phone.run()
    assert (
        "Thank you. An agent will call you back after we open, from our number plus 8 1, 3, 4 5 6 7, 8 9 0 1."
        in call.heard
    )
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None
    assert booked.next_attempt_at.isoformat() == "2027-01-04T00:00:00+00:00"  # 09:00 in Tokyo
    phone.clock.set("2026-12-31T12:00+09:00")
    assert line.dispatcher.run_once().expired == 0  # not due yet: nothing to expire
    phone.clock.set("2027-01-04T09:00+09:00")
    assert line.dispatcher.run_once().placed == [booked.id]
