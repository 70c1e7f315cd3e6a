"""Which numbers we agree to call back: a guard against toll fraud, pure (phonenumbers only).

A callback costs the company a call to a number the caller chooses, so only ordinary phones
in the countries the line serves qualify: never premium-rate, shared-cost, toll-free, UAN,
pager or voicemail-only numbers, and never satellite or international networks (their
"country" is 001, which no region serves).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

CALLABLE_TYPES = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def callback_number(
    keyed: str, countries: tuple[str, ...], default_country: str | None
) -> str | None:
    """The E.164 form of `keyed` (an E.164 number, or digits keyed on the phone in national
    or international format), if we may call it back; else None.

    `countries`: the countries the caller's region serves. `default_country` reads a
    national number (and the international prefix, 00 or 011).
    """
    parsed = _parse(keyed, default_country)
    if parsed is None:
        return None
    if phonenumbers.region_code_for_number(parsed) not in countries:
        return None
    if phonenumbers.number_type(parsed) not in CALLABLE_TYPES:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse(keyed: str, default_country: str | None) -> phonenumbers.PhoneNumber | None:
    """A valid number from `keyed`. Callers abroad key 00 or 011 for "+" whatever the
    country's own prefix (Japan's is 010), and no national number starts with them."""
    digits = keyed.strip()
    candidates = [digits]
    for prefix in ("011", "00"):
        if digits.startswith(prefix):
            candidates.append("+" + digits[len(prefix) :])
            break
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return parsed
    return None


def can_receive_texts(number: str) -> bool:
    """False for numbers known to be landlines (a text to them is refused)."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False
    return kind is not PhoneNumberType.FIXED_LINE


def last_digits(number: str, count: int = 4) -> str:
    return number[-count:]


def masked(number: str) -> str:
    """A number as logs show it: the country code and the last four digits ("+81 ••• ••5678")."""
    if not number.startswith("+"):
        return number if not any(ch.isdigit() for ch in number) else "•••"
    try:
        code = str(phonenumbers.parse(number, None).country_code)
    except phonenumbers.NumberParseException:
        return "+•••"
    return f"+{code} ••• ••{number[-4:]}"
