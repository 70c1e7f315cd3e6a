"""The caller-ID verdict at the HTTP edge, one signed webhook at a time: a number whose
STIR/SHAKEN verification failed is never offered nor booked for a callback, even when only
the call's first webhook carried the verdict; no verdict means unknown, not failed."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.store import Store
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.moments import instant

TOKEN = "toll-fraud-auth-token"
PUBLIC = "https://ivr.example.com"
US_LINE = "+12025550142"
CALLER = "+12025550188"
SID = "CA" + "5" * 32
MONDAY_10_NEW_YORK = instant("2026-03-02T10:00-05:00")


@pytest.fixture
def signed_line(settings: Settings) -> Iterator[AppClient]:
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC}
    )
    client = AppClient(create_app(signed, clock=FixedClock(MONDAY_10_NEW_YORK)))
    yield client
    client.close()


def post(client: AppClient, path: str, **params: str) -> str:
    """A webhook of the call from CALLER to the US line, signed as Twilio signs it."""
    form = {"CallSid": SID, "From": CALLER, "To": US_LINE, **params}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return " ".join(e.text or "" for e in ElementTree.fromstring(response.text).iter("Say"))


def stored(client: AppClient) -> Store:
    store: Store = client.app.state.services.store
    return store


BOOK_OWN_NUMBER = "/voice/callback/book?r=us&l=en-US&d=12025550188"


@pytest.mark.slow
def test_a_caller_id_that_failed_verification_is_not_booked_from_the_calling_webhook(
    signed_line: AppClient,
) -> None:
    post(signed_line, "/voice/incoming", StirVerstat="TN-Validation-Failed-B")
    # Twilio documents the verdict on the incoming call's request; the booking has none.
    heard = post(signed_line, BOOK_OWN_NUMBER)
    # A regional line asks for another number to call back (keyed numbers stay in its countries)
    assert heard.startswith("Please enter the phone number to call back")
    assert "Your callback code is" not in heard
    assert stored(signed_line).callbacks.for_call(SID) is None


@pytest.mark.slow
def test_a_failed_verdict_on_the_booking_itself_is_refused_too(signed_line: AppClient) -> None:
    post(signed_line, "/voice/incoming")
    heard = post(signed_line, BOOK_OWN_NUMBER, StirVerstat="TN-Validation-Failed-A")
    assert "Your callback code is" not in heard
    assert stored(signed_line).callbacks.for_call(SID) is None


@pytest.mark.slow
@pytest.mark.parametrize("verdict", [None, "TN-Validation-Passed-A", "No-TN-Validation"])
def test_without_a_failed_verdict_the_calling_number_is_booked(
    signed_line: AppClient, verdict: str | None
) -> None:
    post(signed_line, "/voice/incoming", **({"StirVerstat": verdict} if verdict else {}))
    heard = post(signed_line, BOOK_OWN_NUMBER)
    assert "Your callback code is" in heard
    booked = stored(signed_line).callbacks.for_call(SID)
    assert booked is not None and booked.number == CALLER


@pytest.mark.slow
def test_a_caller_with_a_failed_verdict_is_asked_for_a_number_not_offered_their_own(
    signed_line: AppClient,
) -> None:
    ways = "/voice/menu?n=ways&r=us&l=en-US"
    offered = post(signed_line, ways, Digits="1", StirVerstat="TN-Validation-Failed-B")
    assert "your number ending in" not in offered
    assert "Please enter the phone number to call back" in offered
    unknown = post(signed_line, ways, Digits="1")
    assert "We'll call you back on your number ending in 0 1 8 8." in unknown
