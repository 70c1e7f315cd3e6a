"""When human agents are open: weekly intervals, holidays, special days, DST-safe next opening.

Everything here is pure: it takes the region's opening rules and an instant, and never reads
the clock. Intervals belong to the day they start on; one that ends at or before its start
crosses midnight into the next day.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

import pytz

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SATURDAY = 5
MINUTES_PER_DAY = 24 * 60
# How far ahead to look for the next opening; longer closures read as "not in the coming weeks".
SEARCH_DAYS = 45


@dataclass(frozen=True, order=True)
class Interval:
    """Opening time from `start` to `end`, in minutes after midnight of the day it starts."""

    start: int
    end: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def length(self) -> int:
        return self.end - self.start + (MINUTES_PER_DAY if self.crosses_midnight else 0)

    def contains(self, minute: int) -> bool:
        """Whether `minute` of the start day falls inside (the part before midnight)."""
        if self.crosses_midnight:
            return minute >= self.start
        return self.start <= minute < self.end

    def contains_after_midnight(self, minute: int) -> bool:
        """Whether `minute` of the following day is still inside."""
        return self.crosses_midnight and minute < self.end

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_interval(text: str) -> Interval:
    """`"09:00-18:00"`, `"22:00-02:00"` (crosses midnight) or `"00:00-24:00"` (all day)."""
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start, end = _minutes(start_text), _minutes(end_text)
    except ValueError:
        raise ValueError(f"{text!r} is not an interval like '09:00-18:00'") from None
    if start == MINUTES_PER_DAY:
        raise ValueError(f"{text!r} starts at 24:00; start the interval at 00:00 of the next day")
    if start == end:
        raise ValueError(f"{text!r} is empty; use '00:00-24:00' for a whole day")
    return Interval(start, end % MINUTES_PER_DAY if end == MINUTES_PER_DAY else end)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    if len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise ValueError(text)
    return value


class HolidayCalendar(Protocol):
    """What hours need from a holiday calendar (the `holidays` package fits)."""

    def __contains__(self, day: object) -> bool: ...


@dataclass(frozen=True)
class OpeningRules:
    """Agent opening hours of one region, in its local time zone."""

    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]  # index 0 = Monday
    special_days: dict[date, tuple[Interval, ...]] = field(default_factory=dict)
    holiday_dates: frozenset[date] = frozenset()
    calendar: HolidayCalendar | None = None
    make_up_weekday: int | None = None  # whose hours apply on a calendar's make-up working day
    bridge_weekends: bool = False  # a weekend inside a holiday break is closed too

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The intervals that start on local `day`, after holidays and special days."""
        if day in self.special_days:
            return self.special_days[day]
        if self.is_holiday(day):
            return ()
        if self.make_up_weekday is not None and day in _make_up_days(self.calendar):
            return self.weekly[self.make_up_weekday]
        if self.bridge_weekends and day.weekday() >= SATURDAY and self._inside_a_break(day):
            return ()
        return self.weekly[day.weekday()]

    def is_holiday(self, day: date) -> bool:
        return day in self.holiday_dates or (self.calendar is not None and day in self.calendar)

    def _inside_a_break(self, day: date) -> bool:
        # Calendars list the weekdays of a long break, not its weekend: mainland China's
        # Golden Week runs 1-7 October although Sunday the 4th is no listed holiday.
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        while before.weekday() >= SATURDAY:
            before -= timedelta(days=1)
        while after.weekday() >= SATURDAY:
            after += timedelta(days=1)
        return self.is_holiday(before) or self.is_holiday(after)


def _make_up_days(calendar: HolidayCalendar | None) -> Container[date]:
    # Mainland China and others work some weekends to bridge long holidays. The holidays
    # package fills this set year by year as dates are looked up, so read it live.
    return getattr(calendar, "weekend_workdays", ())


def local_time(rules: OpeningRules, instant: datetime) -> datetime:
    """`instant` (aware) as a wall-clock time in the region's zone."""
    return instant.astimezone(pytz.timezone(rules.timezone))


def is_open(rules: OpeningRules, instant: datetime) -> bool:
    """Whether agents are on duty at `instant`."""
    local = local_time(rules, instant)
    minute = local.hour * 60 + local.minute
    today = local.date()
    if any(interval.contains(minute) for interval in rules.intervals_on(today)):
        return True
    yesterday = today - timedelta(days=1)
    return any(i.contains_after_midnight(minute) for i in rules.intervals_on(yesterday))


def next_opening(rules: OpeningRules, instant: datetime) -> datetime | None:
    """The first instant after `instant` when agents open, as an aware local datetime.

    None when the region stays closed for the next SEARCH_DAYS days. An opening that falls
    into a daylight-saving gap (02:30 on the spring-forward night) happens at the first
    wall-clock minute that exists after it.
    """
    zone = pytz.timezone(rules.timezone)
    local = local_time(rules, instant)
    for offset in range(SEARCH_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        for interval in sorted(rules.intervals_on(day)):
            opening = _localize(
                zone, datetime.combine(day, time()) + timedelta(minutes=interval.start)
            )
            if opening > local:
                return opening
    return None


def _localize(zone: pytz.BaseTzInfo, wall: datetime) -> datetime:
    try:
        return zone.localize(wall, is_dst=None)
    except pytz.NonExistentTimeError:
        # The clocks skipped this wall time: the opening happens at the first minute that
        # exists after it (03:00 for 02:30 on a spring-forward night), where is_open agrees.
        return _localize(zone, wall + timedelta(minutes=1))
    except pytz.AmbiguousTimeError:
        return zone.localize(wall, is_dst=True)  # the first of the two occurrences


def weekly_overlaps(weekly: tuple[tuple[Interval, ...], ...]) -> list[str]:
    """Human-readable overlaps in a weekly schedule, including spill past midnight."""
    spans: list[tuple[int, int, str]] = []
    for index, intervals in enumerate(weekly):
        for interval in intervals:
            start = index * MINUTES_PER_DAY + interval.start
            spans.append((start, start + interval.length, f"{WEEKDAYS[index]} {interval}"))
    week = 7 * MINUTES_PER_DAY
    # Sunday's spill past midnight lands on Monday: compare it a week earlier too.
    spans += [(s - week, e - week, label) for s, e, label in spans if e > week]
    return _overlaps(spans)


def day_overlaps(intervals: tuple[Interval, ...]) -> list[str]:
    """Overlaps among the intervals of a single day."""
    return _overlaps([(i.start, i.start + i.length, str(i)) for i in intervals])


def _overlaps(spans: list[tuple[int, int, str]]) -> list[str]:
    found = []
    ordered = sorted(spans)
    for (_, end, label), (start, _, other) in zip(ordered, ordered[1:], strict=False):
        if start < end:
            found.append(f"{label} overlaps {other}")
    return found
