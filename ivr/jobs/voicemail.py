"""Mailing voicemail tickets to the regions' support mailboxes, oldest first.

Run after each recording and by the dispatcher, so a mail server that was down catches up.
Each ticket is claimed before it is sent, so two senders never mail it twice, and is unsent
again when the mail server refuses it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from ivr.clock import Clock
from ivr.config.regions import RegionBook
from ivr.jobs.mail import Mailer, voicemail_message
from ivr.store import Store

log = logging.getLogger("ivr.voicemail")
# Longer than any send takes (the SMTP timeout is 10 s), short enough to retry soon.
MAIL_LEASE = timedelta(minutes=5)


def deliver_voicemails(store: Store, mailer: Mailer, regions: RegionBook, clock: Clock) -> int:
    """Mail every unsent ticket nobody else is mailing; returns how many went out. A ticket
    the server refuses is left for later and the others go on; a server that cannot be
    reached ends the round."""
    sent = 0
    for voicemail in store.voicemails.unsent(at=clock.now()):
        if not store.voicemails.take_for_mail(voicemail.recording_sid, clock.now(), MAIL_LEASE):
            continue  # another sender has it
        region = regions.regions.get(voicemail.region, regions.fallback)
        message = voicemail_message(voicemail, region.voicemail_email, region.name)
        try:
            mailer.send(message)
        except smtplib.SMTPResponseException as exc:
            store.voicemails.mail_failed(voicemail.recording_sid)
            log.error("voicemail %s refused by the mail server: %s", voicemail.recording_sid, exc)
            continue
        except Exception:
            store.voicemails.mail_failed(voicemail.recording_sid)
            log.exception("mailing voicemail %s failed; retrying later", voicemail.recording_sid)
            break
        store.voicemails.emailed(voicemail.recording_sid, clock.now())
        sent += 1
    return sent
