"""Failed sign-ins slow their own sender: a growing delay per name and address, and per
address, never a lock of the name for everybody."""

from __future__ import annotations

import pytest

from ivr.dashboard.attempts import (
    FIRST_DELAY_SECONDS,
    FORGET_AFTER_SECONDS,
    LONGEST_DELAY_SECONDS,
    FailedSignIns,
)

ATTACKER, OFFICE = "203.0.113.9", "198.51.100.20"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(attempts: FailedSignIns, ticks: Ticks, user: str, address: str, times: int) -> None:
    """`times` failures, each as soon as the delay allows."""
    for _ in range(times):
        ticks.now += attempts.wait(user, address)
        attempts.failed(user, address)


def test_after_five_free_failures_each_try_waits_twice_as_long() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(free_per_name_and_address=5, free_per_address=100, monotonic=ticks)
    fail(attempts, ticks, "ana", ATTACKER, 5)
    assert attempts.wait("ana", ATTACKER) == FIRST_DELAY_SECONDS == 10
    assert attempts.wait("ANA", ATTACKER) == 10  # names differing in case are one name
    ticks.now += 4
    assert attempts.wait("ana", ATTACKER) == 6
    waits = []
    for _ in range(8):
        ticks.now += attempts.wait("ana", ATTACKER)
        attempts.failed("ana", ATTACKER)
        waits.append(attempts.wait("ana", ATTACKER))
    assert waits == [20, 40, 80, 160, 320, 640, LONGEST_DELAY_SECONDS, 900]


def test_someone_elses_failures_never_delay_a_supervisor() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(monotonic=ticks)
    fail(attempts, ticks, "ana", ATTACKER, 50)
    assert attempts.wait("ana", ATTACKER) == LONGEST_DELAY_SECONDS
    assert attempts.wait("ana", OFFICE) == 0
    assert attempts.wait("bob", OFFICE) == 0


def test_an_address_trying_many_names_waits_after_twenty_failures() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(monotonic=ticks)
    for number in range(20):
        assert attempts.wait(f"user{number}", ATTACKER) == 0
        attempts.failed(f"user{number}", ATTACKER)
    assert attempts.wait("someone-new", ATTACKER) == 10
    assert attempts.wait("someone-new", OFFICE) == 0


def test_a_right_password_lets_its_name_and_address_start_afresh() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(monotonic=ticks)
    fail(attempts, ticks, "ana", OFFICE, 4)
    attempts.failed("ana", OFFICE)  # counted before the password is checked...
    attempts.signed_in("ana", OFFICE)  # ...and it was right
    fail(attempts, ticks, "ana", OFFICE, 4)
    assert attempts.wait("ana", OFFICE) == 0


def test_an_hour_of_quiet_forgets_the_failures() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(monotonic=ticks)
    fail(attempts, ticks, "ana", ATTACKER, 12)
    ticks.now += FORGET_AFTER_SECONDS - 1
    assert attempts.wait("ana", ATTACKER) == 0  # the longest delay is over...
    attempts.failed("ana", ATTACKER)
    assert attempts.wait("ana", ATTACKER) == LONGEST_DELAY_SECONDS  # ...but not forgotten
    ticks.now += FORGET_AFTER_SECONDS
    fail(attempts, ticks, "ana", ATTACKER, 4)
    assert attempts.wait("ana", ATTACKER) == 0


@pytest.mark.slow
def test_made_up_names_cannot_fill_the_memory() -> None:
    attempts = FailedSignIns(free_per_address=100_000, monotonic=Ticks())
    for number in range(12_000):
        attempts.failed(f"user{number}", "10.0.0.1")
    assert len(attempts._failures) <= 10_000
