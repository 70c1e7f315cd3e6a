"""<Gather> follows Twilio's rules: what is collected, when it submits, when it falls through."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.emulator import CallNotWaiting

MENU = (
    "<Response>"
    '<Gather action="/choice" numDigits="{digits}" {extra}><Say>Press a key</Say></Gather>'
    "<Say>We did not get that</Say>"
    "</Response>"
)
CHOICE = "<Response><Say>Thank you</Say></Response>"


def menu(digits: str = "", extra: str = "") -> str:
    document = MENU.format(digits=digits, extra=extra)
    return document.replace(' numDigits=""', "")


@pytest.fixture
def twiml_app(make_app: Any) -> Any:
    return make_app({"/voice/incoming": menu(), "/choice": CHOICE})


def test_dial_stops_at_a_gather_waiting_for_the_caller(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    assert call.prompt is not None and call.status == "in-progress"
    assert call.hears("Press a key")
    assert "Press a key" in repr(call)


def test_gather_without_input_falls_through_to_next_verb(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.silence()
    assert call.hears("We did not get that")
    assert twiml_app.to("/choice") == []
    assert call.ended


def test_finish_key_is_not_part_of_digits(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("12345#")
    assert twiml_app.to("/choice")[0].params["Digits"] == "12345"
    assert call.hears("Thank you")


def test_finish_key_before_any_digit_counts_as_no_input(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("#")
    assert twiml_app.to("/choice") == [] and call.hears("We did not get that")


def test_keys_after_the_finish_key_are_dropped(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("12#34")
    assert twiml_app.to("/choice")[0].params["Digits"] == "12"


def test_num_digits_reached_submits_at_once(make_app: Any, make_switch: Any) -> None:
    twiml_app = make_app({"/voice/incoming": menu(digits="1"), "/choice": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    before = call.events[-1].t
    call.press("25")
    assert twiml_app.to("/choice")[0].params["Digits"] == "2"
    request = next(e for e in call.events if e.to_json().get("purpose") == "action")
    assert request.t == pytest.approx(before + 0.3)


def test_digits_without_finish_key_submit_after_the_timeout(
    twiml_app: Any, make_switch: Any
) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    before = call.events[-1].t
    call.press("42")
    request = next(e for e in call.events if e.to_json().get("purpose") == "action")
    assert twiml_app.to("/choice")[0].params["Digits"] == "42"
    assert request.t == pytest.approx(before + 0.6 + 5)


def test_empty_finish_key_makes_hash_a_digit(make_app: Any, make_switch: Any) -> None:
    twiml_app = make_app({"/voice/incoming": menu(extra='finishOnKey=""'), "/choice": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("12#")
    assert twiml_app.to("/choice")[0].params["Digits"] == "12#"


def test_action_on_empty_result_posts_without_digits(make_app: Any, make_switch: Any) -> None:
    document = menu(extra='actionOnEmptyResult="true"')
    twiml_app = make_app({"/voice/incoming": document, "/choice": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.silence()
    params = twiml_app.to("/choice")[0].params
    assert "Digits" not in params and call.hears("Thank you")


def test_gather_without_action_posts_to_the_current_document(
    make_app: Any, make_switch: Any
) -> None:
    start = "<Response><Redirect method='GET'>menu?x=1</Redirect></Response>"
    document = "<Response><Gather numDigits='1'><Say>Menu</Say></Gather></Response>"
    twiml_app = make_app({"/voice/incoming": start, "/voice/menu": document})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("3")
    redirected, posted = twiml_app.to("/voice/menu")[:2]
    assert redirected.method == "GET" and redirected.url.startswith(posted.url)
    assert posted.method == "POST" and posted.url == "https://ivr.example.com/voice/menu?x=1"
    assert posted.params["Digits"] == "3"


def test_speech_answer_posts_speech_result(make_app: Any, make_switch: Any) -> None:
    document = menu(extra='input="dtmf speech" language="cmn-Hans-CN" hints="密码"')
    twiml_app = make_app({"/voice/incoming": document, "/choice": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.say("忘记密码")
    params = twiml_app.to("/choice")[0].params
    assert params["SpeechResult"] == "忘记密码" and params["Confidence"] == "0.9"
    assert "Digits" not in params and not call.warnings


def test_speech_to_a_keypad_only_gather_is_silence(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.say("sales")
    assert twiml_app.to("/choice") == [] and call.hears("We did not get that")


def test_scripted_answers_are_used_in_order(make_app: Any, make_switch: Any) -> None:
    again = "<Response><Gather action='/second' numDigits='1'><Say>Again</Say></Gather></Response>"
    twiml_app = make_app({"/voice/incoming": menu(digits="1"), "/choice": again, "/second": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567", answers=["1", "2"])
    assert [seen.params.get("Digits") for seen in twiml_app.requests[1:3]] == ["1", "2"]
    assert call.ended and call.hears("Thank you")


def test_run_to_end_answers_silence_when_the_script_runs_out(
    twiml_app: Any, make_switch: Any
) -> None:
    call = make_switch(twiml_app).dial(
        "+8613812345678", to="+864001234567", answers=[], run_to_end=True
    )
    assert call.ended and call.hears("We did not get that")


def test_hears_looks_only_at_the_current_turn(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("1#")
    assert call.hears("Thank you") and not call.hears("Press a key")
    assert call.heard == ["Press a key", "Thank you"]


def test_pending_gather_times_out_when_time_passes(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.wait(120)
    assert call.ended and call.hears("We did not get that")


def test_answering_a_call_that_is_not_waiting_raises(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.silence()
    with pytest.raises(CallNotWaiting):
        call.press("1")


def test_bad_answer_strings_are_refused(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    with pytest.raises(ValueError, match="say:TEXT"):
        call.press("1a")


def test_prompt_repeated_until_hang_up_can_be_answered_after_one_round(
    make_app: Any, make_switch: Any
) -> None:
    document = (
        "<Response><Gather action='/choice'><Say loop='0'>Press a key</Say></Gather></Response>"
    )
    twiml_app = make_app({"/voice/incoming": document, "/choice": CHOICE})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    assert call.prompt is not None
    say = next(event.to_json() for event in call.events if event.to_json()["type"] == "say")
    assert say["loop"] == 0
    assert call.prompt.t == pytest.approx(1.0)  # one round of "Press a key" (11 chars: 1 s)
