"""The retention purge of the comments callers record after the survey: like voice messages,
their recordings are deleted at Twilio (the emulator's REST API, through Twilio's own client)
before the calls that point to them. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from twilio.rest import Client

from ivr.emulator import Recording, Switch
from ivr.jobs.retention import PurgeReport, purge
from ivr.store import Store
from tests.support.moments import instant

NOW = instant("2026-06-01T10:00-05:00")
CUTOFF = NOW - timedelta(days=30)
OLD, NEW = CUTOFF - timedelta(days=1), CUTOFF + timedelta(days=1)
TOKEN = "retention-test-token"
CALLER = "+12025550188"


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def surveyed(store: Store, n: int, at: datetime, switch: Switch | None = None) -> Recording:
    """Call `n`, rated 4 after the agent hung up, with a recorded comment (held at Twilio
    when `switch` is given)."""
    call_sid = sid("CA", n)
    recording = Recording(sid("RE", n), call_sid, "AC" + "0" * 32, 12, at)
    if switch is not None:
        recording = Recording(recording.sid, call_sid, switch.account_sid, 12, at)
        switch.recordings.append(recording)
    store.record_step(call_sid, CALLER, "us", "en-US", "s", "main:0", at)
    store.record_survey(call_sid, at)
    store.record_survey(call_sid, at, rating=4)
    store.record_comment(call_sid, recording.sid, recording.url, 12, at)
    return recording


@pytest.mark.slow
def test_an_old_comment_is_deleted_at_twilio_then_its_call_is_purged(
    store: Store, emulated_twilio: Switch, rest_client: Client
) -> None:
    old = surveyed(store, 1, OLD, emulated_twilio)
    new = surveyed(store, 2, NEW, emulated_twilio)
    store.record_step(sid("CA", 3), CALLER, "us", "en-US", "s", "main:1", OLD)  # no survey
    other = Recording(sid("RE", 4), sid("CA", 4), emulated_twilio.account_sid, 9, OLD)
    emulated_twilio.recordings.append(other)  # a recording nothing of ours points to

    report = purge(store, rest_client, CUTOFF)

    assert report == PurgeReport(
        calls=2, callbacks=0, voicemails=0, kept_voicemails=0, comments=1, kept_comments=0
    )
    assert emulated_twilio.recordings == [new, other]
    assert store.call(sid("CA", 1)) is None and store.call(sid("CA", 3)) is None
    kept = store.call(sid("CA", 2))
    assert kept is not None and kept.comment_url == new.url and kept.rating == 4
    assert old not in emulated_twilio.recordings


@pytest.mark.slow
def test_a_comment_twilio_refuses_to_delete_keeps_its_call_until_the_next_purge(
    store: Store, emulated_twilio: Switch, rest_client: Client
) -> None:
    recording = surveyed(store, 1, OLD, emulated_twilio)
    wrong = Client(emulated_twilio.account_sid, "not-the-token")
    wrong.api.base_url = emulated_twilio.serve_rest()
    try:
        refused = purge(store, wrong, CUTOFF)  # 401 from the API
    finally:
        wrong.http_client.session.close()
    assert (refused.comments, refused.kept_comments, refused.calls) == (0, 1, 0)
    call = store.call(sid("CA", 1))
    assert call is not None and call.comment_url == recording.url
    assert emulated_twilio.recordings == [recording]

    again = purge(store, rest_client, CUTOFF)  # the next day, Twilio answers
    assert (again.comments, again.kept_comments, again.calls) == (1, 0, 1)
    assert emulated_twilio.recordings == [] and store.call(sid("CA", 1)) is None


def test_without_a_twilio_client_calls_with_comments_are_kept_and_reported(
    store: Store, emulated_twilio: Switch
) -> None:
    recording = surveyed(store, 1, OLD, emulated_twilio)
    store.record_step(sid("CA", 2), CALLER, "us", "en-US", "s", "main:1", OLD)

    report = purge(store, None, CUTOFF)

    assert (report.calls, report.comments, report.kept_comments) == (1, 0, 1)
    call = store.call(sid("CA", 1))
    assert call is not None and call.comment_url == recording.url
    assert (call.caller, call.path) == ("", "")  # kept for its recording, nothing else
    assert emulated_twilio.recordings == [recording]


@pytest.mark.slow
def test_a_comment_already_gone_at_twilio_still_lets_its_call_go(
    store: Store, emulated_twilio: Switch, rest_client: Client
) -> None:
    surveyed(store, 1, OLD)  # its recording was deleted by hand at Twilio
    report = purge(store, rest_client, CUTOFF)
    assert (report.comments, report.kept_comments, report.calls) == (1, 0, 1)
    assert store.call(sid("CA", 1)) is None


def test_forgetting_a_comment_clears_what_pointed_to_its_recording(store: Store) -> None:
    surveyed(store, 1, NEW)
    assert store.comments_older_than(NOW) == [(sid("CA", 1), sid("RE", 1))]
    store.forget_comment(sid("CA", 1))
    call = store.call(sid("CA", 1))
    assert call is not None and call.comment_url is None
    assert call.rating == 4 and call.surveyed_at is not None  # the rating is no recording
    assert store.comments_older_than(NOW) == []
