"""Deleting personal data past its retention: calls, finished callbacks, voicemails and the
recordings Twilio holds for them (deleted through its REST API first, so a recording is never
left at Twilio without the ticket that points to it)."""

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


def purge(store: Store, client: Client | None, before: datetime) -> PurgeReport:
    """Delete what is older than `before`. Without a Twilio client, voicemails are kept."""
    deleted = kept = 0
    for voicemail in store.voicemails.older_than(before):
        if client is None or not _delete_recording(client, voicemail.recording_sid):
            kept += 1
            continue
        store.voicemails.forget(voicemail.recording_sid)
        deleted += 1
    purged = store.purge(before)
    return PurgeReport(purged.calls, purged.callbacks, deleted, kept)


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
