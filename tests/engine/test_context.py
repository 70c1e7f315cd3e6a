"""Who is calling: number -> country -> region, and the fallbacks for everyone else."""

from __future__ import annotations

import pytest

from ivr.config.regions import RegionBook
from ivr.engine.context import CallerKind, identify_caller, keypad_spelling, place_caller

JAPAN_LINE = "+81345678901"
US_LINE = "+12025550142"
CHINA_LINE = "+864001234567"


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+12025550142", "US"),  # Washington, DC
        ("+16135550123", "CA"),  # Ottawa: same +1, another country
        ("+18765550123", "JM"),  # Jamaica shares NANP too
        ("+81312345678", "JP"),
        ("+8613812345678", "CN"),
        ("+85221234567", "HK"),
        ("+4915123456789", "DE"),
    ],
)
def test_valid_numbers_give_their_country(number: str, country: str) -> None:
    origin = identify_caller(number)
    assert origin.kind is CallerKind.NUMBER
    assert origin.country == country


@pytest.mark.parametrize(
    "from_",
    [
        "",
        "anonymous",
        "Anonymous",
        "RESTRICTED",
        "unknown",
        "+266696687",  # ANONYMOUS spelled on the keypad, not Lesotho
        "+7378742833",  # RESTRICTED, not Russia
        "+86282452253",  # UNAVAILABLE, not China
        "+2562533",  # BLOCKED
    ],
)
def test_withheld_callers_are_recognised(from_: str) -> None:
    assert identify_caller(from_, from_country="LS").kind is CallerKind.WITHHELD


def test_keypad_spelling_matches_twilios_withheld_numbers() -> None:
    assert keypad_spelling("ANONYMOUS") == "266696687"
    assert keypad_spelling("RESTRICTED") == "7378742833"
    assert keypad_spelling("UNAVAILABLE") == "86282452253"


@pytest.mark.parametrize(
    ("from_", "kind"),
    [
        ("client:alice", CallerKind.CLIENT),
        ("sip:bob@pbx.example.com", CallerKind.SIP),
        ("hello", CallerKind.UNPARSABLE),
        ("+", CallerKind.UNPARSABLE),
        ("+" + "1" * 40, CallerKind.UNPARSABLE),
        ("☎️📞", CallerKind.UNPARSABLE),
        ("+999123", CallerKind.UNPARSABLE),
    ],
)
def test_callers_without_a_usable_number(from_: str, kind: CallerKind) -> None:
    origin = identify_caller(from_)
    assert origin.kind is kind
    assert origin.country is None


def test_valid_number_wins_over_twilios_from_country() -> None:
    assert identify_caller("+8613812345678", from_country="US").country == "CN"


def test_possible_number_uses_from_country_when_it_agrees() -> None:
    # 555 is no area code yet: the metadata calls it invalid, but +1 fits Canada too.
    assert identify_caller("+15551234567", from_country="CA").country == "CA"
    assert identify_caller("+15551234567", from_country="DE").country == "US"


def test_number_formatting_is_normalised() -> None:
    origin = identify_caller("  +1 (202) 555-0142 ")
    assert origin.number == "+12025550142"
    assert origin.timezone == "America/New_York"


def test_caller_time_zone_only_when_the_number_pins_one_down() -> None:
    assert identify_caller("+13105550100").timezone == "America/Los_Angeles"
    assert identify_caller("+8613812345678").timezone == "Asia/Shanghai"


def test_caller_region_follows_the_number_not_the_line(book: RegionBook) -> None:
    place = place_caller(book, "+81312345678", US_LINE)
    assert place.region.id == "jp"
    assert place.dialed is not None and place.dialed.id == "us"
    assert place.on_another_regions_line


def test_caller_on_their_own_line_hears_no_notice(book: RegionBook) -> None:
    place = place_caller(book, "+81312345678", JAPAN_LINE)
    assert place.region.id == "jp"
    assert not place.on_another_regions_line


@pytest.mark.parametrize(
    "from_", ["anonymous", "+266696687", "client:alice", "sip:x@y.example", "junk"]
)
def test_callers_without_a_country_get_the_dialed_region(book: RegionBook, from_: str) -> None:
    place = place_caller(book, from_, JAPAN_LINE)
    assert place.region.id == "jp"
    assert not place.on_another_regions_line


def test_unknown_line_and_no_country_falls_back_to_global(book: RegionBook) -> None:
    assert place_caller(book, "anonymous", "+15005550006").region.id == "global"


def test_country_without_a_region_is_served_on_the_line_it_dialed(book: RegionBook) -> None:
    french = "+33612345678"
    assert place_caller(book, french, "+442079460123").region.id == "gb"
    assert place_caller(book, french, "").region.id == "global"


def test_dialed_number_in_national_format_is_not_matched(book: RegionBook) -> None:
    # Twilio always sends To in E.164; anything else is not one of our lines.
    assert place_caller(book, "anonymous", "0345678901").region.id == "global"


def test_china_caller_on_the_us_line(book: RegionBook) -> None:
    place = place_caller(book, "+8613812345678", US_LINE)
    assert (place.region.id, place.on_another_regions_line) == ("cn", True)
    assert place_caller(book, "+8613812345678", CHINA_LINE).on_another_regions_line is False


def test_number_without_plus_is_read_in_from_country_first() -> None:
    # Some carriers drop the '+': "2025550142" from the US is Washington, not Egypt (+20).
    assert identify_caller("2025550142", from_country="US").country == "US"
    assert identify_caller("8613812345678").country == "CN"
