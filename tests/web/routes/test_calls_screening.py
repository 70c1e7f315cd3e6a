"""Blocked numbers and callers calling too often are refused before any menu; the STIR/SHAKEN
verdict is kept with the call."""

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

NOW = instant("2026-03-02T10:00+09:00")
CALLER = "+819012345678"
LINE = "+81345678901"


def client_with(settings: Settings, **changes: object) -> AppClient:
    return AppClient(create_app(settings.model_copy(update=changes), clock=FixedClock(NOW)))


@pytest.fixture
def screened(settings: Settings) -> Iterator[AppClient]:
    client = client_with(settings, blocked_numbers="+819099999999, +88216*", calls_per_caller=3)
    yield client
    client.close()


def call(client: AppClient, n: int, caller: str = CALLER, **extra: str) -> list[str]:
    form = {"CallSid": f"CA{n:032x}", "From": caller, "To": LINE, **extra}
    response = client.post("/voice/incoming", data=form)
    assert response.status_code == 200
    return [element.tag for element in ElementTree.fromstring(response.text)]


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["+819099999999", "+882160001234"])
def test_a_blocked_number_is_rejected_before_any_menu(screened: AppClient, caller: str) -> None:
    assert call(screened, 1, caller) == ["Reject"]
    store: Store = screened.app.state.services.store
    record = store.call(f"CA{1:032x}")
    assert record is not None and record.outcome == "rejected"
    assert record.path == "rejected:blocked"


@pytest.mark.slow
def test_a_caller_calling_too_often_is_rejected_until_the_window_passes(
    screened: AppClient, settings: Settings
) -> None:
    assert [call(screened, n)[0] for n in range(1, 5)] == ["Gather", "Gather", "Gather", "Reject"]
    assert call(screened, 5, "+819011112222")[0] == "Gather"  # another caller is not affected
    later = AppClient(
        create_app(
            settings.model_copy(update={"calls_per_caller": 3}),
            clock=FixedClock(instant("2026-03-02T10:11+09:00")),
            store=screened.app.state.services.store,
        )
    )
    try:
        assert call(later, 6)[0] == "Gather"  # ten minutes on: the window has passed
    finally:
        later.close()


def test_withheld_callers_are_not_rate_limited_one_by_one(screened: AppClient) -> None:
    tags = [call(screened, n, "anonymous")[0] for n in range(1, 6)]
    assert "Reject" not in tags


def test_the_stir_shaken_verdict_is_kept_with_the_call(screened: AppClient) -> None:
    call(screened, 7, StirVerstat="TN-Validation-Passed-A")
    store: Store = screened.app.state.services.store
    record = store.call(f"CA{7:032x}")
    assert record is not None and record.stir_verstat == "TN-Validation-Passed-A"


def test_a_malformed_blocklist_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="prefixes like"):
        Settings(blocked_numbers="0901234, +81*", _env_file=None)  # type: ignore[call-arg]


def test_the_refusal_is_twiml_twilio_accepts() -> None:
    from ivr.engine.steps import Reject, step
    from tests.support.twiml_check import problems_in

    assert problems_in(step(Reject())) == []
