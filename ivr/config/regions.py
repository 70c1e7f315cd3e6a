"""regions.toml: the regional hotlines, validated once at start, and looked up per call.

A broken file is refused with its file, line and reason; after loading, the rest of the
service trusts the typed `RegionBook`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any

import holidays
import phonenumbers
import pytz
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ivr.config.hours import (
    WEEKDAYS,
    Interval,
    OpeningRules,
    day_overlaps,
    parse_interval,
    weekly_overlaps,
)
from ivr.config.languages import LANGUAGES
from ivr.config.prompts import REFERENCE_LANGUAGE
from ivr.config.tomlfile import ConfigError, ConfigProblem, TomlDocument, load_toml

GLOBAL_REGION = "global"
# What an agent may key at wrap-up unless a region lists its own (each is spoken from the
# prompt agent_line.dispositions.<code>; keys 1-9 in this order).
DEFAULT_DISPOSITIONS = (
    "password_reset",
    "security_case",
    "transaction_traced",
    "pending_cancelled",
    "follow_up",
    "other",
)
SKIPPED = "skipped"  # stored for a call whose agent keyed no code
# Which available agent gets the next caller (ivr.engine.routing), after skill level.
ROUTING = ("longest-idle", "round-robin", "fewest-calls")
# The global line's callback limits when regions.toml leaves them out. Its callers come from
# anywhere, so a callback there is an international call (and a text at expiry) to a number
# nobody vetted: a burst of bookings from forged caller IDs costs money before anyone looks.
# One booking per number a day is enough for a real caller (the code is said twice and texted
# at expiry); ten an hour bounds the worst hour to 10 numbers x 3 attempts = 30 calls and 10
# texts, against 180 calls and 60 texts at the regional defaults (60 an hour).
GLOBAL_CALLBACK_LIMITS = {"per_hour": 10, "per_number_per_day": 1}
QUEUE_NAME_LIMIT = 64
_PRIORITY_SUFFIX = "-priority"
_CALLBACK_SUFFIX = "-callback"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


IntervalText = Annotated[str, Field(description="HH:MM-HH:MM, may cross midnight")]


class WeeklyHours(_Strict):
    mon: list[IntervalText] = []
    tue: list[IntervalText] = []
    wed: list[IntervalText] = []
    thu: list[IntervalText] = []
    fri: list[IntervalText] = []
    sat: list[IntervalText] = []
    sun: list[IntervalText] = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _intervals(cls, value: list[str]) -> list[str]:
        intervals = tuple(parse_interval(text) for text in value)
        if problems := day_overlaps(intervals):
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _no_overlap_across_days(self) -> WeeklyHours:
        if problems := weekly_overlaps(self.intervals()):
            raise ValueError("; ".join(problems))
        return self

    def intervals(self) -> tuple[tuple[Interval, ...], ...]:
        days = (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)
        return tuple(tuple(parse_interval(text) for text in day) for day in days)


@cache
def holiday_calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """The `holidays` calendar of a country (or one of its subdivisions), made once: checking
    a region's calendar and building its hours share it."""
    return holidays.country_holidays(country, subdiv=subdivision)


class HolidaySettings(_Strict):
    calendar: str | None = Field(None, description="country code for the `holidays` package")
    subdivision: str | None = None
    dates: list[date] = []
    make_up_days_as: str | None = Field(
        None, description="weekday whose hours apply on the calendar's make-up working days"
    )
    bridge_weekends: bool = Field(False, description="close weekend days inside a holiday break")

    @model_validator(mode="after")
    def _known_calendar(self) -> HolidaySettings:
        if self.calendar is not None:
            try:
                holiday_calendar(self.calendar, self.subdivision)
            except NotImplementedError:
                raise ValueError(
                    f"the holidays package has no calendar {self.calendar!r}"
                ) from None
        if self.make_up_days_as is not None and self.make_up_days_as not in WEEKDAYS:
            raise ValueError(f"make_up_days_as must be one of {', '.join(WEEKDAYS)}")
        return self


class QueueSettings(_Strict):
    max_wait: int = Field(
        900, ge=60, le=4 * 3600, description="seconds before a caller is offered a way out"
    )
    announce_every: int = Field(
        60, ge=20, le=600, description="seconds between position announcements"
    )
    leave_offer_after: int = Field(
        0, ge=0, description="seconds of waiting before leaving is offered"
    )
    max_size: int = Field(
        100, ge=1, le=5000, description="provisioned at Twilio through its REST API"
    )


class CallbackSettings(_Strict):
    """Calling a caller back: fraud limits, how hard we try, and when a callback goes out."""

    per_number_per_day: int = Field(
        2, ge=1, le=20, description="callbacks one number may book in 24 hours"
    )
    per_hour: int = Field(
        60, ge=1, le=10_000, description="callbacks the region accepts per hour, all numbers"
    )
    attempts: int = Field(3, ge=1, le=10, description="calls placed before giving up")
    retry_after: int = Field(600, ge=60, le=86_400, description="seconds between attempts")
    expire_after: int = Field(
        72 * 3600, ge=3600, le=14 * 86_400, description="seconds a callback may stay pending"
    )
    place_while_waiting_below: int = Field(
        3, ge=1, le=5000, description="callers in the region's queues below which we call back"
    )
    stop_before_closing: int = Field(
        900, ge=0, le=4 * 3600, description="seconds before closing when no callback is placed"
    )


class RegionSpec(_Strict):
    name: str = Field(min_length=1)
    hotlines: list[str] = []
    example: bool = False
    countries: list[str] = []
    callback_countries: list[str] = Field(
        [],
        description="a line without countries of its own (the global line): the countries whose "
        "callers it calls back, on the calling number only; none by default",
    )
    timezone: str
    languages: list[str] = Field(min_length=1)
    hours: WeeklyHours = WeeklyHours()
    holidays: HolidaySettings = HolidaySettings()
    special_days: dict[date, list[IntervalText]] = {}
    queue: QueueSettings = QueueSettings()
    callbacks: CallbackSettings = CallbackSettings()
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    email_reply_hours: int = Field(24, ge=1, le=168)
    chat_url: str = Field(pattern=r"^https://")
    voicemail_email: str | None = Field(
        None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="the support mailbox voicemails go to; default: email",
    )
    name_utc_offset: bool = Field(
        False, description="say the UTC offset of opening times to callers whose zone is unknown"
    )
    overflow: str | None = Field(
        None,
        description="the queue (<region>-<language>) for callers whose language no logged-in "
        "agent serves",
    )
    wrap_up: int | None = Field(
        None, ge=0, le=600, description="agents' seconds after a call; default: the global one"
    )
    dispositions: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        list(DEFAULT_DISPOSITIONS),
        min_length=1,
        max_length=9,
        description="the codes an agent keys at wrap-up (1-9, in this order)",
    )
    survey: bool = Field(True, description="ask callers to rate the call after the agent hangs up")
    routing: str = Field(
        "longest-idle",
        description="which available agent gets the next caller: longest-idle, round-robin "
        "(the one given a caller the longest ago) or fewest-calls (since logging in)",
    )

    @field_validator("dispositions")
    @classmethod
    def _distinct_codes(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError("a code is listed twice")
        if SKIPPED in codes:
            raise ValueError(f"{SKIPPED!r} is what a call without a code is stored as")
        return codes

    @field_validator("routing")
    @classmethod
    def _known_routing(cls, routing: str) -> str:
        if routing not in ROUTING:
            raise ValueError(f"unknown routing {routing!r}; known: {', '.join(ROUTING)}")
        return routing

    @field_validator("hotlines")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        for number in numbers:
            _check_e164(number)
        return numbers

    @field_validator("countries", "callback_countries")
    @classmethod
    def _iso_countries(cls, countries: list[str]) -> list[str]:
        supported = phonenumbers.SUPPORTED_REGIONS
        for code in countries:
            if code not in supported:
                raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country with phone numbers")
        return countries

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, zone: str) -> str:
        if zone not in pytz.all_timezones_set:
            raise ValueError(f"unknown timezone {zone!r}; use an IANA name such as 'Asia/Tokyo'")
        return zone

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, ids: list[str]) -> list[str]:
        for language_id in ids:
            if language_id not in LANGUAGES:
                known = ", ".join(LANGUAGES)
                raise ValueError(f"unknown language {language_id!r}; known: {known}")
        if len(set(ids)) != len(ids):
            raise ValueError("a language is listed twice")
        if len(ids) > 9:
            raise ValueError("at most 9 languages: the language menu uses keys 1-9")
        return ids

    @field_validator("special_days")
    @classmethod
    def _special_intervals(cls, days: dict[date, list[str]]) -> dict[date, list[str]]:
        for day, texts in days.items():
            if problems := day_overlaps(tuple(parse_interval(text) for text in texts)):
                raise ValueError(f"{day}: " + "; ".join(problems))
        return days


def _check_e164(number: str) -> None:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        raise ValueError(f"{number!r} is not E.164 (a '+' and up to 15 digits)")
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        raise ValueError(f"{number!r} is not a valid phone number for its country")


class RegionsFile(_Strict):
    regions: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,23}$")], RegionSpec]


def queue_name(region_id: str, language_id: str, *, priority: bool = False) -> str:
    """`<region>-<language>`, or `<region>-<language>-priority` for pending transactions."""
    return f"{region_id}-{language_id}" + (_PRIORITY_SUFFIX if priority else "")


@dataclass(frozen=True)
class Region:
    """One regional hotline as the rest of the service sees it."""

    id: str
    name: str
    hotlines: tuple[str, ...]
    countries: tuple[str, ...]
    timezone: str
    languages: tuple[str, ...]
    opening: OpeningRules
    queue: QueueSettings
    email: str
    email_reply_hours: int
    chat_url: str
    name_utc_offset: bool = False
    callbacks: CallbackSettings = CallbackSettings()
    # A line without countries (the global line): whose callers it calls back, on the calling
    # number only. A line with countries calls back in those.
    callback_countries: tuple[str, ...] = ()
    voicemail_email: str = ""
    overflow: tuple[str, str] | None = None  # (region id, language) of the overflow queue
    wrap_up: int | None = None  # agents' wrap-up seconds after a call of this region
    dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS  # codes keyed at wrap-up, 1-9
    survey: bool = True  # callers rate the call after the agent hangs up
    routing: str = ROUTING[0]  # which available agent gets the next caller

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def language_or_default(self, language: str | None) -> str:
        """`language` when this region offers it, else the region's default language."""
        return language if language in self.languages else self.default_language

    def queue_name(self, language_id: str, *, priority: bool = False) -> str:
        """Twilio queue for callers of this region speaking `language_id`."""
        return queue_name(self.id, language_id, priority=priority)

    def overflow_queue(self, *, priority: bool = False) -> str | None:
        """The queue for callers whose language no logged-in agent serves, if configured."""
        if self.overflow is None:
            return None
        return queue_name(*self.overflow, priority=priority)

    def callback_queue_name(self, language_id: str) -> str:
        """Twilio queue for callers we called back: agents take it before the others."""
        return f"{self.id}-{language_id}" + _CALLBACK_SUFFIX

    def owns_queue(self, queue: str) -> bool:
        """True for this region's queues (any language, normal, priority or callback)."""
        return queue.startswith(f"{self.id}-") and any(
            queue == f"{self.id}-{language}{suffix}"
            for language in self.languages
            for suffix in ("", _PRIORITY_SUFFIX, _CALLBACK_SUFFIX)
        )


@dataclass(frozen=True)
class RegionBook:
    """All regions, indexed by the countries they serve and the hotlines that ring into them."""

    regions: dict[str, Region]

    @cached_property
    def by_country(self) -> dict[str, Region]:
        return {country: r for r in self.regions.values() for country in r.countries}

    @cached_property
    def by_hotline(self) -> dict[str, Region]:
        return {number: r for r in self.regions.values() for number in r.hotlines}

    @property
    def fallback(self) -> Region:
        return self.regions[GLOBAL_REGION]

    def for_country(self, country: str | None) -> Region | None:
        return self.by_country.get(country) if country else None

    def for_hotline(self, number: str | None) -> Region | None:
        return self.by_hotline.get(number) if number else None


def load_regions(
    file: Path,
    prompt_languages: Iterable[str] | None = None,
    disposition_codes: Iterable[str] | None = None,
) -> RegionBook:
    """Load and check regions.toml; raises ConfigError naming file, line and reason.

    `prompt_languages`: languages that have prompts; a region offering any other is refused.
    `disposition_codes`: the codes the prompts can say; a region listing another is refused.
    """
    document = load_toml(file)
    try:
        parsed = RegionsFile.model_validate(document.data)
    except ValidationError as exc:
        raise ConfigError([_problem(document, error) for error in exc.errors()]) from None
    problems = _cross_region_problems(document, parsed, prompt_languages)
    if disposition_codes is not None:
        problems += _unspoken_codes(document, parsed, frozenset(disposition_codes))
    if problems:
        raise ConfigError(problems)
    return RegionBook({rid: _region(rid, spec, parsed) for rid, spec in parsed.regions.items()})


def _unspoken_codes(
    document: TomlDocument, parsed: RegionsFile, codes: frozenset[str]
) -> list[ConfigProblem]:
    """A region's disposition code the agent line cannot say (no prompt for it)."""
    return [
        document.problem(
            ("regions", rid, "dispositions", index),
            f"no prompt agent_line.dispositions.{code} in prompts/{REFERENCE_LANGUAGE}/"
            "agent_line.toml: add one to name this code to agents",
        )
        for rid, spec in parsed.regions.items()
        for index, code in enumerate(spec.dispositions)
        if code not in codes
    ]


def _problem(document: TomlDocument, error: Any) -> ConfigProblem:
    location = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        reason = f"unknown setting {location[-1]!r}"
    return document.problem(location, reason)


def _cross_region_problems(
    document: TomlDocument, parsed: RegionsFile, prompt_languages: Iterable[str] | None
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    if GLOBAL_REGION not in parsed.regions:
        problems.append(document.problem(("regions",), "a 'global' fallback region is required"))
    seen_countries: dict[str, str] = {}
    seen_hotlines: dict[str, str] = {}
    available = set(prompt_languages) if prompt_languages is not None else None
    for rid, spec in parsed.regions.items():
        problems += _callback_country_problems(document, parsed, rid, spec)
        for index, country in enumerate(spec.countries):
            if country in seen_countries:
                where = ("regions", rid, "countries", index)
                other = seen_countries[country]
                problems.append(
                    document.problem(where, f"{country} is already served by {other!r}")
                )
            seen_countries[country] = rid
        for index, number in enumerate(spec.hotlines):
            if number in seen_hotlines:
                where = ("regions", rid, "hotlines", index)
                other = seen_hotlines[number]
                problems.append(document.problem(where, f"{number} already rings into {other!r}"))
            seen_hotlines[number] = rid
        for index, language_id in enumerate(spec.languages):
            if available is not None and language_id not in available:
                where = ("regions", rid, "languages", index)
                problems.append(document.problem(where, f"no prompts for {language_id}"))
        if spec.overflow is not None and _overflow(parsed, spec.overflow) is None:
            reason = (
                f"{spec.overflow!r} is not a queue of this file; use <region>-<language> of a "
                "region that offers that language, e.g. 'gb-en-GB'"
            )
            problems.append(document.problem(("regions", rid, "overflow"), reason))
        if (
            len(rid) + len(max(spec.languages, key=len)) + len(_CALLBACK_SUFFIX) + 1
            > QUEUE_NAME_LIMIT
        ):
            problems.append(
                document.problem(("regions", rid), "queue names would exceed 64 characters")
            )
    return problems


def _callback_country_problems(
    document: TomlDocument, parsed: RegionsFile, rid: str, spec: RegionSpec
) -> list[ConfigProblem]:
    """`callback_countries` belongs to a line without countries, and names no country another
    line serves (its callers reach that line and are called back there)."""
    if spec.countries and spec.callback_countries:
        reason = (
            "only a line without countries (the global line) takes callback_countries; "
            "this line calls back in its own countries"
        )
        return [document.problem(("regions", rid, "callback_countries"), reason)]
    served = {country: other for other, s in parsed.regions.items() for country in s.countries}
    return [
        document.problem(
            ("regions", rid, "callback_countries", index),
            f"{country} is served by {served[country]!r}: its callers are called back there",
        )
        for index, country in enumerate(spec.callback_countries)
        if country in served
    ]


def _callback_settings(rid: str, spec: RegionSpec) -> CallbackSettings:
    """The region's callback settings; the global line's limits default lower (see
    GLOBAL_CALLBACK_LIMITS) where its file leaves them out."""
    if rid != GLOBAL_REGION:
        return spec.callbacks
    unset = spec.callbacks.model_fields_set
    lower = {name: value for name, value in GLOBAL_CALLBACK_LIMITS.items() if name not in unset}
    return spec.callbacks.model_copy(update=lower)


def _overflow(parsed: RegionsFile, queue: str) -> tuple[str, str] | None:
    """The (region, language) whose normal queue is named `queue`, if there is one."""
    for rid, spec in parsed.regions.items():
        for language in spec.languages:
            if queue == queue_name(rid, language):
                return rid, language
    return None


def _region(rid: str, spec: RegionSpec, parsed: RegionsFile) -> Region:
    calendar = None
    if spec.holidays.calendar is not None:
        calendar = holiday_calendar(spec.holidays.calendar, spec.holidays.subdivision)
    make_up = spec.holidays.make_up_days_as
    opening = OpeningRules(
        timezone=spec.timezone,
        weekly=spec.hours.intervals(),
        special_days={
            d: tuple(parse_interval(t) for t in texts) for d, texts in spec.special_days.items()
        },
        holiday_dates=frozenset(spec.holidays.dates),
        calendar=calendar,
        make_up_weekday=WEEKDAYS.index(make_up) if make_up else None,
        bridge_weekends=spec.holidays.bridge_weekends,
    )
    return Region(
        id=rid,
        name=spec.name,
        hotlines=tuple(spec.hotlines),
        countries=tuple(spec.countries),
        timezone=spec.timezone,
        languages=tuple(spec.languages),
        opening=opening,
        queue=spec.queue,
        email=spec.email,
        email_reply_hours=spec.email_reply_hours,
        chat_url=spec.chat_url,
        name_utc_offset=spec.name_utc_offset,
        callbacks=_callback_settings(rid, spec),
        callback_countries=tuple(spec.callback_countries),
        voicemail_email=spec.voicemail_email or spec.email,
        overflow=_overflow(parsed, spec.overflow) if spec.overflow else None,
        wrap_up=spec.wrap_up,
        dispositions=tuple(spec.dispositions),
        survey=spec.survey,
        routing=spec.routing,
    )
