"""Toll fraud through the global line, whole calls through the emulator (signed webhooks):
a forged caller ID, a keyed-in number and a forged booking link book nothing, and nothing
stored under older rules is ever called or texted. A caller ID that failed STIR/SHAKEN
verification (Twilio's verdict on the incoming request only) is never offered nor booked.
Every test runs on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.jobs.dispatcher import Dispatcher, twilio_client
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.calls import PUBLIC_URL, TOKEN, Inbox, Line
from tests.support.repository import ROOT

GLOBAL_LINE = "+12025550199"
US_LINE = "+12025550142"
SUNDAY_1900_NEW_YORK = "2026-03-01T19:00-05:00"  # the US line is closed: the other ways
FAILED_VERDICT = {"StirVerstat": "TN-Validation-Failed-A"}
FORGED_SOMALI = "+25261234567"  # the attack's `From`: a Somali mobile, sent from a SIP trunk
KEYED = "0025261234568"  # the number keyed in: another Somali mobile
FRENCH_MOBILE = "+33612345678"
MONDAY_0300_UTC = "2026-03-02T03:00+00:00"  # the global line is closed: the other ways
MONDAY_0700_UTC = "2026-03-02T07:00+00:00"  # open: callbacks are placed
# The attack as keyed on the phone: an agent (closed, so the other ways), a callback, another
# number, the number, confirm.
ATTACK = ["0", "1", "2", KEYED + "#", "1"]


def forged_booking(switch: Switch, number: str, caller: str = FORGED_SOMALI) -> str:
    """A call whose first document redirects to our booking webhook with a link of the
    attacker's making (as a replayed or forged link would): Twilio signs it like any other."""
    twiml = (
        "<Response><Redirect>/voice/callback/book?r=global&amp;l=en-US&amp;"
        f"d={number.lstrip('+')}</Redirect></Response>"
    )
    call = switch.dial_twiml(twiml, from_=caller, to=GLOBAL_LINE, run_to_end=True)
    assert call.ended
    return call.sid


def nothing_called_or_texted(line: Line) -> None:
    line.phone.clock.set(MONDAY_0700_UTC)
    assert line.dispatcher.run_once().placed == []
    line.phone.run()
    assert line.phone.outbound_calls() == [] and line.phone.messages == []


@pytest.mark.slow
def test_the_forged_somali_caller_keying_another_number_books_nothing(line: Line) -> None:
    phone, records = line.phone, line.records
    call = phone.dial(FORGED_SOMALI, GLOBAL_LINE, at=MONDAY_0300_UTC, answers=ATTACK)
    call.wait(600)
    assert call.ended
    assert "call you back" not in call.transcript
    assert (
        "To leave a voice message for our support team, press 1"
    )  # no callback offered in call.transcript
    assert records.callbacks.for_call(call.sid) is None
    assert records.callbacks.open_callbacks() == []
    nothing_called_or_texted(line)


@pytest.mark.slow
@pytest.mark.parametrize("number", ["+25261234568", FORGED_SOMALI])
def test_a_forged_booking_link_on_the_global_line_books_nothing(line: Line, number: str) -> None:
    line.phone.clock.set(MONDAY_0300_UTC)
    call_sid = forged_booking(line.phone, number)
    assert line.records.callbacks.for_call(call_sid) is None
    assert line.records.callbacks.open_callbacks() == []
    nothing_called_or_texted(line)


@pytest.mark.slow
def test_callbacks_stored_under_older_rules_are_neither_placed_nor_texted(line: Line) -> None:
    records, clock = line.records, line.phone.clock
    clock.set(MONDAY_0300_UTC)
    # Given up on, with its text due: booked before the global line had an allow-list.
    records.callbacks.book(
        "CA" + "1" * 32, "+5352345678", "global", "en-US", "main", "111111", clock.now()
    )
    claimed = records.callbacks.claim("global", clock.now(), timedelta(minutes=15))
    assert claimed is not None
    records.callbacks.attempt_ended(claimed.id, "", "busy", clock.now(), 1, 600)
    expired = records.callbacks.get(claimed.id)
    assert expired is not None and (expired.status, expired.note_due) == ("expired", True)
    # Still waiting to be placed.
    records.callbacks.book(
        "CA" + "2" * 32, "+25261234568", "global", "en-US", "main", "222222", clock.now()
    )
    pending = records.callbacks.for_call("CA" + "2" * 32)
    assert pending is not None and pending.status == "pending"

    nothing_called_or_texted(line)
    dropped = records.callbacks.get(pending.id)
    assert dropped is not None and dropped.status == "cancelled"


@pytest.mark.slow
def test_a_caller_whose_caller_id_failed_keys_another_number_on_a_regional_line(
    line: Line,
) -> None:
    phone, records = line.phone, line.records
    caller = "+12025550177"
    call = phone.dial(caller, US_LINE, at=SUNDAY_1900_NEW_YORK, incoming=FAILED_VERDICT)
    call.press("1")  # English
    call.press("0")  # an agent: closed, so the other ways
    call.press("1")  # a callback
    assert "your number ending in" not in call.transcript
    assert call.hears("Please enter the phone number to call back")
    call.press("2025550177#")  # their own number: the one the verdict says may not be theirs
    assert call.hears("Sorry, we can't call that number.")
    call.press("2025550123#")
    assert call.hears("You entered: 2 0 2 5, 5 5 0 1, 2 3.")
    call.press("1")
    assert call.hears("Your callback code is")
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None and booked.number == "+12025550123"


@pytest.mark.slow
def test_without_a_verdict_the_same_caller_is_offered_their_own_number(line: Line) -> None:
    call = line.phone.dial("+12025550177", US_LINE, at=SUNDAY_1900_NEW_YORK)
    call.press("1")
    call.press("0")
    call.press("1")
    assert call.hears("We'll call you back on your number ending in 0 1 7 7.")


# -- a global line that allows some countries -----------------------------------------------
@pytest.fixture
def allowing(
    signed_settings: Settings,
    shanghai_clock: VirtualClock,
    store: Store,
    tmp_path: Path,
) -> Iterator[Line]:
    """The service with the global line calling back callers from France and Somalia."""
    regions = tmp_path / "allowing.toml"
    sample = (ROOT / "regions.toml").read_text(encoding="utf-8")
    allowed = sample.replace("callback_countries = []", 'callback_countries = ["FR", "SO"]')
    assert allowed != sample
    regions.write_text(allowed, encoding="utf-8")
    settings = signed_settings.model_copy(update={"regions": regions})
    app = create_app(settings, clock=shanghai_clock, store=store)
    with Switch(app, clock=shanghai_clock, auth_token=TOKEN, public_url=PUBLIC_URL) as switch:
        dispatching = settings.model_copy(
            update={"twilio_account_sid": switch.account_sid, "twilio_api_url": switch.serve_rest()}
        )
        services = app.state.services
        client = twilio_client(dispatching)
        dispatcher = Dispatcher(
            store,
            services.config.regions,
            services.config.prompts,
            dispatching,
            shanghai_clock,
            client,
        )
        try:
            yield Line(switch, app, store, dispatcher, Inbox())
        finally:
            client.http_client.session.close()


@pytest.mark.slow
def test_a_caller_from_an_allowed_country_books_their_own_number(allowing: Line) -> None:
    phone, records = allowing.phone, allowing.records
    call = phone.dial(FRENCH_MOBILE, GLOBAL_LINE, at=MONDAY_0300_UTC)
    call.press("0")
    assert call.hears("To have an agent call you back after we open, press 1")
    call.press("1")
    assert call.hears("We'll call you back on your number ending in 5 6 7 8.")
    assert call.hears("Your callback code is")
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None and booked.number == FRENCH_MOBILE

    phone.clock.set(MONDAY_0700_UTC)
    assert allowing.dispatcher.run_once().placed == [booked.id]
    phone.run()
    assert phone.last_call_to(FRENCH_MOBILE).from_ == GLOBAL_LINE


@pytest.mark.slow
def test_the_attack_from_an_allowed_country_still_never_reaches_the_keyed_number(
    allowing: Line,
) -> None:
    phone, records = allowing.phone, allowing.records
    call = phone.dial(FORGED_SOMALI, GLOBAL_LINE, at=MONDAY_0300_UTC, answers=ATTACK)
    call.wait(600)
    assert "To give another number" not in call.transcript
    assert "Please enter the phone number" not in call.transcript
    booked = records.callbacks.for_call(call.sid)
    assert booked is not None and booked.number == FORGED_SOMALI  # its own number, allowed

    link_sid = forged_booking(phone, "+25261234568")
    assert records.callbacks.for_call(link_sid) is None
    french_sid = forged_booking(phone, "+33612345679", caller=FRENCH_MOBILE)
    assert records.callbacks.for_call(french_sid) is None
    assert [c.number for c in records.callbacks.open_callbacks()] == [FORGED_SOMALI]


@pytest.mark.slow
def test_a_caller_whose_caller_id_failed_is_offered_no_callback_on_the_global_line(
    allowing: Line,
) -> None:
    phone, records = allowing.phone, allowing.records
    call = phone.dial(FRENCH_MOBILE, GLOBAL_LINE, at=MONDAY_0300_UTC, incoming=FAILED_VERDICT)
    call.press("0")
    # No callback offered: the voice message is the first way, on 1.
    assert call.hears("To leave a voice message for our support team, press 1")
    assert "call you back" not in call.transcript
    call.press("1")
    assert call.hears("After the tone, please leave your message")
    assert "call you back" not in call.transcript
    assert records.callbacks.for_call(call.sid) is None
