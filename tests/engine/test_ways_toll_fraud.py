"""Toll fraud: whom the engine agrees to call back and text, and the regions.toml settings
behind it. The global line calls back only allow-listed callers, on the number they call
from; a caller ID that failed STIR/SHAKEN verification is never called back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ivr.config.flow_file import load_flows
from ivr.config.prompts import Catalogue
from ivr.config.regions import CallbackSettings, RegionBook, load_regions
from ivr.engine.context import CallContext, failed_verification, place_caller
from ivr.engine.menu import answer
from ivr.engine.questions import Heard
from ivr.engine.state import MenuState, Node, parse_state
from ivr.engine.steps import CALLBACK_BOOK, Ask, Redirect, Say, Step
from ivr.engine.ways import bookable_number, can_call_back, may_call_back, may_text, start_callback
from tests.config.test_regions import GOOD, line_of, refused
from tests.support.moments import instant
from tests.support.repository import ROOT

GLOBAL_LINE = "+12025550199"
US_LINE = "+12025550142"
FORGED_SOMALI = "+25261234567"  # a `From` any SIP trunk can send
KEYED_SOMALI = "0025261234568"
FRENCH_MOBILE = "+33612345678"
# Monday 2 March 2026, 03:00 UTC: the global line is closed, so the other ways are offered.
GLOBAL_CLOSED = "2026-03-02T03:00+00:00"


def call_on(
    book: RegionBook,
    catalogue: Catalogue,
    caller: str,
    line: str = GLOBAL_LINE,
    *,
    allowed: tuple[str, ...] = (),
    failed: bool = False,
) -> CallContext:
    """A call from `caller` to `line`; `allowed`: the global line's `callback_countries`."""
    place = place_caller(book, caller, line)
    region = replace(place.region, callback_countries=allowed) if allowed else place.region
    return CallContext(
        place=place,
        region=region,
        now=instant(GLOBAL_CLOSED),
        prompts=catalogue,
        flow=load_flows(ROOT / "flows.toml", book).for_region(region.id),
        caller_id_failed=failed,
    )


def said(result: Step) -> str:
    """Everything the caller hears in `result`, questions included."""
    texts: list[str] = []
    for action in result.actions:
        prompts = action.prompts if isinstance(action, Ask) else (action,)
        texts += [prompt.text for prompt in prompts if isinstance(prompt, Say)]
    return " ".join(texts)


def booking_link(result: Step) -> dict[str, str] | None:
    """The query of the Redirect to the booking webhook `result` ends with, if it does."""
    last = result.actions[-1]
    if isinstance(last, Redirect) and last.to.path == CALLBACK_BOOK:
        return dict(last.to.params)
    return None


def asked_next(result: Step) -> MenuState | None:
    """The menu state of the question `result` ends with, if it does."""
    last = result.actions[-1]
    return parse_state(dict(last.to.params)) if isinstance(last, Redirect) else None


# -- the global line ------------------------------------------------------------------------
def test_the_global_line_calls_back_nobody_by_default(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, FORGED_SOMALI)
    assert ctx.region.id == "global" and ctx.region.callback_countries == ()
    assert not can_call_back(ctx)
    assert bookable_number(ctx, FORGED_SOMALI.lstrip("+")) is None
    assert bookable_number(ctx, "25261234568") is None  # the keyed number of the attack


@pytest.mark.parametrize("caller", ["+5352345678", "+23276123456", "+2917123456", "+37121234567"])
def test_mobiles_in_countries_nobody_allowed_are_never_called_back_from_the_global_line(
    book: RegionBook, catalogue: Catalogue, caller: str
) -> None:
    ctx = call_on(book, catalogue, caller, allowed=("FR",))  # Cuba, Sierra Leone, Eritrea, Latvia
    assert not can_call_back(ctx)
    assert bookable_number(ctx, caller.lstrip("+")) is None


def test_a_global_caller_from_an_allowed_country_is_booked_on_their_own_number(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, FRENCH_MOBILE, allowed=("FR",))
    assert can_call_back(ctx)
    started = start_callback(ctx, MenuState(Node.WAYS, "global", "en-US"))
    assert said(started) == "We'll call you back on your number ending in 5 6 7 8."
    assert booking_link(started) == {"r": "global", "l": "en-US", "d": "33612345678"}
    assert bookable_number(ctx, "33612345678") == FRENCH_MOBILE


def test_the_global_line_never_calls_back_a_keyed_number(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, FORGED_SOMALI, allowed=("SO", "FR"))
    assert bookable_number(ctx, "25261234568") is None  # the caller's country, not their number
    french = call_on(book, catalogue, FRENCH_MOBILE, allowed=("SO", "FR"))
    assert bookable_number(french, "33612345679") is None
    assert bookable_number(french, "25261234567") is None
    # A state asking for a number (an old link) accepts none on the global line.
    asking = MenuState(Node.CALLBACK_NUMBER, "global", "en-US")
    heard = said(answer(ctx, asking, Heard(KEYED_SOMALI)))
    assert heard.startswith("Sorry, we can't call that number.")
    assert "You entered" not in heard


def test_a_landline_on_the_global_line_is_not_called_back(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, "+33142345678", allowed=("FR",))  # Paris, fixed line
    assert can_call_back(ctx)  # calling a landline back is fine; texting it is not
    assert not may_text(ctx.region, "+33142345678")
    assert may_text(ctx.region, FRENCH_MOBILE)


# -- the caller-ID verdict ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verdict", "failed"),
    [
        ("TN-Validation-Failed-A", True),
        ("TN-Validation-Failed-B", True),
        ("TN-Validation-Failed-C", True),
        ("TN-Validation-Failed", True),
        ("TN-Validation-Failed-B-Diverted", True),
        ("TN-Validation-Passed-A", False),
        ("TN-Validation-Passed-C", False),
        ("No-TN-Validation", False),
        ("", False),
    ],
)
def test_only_a_failed_stir_shaken_verdict_counts_as_failed(verdict: str, failed: bool) -> None:
    assert failed_verification(verdict) is failed


def test_a_failed_caller_id_is_never_called_back_on_a_regional_line(
    book: RegionBook, catalogue: Catalogue
) -> None:
    caller = "+12025550188"
    ctx = call_on(book, catalogue, caller, US_LINE, failed=True)
    assert ctx.region.id == "us"
    assert can_call_back(ctx)  # a regional line still takes a keyed number in its countries
    started = start_callback(ctx, MenuState(Node.WAYS, "us", "en-US"))
    assert "your number ending in" not in said(started)
    assert "Please enter the phone number" in said(started)
    assert bookable_number(ctx, caller.lstrip("+")) is None
    asking = MenuState(Node.CALLBACK_NUMBER, "us", "en-US")
    keyed_own = said(answer(ctx, asking, Heard("2025550188")))
    assert keyed_own.startswith("Sorry, we can't call that number.")
    assert bookable_number(ctx, "12025550177") == "+12025550177"
    unknown = replace(ctx, caller_id_failed=False)
    assert bookable_number(unknown, caller.lstrip("+")) == caller  # no verdict: unknown


def test_a_failed_caller_id_gets_no_callback_on_the_global_line(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, FRENCH_MOBILE, allowed=("FR",), failed=True)
    assert not can_call_back(ctx)
    assert bookable_number(ctx, "33612345678") is None
    assert booking_link(start_callback(ctx, MenuState(Node.WAYS, "global", "en-US"))) is None


def test_regional_lines_still_call_back_keyed_numbers_in_their_countries(
    book: RegionBook, catalogue: Catalogue
) -> None:
    ctx = call_on(book, catalogue, "anonymous", "+81345678901")
    keyed = answer(ctx, MenuState(Node.CALLBACK_NUMBER, "jp", "en-US"), Heard("09012345678"))
    state = asked_next(keyed)
    assert state is not None and state.node is Node.CALLBACK_CONFIRM
    assert bookable_number(ctx, "819012345678") == "+819012345678"


# -- calls and texts to stored numbers ------------------------------------------------------
def test_stored_numbers_are_checked_against_todays_settings(book: RegionBook) -> None:
    world = book.regions["global"]
    assert not may_call_back(world, "+25261234568") and not may_text(world, "+25261234568")
    allowing = replace(world, callback_countries=("SO",))
    assert may_call_back(allowing, "+25261234568") and may_text(allowing, "+25261234568")
    japan = book.regions["jp"]
    assert may_call_back(japan, "+81345678901") and not may_text(japan, "+81345678901")
    assert not may_call_back(japan, "+25261234568")
    assert not may_call_back(japan, "+81570012345")  # Navi Dial: shared cost


# -- regions.toml ---------------------------------------------------------------------------
def test_the_global_lines_limits_default_lower_than_a_regional_lines(book: RegionBook) -> None:
    world, japan = book.regions["global"].callbacks, book.regions["jp"].callbacks
    assert (world.per_hour, world.per_number_per_day) == (10, 1)
    assert (japan.per_hour, japan.per_number_per_day) == (60, 2)
    assert world.attempts == japan.attempts == CallbackSettings().attempts


def test_limits_written_for_the_global_line_are_kept(tmp_path: Path) -> None:
    text = GOOD + "callbacks = { per_hour = 30 }\n"
    file = tmp_path / "regions.toml"
    file.write_text(text, encoding="utf-8")
    settings = load_regions(file, ("en-US",)).regions["global"].callbacks
    assert (settings.per_hour, settings.per_number_per_day) == (30, 1)


def test_an_allow_list_loads(tmp_path: Path) -> None:
    file = tmp_path / "regions.toml"
    file.write_text(GOOD + 'callback_countries = ["FR", "SO"]\n', encoding="utf-8")
    assert load_regions(file, ("en-US",)).regions["global"].callback_countries == ("FR", "SO")


def test_an_unknown_country_in_the_allow_list_is_refused(tmp_path: Path) -> None:
    text = GOOD + 'callback_countries = ["FR", "XK", "UK"]\n'
    [problem] = refused(tmp_path, text)
    assert f"regions.toml:{line_of(text, 'callback_countries')}:" in problem
    assert "'UK' is not an ISO 3166 alpha-2 country" in problem


def test_an_allow_list_on_a_regional_line_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('countries = ["JP"]\n', 'countries = ["JP"]\ncallback_countries = ["KR"]\n')
    [problem] = refused(tmp_path, text)
    assert f"regions.toml:{line_of(text, 'callback_countries')}:" in problem
    assert "regions.jp.callback_countries" in problem
    assert "only a line without countries (the global line)" in problem


def test_a_country_another_line_serves_is_refused_in_the_allow_list(tmp_path: Path) -> None:
    text = GOOD + 'callback_countries = [\n  "FR",\n  "JP",\n]\n'
    [problem] = refused(tmp_path, text)
    jp_line = line_of(text, '"JP",')
    assert f"regions.toml:{jp_line}: regions.global.callback_countries[1]:" in problem
    assert "JP is served by 'jp': its callers are called back there" in problem
