"""Answer strings and what Gather/Record make of them, without a call."""

from __future__ import annotations

import pytest

from ivr.emulator.answers import (
    Keys,
    RecordResult,
    Silence,
    Speech,
    gather_result,
    parse_answer,
    record_result,
)
from ivr.emulator.verbs import Gather, Record


def gather(**changes: object) -> Gather:
    fields: dict[str, object] = dict(
        element="<Gather>", input=("dtmf",), action="/a", method="POST", timeout=5,
        num_digits=None, finish_on_key="#", speech_timeout="5", language="en-US", hints=None,
        action_on_empty_result=False,
    )  # fmt: skip
    return Gather(**{**fields, **changes})  # type: ignore[arg-type]


def test_answer_strings() -> None:
    assert parse_answer("_") == Silence()
    assert parse_answer("say:forgot password") == Speech("forgot password")
    assert parse_answer("0*#9") == Keys("0*#9")
    for bad in ("", "say:", "12a", "SAY:x"):
        with pytest.raises(ValueError):
            parse_answer(bad)


def test_speech_timeout_auto_waits_one_second_after_speech() -> None:
    result = gather_result(gather(input=("speech",), speech_timeout="auto"), Speech("a" * 15))
    assert (result.speech, result.seconds) == ("a" * 15, 2.0)


def test_record_keys_that_do_not_finish_are_just_sound() -> None:
    record = Record(
        element="<Record>", action="/r", method="POST", timeout=5, max_length=60,
        finish_on_key="#", play_beep=True,
    )  # fmt: skip
    assert record_result(record, Keys("12")).digits is None
    assert record_result(record, Keys("1#")) == RecordResult(0.6, "#")
