"""The standard parameters Twilio sends on every request of a call."""

from __future__ import annotations

import phonenumbers

API_VERSION = "2010-04-01"


def country_of(number: str) -> str:
    """ISO country of a phone number when it parses (e.g. +266... is LS), else ""."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    region = phonenumbers.region_code_for_number(parsed)
    if not region or region == phonenumbers.UNKNOWN_REGION:
        region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return "" if region == phonenumbers.UNKNOWN_REGION else str(region)


def standard_params(
    *,
    call_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    call_status: str,
    direction: str = "inbound",
) -> dict[str, str]:
    """CallSid, AccountSid, From/To (and their legacy twins Caller/Called), CallStatus,
    Direction, ApiVersion, FromCountry and ToCountry."""
    return {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Caller": from_,
        "Called": to,
        "CallStatus": call_status,
        "Direction": direction,
        "ApiVersion": API_VERSION,
        "FromCountry": country_of(from_),
        "ToCountry": country_of(to),
    }
