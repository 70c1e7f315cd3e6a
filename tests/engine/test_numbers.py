"""Which numbers we call back (a toll-fraud guard), and how numbers are masked in logs.

Each refused example also asserts its type in phonenumbers' metadata, so a metadata update
that moves a range cannot quietly turn a refusal test into a test of something else."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from ivr.engine.numbers import callback_number, last_digits, masked

JP = ("JP",)
GB = ("GB", "IE", "IM", "JE", "GG")  # the sample gb region
CN = ("CN",)
US = ("US", "CA", "PR", "VI", "GU")
DACH = ("DE", "AT", "CH", "LI")


@pytest.mark.parametrize(
    ("keyed", "countries", "default", "expected"),
    [
        # E.164, as a caller ID arrives
        ("+819012345678", JP, None, "+819012345678"),  # Japanese mobile
        ("+81345678901", JP, None, "+81345678901"),  # Tokyo landline
        ("+447400123456", GB, None, "+447400123456"),  # UK mobile
        ("+442079460123", GB, None, "+442079460123"),  # London landline
        ("+8613812345678", CN, None, "+8613812345678"),  # Chinese mobile
        ("+861012345678", CN, None, "+861012345678"),  # Beijing landline
        ("+12125551234", US, None, "+12125551234"),  # New York (fixed line or mobile)
        ("+4915123456789", DACH, None, "+4915123456789"),  # German mobile
        ("+4312345678", DACH, None, "+4312345678"),  # Vienna: another country of the region
        # national, keyed on the phone, with the trunk prefix
        ("09012345678", JP, "JP", "+819012345678"),
        ("0345678901", JP, "JP", "+81345678901"),
        ("07400123456", GB, "GB", "+447400123456"),
        ("07400 123456", GB, "GB", "+447400123456"),
        ("02079460123", GB, "GB", "+442079460123"),
        ("015123456789", DACH, "DE", "+4915123456789"),
        # China has a trunk prefix for landlines only; mobiles are keyed without it
        ("13812345678", CN, "CN", "+8613812345678"),
        ("01012345678", CN, "CN", "+861012345678"),
        # North America: ten digits, or with the leading 1
        ("2125551234", US, "US", "+12125551234"),
        ("12125551234", US, "US", "+12125551234"),
        # the international prefix of the default country
        ("01081 90 1234 5678", JP, "JP", "+819012345678"),  # Japan's is 010
        ("0044 7400 123456", GB, "GB", "+447400123456"),
        ("0086 138 1234 5678", CN, "CN", "+8613812345678"),
        ("011 1 212 555 1234", US, "US", "+12125551234"),
        ("011 81 90 1234 5678", JP, "US", "+819012345678"),  # a region's number keyed abroad
        ("00 44 20 7946 0123", GB, "DE", "+442079460123"),
    ],
)
def test_ordinary_phones_of_the_regions_countries_are_accepted(
    keyed: str, countries: tuple[str, ...], default: str | None, expected: str
) -> None:
    assert callback_number(keyed, countries, default) == expected


@pytest.mark.parametrize("keyed", ["00819012345678", "0081 90 1234 5678"])
def test_the_common_00_international_prefix_is_read_on_the_japanese_line(keyed: str) -> None:
    assert callback_number(keyed, JP, "JP") == "+819012345678"


REFUSED_BY_TYPE = [
    # premium rate
    ("09098765432", GB, "GB", PhoneNumberType.PREMIUM_RATE),
    ("+449098765432", GB, None, PhoneNumberType.PREMIUM_RATE),
    ("1-900-555-1234", US, "US", PhoneNumberType.PREMIUM_RATE),
    ("+19005551234", US, None, PhoneNumberType.PREMIUM_RATE),
    ("0990123456", JP, "JP", PhoneNumberType.PREMIUM_RATE),
    ("0900 1234567", DACH, "DE", PhoneNumberType.PREMIUM_RATE),
    # shared cost
    ("4001234567", CN, "CN", PhoneNumberType.SHARED_COST),  # China's 400 numbers
    ("0180 1234567", DACH, "DE", PhoneNumberType.SHARED_COST),
    # toll-free
    ("0800 123 4567", GB, "GB", PhoneNumberType.TOLL_FREE),
    ("+18005551234", US, None, PhoneNumberType.TOLL_FREE),
    ("0120123456", JP, "JP", PhoneNumberType.TOLL_FREE),
    ("8001234567", CN, "CN", PhoneNumberType.TOLL_FREE),
    # UAN (non-geographic "one number" lines)
    ("0300 123 4567", GB, "GB", PhoneNumberType.UAN),
    ("0570012345", JP, "JP", PhoneNumberType.UAN),  # Navi Dial
    # personal numbers, pagers, VoIP
    ("+447012345678", GB, None, PhoneNumberType.PERSONAL_NUMBER),
    ("+447640123456", GB, None, PhoneNumberType.PAGER),
    ("05012345678", JP, "JP", PhoneNumberType.VOIP),
]


@pytest.mark.parametrize(("keyed", "countries", "default", "kind"), REFUSED_BY_TYPE)
def test_numbers_that_cost_the_company_or_reach_no_person_are_refused(
    keyed: str, countries: tuple[str, ...], default: str | None, kind: int
) -> None:
    parsed = phonenumbers.parse(keyed, default)
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.region_code_for_number(parsed) in countries
    assert phonenumbers.number_type(parsed) == kind  # the example is what it claims to be
    assert callback_number(keyed, countries, default) is None


@pytest.mark.parametrize(
    "keyed",
    [
        "+881612345678",  # Iridium (global mobile satellite)
        "+870772001234",  # Inmarsat
        "+88213012345",  # international networks
    ],
)
def test_satellite_and_international_networks_are_refused(keyed: str) -> None:
    parsed = phonenumbers.parse(keyed, None)
    assert phonenumbers.region_code_for_number(parsed) in ("001", None)
    assert callback_number(keyed, JP + GB + US, "JP") is None
    assert callback_number(keyed, JP + GB + US, None) is None


@pytest.mark.parametrize(
    ("keyed", "countries", "default"),
    [
        ("+8613812345678", JP, "JP"),  # a Chinese mobile on the Japanese line
        ("+12125551234", GB, "GB"),
        ("+442079460123", US, "US"),
        ("011 86 138 1234 5678", US, "US"),
        ("0044 7400 123456", DACH, "DE"),
        ("+33612345678", DACH, "DE"),  # France: not a country the DACH line serves
    ],
)
def test_numbers_of_other_countries_are_refused(
    keyed: str, countries: tuple[str, ...], default: str
) -> None:
    assert phonenumbers.is_valid_number(phonenumbers.parse(keyed, default))
    assert callback_number(keyed, countries, default) is None


@pytest.mark.parametrize(
    ("keyed", "countries", "default"),
    [
        ("07700 900123", GB, "GB"),  # Ofcom's drama range: fictional
        ("+447700900123", GB, None),
        ("07700900999", GB, "GB"),
        ("0901234567", JP, "JP"),  # a digit short
        ("090123456789", JP, "JP"),  # a digit too many
        ("+81 90", JP, None),
        ("123", JP, "JP"),
        ("0112025550188", US, "US"),  # 011 then 20: Egypt, and too short for it
        ("+999123456789", JP, "JP"),  # no such country code
    ],
)
def test_invalid_and_fictional_numbers_are_refused(
    keyed: str, countries: tuple[str, ...], default: str | None
) -> None:
    assert callback_number(keyed, countries, default) is None


@pytest.mark.parametrize(
    "keyed",
    ["", " ", "abc", "#", "*#*#", "+", "+81+90", "090-ABCD-5678x", "0" * 40, "9" * 200],
)
def test_garbage_is_refused_without_an_exception(keyed: str) -> None:
    assert callback_number(keyed, JP + GB + US, "JP") is None
    assert callback_number(keyed, JP, None) is None


def test_a_national_number_without_a_default_country_is_refused() -> None:
    assert callback_number("09012345678", JP, None) is None


def test_no_countries_means_no_callbacks() -> None:
    assert callback_number("+819012345678", (), "JP") is None


MASKED = [
    ("+819012345678", "+81 ••• ••5678"),
    ("+8613812345678", "+86 ••• ••5678"),
    ("+12025550188", "+1 ••• ••0188"),
    ("+442079460123", "+44 ••• ••0123"),
    ("+35312345678", "+353 ••• ••5678"),  # a three-digit country code
]


@pytest.mark.parametrize(("number", "shown"), MASKED)
def test_masked_shows_only_the_country_code_and_the_last_four_digits(
    number: str, shown: str
) -> None:
    result = masked(number)
    assert result == shown
    country_code = shown[1 : shown.index(" ")]
    assert re.sub(r"\D", "", result) == country_code + number[-4:]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("anonymous", "anonymous"),  # how the caller called, not a number: shown as is
        ("withheld", "withheld"),
        ("09012345678", "•••"),  # digits without a country code: nothing shown
        ("sip:alice@example.com", "sip:alice@example.com"),
        ("+999123456789", "+•••"),  # no such country code: no digit shown
    ],
)
def test_masked_never_shows_digits_it_cannot_place(value: str, shown: str) -> None:
    assert masked(value) == shown


def test_last_digits() -> None:
    assert last_digits("+819012345678") == "5678"
    assert last_digits("+819012345678", 2) == "78"


def test_texts_go_to_mobiles_not_to_landlines() -> None:
    from ivr.engine.numbers import can_receive_texts

    assert can_receive_texts("+819012345678")  # Japanese mobile
    assert not can_receive_texts("+81345678901")  # a Tokyo landline
    assert can_receive_texts("+12025550188")  # NANP: fixed line or mobile, cannot tell
    assert not can_receive_texts("not a number")
