"""The wallboard's figures, one line per region and language, from the store's records.

`line_figures` is pure: records and an instant in, figures out. `take_snapshot` reads what it
needs from the store (through `Services`, so the clock is the app's) and calls it.

- Waiting: calls that joined one of the line's queues (normal, priority, callback) and have
  neither left it nor ended. A caller cannot wait longer than the region's `max_wait` (we make
  them leave), so an entry older than that plus STALE_AFTER is a lost webhook, not a caller.
- Today: calls that started since midnight in the region's time zone. A caller who hung up
  before choosing a language heard the region's default one and counts there.
- Self-service rate, abandonment, service level and callbacks pending are `ivr report`'s own
  figures (ivr.store.reports) over the line's calls of today and its open callbacks.
- Estimated wait: what a caller joining the line's queue now would hear (ivr.engine.waiting).
- After the call, per region (every language together) over today's calls: survey questions
  asked and answered, the average rating and comments, and the agents' disposition counts by
  code, in the order of the region's `dispositions` ("skipped" last): `ivr report`'s own
  figures (ivr.store.reports_after_call). Regions with none of them today are left out.
- Surveys by agent, language and disposition: `ivr report`'s survey groupings (`survey_report`)
  over the same calls of today, every region together, or the regions a screen shows
  (`?region=`, sent with its feed), so only groups with a survey asked appear. The snapshot
  keeps those calls for that; they are never sent, only their figures.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

import pytz
from starlette.concurrency import run_in_threadpool

from ivr.config.hours import is_open
from ivr.config.regions import Region, RegionBook
from ivr.dashboard.agents import AgentCounts, Line, agents_on_calls_and_available
from ivr.engine.waiting import QueueStatus, estimated_wait
from ivr.store.callbacks import CallbackRecord
from ivr.store.reports import DEFAULT_ANSWER_WITHIN, region_report
from ivr.store.reports_after_call import (
    CodeCount,
    SurveyFigures,
    region_dispositions,
    survey_figures,
    survey_report,
    was_asked,
)
from ivr.store.repository import CallRecord
from ivr.web.services import Services

STALE_AFTER = timedelta(minutes=2)
# Colour cues, in seconds of the longest wait: amber once callers wait past the service level
# threshold, red past ALARM_AFTER.
ALARM_AFTER = 300


@dataclass(frozen=True)
class LineFigures:
    """One region and language, as the wallboard shows it. None: not known (no data)."""

    region: str
    region_name: str
    language: str
    agents_open: bool
    waiting: int
    longest_wait: int | None
    estimated_wait: str | None
    agents_on_calls: int | None
    agents_available: int | None
    callbacks_pending: int
    calls_today: int
    self_service_rate: float | None
    abandonment_rate: float | None
    service_level: float | None


@dataclass(frozen=True)
class AfterCallFigures:
    """One region's calls of today once the agent hung up: the callers' survey answers and
    the agents' wrap-up codes. None: not known (nobody answered)."""

    region: str
    region_name: str
    survey: bool  # the region asks its callers to rate the call
    surveys_asked: int
    surveys_answered: int
    average_rating: float | None
    comments: int
    dispositioned: int
    dispositions: tuple[CodeCount, ...]


@dataclass(frozen=True)
class SurveyGroups:
    """Callers' survey answers of today per agent, language and disposition, each sorted by
    name (UNKNOWN, "?", for one not recorded); only groups with a survey asked."""

    agents: tuple[SurveyFigures, ...]
    languages: tuple[SurveyFigures, ...]
    dispositions: tuple[SurveyFigures, ...]


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    answer_within: int
    lines: tuple[LineFigures, ...]
    after_call: tuple[AfterCallFigures, ...] = ()
    # Today's calls whose caller was asked the survey: grouped for each screen's regions,
    # never sent as they are (they hold numbers and recordings).
    surveyed: tuple[CallRecord, ...] = ()

    def surveys(self, regions: Collection[str] = ()) -> SurveyGroups:
        """The survey groups of `regions`' calls together (empty: every region's)."""
        calls = (call for call in self.surveyed if not regions or call.region in regions)
        report = survey_report(calls)
        return SurveyGroups(report.agents, report.languages, report.dispositions)

    def to_json(self, regions: Collection[str] = ()) -> str:
        """The feed's document; `regions` (a screen's `?region=`) narrows the survey groups
        only: the script picks its lines and after-call rows itself."""
        document = {
            "at": self.at.isoformat(),
            "answer_within": self.answer_within,
            "alarm_after": ALARM_AFTER,
            "agents_known": any(line.agents_on_calls is not None for line in self.lines),
            "lines": [asdict(line) for line in self.lines],
            "after_call": [asdict(region) for region in self.after_call],
            "surveys": asdict(self.surveys(regions)),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def start_of_day(region: Region, now: datetime) -> datetime:
    """Midnight of `now`'s day in the region's time zone (the first minute that exists, on a
    day whose midnight the clocks skip)."""
    zone = pytz.timezone(region.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time())
    for minutes in range(0, 180):
        try:
            return zone.localize(midnight + timedelta(minutes=minutes), is_dst=None)
        except pytz.NonExistentTimeError:
            continue
        except pytz.AmbiguousTimeError:
            return zone.localize(midnight, is_dst=True)
    raise ValueError(f"no midnight in {region.timezone} on {midnight.date()}")


def records_since(regions: RegionBook, now: datetime) -> datetime:
    """The oldest call any line needs: the earliest midnight, or the oldest possible waiter."""
    starts = [start_of_day(region, now) for region in regions.regions.values()]
    waits = [now - _waiting_limit(region) for region in regions.regions.values()]
    return min(starts + waits)


def line_figures(
    regions: RegionBook,
    now: datetime,
    calls: Sequence[CallRecord],
    callbacks: Sequence[CallbackRecord],
    answer_times: Mapping[str, Sequence[int]],
    agents: Mapping[Line, AgentCounts] | None,
    answer_within: int = DEFAULT_ANSWER_WITHIN,
) -> Snapshot:
    """Every line of every region, in the order of regions.toml and of each region's languages.

    `answer_times`: seconds callers of each queue waited for an agent in the last hour (by
    queue name); `agents`: None when agent states are not known."""
    midnights = {rid: start_of_day(region, now) for rid, region in regions.regions.items()}
    today: dict[Line, list[CallRecord]] = {}
    waiting: dict[Line, list[CallRecord]] = {}
    for call in calls:
        region = regions.regions.get(call.region or "")
        if region is None:
            continue
        line = (region.id, region.language_or_default(call.language))
        if call.created_at is not None and call.created_at >= midnights[region.id]:
            today.setdefault(line, []).append(call)
        if _waits(call, region, now):
            waiting.setdefault(line, []).append(call)
    open_callbacks: dict[Line, list[CallbackRecord]] = {}
    for callback in callbacks:
        open_callbacks.setdefault((callback.region, callback.language), []).append(callback)
    lines = []
    for region in regions.regions.values():
        for language in region.languages:
            line = (region.id, language)
            report = region_report(
                region.id, today.get(line, ()), open_callbacks.get(line, ()), answer_within
            )
            waiters = waiting.get(line, [])
            in_main_queue = sum(1 for call in waiters if call.queue == region.queue_name(language))
            history = tuple(answer_times.get(region.queue_name(language), ()))
            counts = None if agents is None else agents.get(line, AgentCounts(0, 0))
            lines.append(
                LineFigures(
                    region=region.id,
                    region_name=region.name,
                    language=language,
                    agents_open=is_open(region.opening, now),
                    waiting=len(waiters),
                    longest_wait=_longest(waiters, now),
                    estimated_wait=_estimate(in_main_queue + 1, history),
                    agents_on_calls=None if counts is None else counts.on_calls,
                    agents_available=None if counts is None else counts.available,
                    callbacks_pending=report.callbacks_pending,
                    calls_today=report.calls,
                    self_service_rate=report.self_service_rate,
                    abandonment_rate=report.abandonment_rate,
                    service_level=report.service_level,
                )
            )
    surveyed = tuple(call for line in today.values() for call in line if was_asked(call))
    return Snapshot(now, answer_within, tuple(lines), _after_call(regions, today), surveyed)


async def take_snapshot(services: Services, answer_within: int = DEFAULT_ANSWER_WITHIN) -> Snapshot:
    """The figures now, from the store; raises when the database cannot be read."""
    regions = services.config.regions
    store = services.store
    now = services.clock.now()
    since = records_since(regions, now)
    # Calls are stamped by the webhooks' clock, which may run a moment ahead of ours.
    calls = await run_in_threadpool(store.calls_between, since, now + timedelta(days=1))
    callbacks = await run_in_threadpool(store.callbacks.open_callbacks)
    agents = await run_in_threadpool(agents_on_calls_and_available, store, regions, now)
    answer_times = {}
    for region in regions.regions.values():
        for language in region.languages:
            queue = region.queue_name(language)
            answer_times[queue] = await services.answer_times(queue)
    return line_figures(regions, now, calls, callbacks, answer_times, agents, answer_within)


def _after_call(
    regions: RegionBook, today: Mapping[Line, Sequence[CallRecord]]
) -> tuple[AfterCallFigures, ...]:
    """Every region with a survey asked or a disposition today, in the order of the file."""
    shown = []
    for region in regions.regions.values():
        calls = [call for (rid, _), line in today.items() if rid == region.id for call in line]
        survey = survey_figures(region.id, calls)
        codes = region_dispositions(region.id, calls, region.dispositions)
        if survey.asked or codes.dispositioned:
            shown.append(
                AfterCallFigures(
                    region=region.id,
                    region_name=region.name,
                    survey=region.survey,
                    surveys_asked=survey.asked,
                    surveys_answered=survey.answered,
                    average_rating=survey.average_rating,
                    comments=survey.comments,
                    dispositioned=codes.dispositioned,
                    dispositions=codes.codes,
                )
            )
    return tuple(shown)


def _waiting_limit(region: Region) -> timedelta:
    return timedelta(seconds=region.queue.max_wait) + STALE_AFTER


def _waits(call: CallRecord, region: Region, now: datetime) -> bool:
    return (
        call.queued_at is not None
        and call.queue_result is None
        and call.ended_at is None
        and call.queued_at >= now - _waiting_limit(region)
        and call.queue is not None
        and region.owns_queue(call.queue)
    )


def _longest(waiters: Sequence[CallRecord], now: datetime) -> int | None:
    joined = [call.queued_at for call in waiters if call.queued_at is not None]
    return max(0, int((now - min(joined)).total_seconds())) if joined else None


def _estimate(position: int, answer_times: tuple[int, ...]) -> str | None:
    """What the caller at `position` would hear, as a time box: "< 5 min", "> 30 min"."""
    estimate = estimated_wait(QueueStatus(position, 0, position, answer_times))
    if estimate is None:
        return None
    key, minutes = estimate
    return f"> {minutes} min" if key == "queue.estimate_over" else f"< {minutes} min"
