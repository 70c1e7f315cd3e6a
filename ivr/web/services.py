"""What every webhook shares, made once per process: settings, the configuration, the clock,
the store and the records, and the call context each webhook builds from them.

Database reads inside a webhook go through `read`: bounded by the webhook's time, and skipped
at once while the database is known to be away (see ivr.store.database).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, partial
from typing import Protocol, TypeVar

from fastapi import Response

from ivr.clock import Clock
from ivr.config.loading import Config
from ivr.config.settings import Settings
from ivr.engine.agent_line import Waiting
from ivr.engine.context import CallContext, HoldMusic, failed_verification, place_caller
from ivr.engine.steps import Step
from ivr.jobs.mail import Mailer
from ivr.store import Limits, Store
from ivr.store.announcements import AnnouncementStore, LiveAnnouncements
from ivr.store.call_log import CallLog
from ivr.store.database import TooSlow, in_time
from ivr.store.records import AWAY_ERRORS, Records
from ivr.store.staffing import LiveStaffing, QueueRecords
from ivr.web import metrics
from ivr.web.hold_music import CLIP_SECONDS, HOLD_MUSIC_PATH
from ivr.web.params import CallParams
from ivr.web.twiml import CONTENT_TYPE, render

log = logging.getLogger("ivr")
T = TypeVar("T")
# Answer times change slowly; one database read per queue every half minute is plenty.
ANSWER_TIMES_TTL = 30.0


def callback_code() -> str:
    """Six random digits: short to say and note down, unguessable enough to tell us from a
    scammer who only knows the caller's number."""
    return f"{secrets.randbelow(10**6):06d}"


class Waker(Protocol):
    """Moves an idle agent's agent-line call to take a caller (ivr.web.waking.AgentWaker)."""

    def ready(self) -> bool: ...
    def redirect(self, line_call: str, caller: Waiting) -> int | None: ...


class DatabaseAway(Exception):
    """Not read: the database failed or was too slow a moment ago (see Services.read)."""


@dataclass
class Services:
    """What the webhooks need, created once per process and shared by every request."""

    settings: Settings
    config: Config
    clock: Clock
    store: Store
    records: Records
    mailer: Mailer | None = None
    waker: Waker | None = None  # wakes idle agents for callers (ivr.web.waking)
    codes: Callable[[], str] = callback_code
    monotonic: Callable[[], float] = time.monotonic
    _answer_times: dict[str, tuple[float, tuple[int, ...]]] = field(default_factory=dict)
    announcements: LiveAnnouncements = field(init=False)
    staffing: LiveStaffing = field(init=False)
    calls: CallLog = field(init=False)

    @cached_property
    def hold_music(self) -> HoldMusic:
        """IVR_HOLD_MUSIC_URL, else the service's own clip under the public URL (a path of
        ours without one: local use, where the emulator fetches it from the app)."""
        settings = self.settings
        if settings.hold_music_url and settings.hold_music_seconds:
            return HoldMusic(settings.hold_music_url, settings.hold_music_seconds)
        base = (settings.public_url or "").rstrip("/")
        return HoldMusic(base + HOLD_MUSIC_PATH, CLIP_SECONDS)

    def __post_init__(self) -> None:
        self.announcements = LiveAnnouncements(AnnouncementStore(self.store.engine))
        self.staffing = LiveStaffing(QueueRecords(self.store.engine))
        self.calls = CallLog(self.records)
        self.records.callback_limits = self.callback_limits
        self.records.on_refused_booking = partial(metrics.booking_refused, at="replay")

    def callback_limits(self, region_id: str) -> Limits | None:
        """The region's limits on callback bookings (as configured now); None if unknown."""
        region = self.config.regions.regions.get(region_id)
        if region is None:
            return None
        return Limits(region.callbacks.per_number_per_day, region.callbacks.per_hour)

    async def read(self, work: Callable[[], T]) -> T:
        """Blocking database `work` inside a webhook: at once DatabaseAway while the database
        is known to be away, else waited for in the webhook's time (TooSlow after it).
        Callers degrade on any failure (a cache, a default, a polite goodbye)."""
        if self.records.database_away():
            raise DatabaseAway("the database is away; not read")
        try:
            result = await in_time(work)
        except (TooSlow, *AWAY_ERRORS):
            self.records.pause()  # too slow or away: the next webhooks do without it
            raise
        self.records.database_answered()
        return result

    async def call_context(
        self,
        params: CallParams,
        region_id: str | None = None,
        *,
        outbound: bool = False,
        caller_id_failed: bool = False,
    ) -> CallContext:
        """The call as the engine sees it, with operators' announcements and the lines agents
        staff read again when due."""
        await self.refresh_shared()
        return self.context(params, region_id, outbound=outbound, caller_id_failed=caller_id_failed)

    def context(
        self,
        params: CallParams,
        region_id: str | None = None,
        *,
        outbound: bool = False,
        caller_id_failed: bool = False,
    ) -> CallContext:
        """The call as the engine sees it, from what this process holds (no database). On a
        call we placed, the person is the callee. `region_id` (from our URL) wins over the
        region the numbers give. The caller ID failed verification when this request's
        StirVerstat says so (the incoming call's), or our URL does (`caller_id_failed`: every
        later request, which Twilio sends without the verdict)."""
        person, line = (params.to, params.from_) if outbound else (params.from_, params.to)
        place = place_caller(
            self.config.regions, person, line, "" if outbound else params.from_country
        )
        region = self.config.regions.regions.get(region_id or "", place.region)
        return CallContext(
            place=place,
            region=region,
            now=self.clock.now(),
            prompts=self.config.prompts,
            flow=self.config.flows.for_region(region.id),
            company=self.settings.company_name,
            reference_lengths=(
                self.settings.reference_min_digits,
                self.settings.reference_max_digits,
            ),
            hold_music=self.hold_music,
            announcements=self.announcements.for_region(region.id),
            staffing=self.staffing.current(),
            caller_id_failed=not outbound
            and (caller_id_failed or failed_verification(params.stir_verstat)),
        )

    def twiml(self, step: Step) -> Response:
        """The step as TwiML, its links under the public URL's path."""
        return Response(render(step, self.settings.path_prefix), media_type=CONTENT_TYPE)

    async def recent_calls(self, caller: str | None) -> int:
        """The caller's calls in the rate limit's window; 0 when unknown (withheld) or when
        the database cannot tell (a caller is never refused for our outage)."""
        screening = self.settings.screening
        if not caller or not screening.calls_per_window:
            return 0
        try:
            since = self.clock.now() - timedelta(seconds=screening.window_seconds)
            return await self.read(partial(self.store.calls_from, caller, since))
        except Exception:
            log.warning("could not count recent calls; the rate limit is off for this call")
            return 0

    async def refresh_shared(self) -> None:
        """Read operators' announcements and which lines have a logged-in agent again when due
        (every few seconds, one webhook pays for each read); a failed or slow read keeps the
        last, and none is tried while the database is away."""
        now = self.clock.now()
        for shared in (self.announcements, self.staffing):
            if self.records.paused() or not shared.claim(now):
                continue
            try:
                await self.read(partial(shared.refresh, now))
            except Exception as exc:
                log.warning("shared lists not read (%s); keeping the last", type(exc).__name__)

    async def answer_times(self, queue: str) -> tuple[int, ...]:
        """Answer times of `queue` in the last hour, cached; none when the database is away."""
        cached = self._answer_times.get(queue)
        if cached and self.monotonic() - cached[0] < ANSWER_TIMES_TTL:
            return cached[1]
        try:
            since = self.clock.now() - timedelta(hours=1)
            times = tuple(await self.read(partial(self.store.answer_times, queue, since)))
        except Exception:
            log.warning("answer times of %s unavailable; saying the position only", queue)
            times = ()
        self._answer_times[queue] = (self.monotonic(), times)
        return times
