"""<Record>: how a recording ends and what its action request carries."""

from __future__ import annotations

import re
from typing import Any

import pytest

VOICEMAIL = (
    "<Response><Say>Leave a message</Say>"
    '<Record action="/saved" maxLength="{max_length}" timeout="{timeout}" finishOnKey="#"/>'
    "</Response>"
)
SAVED = "<Response><Say>Saved</Say></Response>"


@pytest.fixture
def twiml_app(make_app: Any) -> Any:
    document = VOICEMAIL.format(max_length=60, timeout=5)
    return make_app({"/voice/incoming": document, "/saved": SAVED})


def test_record_waits_for_the_caller_like_a_gather(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    assert call.prompt is not None and call.prompt.to_json()["type"] == "recording"


def test_spoken_message_ends_after_the_silence_timeout(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.say("I forgot my password, please call me back")  # 41 characters: 2.7 s
    params = twiml_app.to("/saved")[0].params
    assert params["RecordingDuration"] == "8"  # speech, then the 5 s of silence that ended it
    assert "Digits" not in params
    assert re.fullmatch(
        rf"https://api\.twilio\.local/2010-04-01/Accounts/{params['AccountSid']}"
        r"/Recordings/RE[0-9a-f]{32}",
        params["RecordingUrl"],
    )
    assert params["RecordingSid"] == params["RecordingUrl"].rsplit("/", 1)[1]
    assert call.hears("Saved")


def test_finish_key_ends_the_recording_and_is_reported(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.press("1#")
    params = twiml_app.to("/saved")[0].params
    assert params["Digits"] == "#" and params["RecordingDuration"] == "1"
    assert call.ended


def test_recording_stops_at_max_length(make_app: Any, make_switch: Any) -> None:
    document = VOICEMAIL.format(max_length=10, timeout=0)
    twiml_app = make_app({"/voice/incoming": document, "/saved": SAVED})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.say("I need help with a withdrawal that has been pending since Friday. " * 4)
    assert twiml_app.to("/saved")[0].params["RecordingDuration"] == "10"


def test_hang_up_while_recording_posts_digits_hangup(twiml_app: Any, make_switch: Any) -> None:
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567")
    call.hangup()
    params = twiml_app.to("/saved")[0].params
    assert params["Digits"] == "hangup" and params["CallStatus"] == "completed"
    assert call.status == "completed" and not call.hears("Saved")
    assert twiml_app.to("/voice/status")[0].params["CallStatus"] == "completed"


def test_record_without_action_posts_to_the_current_document(
    make_app: Any, make_switch: Any
) -> None:
    twiml_app = make_app({"/voice/incoming": "<Response><Record/></Response>"})
    call = make_switch(twiml_app).dial("+8613812345678", to="+864001234567", answers=["_"])
    assert len(twiml_app.to("/voice/incoming")) == 2
    assert twiml_app.to("/voice/incoming")[1].params["RecordingDuration"] == "5"  # the silence
    assert call.prompt is not None  # the same document asks for a recording again


@pytest.mark.parametrize(("trim", "kept"), [("trim-silence", 3), ("do-not-trim", 8)])
def test_the_kept_recording_loses_its_silence_unless_told_not_to(
    make_app: Any, make_switch: Any, trim: str, kept: int
) -> None:
    document = f'<Response><Record action="/saved" trim="{trim}"/></Response>'
    twiml_app = make_app({"/voice/incoming": document, "/saved": SAVED})
    switch = make_switch(twiml_app)
    switch.dial("+8613812345678", to="+864001234567").say(
        "I forgot my password, please call me back"
    )
    assert twiml_app.to("/saved")[0].params["RecordingDuration"] == "8"  # reported before trimming
    assert switch.recordings[0].duration == kept


def test_recordings_are_kept_on_the_switch(twiml_app: Any, make_switch: Any) -> None:
    switch = make_switch(twiml_app)
    call = switch.dial("+8613812345678", to="+864001234567")
    call.press("#")
    (recording,) = switch.recordings
    assert recording.call_sid == call.sid and recording.duration == 0
