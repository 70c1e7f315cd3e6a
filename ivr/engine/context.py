"""Who is calling and from where: the caller's number -> country -> region.

Withheld, SIP and client callers carry no usable country, so they fall back to the region
of the hotline they dialed, then to the global region.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as number_timezones

from ivr.config.flows import Flow
from ivr.config.prompts import Catalogue
from ivr.config.regions import Region, RegionBook
from ivr.engine.line_state import Announcement, Staffing

_KEYPAD = {
    **dict.fromkeys("ABC", "2"),
    **dict.fromkeys("DEF", "3"),
    **dict.fromkeys("GHI", "4"),
    **dict.fromkeys("JKL", "5"),
    **dict.fromkeys("MNO", "6"),
    **dict.fromkeys("PQRS", "7"),
    **dict.fromkeys("TUV", "8"),
    **dict.fromkeys("WXYZ", "9"),
}


def keypad_spelling(word: str) -> str:
    """The digits a phone keypad gives for `word` ("ANONYMOUS" -> "266696687")."""
    return "".join(_KEYPAD[letter] for letter in word.upper())


_WITHHELD_WORDS = ("ANONYMOUS", "RESTRICTED", "UNAVAILABLE", "UNKNOWN", "BLOCKED", "PRIVATE")
# Carriers and Twilio present a withheld caller ID either as a word or spelled on the keypad
# (+266696687 is ANONYMOUS, not a caller from Lesotho).
_WITHHELD = frozenset(
    {word.lower() for word in _WITHHELD_WORDS}
    | {"+" + keypad_spelling(word) for word in _WITHHELD_WORDS}
    | {keypad_spelling(word) for word in _WITHHELD_WORDS}
    | {"", "withheld", "private number", "unknown caller"}
)


class CallerKind(enum.Enum):
    NUMBER = "number"  # a real phone number we could place in a country
    WITHHELD = "withheld"
    CLIENT = "client"  # a Twilio Voice SDK client ("client:alice")
    SIP = "sip"
    UNPARSABLE = "unparsable"


@dataclass(frozen=True)
class CallerOrigin:
    kind: CallerKind
    number: str | None = None  # E.164 when kind is NUMBER
    country: str | None = None  # ISO 3166 alpha-2
    timezone: str | None = None  # the caller's own zone, when the number pins one down


# Every webhook of a call carries the same From and To: parsing them once per call, not once
# per webhook, saves phonenumbers' parse (the largest cost of placing a caller). Both are
# pure functions of their strings, so a bounded cache per process is safe.
@lru_cache(maxsize=8192)
def identify_caller(from_: str, from_country: str = "") -> CallerOrigin:
    """Classify Twilio's `From` value; `from_country` is Twilio's FromCountry, a weaker hint.

    A number that phonenumbers knows as valid decides the country on its own. A number that is
    only *possible* (a range newer than the metadata) takes Twilio's FromCountry when it agrees
    with the calling code, else the calling code's main country.
    """
    raw = from_.strip()
    lowered = raw.lower()
    if lowered in _WITHHELD:
        return CallerOrigin(CallerKind.WITHHELD)
    if lowered.startswith("client:"):
        return CallerOrigin(CallerKind.CLIENT)
    if lowered.startswith("sip:") or lowered.startswith("sips:"):
        return CallerOrigin(CallerKind.SIP)
    parsed = _parse(raw, from_country.strip().upper())
    if parsed is None:
        return CallerOrigin(CallerKind.UNPARSABLE)
    if phonenumbers.is_valid_number(parsed):
        country = phonenumbers.region_code_for_number(parsed)
    elif phonenumbers.is_possible_number(parsed):
        country = _country_for_possible(parsed, from_country.strip().upper())
    else:
        return CallerOrigin(CallerKind.UNPARSABLE)
    if country in (None, "001", "ZZ"):
        return CallerOrigin(CallerKind.UNPARSABLE)
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return CallerOrigin(CallerKind.NUMBER, number, country, _single_timezone(parsed))


def _parse(raw: str, from_country: str) -> phonenumbers.PhoneNumber | None:
    """E.164 as Twilio sends it; a number without '+' is tried as national in FromCountry first
    (some carriers drop the '+'), then as international digits."""
    attempts = (
        [(raw, None)] if raw.startswith("+") else [(raw, from_country or None), ("+" + raw, None)]
    )
    for text, region in attempts:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if region is None or phonenumbers.is_valid_number(parsed):
            return parsed
    return None


def _country_for_possible(parsed: phonenumbers.PhoneNumber, hint: str) -> str | None:
    if hint and phonenumbers.country_code_for_region(hint) == parsed.country_code:
        return hint
    code: str | None = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return code


def _single_timezone(parsed: phonenumbers.PhoneNumber) -> str | None:
    zones = number_timezones.time_zones_for_number(parsed)
    if len(zones) == 1 and zones[0] != number_timezones.UNKNOWN_TIMEZONE:
        return str(zones[0])
    return None


@dataclass(frozen=True)
class CallerPlace:
    """The caller's region and, when it differs, the region of the line they dialed."""

    origin: CallerOrigin
    region: Region
    dialed: Region | None

    @property
    def on_another_regions_line(self) -> bool:
        return (
            self.dialed is not None
            and self.dialed.id != self.region.id
            and bool(self.region.hotlines)
        )


def place_caller(book: RegionBook, from_: str, to: str, from_country: str = "") -> CallerPlace:
    """Decide the caller's region from `From`, falling back to the dialed `To`, then global."""
    origin = identify_caller(from_, from_country)
    dialed = book.for_hotline(_normalized(to))
    region = book.for_country(origin.country) or dialed or book.fallback
    return CallerPlace(origin, region, dialed)


@lru_cache(maxsize=1024)
def _normalized(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number.strip())
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def spoken_groups(number: str) -> list[str]:
    """A number in international format, in its groups: ["+81", "3", "4567", "8901"]."""
    formatted = phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return formatted.replace("-", " ").split()


def failed_verification(stir_verstat: str) -> bool:
    """True when Twilio says the caller ID failed STIR/SHAKEN verification (its `StirVerstat`).

    Twilio's values (https://www.twilio.com/docs/voice/trusted-calling-with-shakenstir):
    TN-Validation-Passed-A/-B/-C, TN-Validation-Failed-A/-B/-C, TN-Validation-Failed (no
    attestation level determined), No-TN-Validation (the PASSporT was malformed, stale or did
    not match the call), and the same with -Diverted for forwarded calls. Twilio sends it only
    for incoming US calls that carry a signed caller ID, so a missing value (and
    No-TN-Validation, which says nothing was verified) means unknown, not failed.
    """
    return stir_verstat.strip().lower().startswith("tn-validation-failed")


@dataclass(frozen=True)
class HoldMusic:
    """What a waiting caller hears between announcements: a clip and how long it lasts, so
    the announcements keep their cadence."""

    url: str
    seconds: int


@dataclass(frozen=True)
class CallContext:
    """Everything the menu engine may know about a call at one step; no I/O behind it."""

    place: CallerPlace
    region: Region  # the region serving the call (the caller's, kept in the URL state)
    now: datetime
    prompts: Catalogue
    flow: Flow  # the region's compiled flow: its questions and where each key leads
    company: str = ""
    reference_lengths: tuple[int, int] = (6, 20)
    hold_music: HoldMusic | None = None
    # Operators' announcements of the call's region not yet over (the engine picks those in
    # force for the caller's language at `now`); read at the edge, none when unknown.
    announcements: tuple[Announcement, ...] = ()
    # Which (region, language) lines have a logged-in agent, read at the edge; None: no agent
    # is configured (or not known yet), so no caller is kept out of a queue for it.
    staffing: Staffing | None = None
    # The caller's number failed STIR/SHAKEN verification (see `failed_verification`): the
    # number may be someone else's, so we never call it back.
    caller_id_failed: bool = False
