"""Say, Play, Pause: what is heard, with which voice, and how long it takes on the clock."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import Response

from ivr.emulator import Limits


def times(call: Any, kind: str) -> list[float]:
    return [event.t for event in call.events if event.to_json()["type"] == kind]


def test_say_records_voice_language_and_text(make_app: Any, make_switch: Any) -> None:
    document = (
        '<Response><Say voice="Polly.Zhiyu" language="cmn-CN">您好，请输入密码</Say></Response>'
    )
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    say = next(e.to_json() for e in call.events if e.to_json()["type"] == "say")
    assert (say["text"], say["voice"], say["language"], say["loop"]) == (
        "您好，请输入密码", "Polly.Zhiyu", "cmn-CN", 1,
    )  # fmt: skip
    assert not call.warnings


def test_say_takes_time_by_text_length(make_app: Any, make_switch: Any) -> None:
    document = (
        "<Response><Say>Thirty latin characters here!!</Say>"  # 30 chars: 2 s
        "<Say voice='Polly.Zhiyu'>十个汉字十个汉字十个</Say>"  # 10 CJK chars: 2 s
        "<Say loop='2'>Hi</Say>"  # at least 1 s, twice
        "<Pause/></Response>"
    )
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert times(call, "say") == pytest.approx([0, 2, 4])
    assert times(call, "pause") == pytest.approx([6])
    assert times(call, "status") == pytest.approx([7])


def test_say_loop_zero_is_recorded_once_and_charged_ten_rounds(
    make_app: Any, make_switch: Any
) -> None:
    document = "<Response><Say loop='0'>Hold on</Say><Say>Next</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.heard == ["Hold on", "Next"]
    assert times(call, "say") == pytest.approx([0, 10])


def test_play_uses_the_assumed_length_and_loops(make_app: Any, make_switch: Any) -> None:
    document = (
        "<Response><Play loop='3'>/hold.mp3</Play><Play digits='1w2'/><Say>x</Say></Response>"
    )
    switch = make_switch(make_app({"/voice/incoming": document}), limits=Limits(play_seconds=4))
    call = switch.dial("+1", to="+2")
    plays = [e.to_json() for e in call.events if e.to_json()["type"] == "play"]
    assert plays[0]["url"] == "https://ivr.example.com/hold.mp3" and plays[0]["loop"] == 3
    assert plays[1]["digits"] == "1w2"
    assert times(call, "say") == pytest.approx([12 + 0.3 + 0.5 + 0.3])


def test_unknown_voice_is_a_warning_and_the_default_voice_speaks(
    make_app: Any, make_switch: Any
) -> None:
    document = "<Response><Say voice='Polly.Nobody'>Hello</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert [w.code for w in call.warnings] == [13511]
    assert call.heard == ["Hello"] and call.status == "completed"
    say = next(e.to_json() for e in call.events if e.to_json()["type"] == "say")
    assert say["voice"] == "man"


@pytest.mark.parametrize(
    ("voice", "language"),
    [
        ("man", "cmn-CN"),
        ("Polly.Joanna", "ja-JP"),
        ("Polly.Zhiyu", "zh-CN"),
        ("Google.cmn-TW-Standard-A", "cmn-CN"),
    ],
)
def test_voice_that_does_not_speak_the_language_is_a_warning(
    make_app: Any, make_switch: Any, voice: str, language: str
) -> None:
    document = f"<Response><Say voice='{voice}' language='{language}'>Hello</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert [w.code for w in call.warnings] == [13511]
    assert "does not speak" in call.warnings[0].message and call.heard == ["Hello"]


def test_aditi_speaks_both_hindi_and_indian_english(make_app: Any, make_switch: Any) -> None:
    document = (
        "<Response><Say voice='Polly.Aditi' language='hi-IN'>नमस्ते</Say>"
        "<Say voice='Polly.Aditi' language='en-IN'>Hello</Say></Response>"
    )
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert not call.warnings


def test_empty_say_is_a_warning_and_is_skipped(make_app: Any, make_switch: Any) -> None:
    document = "<Response><Say>  </Say><Say>Next</Say></Response>"
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert [w.code for w in call.warnings] == [13520] and call.heard == ["Next"]


def test_text_plain_answer_is_read_out_then_the_call_hangs_up(
    make_app: Any, make_switch: Any
) -> None:
    plain = Response("We are closed today.", media_type="text/plain")
    call = make_switch(make_app({"/voice/incoming": plain})).dial("+1", to="+2")
    assert call.heard == ["We are closed today."] and call.status == "completed"


def test_audio_answer_is_played_then_the_call_hangs_up(make_app: Any, make_switch: Any) -> None:
    audio = Response(b"ID3", media_type="audio/mpeg")
    call = make_switch(make_app({"/voice/incoming": audio})).dial("+1", to="+2")
    play = next(e.to_json() for e in call.events if e.to_json()["type"] == "play")
    assert play["url"] == "https://ivr.example.com/voice/incoming"
    assert call.status == "completed"


def test_html_content_type_is_read_as_twiml(make_app: Any, make_switch: Any) -> None:
    html = Response("<Response><Say>Hi</Say></Response>", media_type="text/html")
    assert make_switch(make_app({"/voice/incoming": html})).dial("+1", to="+2").heard == ["Hi"]
