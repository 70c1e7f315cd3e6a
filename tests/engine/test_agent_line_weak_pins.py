"""PINs anyone would try first, pure: refused when a PIN is set, whatever the agent line
later does with a PIN stored before."""

from __future__ import annotations

import pytest

from ivr.engine.agent_line import weak_pin

LI = ("+8613900001111",)
LONDON = ("+447400123456",)  # read nationally as 07400 123456


@pytest.mark.parametrize(
    ("pin", "phones", "why"),
    [
        ("000000", (), "it is one digit repeated"),
        ("999999999", (), "it is one digit repeated"),
        ("123456", (), "it is a run of digits up or down"),
        ("012345", (), "it is a run of digits up or down"),
        ("654321", (), "it is a run of digits up or down"),
        ("3210987", (), "it is a run of digits up or down"),  # down through 0 to 9
        ("1234567890", (), "it is a run of digits up or down"),
        ("001111", LI, "it is part of the agent's own phone number"),
        ("861390", LI, "it is part of the agent's own phone number"),
        ("07400123456", LONDON, "it is part of the agent's own phone number"),
        ("400123", ("+12025550123", *LONDON), "it is part of the agent's own phone number"),
    ],
)
def test_a_pin_anyone_would_try_first_is_weak(pin: str, phones: tuple[str, ...], why: str) -> None:
    assert weak_pin(pin, phones) == why


@pytest.mark.parametrize("pin", ["135792", "246810", "975310", "482193", "123457", "112233"])
def test_other_pins_are_fine(pin: str) -> None:
    assert weak_pin(pin, LI + LONDON) is None


def test_a_number_that_cannot_be_read_still_counts_by_its_digits() -> None:
    assert weak_pin("555012", ("+1202555012",)) is not None
    assert weak_pin("864209", ("not a number",)) is None
