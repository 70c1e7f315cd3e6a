"""The callback and voicemail webhooks one request at a time: retries, odd input, failures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.moments import instant

MONDAY_10_TOKYO = instant("2026-03-02T10:00+09:00")
PERSON = "+819012345678"
HOTLINE = "+81345678901"
SID = "CA" + "b" * 32


@pytest.fixture
def app_client(settings: Settings) -> Iterator[AppClient]:
    client = AppClient(create_app(settings, clock=FixedClock(MONDAY_10_TOKYO)))
    yield client
    client.close()


def verbs(xml: str) -> list[str]:
    return [element.tag for element in ElementTree.fromstring(xml)]


def says(xml: str) -> list[str]:
    return [element.text or "" for element in ElementTree.fromstring(xml).iter("Say")]


def placed_callback(store: Store) -> int:
    """A booked callback the dispatcher has claimed and is calling on CallSid SID."""
    store.callbacks.book(
        "CA" + "1" * 32, PERSON, "jp", "en-US", "pending", "123456", MONDAY_10_TOKYO
    )
    claimed = store.callbacks.claim("jp", MONDAY_10_TOKYO, timedelta(minutes=15))
    assert claimed is not None
    store.callbacks.dialed(claimed.id, SID, MONDAY_10_TOKYO)
    return claimed.id


def test_pressing_1_delivered_twice_still_queues_the_person(app_client: AppClient) -> None:
    store: Store = app_client.app.state.services.store
    callback_id = placed_callback(store)
    form = {"CallSid": SID, "From": HOTLINE, "To": PERSON, "Digits": "1"}
    first = app_client.post(f"/voice/callback/key?cb={callback_id}&s=0", data=form)
    again = app_client.post(f"/voice/callback/key?cb={callback_id}&s=0", data=form)
    assert verbs(first.text) == verbs(again.text) == ["Say", "Enqueue"]
    assert first.text == again.text
    record = store.callbacks.get(callback_id)
    assert record is not None and record.status == "queued"


@pytest.mark.slow
def test_the_callback_legs_queue_webhooks_know_the_person_from_to(app_client: AppClient) -> None:
    store: Store = app_client.app.state.services.store
    callback_id = placed_callback(store)
    form = {"CallSid": SID, "From": HOTLINE, "To": PERSON, "Digits": "1"}
    app_client.post(f"/voice/callback/key?cb={callback_id}&s=0", data=form)
    wait = {**form, "QueuePosition": "1", "QueueTime": "400", "CurrentQueueSize": "1"}
    query = f"r=jp&l=en-US&w=pending&q=jp-en-US-callback&cb={callback_id}"
    answer = app_client.post(f"/voice/queue/wait?{query}", data=wait)
    assert "Gather" not in verbs(answer.text)  # no way out offered in the callback queue
    left = {**form, "QueueResult": "leave", "QueueTime": "400"}
    result = app_client.post(
        f"/voice/queue/result?r=jp&l=en-US&w=pending&cb={callback_id}", data=left
    )
    assert says(result.text) == [
        "We couldn't connect you to an agent this time. We'll try calling you again. Goodbye."
    ]
    record = store.callbacks.get(callback_id)
    assert record is not None and (record.status, record.last_result) == ("pending", "leave")
    # The person's call row is theirs, not our hotline's.
    call = store.call(SID)
    assert call is not None and call.caller == PERSON


def test_a_withheld_caller_on_the_global_line_is_not_offered_a_callback(
    app_client: AppClient,
) -> None:
    form = {"CallSid": SID, "From": "anonymous", "To": "+12025550199", "Digits": "0"}
    answer = app_client.post("/voice/menu?n=main&r=global&l=en-US", data=form)
    spoken = " ".join(says(answer.text))
    assert "To leave a voice message" in spoken
    assert "call you back" not in spoken


def test_a_message_kept_nowhere_is_never_called_saved(settings: Settings) -> None:
    not_a_directory = settings.spool_dir
    not_a_directory.parent.mkdir(parents=True, exist_ok=True)
    not_a_directory.write_text("")  # the spool cannot be written
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    client = AppClient(create_app(down, clock=FixedClock(MONDAY_10_TOKYO)))
    try:
        form = {
            "CallSid": SID,
            "From": PERSON,
            "To": HOTLINE,
            "RecordingSid": "RE" + "c" * 32,
            "RecordingUrl": "https://api.twilio.com/rec",
            "RecordingDuration": "30",
        }
        answer = client.post("/voice/recording?r=jp&l=en-US", data=form)
    finally:
        client.close()
        client.app.state.services.store.close()
    spoken = " ".join(says(answer.text))
    assert "We're sorry, something went wrong on our side." in spoken
    assert "saved" not in spoken


@pytest.mark.slow
@pytest.mark.parametrize(
    ("duration", "digits", "ticket"),
    [("5", "", False), ("6", "", True), ("0", "#", False), ("2", "#", True), ("3", "hangup", True)],
)
def test_a_recording_of_silence_is_no_ticket(
    app_client: AppClient, duration: str, digits: str, ticket: bool
) -> None:
    form = {
        "CallSid": SID,
        "From": PERSON,
        "To": HOTLINE,
        "RecordingSid": "RE" + "d" * 32,
        "RecordingUrl": "https://api.twilio.com/rec",
        "RecordingDuration": duration,
        **({"Digits": digits} if digits else {}),
    }
    answer = app_client.post("/voice/recording?r=jp&l=en-US", data=form)
    assert answer.status_code == 200
    store: Store = app_client.app.state.services.store
    assert (store.voicemails.get("RE" + "d" * 32) is not None) is ticket
    assert ("Sorry, we didn't hear a message." in says(answer.text)) is not ticket


def test_a_voicemail_ticket_is_mailed_by_one_sender_only(store: Store) -> None:
    store.voicemails.save(
        "RE" + "e" * 32, SID, "https://x", 9, PERSON, "jp", "en-US", None, MONDAY_10_TOKYO
    )
    sid, lease = "RE" + "e" * 32, timedelta(minutes=5)
    assert store.voicemails.take_for_mail(sid, MONDAY_10_TOKYO, lease)
    assert not store.voicemails.take_for_mail(sid, MONDAY_10_TOKYO, lease)  # held
    assert store.voicemails.unsent(at=MONDAY_10_TOKYO) == []
    later = MONDAY_10_TOKYO + timedelta(minutes=6)  # the sender died: the lease lapsed
    assert store.voicemails.take_for_mail(sid, later, lease)
    store.voicemails.mail_failed(sid)
    assert [v.recording_sid for v in store.voicemails.unsent(at=later)] == [sid]
    store.voicemails.emailed(sid, later)
    assert not store.voicemails.take_for_mail(sid, later + lease * 2, lease)  # mailed


@pytest.mark.slow
@pytest.mark.parametrize("forged", ["999999999999", str(2**31), "99999999999999999999"])
def test_a_callback_id_no_callback_can_have_is_nobodys_and_no_database_error(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture, forged: str
) -> None:
    client = AppClient(create_app(settings, clock=FixedClock(MONDAY_10_TOKYO), store=store))
    form = {"CallSid": SID, "From": HOTLINE, "To": PERSON}
    caplog.clear()  # what the app said at its start
    with caplog.at_level(logging.WARNING, logger="ivr"):
        answered = client.post(f"/voice/callback/answer?cb={forged}", data=form)
        key = client.post(f"/voice/callback/key?cb={forged}&s=0", data={**form, "Digits": "9"})
        ended = {**form, "CallStatus": "busy"}
        status = client.post(f"/voice/callback/status?cb={forged}", data=ended)
        left = {**form, "QueueResult": "hangup", "QueueTime": "40"}
        result = client.post(f"/voice/queue/result?r=jp&l=en-US&cb={forged}", data=left)
    client.close()
    assert (answered.status_code, key.status_code, result.status_code) == (200, 200, 200)
    assert status.status_code == 204
    assert verbs(answered.text)[-1] == "Hangup" and verbs(key.text)[-1] == "Hangup"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
