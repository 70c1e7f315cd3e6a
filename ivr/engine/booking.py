"""The answer to a callback request, shared by the store (which decides) and the menu (which
says it)."""

from __future__ import annotations

from dataclasses import dataclass

# Why a callback is not booked: the number's daily limit, the region's hourly limit, or the
# database cannot count the bookings now (away or too slow), so no limit could be kept.
NUMBER_LIMIT, REGION_LIMIT, UNAVAILABLE = "number_limit", "region_limit", "unavailable"


@dataclass(frozen=True)
class Booking:
    """The code the agent will quote when calling back, or why we cannot call."""

    code: str | None
    refused: str | None = None  # NUMBER_LIMIT, REGION_LIMIT or UNAVAILABLE
