"""Opening hours: weekday intervals, midnight, holidays, special days and DST change days."""

from __future__ import annotations

from datetime import date

import pytest

from ivr.config.hours import (
    OpeningRules,
    is_open,
    next_opening,
    parse_interval,
    weekly_overlaps,
)
from ivr.config.regions import RegionBook
from tests.support.moments import instant


def rules(zone: str, **days: list[str]) -> OpeningRules:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekly = tuple(tuple(parse_interval(t) for t in days.get(name, [])) for name in names)
    return OpeningRules(timezone=zone, weekly=weekly)


def test_tokyo_caller_sunday_2359_hears_monday_0900(book: RegionBook) -> None:
    opening = next_opening(book.regions["jp"].opening, instant("2026-03-01T23:59+09:00"))
    assert opening is not None
    assert opening.isoformat() == "2026-03-02T09:00:00+09:00"


def test_interval_end_is_exclusive(book: RegionBook) -> None:
    tokyo = book.regions["jp"].opening
    assert is_open(tokyo, instant("2026-03-02T17:59+09:00"))
    assert not is_open(tokyo, instant("2026-03-02T18:00+09:00"))
    assert not is_open(tokyo, instant("2026-03-02T08:59+09:00"))


def test_interval_crossing_midnight_spills_into_next_day(book: RegionBook) -> None:
    world = book.regions["global"].opening  # weekdays 06:00-02:00 UTC
    assert is_open(world, instant("2026-03-03T01:59+00:00"))  # Tuesday, from Monday's shift
    assert not is_open(world, instant("2026-03-03T02:00+00:00"))
    assert is_open(world, instant("2026-03-07T01:30+00:00"))  # Saturday, from Friday's shift
    assert not is_open(world, instant("2026-03-08T01:30+00:00"))  # Sunday: Saturday has none


def test_sunday_night_shift_reaches_into_monday() -> None:
    night = rules("UTC", sun=["22:00-02:00"])
    assert is_open(night, instant("2026-03-02T01:00+00:00"))  # Monday 01:00
    assert not is_open(night, instant("2026-03-02T02:00+00:00"))


def test_national_holiday_closes_the_line(book: RegionBook) -> None:
    china = book.regions["cn"].opening
    assert not is_open(china, instant("2026-10-01T10:00+08:00"))  # National Day
    assert not is_open(china, instant("2026-10-03T10:00+08:00"))  # a holiday on a Saturday
    opening = next_opening(china, instant("2026-10-01T10:00+08:00"))
    assert opening is not None and opening.isoformat() == "2026-10-08T09:00:00+08:00"


def test_weekend_inside_a_holiday_break_is_closed_where_configured(book: RegionBook) -> None:
    china = book.regions["cn"].opening  # bridge_weekends = true; weekends open 10:00-18:00
    # Sunday 4 October is no listed holiday, but it sits inside Golden Week.
    assert not is_open(china, instant("2026-10-04T11:00+08:00"))
    # Spring Festival: Sunday the 15th and the weekend of the 21st-22nd are inside the break.
    for day in ("2026-02-15", "2026-02-21", "2026-02-22"):
        assert not is_open(china, instant(f"{day}T11:00+08:00")), day
    assert is_open(china, instant("2026-03-07T11:00+08:00"))  # an ordinary weekend


def test_weekend_next_to_a_holiday_stays_open_without_bridging() -> None:
    weekends = rules("Asia/Tokyo", sat=["10:00-12:00"])
    monday_holiday = OpeningRules(
        weekends.timezone, weekends.weekly, holiday_dates=frozenset({date(2026, 3, 2)})
    )
    assert is_open(monday_holiday, instant("2026-02-28T11:00+09:00"))
    bridged = OpeningRules(
        weekends.timezone,
        weekends.weekly,
        holiday_dates=frozenset({date(2026, 3, 2)}),
        bridge_weekends=True,
    )
    assert not is_open(bridged, instant("2026-02-28T11:00+09:00"))


def test_make_up_working_saturday_opens_with_weekday_hours(book: RegionBook) -> None:
    china = book.regions["cn"].opening  # Saturdays 10:00-18:00, weekdays 09:00-21:00
    assert is_open(china, instant("2026-02-14T09:30+08:00"))  # make-up day before Spring Festival
    assert not is_open(china, instant("2026-02-21T09:30+08:00"))  # an ordinary Saturday


def test_explicit_closure_dates(book: RegionBook) -> None:
    tokyo = book.regions["jp"].opening
    assert not is_open(tokyo, instant("2026-12-30T10:00+09:00"))
    opening = next_opening(tokyo, instant("2026-12-28T19:00+09:00"))
    assert opening is not None and opening.isoformat() == "2027-01-04T09:00:00+09:00"


def test_special_day_shortens_the_hours(book: RegionBook) -> None:
    london = book.regions["gb"].opening
    assert is_open(london, instant("2026-12-24T13:59+00:00"))
    assert not is_open(london, instant("2026-12-24T14:00+00:00"))


def test_holiday_on_a_monday_moves_the_next_opening(book: RegionBook) -> None:
    tokyo = book.regions["jp"].opening  # 2026-01-12 is Coming of Age Day
    opening = next_opening(tokyo, instant("2026-01-11T12:00+09:00"))
    assert opening is not None and opening.isoformat() == "2026-01-13T09:00:00+09:00"


def test_us_spring_forward_opening_inside_the_gap_is_the_first_minute_after_it() -> None:
    early = rules("America/New_York", sun=["02:30-06:00"])
    opening = next_opening(early, instant("2026-03-07T12:00-05:00"))
    assert opening is not None
    assert opening.isoformat() == "2026-03-08T03:00:00-04:00"
    # ...which is when is_open agrees that the line is open.
    assert not is_open(early, instant("2026-03-08T01:59-05:00"))
    assert is_open(early, instant("2026-03-08T03:00-04:00"))


def test_us_fall_back_ambiguous_opening_is_the_first_one() -> None:
    early = rules("America/New_York", sun=["01:30-06:00"])
    opening = next_opening(early, instant("2026-10-31T12:00-04:00"))
    assert opening is not None
    assert opening.isoformat() == "2026-11-01T01:30:00-04:00"  # still daylight time


def test_us_region_opens_at_8_local_on_both_sides_of_the_change(book: RegionBook) -> None:
    us = book.regions["us"].opening
    before = next_opening(us, instant("2026-03-06T21:00-05:00"))  # Friday evening, EST
    after = next_opening(us, instant("2026-03-08T12:00-04:00"))  # Sunday, EDT
    assert before is not None and before.isoformat() == "2026-03-07T09:00:00-05:00"
    assert after is not None and after.isoformat() == "2026-03-09T08:00:00-04:00"


def test_eu_spring_change_day_counts_wall_clock_time() -> None:
    night = rules("Europe/Berlin", sun=["00:00-06:00"])
    assert is_open(night, instant("2026-03-29T01:30+00:00"))  # 03:30 CEST
    assert not is_open(night, instant("2026-03-29T04:00+00:00"))  # 06:00 CEST


def test_eu_autumn_repeated_hour_is_open_both_times() -> None:
    night = rules("Europe/Berlin", sun=["02:00-03:00"])
    assert is_open(night, instant("2026-10-25T00:30+00:00"))  # 02:30 CEST
    assert is_open(night, instant("2026-10-25T01:30+00:00"))  # 02:30 CET, again
    assert not is_open(night, instant("2026-10-25T02:30+00:00"))  # 03:30 CET


def test_dach_monday_after_spring_change_opens_at_8_summer_time(book: RegionBook) -> None:
    opening = next_opening(book.regions["dach"].opening, instant("2026-03-28T20:00+01:00"))
    assert opening is not None and opening.isoformat() == "2026-03-30T08:00:00+02:00"


def test_never_open_gives_no_next_opening() -> None:
    assert next_opening(rules("UTC"), instant("2026-03-01T00:00+00:00")) is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("09:00-18:00", 540, 1080), ("22:00-02:00", 1320, 120), ("00:00-24:00", 0, 0)],
)
def test_interval_parsing(text: str, start: int, end: int) -> None:
    interval = parse_interval(text)
    assert (interval.start, interval.end) == (start, end)


@pytest.mark.parametrize(
    "text", ["9-18", "09:00", "25:00-26:00", "09:60-10:00", "10:00-10:00", "24:00-02:00"]
)
def test_malformed_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_overlap_across_midnight_is_found() -> None:
    monday_night = (parse_interval("22:00-02:00"),)
    tuesday_early = (parse_interval("01:00-05:00"),)
    week = (monday_night, tuesday_early, (), (), (), (), ())
    assert weekly_overlaps(week) == ["mon 22:00-02:00 overlaps tue 01:00-05:00"]


def test_sunday_spill_overlapping_monday_is_found() -> None:
    week = ((parse_interval("01:00-04:00"),), (), (), (), (), (), (parse_interval("23:00-02:00"),))
    assert len(weekly_overlaps(week)) == 1
