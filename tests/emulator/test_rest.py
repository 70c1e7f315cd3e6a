"""The switch's REST API subset, driven by the real twilio client over real HTTP: outbound calls
(answered, busy, no-answer, ended, canceled, redirected), queues, messages and recordings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.emulator import Message, Switch

from .conftest import PUBLIC_URL, START

TOKEN = "secret"
LINE = "+81300000000"
CUSTOMER = "+819012345678"
ANSWER_URL = f"{PUBLIC_URL}/voice/callback/answer?cb=12"
STATUS_URL = f"{PUBLIC_URL}/voice/callback/status?cb=12"
OFFER = (
    "<Response><Gather numDigits='1' action='/voice/callback/choice'>"
    "<Say>You asked us to call you back. Press 1 to talk to an agent.</Say></Gather></Response>"
)
ROUTES = {
    "/voice/callback/answer": OFFER,
    "/voice/callback/choice": "<Response><Say>Connecting you now.</Say></Response>",
    "/voice/callback/other": "<Response><Say>Plans changed.</Say><Pause length='60'/></Response>",
    "/voice/callback/status": "",
}


@pytest.fixture
def twiml_app(make_app: Any) -> Any:
    # The app checks every signature with twilio's RequestValidator (403 when it is wrong).
    return make_app(dict(ROUTES), auth_token=TOKEN)


@pytest.fixture
def twiml_switch(twiml_app: Any, make_switch: Any) -> Switch:
    twiml_switch: Switch = make_switch(twiml_app)
    return twiml_switch


@pytest.fixture
def twilio_client() -> Iterator[Callable[..., Client]]:
    """A real twilio Client pointed at a switch's REST server."""
    clients: list[Client] = []

    def make(twiml_switch: Switch, token: str = TOKEN, **options: Any) -> Client:
        client = Client(twiml_switch.account_sid, token, **options)
        client.api.base_url = twiml_switch.serve_rest()
        clients.append(client)
        return client

    yield make
    for client in clients:  # its keep-alive connections, else unclosed-socket warnings
        client.http_client.session.close()


def place(client: Client, **options: Any) -> Any:
    params: dict[str, Any] = {
        "to": CUSTOMER,
        "from_": LINE,
        "url": ANSWER_URL,
        "status_callback": STATUS_URL,
        "timeout": 30,
    }
    return client.calls.create(**{**params, **options})


@pytest.mark.slow
def test_answered_call_runs_its_twiml_and_reports_its_end(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    created = place(client, status_callback_event=["completed"])
    assert (created.status, created.direction, created.to) == ("queued", "outbound-api", CUSTOMER)
    assert created.sid.startswith("CA") and len(created.sid) == 34
    assert created.date_created == START
    assert twiml_app.requests == []  # nothing happens until the switch is driven
    assert client.calls(created.sid).fetch().status == "queued"

    twiml_switch.run()

    call = twiml_switch.calls[created.sid]
    assert twiml_switch.outbound_calls() == [call] and twiml_switch.last_call_to(CUSTOMER) is call
    assert (call.direction, call.from_, call.to, call.status) == (
        "outbound-api",
        LINE,
        CUSTOMER,
        "in-progress",
    )
    assert call.hears("Press 1 to talk to an agent")
    assert call.answered_at == START + timedelta(seconds=5)  # Limits.ring_seconds
    (answer,) = twiml_app.to("/voice/callback/answer")
    assert answer.url == ANSWER_URL and answer.method == "POST"
    assert answer.params["CallSid"] == created.sid
    assert (answer.params["Direction"], answer.params["CallStatus"]) == (
        "outbound-api",
        "in-progress",
    )
    assert (answer.params["From"], answer.params["To"]) == (LINE, CUSTOMER)
    assert client.calls(created.sid).fetch().status == "in-progress"

    call.press("1")

    assert call.hears("Connecting you now.") and call.status == "completed"
    assert not call.warnings  # every request passed the app's signature check
    (status,) = twiml_app.to("/voice/callback/status")
    assert status.url == STATUS_URL and status.signature
    assert status.params["CallSid"] == created.sid
    assert status.params["CallStatus"] == "completed"
    assert status.params["CallDuration"] == str(
        round((call.ended_at - call.answered_at).total_seconds())  # type: ignore[operator]
    )
    assert status.params["SequenceNumber"] == "0"
    fetched = client.calls(created.sid).fetch()
    assert (fetched.status, fetched.duration) == ("completed", status.params["CallDuration"])
    assert call.ended_at is not None  # RFC 2822 dates carry whole seconds
    assert fetched.end_time == call.ended_at.replace(microsecond=0)


@pytest.mark.slow
def test_every_progress_event_asked_for_is_posted_in_order(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    events = ["initiated", "ringing", "answered", "completed"]
    created = place(twilio_client(twiml_switch), status_callback_event=events)
    twiml_switch.run()
    twiml_switch.calls[created.sid].hangup()
    posted = [seen.params for seen in twiml_app.to("/voice/callback/status")]
    assert [params["CallStatus"] for params in posted] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [params["SequenceNumber"] for params in posted] == ["0", "1", "2", "3"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("behaviour", "rang_for"),
    [("busy", 0), ("no-answer", 20), ("failed", 0)],
)
def test_unanswered_call_requests_no_twiml_and_reports_its_status(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any, behaviour: str, rang_for: int
) -> None:
    twiml_switch.callee(CUSTOMER, behaviour)
    created = place(twilio_client(twiml_switch), timeout=20)
    twiml_switch.run()
    call = twiml_switch.calls[created.sid]
    assert call.status == behaviour
    assert call.ended_at == call.started_at + timedelta(seconds=rang_for)
    assert twiml_app.to("/voice/callback/answer") == []
    (status,) = twiml_app.to("/voice/callback/status")
    assert status.params["CallStatus"] == behaviour
    assert status.params["CallDuration"] == "0"


@pytest.mark.slow
def test_a_callee_that_answers_slower_than_the_timeout_is_no_answer(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    created = place(twilio_client(twiml_switch), timeout=3)  # ring_seconds is 5
    twiml_switch.run()
    assert twiml_switch.calls[created.sid].status == "no-answer"
    assert twiml_app.to("/voice/callback/answer") == []


@pytest.mark.slow
def test_callee_answers_are_used_for_its_gathers(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    twiml_switch.callee(CUSTOMER, answers=["1"])
    created = place(twilio_client(twiml_switch))
    twiml_switch.run()
    assert twiml_switch.calls[created.sid].status == "completed"
    assert twiml_app.to("/voice/callback/choice")[0].params["Digits"] == "1"


@pytest.mark.slow
def test_ending_an_answered_call_through_the_api(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    created = place(client)
    twiml_switch.run()
    call = twiml_switch.calls[created.sid]
    assert call.status == "in-progress" and call.prompt is not None

    updated = client.calls(created.sid).update(status="completed")
    assert updated.sid == created.sid  # the switch carries it out at its next drive
    twiml_switch.run()

    assert call.status == "completed" and call.prompt is None
    hangups = [e.to_json() for e in call.events if e.to_json()["type"] == "hangup"]
    assert [h["by"] for h in hangups] == ["switch"]
    assert twiml_app.to("/voice/callback/status")[0].params["CallStatus"] == "completed"
    assert client.calls(created.sid).fetch().status == "completed"


@pytest.mark.slow
def test_canceling_a_queued_call_ends_it_before_it_rings(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    created = place(client)
    assert client.calls(created.sid).update(status="canceled").status == "canceled"
    twiml_switch.run()
    assert twiml_switch.calls[created.sid].status == "canceled"
    assert twiml_app.to("/voice/callback/answer") == []
    assert twiml_app.to("/voice/callback/status")[0].params["CallStatus"] == "canceled"


@pytest.mark.slow
def test_canceled_does_not_end_a_call_in_progress(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    created = place(client)
    twiml_switch.run()
    client.calls(created.sid).update(status="canceled")
    twiml_switch.run()
    assert twiml_switch.calls[created.sid].status == "in-progress"


@pytest.mark.slow
def test_redirecting_a_call_in_progress(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    created = place(client)
    with pytest.raises(TwilioRestException) as queued:
        client.calls(created.sid).update(url=f"{PUBLIC_URL}/voice/callback/other")
    assert (queued.value.status, queued.value.code) == (400, 21220)
    twiml_switch.run()
    call = twiml_switch.calls[created.sid]

    client.calls(created.sid).update(url=f"{PUBLIC_URL}/voice/callback/other", method="GET")
    twiml_switch.run(10)

    assert call.hears("Plans changed.") and call.status == "in-progress"
    assert twiml_app.to("/voice/callback/other")[0].method == "GET"
    assert twiml_app.to("/voice/callback/choice") == []  # the Gather never posted


@pytest.mark.slow
def test_redirecting_a_caller_out_of_a_queue(
    make_app: Any, make_switch: Any, twilio_client: Any
) -> None:
    twiml_app = make_app(
        {
            "/voice/incoming": (
                "<Response><Enqueue waitUrl='/wait' action='/after'>support</Enqueue></Response>"
            ),
            "/wait": "<Response><Say>Please hold</Say><Pause length='30'/></Response>",
            "/after": "<Response><Say>Unreachable after a redirect</Say></Response>",
        },
        auth_token=TOKEN,
    )
    twiml_switch = make_switch(twiml_app)
    caller = twiml_switch.dial("+8613800000001", to=LINE)
    assert caller.queue == "support"

    twilio_client(twiml_switch).calls(caller.sid).update(
        twiml="<Response><Say>An agent is free</Say></Response>"
    )
    twiml_switch.run()

    assert caller.hears("An agent is free") and caller.status == "completed"
    assert not caller.hears("Unreachable after a redirect")
    assert twiml_switch.queues["support"].members == [] and caller.queue is None
    assert twiml_app.to("/after")[0].params["QueueResult"] == "redirected"


@pytest.mark.slow
def test_calls_list_shows_queued_and_started_calls_newest_first(
    twiml_switch: Switch, twilio_client: Any
) -> None:
    client = twilio_client(twiml_switch)
    first = place(client)
    twiml_switch.run()
    second = place(client, to="+819000000002")
    listed = [(call.sid, call.status) for call in client.calls.list()]
    assert listed == [(second.sid, "queued"), (first.sid, "in-progress")]
    assert [call.sid for call in client.calls.list(status="in-progress")] == [first.sid]
    assert [call.sid for call in client.calls.list(to="+819000000002")] == [second.sid]


@pytest.mark.slow
def test_inline_twiml_call(twiml_app: Any, twiml_switch: Switch, twilio_client: Any) -> None:
    created = twilio_client(twiml_switch).calls.create(
        to=CUSTOMER, from_=LINE, twiml="<Response><Say>Your callback time is 3 pm.</Say></Response>"
    )
    twiml_switch.run()
    call = twiml_switch.calls[created.sid]
    assert call.hears("Your callback time is 3 pm.") and call.status == "completed"
    assert twiml_app.requests == []  # no StatusCallback was asked for


@pytest.mark.slow
def test_wrong_credentials_are_refused_with_20003(twiml_switch: Switch, twilio_client: Any) -> None:
    with pytest.raises(TwilioRestException) as refused:
        place(twilio_client(twiml_switch, token="not-the-token"))
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert twiml_switch.calls == {}


@pytest.mark.slow
def test_another_accounts_path_is_not_found(twiml_switch: Switch, twilio_client: Any) -> None:
    client = twilio_client(twiml_switch, account_sid="AC" + "0" * 32)
    with pytest.raises(TwilioRestException) as missing:
        place(client)
    assert (missing.value.status, missing.value.code) == (404, 20404)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"to": ""}, 21201),
        ({"from_": ""}, 21213),
        ({"url": "/voice/callback/answer"}, 21205),
        ({"status_callback": "ftp://ivr.example.com/status"}, 21205),
    ],
)
def test_invalid_parameters_are_refused_with_twilios_codes(
    twiml_switch: Switch, twilio_client: Any, options: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        place(twilio_client(twiml_switch), **options)
    assert (refused.value.status, refused.value.code) == (400, code)


@pytest.mark.slow
def test_unknown_call_is_not_found(twiml_switch: Switch, twilio_client: Any) -> None:
    with pytest.raises(TwilioRestException) as missing:
        twilio_client(twiml_switch).calls("CA" + "f" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


@pytest.mark.slow
def test_queues_list_shows_a_caller_waiting(
    make_app: Any, make_switch: Any, twilio_client: Any
) -> None:
    twiml_app = make_app(
        {
            "/voice/incoming": "<Response><Enqueue waitUrl='/wait'>support</Enqueue></Response>",
            "/wait": "<Response><Say>Please hold</Say><Pause length='30'/></Response>",
        },
        auth_token=TOKEN,
    )
    twiml_switch = make_switch(twiml_app)
    twiml_switch.set_queue_max_size("support", 10)
    twiml_switch.set_queue_max_size("sales", 5)
    caller = twiml_switch.dial("+8613800000001", to=LINE)
    twiml_switch.run(40)

    queues = {queue.friendly_name: queue for queue in twilio_client(twiml_switch).queues.list()}

    support = queues["support"]
    assert (support.current_size, support.max_size) == (1, 10)
    waited = int((twiml_switch.clock.now() - caller.started_at).total_seconds())
    assert waited > 40 and support.average_wait_time == waited
    assert support.sid == twiml_switch.queues["support"].sid and support.date_created == START
    assert (queues["sales"].current_size, queues["sales"].average_wait_time) == (0, 0)


@pytest.mark.slow
def test_queue_list_pages_are_followed(
    twiml_app: Any, twiml_switch: Switch, twilio_client: Any
) -> None:
    names = [f"desk-{number}" for number in range(5)]
    for name in names:
        twiml_switch.set_queue_max_size(name, 3)
    client = twilio_client(twiml_switch)
    assert [queue.friendly_name for queue in client.queues.list(page_size=2)] == names
    first = client.queues.page(page_size=2)
    assert first.next_page_url is not None and first.previous_page_url is None


@pytest.mark.slow
def test_messages_are_kept_on_the_switch(twiml_switch: Switch, twilio_client: Any) -> None:
    client = twilio_client(twiml_switch)
    sent = client.messages.create(to=CUSTOMER, from_=LINE, body="We will call you at 3 pm.")
    assert (
        sent.sid.startswith("SM")
        and sent.status == "queued"
        and sent.body == "We will call you at 3 pm."
    )
    assert twiml_switch.messages == [
        Message(sent.sid, CUSTOMER, LINE, "We will call you at 3 pm.", START)
    ]
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=CUSTOMER, from_=LINE, body="")
    assert (refused.value.status, refused.value.code) == (400, 21602)
    assert len(twiml_switch.messages) == 1


@pytest.mark.slow
def test_deleting_a_recording(make_app: Any, make_switch: Any, twilio_client: Any) -> None:
    twiml_app = make_app(
        {
            "/voice/incoming": "<Response><Record action='/saved' maxLength='20'/></Response>",
            "/saved": "<Response><Say>Thanks</Say></Response>",
        },
        auth_token=TOKEN,
    )
    twiml_switch = make_switch(twiml_app)
    twiml_switch.dial("+8613800000001", to=LINE, answers=["say:my card was blocked"])
    (recording,) = twiml_switch.recordings
    client = twilio_client(twiml_switch)

    assert client.recordings(recording.sid).delete() is True
    assert twiml_switch.recordings == []
    with pytest.raises(TwilioRestException) as missing:
        client.recordings(recording.sid).delete()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_serving_the_api_needs_an_auth_token(twiml_app: Any, make_switch: Any) -> None:
    twiml_switch = make_switch(twiml_app, auth_token=None)
    with pytest.raises(RuntimeError, match="auth_token"):
        twiml_switch.serve_rest()
    with pytest.raises(RuntimeError, match="serve_rest"):
        _ = twiml_switch.rest_url
