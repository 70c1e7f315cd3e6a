"""Voice messages end to end: the warning, the recording, the ticket, the mail to the region's
support mailbox, and the reply promise. On SQLite and on PostgreSQL (the `line` fixture)."""

from __future__ import annotations

import pytest

from tests.support.calls import CALLERS, LINES, Line

SUNDAY_EVENING_NEW_YORK = "2026-03-01T19:00-05:00"


@pytest.mark.slow
def test_caller_after_hours_leaves_a_message_and_the_support_team_gets_it(line: Line) -> None:
    phone, records = line.phone, line.records
    call = phone.dial(CALLERS["us"], LINES["us"], at=SUNDAY_EVENING_NEW_YORK)
    call.press("1")  # English
    call.press("4")  # a pending transaction
    call.press("0")
    assert call.hears("To leave a voice message for our support team, press 2, or say: message.")
    call.press("2")
    assert call.hears(
        "After the tone, please leave your message: your name, your account name, and what the problem is. Press the pound key when you're done."
    )
    assert call.hears(
        "Don't say your password, recovery phrase, private key, or any verification code. We never need them."
    )
    call.say("Hi, this is Sam. My withdrawal from Friday is still pending and I want to cancel it.")
    assert call.hears(
        "Thank you. Your message is saved, and our support team will reply by email within 24 hours."
    )
    assert call.ended and call.heard[-1] == "Thank you for calling. Goodbye."

    recording = phone.recordings[-1]
    ticket = records.voicemails.get(recording.sid)
    assert ticket is not None
    assert (ticket.call_sid, ticket.caller, ticket.region) == (call.sid, CALLERS["us"], "us")
    assert (ticket.language, ticket.reason, ticket.recording_url) == (
        "en-US",
        "pending",
        recording.url,
    )
    assert ticket.duration == recording.duration > 0
    record = records.call(call.sid)
    assert record is not None and record.outcome == "voicemail"

    [mail] = line.mailbox.messages
    assert mail["To"] == "support-us@example.com"
    assert mail["Subject"] == f"Voicemail from {CALLERS['us']} (United States and Canada)"
    body = mail.get_content()
    assert recording.url in body and call.sid in body and "Topic:         pending" in body
    mailed = records.voicemails.get(recording.sid)
    assert mailed is not None and mailed.emailed_at is not None


@pytest.mark.slow
def test_silence_instead_of_a_message_ends_with_the_other_channels(line: Line) -> None:
    phone, records = line.phone, line.records
    call = phone.dial(CALLERS["us"], LINES["us"], at=SUNDAY_EVENING_NEW_YORK)
    call.press("1")
    call.press("0")
    call.press("2")
    call.silence()
    assert call.hears("Sorry, we didn't hear a message.")
    assert call.hears("Or email us at support-us@example.com. We reply within 24 hours.")
    assert call.ended
    assert records.voicemails.unsent() == [] and line.mailbox.messages == []


@pytest.mark.slow
def test_a_message_mail_that_failed_is_sent_by_the_dispatcher(line: Line) -> None:
    phone, records = line.phone, line.records
    line.app.state.services.mailer = None  # the mail server was not reachable at the time
    call = phone.dial(CALLERS["us"], LINES["us"], at=SUNDAY_EVENING_NEW_YORK)
    call.answers.extend(["1", "0", "2", "say:Please call me about my account."])
    phone.run()
    assert call.ended and line.mailbox.messages == []
    assert len(records.voicemails.unsent()) == 1
    assert line.dispatcher.run_once().mails == 1
    assert len(line.mailbox.messages) == 1 and records.voicemails.unsent() == []


@pytest.mark.slow
def test_queue_announcements_estimate_the_wait_from_the_last_hours_answers(line: Line) -> None:
    phone, records = line.phone, line.records
    now = phone.clock.now()
    for index, waited in enumerate((100, 140, 170, 200)):
        sid = f"CA{index:032x}"
        records.remember_queue_entry(
            sid, "+819000000000", "jp-en-US", "jp", "en-US", "main", None, now
        )
        records.record_queue_result(sid, "bridged", waited, now)
    call = phone.dial(CALLERS["jp"], LINES["jp"], at=None)
    call.press("2")
    call.press("0")
    assert call.queue == "jp-en-US"
    assert call.hears("You're next in line.")
    # Four answered in the last hour: about one every 15 minutes.
    assert call.hears("Your estimated wait is less than 15 minutes.")
