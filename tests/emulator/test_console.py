"""What people see: the readable transcript, the JSON events, the terminal prompt, live events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ivr.emulator import Event, GatherEvent, events_to_json, render_transcript, terminal_ask

MENU = (
    "<Response><Say voice='Polly.Mizuki' language='ja-JP'>お電話ありがとうございます</Say>"
    "<Gather numDigits='1' action='/choice'><Say>Press 1</Say></Gather></Response>"
)
CHOICE = "<Response><Say volume='2'>Thank you</Say><Hangup/></Response>"


def placed_call(make_app: Any, make_switch: Any, **options: Any) -> Any:
    app = make_app({"/voice/incoming": MENU, "/choice": CHOICE})
    return make_switch(app, **options).dial("+8613812345678", to="+864001234567")


def test_transcript_reads_like_the_call(make_app: Any, make_switch: Any) -> None:
    call = placed_call(make_app, make_switch)
    call.press("1")
    lines = call.transcript.splitlines()
    assert lines[1] == "00:00  IVR [Polly.Mizuki, ja-JP]: お電話ありがとうございます"
    assert lines[2] == "00:02  IVR [man, en-US]: Press 1"
    assert "Caller presses 1" in call.transcript
    assert "WARNING 12200 Schema validation warning: attribute 'volume'" in call.transcript
    assert "IVR hangs up" in call.transcript and lines[-1].endswith("call ended: completed, 4 s")
    assert "<Response>" not in call.transcript  # documents stay out of the readable text


def test_transcript_of_several_calls_names_each_call(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": "<Response><Say>Hi</Say></Response>"})
    switch = make_switch(app)
    first, second = switch.dial("+1", to="+2"), switch.dial("+3", to="+4")
    text = render_transcript(first.events + second.events)
    assert text.splitlines()[0].startswith(first.sid[-6:])
    assert text.splitlines()[-1].startswith(second.sid[-6:])


def test_events_have_a_stable_json_shape(make_app: Any, make_switch: Any) -> None:
    call = placed_call(make_app, make_switch)
    call.press("1")
    events = json.loads(events_to_json(call.events))
    assert {"t", "at", "call", "type"} <= set(events[0])
    kinds = [event["type"] for event in events]
    assert kinds[:4] == ["request", "say", "say", "gather"]
    request = events[0]
    assert request["document"].startswith("<Response>") and request["status"] == 200
    gather = events[3]
    assert gather["input"] == ["dtmf"] and gather["num_digits"] == 1
    # 11 kana and 2 kanji (14.5 morae at 7 a second), then "Press 1" (1 s)
    assert gather["at"] == "2026-03-01T03:00:03.071Z" and gather["t"] == 3.1
    pressed = next(event for event in events if event["type"] == "input")
    assert (pressed["kind"], pressed["keys"], pressed["digits"]) == ("digits", "1", "1")
    warning = next(event for event in events if event["type"] == "warning")
    assert warning["code"] == 12200 and warning["problem"] == "unknown-attribute"
    assert events[-1] == {**events[-1], "type": "status", "status": "completed"}


def test_terminal_prompt_asks_again_until_the_answer_is_valid(capsys: Any) -> None:
    replies = iter(["hello", "12#"])
    at = datetime(2026, 3, 1, tzinfo=UTC)
    prompt = GatherEvent(0.0, at, "CA1", ("dtmf",), 1, "#", 5, "5", "en-US", None, "/a")
    assert terminal_ask(prompt, read=lambda question: next(replies)) == "12#"
    assert "say:TEXT" in capsys.readouterr().out


def test_switch_asks_the_driver_instead_of_stopping(make_app: Any, make_switch: Any) -> None:
    asked: list[Event] = []

    def ask(prompt: Any) -> str:
        asked.append(prompt)
        return "1"

    call = placed_call(make_app, make_switch, ask=ask)
    assert call.ended and call.hears("Thank you")
    assert [prompt.to_json()["type"] for prompt in asked] == ["gather"]


def test_end_of_input_at_the_prompt_hangs_up(make_app: Any, make_switch: Any) -> None:
    def ask(prompt: Any) -> str:
        raise EOFError

    call = placed_call(make_app, make_switch, ask=ask)
    assert call.status == "completed" and "Caller hangs up" in call.transcript


def test_events_are_streamed_as_they_happen(make_app: Any, make_switch: Any) -> None:
    live: list[str] = []
    call = placed_call(make_app, make_switch, on_event=lambda event: live.append(event.type))
    assert live == [event.type for event in call.events]
