"""Every row of the error table: what Twilio rejects fails the call with its code, what it only
warns about is reported and the call goes on with the default."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ivr.emulator import TABLE, Limits, Outcome, Problem

LONG_NAME = "q" * 65


def doc(body: str) -> str:
    return f"<Response>{body}</Response>"


# problem -> (routes, switch options); each call runs to its end on silence.
CASES: dict[Problem, tuple[dict[str, Any], dict[str, Any]]] = {
    Problem.INVALID_URL: ({"/voice/incoming": doc("<Redirect>http://</Redirect>")}, {}),
    Problem.HTTP_ERROR_STATUS: ({"/voice/incoming": doc("<Redirect>/missing</Redirect>")}, {}),
    Problem.CONNECTION_FAILURE: ({"/voice/incoming": doc("<Redirect>/slow</Redirect>")}, {}),
    Problem.BODY_TOO_LARGE: ({"/voice/incoming": doc("<Pause/>" * 10_000)}, {}),
    Problem.PARSE_FAILURE: ({"/voice/incoming": "<Response><Say>Hi</Response>"}, {}),
    Problem.ROOT_NOT_RESPONSE: ({"/voice/incoming": "<response><Say>Hi</Say></response>"}, {}),
    Problem.UNKNOWN_VERB: ({"/voice/incoming": doc("<Say>Before</Say><say>after</say>")}, {}),
    Problem.WRONG_NESTING: ({"/voice/incoming": doc("<Gather><Dial>+1</Dial></Gather>")}, {}),
    Problem.UNKNOWN_ATTRIBUTE: ({"/voice/incoming": doc("<Say volume='11'>Hi</Say>")}, {}),
    Problem.INVALID_ATTRIBUTE_VALUE: ({"/voice/incoming": doc("<Reject reason='nope'/>")}, {}),
    Problem.BAD_CONTENT_TYPE: (
        {"/voice/incoming": Response('{"say": "hi"}', media_type="application/json")},
        {},
    ),
    Problem.DIAL_TIMEOUT: ({"/voice/incoming": doc("<Dial timeout='soon'>+1</Dial>")}, {}),
    Problem.GATHER_FINISH_ON_KEY: ({"/voice/incoming": doc("<Gather finishOnKey='x'/>")}, {}),
    Problem.GATHER_METHOD: ({"/voice/incoming": doc("<Gather method='PUT'/>")}, {}),
    Problem.GATHER_TIMEOUT: ({"/voice/incoming": doc("<Gather timeout='-1'/>")}, {}),
    Problem.GATHER_NUM_DIGITS: ({"/voice/incoming": doc("<Gather numDigits='0'/>")}, {}),
    Problem.GATHER_SAY_LOOP: (
        {"/voice/incoming": doc("<Gather><Say loop='-1'>Menu</Say></Gather>")},
        {},
    ),
    Problem.GATHER_SPEECH_TIMEOUT: (
        {"/voice/incoming": doc("<Gather input='speech' speechTimeout='soon'/>")},
        {},
    ),
    Problem.GATHER_LANGUAGE: (
        {"/voice/incoming": doc("<Gather input='speech' language='cmn-CN'/>")},
        {},
    ),
    Problem.PLAY_LOOP: ({"/voice/incoming": doc("<Play loop='often'>/a.mp3</Play>")}, {}),
    Problem.SAY_LOOP: ({"/voice/incoming": doc("<Say loop='-2'>Hi</Say>")}, {}),
    Problem.SAY_VOICE: ({"/voice/incoming": doc("<Say voice='Polly.Nobody'>Hi</Say>")}, {}),
    Problem.SAY_EMPTY_TEXT: ({"/voice/incoming": doc("<Say></Say>")}, {}),
    Problem.SAY_TOO_LONG: ({"/voice/incoming": doc(f"<Say>{'word ' * 900}</Say>")}, {}),
    Problem.RECORD_TIMEOUT: ({"/voice/incoming": doc("<Record action='/r' timeout='-1'/>")}, {}),
    Problem.RECORD_MAX_LENGTH: (
        {"/voice/incoming": doc("<Record action='/r' maxLength='0'/>")},
        {},
    ),
    Problem.RECORD_FINISH_ON_KEY: (
        {"/voice/incoming": doc("<Record action='/r' finishOnKey='x'/>")},
        {},
    ),
    Problem.REDIRECT_METHOD: ({"/voice/incoming": doc("<Redirect method='PUT'>/r</Redirect>")}, {}),
    Problem.PAUSE_LENGTH: ({"/voice/incoming": doc("<Pause length='0'/>")}, {}),
    Problem.ENQUEUE_WAIT_URL: (
        {"/voice/incoming": doc("<Enqueue waitUrl='ftp://x/'>q</Enqueue>")},
        {},
    ),
    Problem.QUEUE_NAME_EMPTY: ({"/voice/incoming": doc("<Enqueue> </Enqueue>")}, {}),
    Problem.QUEUE_NAME_TOO_LONG: ({"/voice/incoming": doc(f"<Enqueue>{LONG_NAME}</Enqueue>")}, {}),
    Problem.ENQUEUE_WAIT_URL_METHOD: (
        {"/voice/incoming": doc("<Enqueue waitUrlMethod='PUT'>q</Enqueue>")},
        {},
    ),
    Problem.QUEUE_FULL: ({"/voice/incoming": doc("<Enqueue>full</Enqueue>")}, {}),
    Problem.DIAL_QUEUE_NAME_EMPTY: ({"/voice/incoming": doc("<Dial><Queue/></Dial>")}, {}),
    Problem.DIAL_QUEUE_NAME_TOO_LONG: (
        {"/voice/incoming": doc(f"<Dial><Queue>{LONG_NAME}</Queue></Dial>")},
        {},
    ),
    Problem.STATUS_CALLBACK_FAILED: (
        {"/voice/incoming": doc("<Say>Hi</Say>"), "/voice/status": Response(status_code=503)},
        {},
    ),
    Problem.QUEUE_NOT_FOUND: ({"/voice/incoming": doc("<Dial><Queue>nobody</Queue></Dial>")}, {}),
    Problem.WAIT_URL_FAILED: (
        {"/voice/incoming": doc("<Enqueue waitUrl='/w'>q</Enqueue>"), "/w": "<Response>"},
        {},
    ),
    Problem.UNSUPPORTED_TWIML: (
        {"/voice/incoming": doc("<Dial><Conference>c</Conference></Dial>")},
        {},
    ),
    Problem.MAX_CALL_DURATION: (
        {"/voice/incoming": doc("<Pause length='120'/>")},
        {"limits": Limits(max_call_seconds=60)},
    ),
    Problem.MAX_DOCUMENTS: (
        {"/voice/incoming": doc("<Redirect>/voice/incoming</Redirect>")},
        {"limits": Limits(max_documents=10)},
    ),
}


async def never_answers(request: Request) -> Response:
    await asyncio.Event().wait()  # a hung server: Twilio gives up after 15 s (here 0.2 s)
    return Response()


@pytest.mark.slow
@pytest.mark.parametrize("problem", list(CASES), ids=[problem.value for problem in CASES])
def test_each_row_is_raised_with_its_outcome(
    problem: Problem, make_app: Any, make_switch: Any
) -> None:
    routes, options = CASES[problem]
    app = make_app({"/r": "<Response/>", **routes})
    app.asgi.router.routes.insert(0, Route("/slow", never_answers, methods=["POST"]))
    switch = make_switch(app, request_timeout=0.2, **options)
    switch.set_queue_max_size("full", 1)
    if problem is Problem.QUEUE_FULL:
        switch.dial_twiml(doc("<Enqueue waitUrl=''>full</Enqueue>"), from_="+1")
    call = switch.dial("+8613812345678", to="+864001234567", run_to_end=True)
    row = TABLE[problem]
    if row.outcome is Outcome.FAIL:
        assert call.status == "failed", call.transcript
        assert call.error is not None and call.error.problem == problem
        assert (call.error.code, call.error.url) == (row.code, row.url)
    else:
        assert call.status != "failed" and call.error is None, call.transcript
        assert problem in [warning.problem for warning in call.warnings], call.transcript


def test_every_row_of_the_table_is_provoked() -> None:
    assert set(CASES) == set(TABLE) == set(Problem)


def test_rows_link_to_twilio_error_pages() -> None:
    for problem, row in TABLE.items():
        if row.code is None:
            assert row.url is None and row.twilio_level is None, problem
        else:
            assert row.url == f"https://www.twilio.com/docs/api/errors/{row.code}"
            assert re.fullmatch(r"1[1-5]\d{3}", str(row.code)) and row.twilio_level in (
                "ERROR",
                "WARNING",
            )


def test_only_unknown_verbs_and_wrong_nesting_fail_where_twilio_warns() -> None:
    stricter = {
        p
        for p, row in TABLE.items()
        if row.outcome is Outcome.FAIL and row.twilio_level == "WARNING"
    }
    assert stricter == {Problem.UNKNOWN_VERB, Problem.WRONG_NESTING}
    milder = {
        p for p, row in TABLE.items() if row.outcome is Outcome.WARN and row.twilio_level == "ERROR"
    }
    assert milder == set()


def test_verbs_before_an_unknown_verb_are_still_heard(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": doc("<Say>Before</Say><say>after</say>")})
    call = make_switch(app).dial("+1", to="+2")
    assert call.heard == ["Before"] and call.status == "failed"
    assert call.error is not None and "<say>" in call.error.message


def test_leading_whitespace_before_the_xml_declaration_is_a_parse_failure(
    make_app: Any, make_switch: Any
) -> None:
    document = '\n<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say></Response>'
    call = make_switch(make_app({"/voice/incoming": document})).dial("+1", to="+2")
    assert call.error is not None and call.error.code == 12100


def test_missing_content_type_is_invalid(make_app: Any, make_switch: Any) -> None:
    class Bare(Response):
        def init_headers(self, headers: Any = None) -> None:
            super().init_headers(headers)
            self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-type"]

    app = make_app({"/voice/incoming": Bare(b"<Response/>")})
    call = make_switch(app).dial("+1", to="+2")
    assert call.error is not None and call.error.code == 12300


def test_unknown_attribute_is_ignored_and_the_verb_runs(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": doc("<Say volume='11'>Hi</Say>")})
    call = make_switch(app).dial("+1", to="+2")
    assert call.heard == ["Hi"]
    assert call.warnings[0].code == 12200 and "volume" in call.warnings[0].message


def test_invalid_gather_timeout_uses_the_default_five_seconds(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app({"/voice/incoming": doc("<Gather timeout='-1'/><Say>Bye</Say>")})
    call = make_switch(app).dial("+1", to="+2", run_to_end=True)
    bye = next(e for e in call.events if e.to_json()["type"] == "say")
    assert bye.t == pytest.approx(5)


def test_error_event_names_the_element(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": doc(f"<Enqueue action='/a'>{LONG_NAME}</Enqueue>")})
    call = make_switch(app).dial("+1", to="+2")
    assert call.error is not None
    assert call.error.to_json()["element"] == '<Enqueue action="/a">'
    assert call.error.to_json()["code"] == 14205


def test_a_noun_outside_dial_is_wrong_nesting(make_app: Any, make_switch: Any) -> None:
    app = make_app({"/voice/incoming": doc("<Number>+14155550100</Number>")})
    call = make_switch(app).dial("+1", to="+2")
    assert call.error is not None and call.error.problem == Problem.WRONG_NESTING


def test_valid_twiml_the_emulator_does_not_simulate_says_so(
    make_app: Any, make_switch: Any
) -> None:
    app = make_app(
        {"/voice/incoming": doc("<Say>Hi</Say><Connect><Stream url='wss://x'/></Connect>")}
    )
    call = make_switch(app).dial("+1", to="+2")
    assert call.heard == ["Hi"] and call.error is not None
    assert call.error.code is None and "does not simulate" in call.error.message
