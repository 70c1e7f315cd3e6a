"""The survey's webhooks one request at a time: odd input, retries, silent and lost comments."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.moments import instant

MONDAY_10_NEW_YORK = instant("2026-03-02T10:00-05:00")
CALLER, LINE = "+12025550188", "+12025550142"
SID = "CA" + "b" * 32
CALL = {"CallSid": SID, "From": CALLER, "To": LINE, "CallStatus": "in-progress"}
COMMENT = {
    **CALL,
    "RecordingSid": "RE" + "c" * 32,
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE" + "c" * 32,
    "RecordingDuration": "14",
}
GOODBYE = "Thank you for calling. Goodbye."


@pytest.fixture
def app_client(settings: Settings) -> Iterator[AppClient]:
    client = AppClient(create_app(settings, clock=FixedClock(MONDAY_10_NEW_YORK)))
    yield client
    client.close()


def says(xml: str) -> list[str]:
    return [element.text or "" for element in ElementTree.fromstring(xml).iter("Say")]


def store_of(app_client: AppClient) -> Store:
    store: Store = app_client.app.state.services.store
    return store


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice/survey?r=us&l=en-US", {"Digits": "4a"}),
        ("/voice/survey/comment?r=us&l=en-US", {"RecordingSid": "RE1234"}),
        ("/voice/survey/comment?r=us&l=en-US", {"RecordingUrl": "ftp://api.twilio.com/x"}),
        ("/voice/survey/comment?r=us&l=en-US", {"RecordingDuration": "-3"}),
        ("/voice/survey/comment?r=us&l=en-US", {"Digits": "hung up"}),
    ],
)
def test_malformed_survey_webhooks_get_a_400(
    app_client: AppClient, path: str, form: dict[str, str]
) -> None:
    response = app_client.post(path, data={**COMMENT, **form})
    assert response.status_code == 400 and "Traceback" not in response.text


def test_a_rating_delivered_twice_is_one_rating_and_the_same_answer(
    app_client: AppClient,
) -> None:
    first = app_client.post("/voice/survey?r=us&l=en-US", data={**CALL, "Digits": "4"})
    again = app_client.post("/voice/survey?r=us&l=en-US", data={**CALL, "Digits": "4"})
    assert first.text == again.text
    assert says(first.text)[0] == "Thank you for your rating."
    record = store_of(app_client).call(SID)
    assert record is not None and record.rating == 4


def test_a_stale_survey_link_ends_the_call_politely(app_client: AppClient) -> None:
    answer = app_client.post("/voice/survey?r=us&l=en-US&t=7", data={**CALL, "Digits": "4"})
    assert answer.status_code == 200 and says(answer.text) == [GOODBYE]
    assert store_of(app_client).call(SID) is None  # no rating kept from a link not ours


def test_a_silent_comment_is_kept_for_the_purge_but_not_thanked(app_client: AppClient) -> None:
    silent = {**COMMENT, "RecordingDuration": "5"}  # 5 s of silence ended it
    answer = app_client.post("/voice/survey/comment?r=us&l=en-US", data=silent)
    assert says(answer.text) == [GOODBYE]
    record = store_of(app_client).call(SID)
    assert record is not None and record.comment_url == COMMENT["RecordingUrl"]


def test_a_comment_is_thanked_once_kept(app_client: AppClient) -> None:
    answer = app_client.post("/voice/survey/comment?r=us&l=en-US", data=COMMENT)
    assert says(answer.text) == ["Thank you for your comment.", GOODBYE]
    record = store_of(app_client).call(SID)
    assert record is not None and record.comment_url == COMMENT["RecordingUrl"]


def test_a_comment_kept_nowhere_is_never_thanked(settings: Settings) -> None:
    not_a_directory = settings.spool_dir
    not_a_directory.parent.mkdir(parents=True, exist_ok=True)
    not_a_directory.write_text("")  # the spool cannot be written
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    client = AppClient(create_app(down, clock=FixedClock(MONDAY_10_NEW_YORK)))
    try:
        answer = client.post("/voice/survey/comment?r=us&l=en-US", data=COMMENT)
    finally:
        client.close()
        store_of(client).close()
    assert answer.status_code == 200 and says(answer.text) == [GOODBYE]
