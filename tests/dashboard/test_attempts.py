"""Failed sign-ins are limited per name and per address, over a sliding minute."""

from __future__ import annotations

from ivr.dashboard.attempts import FailedSignIns


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_for_one_name_block_it_for_a_minute() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(per_user=5, per_address=20, window=60, monotonic=ticks)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"):
        assert not attempts.blocked("ana", address)
        attempts.failed("ana", address)
    assert attempts.blocked("ana", "10.0.0.9")
    assert attempts.blocked("ANA", "10.0.0.9")  # names differing in case are one name
    assert not attempts.blocked("bob", "10.0.0.9")
    ticks.now += 60
    assert not attempts.blocked("ana", "10.0.0.9")


def test_an_address_trying_many_names_is_blocked() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(per_user=5, per_address=3, window=60, monotonic=ticks)
    for name in ("a", "b", "c"):
        attempts.failed(name, "10.0.0.1")
    assert attempts.blocked("d", "10.0.0.1")
    assert not attempts.blocked("d", "10.0.0.2")


def test_failures_slide_out_one_by_one() -> None:
    ticks = Ticks()
    attempts = FailedSignIns(per_user=2, per_address=100, window=60, monotonic=ticks)
    attempts.failed("ana", "x")
    ticks.now += 30
    attempts.failed("ana", "x")
    assert attempts.blocked("ana", "x")
    ticks.now += 31  # the first failure is now older than a minute
    assert not attempts.blocked("ana", "x")


def test_made_up_names_cannot_fill_the_memory() -> None:
    attempts = FailedSignIns(monotonic=Ticks())
    for number in range(12_000):
        attempts.failed(f"user{number}", "10.0.0.1")
    assert len(attempts._failures) <= 10_000
