"""Deleting personal data past its retention: calls, finished callbacks, voicemails, the
comments callers recorded after the survey, and the recordings Twilio holds for them (deleted
through its REST API first, so a recording is never left at Twilio without the ticket or the
call that points to it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.store import Store

log = logging.getLogger("ivr.jobs.retention")


@dataclass(frozen=True)
class PurgeReport:
    calls: int
    callbacks: int
    voicemails: int
    kept_voicemails: int  # their recording could not be deleted at Twilio yet
    comments: int = 0  # survey comments whose recording was deleted
    kept_comments: int = 0  # their recording (and call) kept for the next purge


def purge(store: Store, client: Client | None, before: datetime) -> PurgeReport:
    """Delete what is older than `before`. Without a Twilio client, voicemails are kept, and
    so are the calls holding a comment."""
    voicemails, kept_voicemails = _purge_voicemails(store, client, before)
    comments, kept_comments = _purge_comments(store, client, before)
    purged = store.purge(before)
    return PurgeReport(
        purged.calls, purged.callbacks, voicemails, kept_voicemails, comments, kept_comments
    )


def _purge_voicemails(store: Store, client: Client | None, before: datetime) -> tuple[int, int]:
    deleted = kept = 0
    for voicemail in store.voicemails.older_than(before):
        if client is None or not _delete_recording(client, voicemail.recording_sid):
            kept += 1
            continue
        store.voicemails.forget(voicemail.recording_sid)
        deleted += 1
    return deleted, kept


def _purge_comments(store: Store, client: Client | None, before: datetime) -> tuple[int, int]:
    """Comments are kept with their call: once the recording is gone, the call is cleared of
    it, and the purge of calls takes it."""
    deleted = kept = 0
    for call_sid, recording_sid in store.comments_older_than(before):
        if client is None or not _delete_recording(client, recording_sid):
            kept += 1
            continue
        store.forget_comment(call_sid)
        deleted += 1
    return deleted, kept


def _delete_recording(client: Client, recording_sid: str) -> bool:
    try:
        client.recordings(recording_sid).delete()
    except TwilioRestException as exc:
        if exc.status == 404:
            return True  # already gone
        log.warning("could not delete recording %s at Twilio: %s", recording_sid, exc)
        return False
    except Exception:
        # Twilio unreachable: keep the ticket, purge the rest, try again next time.
        log.warning("could not reach Twilio to delete recording %s", recording_sid, exc_info=True)
        return False
    return True
