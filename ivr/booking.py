"""The answer to a callback request, shared by the store (which decides) and the menu (which
says it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Booking:
    """The code the agent will quote when calling back, or why we cannot call."""

    code: str | None
    refused: str | None = None  # "number_limit" or "region_limit"
