"""Mailing voicemail tickets to the regions' support mailboxes, oldest first.

Run after each recording and by the dispatcher, so a mail server that was down catches up.
Each ticket is claimed before it is sent, so two senders never mail it twice, and is unsent
again when the mail server refuses it.
"""

from __future__ import annotations

import logging

from ivr.clock import Clock
from ivr.mail import Mailer, voicemail_message
from ivr.regions import RegionBook
from ivr.store import Store

log = logging.getLogger("ivr.voicemail")


def deliver_voicemails(store: Store, mailer: Mailer, regions: RegionBook, clock: Clock) -> int:
    """Mail every unsent ticket; returns how many went out. Stops at the first failure."""
    sent = 0
    for voicemail in store.voicemails.unsent():
        region = regions.regions.get(voicemail.region, regions.fallback)
        message = voicemail_message(voicemail, region.voicemail_email, region.name)
        try:
            mailer.send(message)
        except Exception:
            log.exception(
                "mailing voicemail %s failed; trying again later", voicemail.recording_sid
            )
            break
        store.voicemails.emailed(voicemail.recording_sid, clock.now())
        sent += 1
    return sent
