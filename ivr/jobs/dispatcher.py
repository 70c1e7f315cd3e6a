"""The callback dispatcher: places booked callbacks through Twilio's REST API.

One pass (`run_once`): claims that never reported back return to the queue of callbacks,
callbacks too old to help expire, and for each region that is open and whose queues are
short, the longest-waiting callbacks are placed from the region's published hotline, except
on lines an operator closed (`ivr announce --kind closed`): those wait for the closure to end.
Callers we could not reach get a text message. Every call and text goes only to a number the
region calls back under today's regions.toml (never a text to a landline): a callback booked
under older settings is cancelled, not placed. Voicemail mail that failed is sent again, and
personal data past its retention is purged. Several dispatchers may run on several replicas: a
callback is claimed in the database before it is placed, so none is placed twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.clock import Clock
from ivr.config.prompts import Catalogue
from ivr.config.regions import Region, RegionBook
from ivr.config.settings import Settings
from ivr.engine.announcements import QueueMode, applying, mode_of
from ivr.engine.line_state import Announcement, Staffing
from ivr.engine.numbers import masked
from ivr.engine.steps import CALLBACK_ANSWER, CALLBACK_STATUS
from ivr.engine.ways import may_call_back, may_text, next_due, placeable
from ivr.jobs.mail import Mailer
from ivr.jobs.retention import purge
from ivr.jobs.voicemail import deliver_voicemails
from ivr.store import CallbackRecord, Store
from ivr.store.announcements import AnnouncementStore
from ivr.store.staffing import QueueRecords

log = logging.getLogger("ivr.jobs.dispatcher")
# A claim covers ringing and the greeting; a call that never reports back is retried after it.
CLAIM_HOLD = timedelta(minutes=15)
RING_SECONDS = 30
PURGE_EVERY = timedelta(days=1)
TWILIO_TIMEOUT_SECONDS = 10
# A language no announcement names: only region-wide announcements reach it.
_NO_LANGUAGE = ""


class DispatchUnavailable(RuntimeError):
    """The dispatcher lacks what it needs (Twilio credentials, a public URL)."""


def twilio_client(settings: Settings) -> Client:
    """Twilio's own client, on Twilio or on the API at IVR_TWILIO_API_URL (an emulator)."""
    if not settings.twilio_account_sid or not settings.auth_token:
        raise DispatchUnavailable("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    # A request that hangs must not stall the dispatcher's whole pass.
    http = TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS)
    client = Client(settings.twilio_account_sid, settings.auth_token, http_client=http)
    if settings.twilio_api_url:
        client.api.base_url = settings.twilio_api_url.rstrip("/")
    return client


class CallbackEvents(Protocol):
    """Where the dispatcher reports what became of callbacks (the service's metrics)."""

    def event(self, region_id: str, event: str, count: int = 1) -> None: ...

    def not_reached(self, region_id: str, last_attempt: bool, *, refused: bool = False) -> None: ...


class Uncounted:
    """Reports nowhere: for a dispatcher whose events nobody counts."""

    def event(self, region_id: str, event: str, count: int = 1) -> None:
        return None

    def not_reached(self, region_id: str, last_attempt: bool, *, refused: bool = False) -> None:
        return None


@dataclass
class Pass:
    """What one pass did, for the log and for tests."""

    placed: list[int] = field(default_factory=list)
    released: int = 0
    expired: int = 0
    notes: int = 0
    mails: int = 0
    purged: bool = False


@dataclass
class Dispatcher:
    store: Store
    regions: RegionBook
    catalogue: Catalogue
    settings: Settings
    clock: Clock
    client: Client
    mailer: Mailer | None = None
    events: CallbackEvents = field(default_factory=Uncounted)
    _last_purge: datetime | None = None

    def __post_init__(self) -> None:
        if not self.settings.public_url:
            raise DispatchUnavailable("set IVR_PUBLIC_URL: Twilio needs it to reach the callbacks")

    def run_once(self) -> Pass:
        now = self.clock.now()
        done = Pass()
        waiting = self._waiting_by_queue()
        announcements = self._announcements(now)
        staffing = self._staffing(now)
        for region in self.regions.regions.values():
            settings = region.callbacks
            callbacks = self.store.callbacks
            done.released += callbacks.release_stale(
                region.id, now, settings.attempts, settings.retry_after, partial(next_due, region)
            )
            expiry = now - timedelta(seconds=settings.expire_after)
            expired = callbacks.expire_old(region.id, expiry, now)
            self.events.event(region.id, "expired", expired)
            done.expired += expired
            if waiting is not None and region.hotlines and placeable(region, now):
                closed = closed_languages(region, announcements, now)
                if closed is not None:
                    held = closed | unstaffed_languages(region, staffing)
                    done.placed += self._place(region, now, waiting, held)
        done.notes = self._send_notes(now)
        if self.mailer is not None:
            done.mails = deliver_voicemails(self.store, self.mailer, self.regions, self.clock)
        done.purged = self._purge(now)
        return done

    def run_forever(self, every: float, stop: threading.Event) -> None:
        """Pass after pass until `stop` is set; a failing pass is logged, never fatal."""
        while not stop.is_set():
            try:
                done = self.run_once()
                if done.placed or done.notes or done.expired:
                    log.info("dispatch: %s", done)
            except Exception:
                log.exception("dispatch pass failed; trying again in %s s", every)
            stop.wait(every)

    def _waiting_by_queue(self) -> dict[str, int] | None:
        """Callers in each Twilio queue; None when Twilio cannot tell (nothing is placed then,
        the rest of the pass goes on)."""
        try:
            queues = self.client.queues.list()
        except Exception:
            log.warning("could not read the queues at Twilio; no callback placed this pass")
            return None
        return {queue.friendly_name: queue.current_size or 0 for queue in queues}

    def _announcements(self, now: datetime) -> list[Announcement]:
        """The operators' announcements in force, read once a pass; none when they cannot be
        read (callbacks are then placed as if no line were closed)."""
        try:
            return AnnouncementStore(self.store.engine).in_force(now)
        except Exception as exc:
            log.warning(
                "announcements could not be read (%s); placing callbacks as if no line were closed",
                type(exc).__name__,
            )
            return []

    def _staffing(self, now: datetime) -> Staffing | None:
        """Which lines have a logged-in agent, read once a pass; None when no agent is
        configured (agents take callers some other way) or when it cannot be read."""
        try:
            return QueueRecords(self.store.engine).staffing(now)
        except Exception as exc:
            log.warning(
                "staffing could not be read (%s); placing callbacks for every language",
                type(exc).__name__,
            )
            return None

    def _place(
        self, region: Region, now: datetime, waiting: dict[str, int], closed: frozenset[str]
    ) -> list[int]:
        """Place callbacks while fewer callers than the region's threshold wait in its queues;
        callbacks in the `closed` languages stay pending."""
        # Callbacks being dialed now join the line soon: they count as waiting.
        in_line = sum(size for name, size in waiting.items() if region.owns_queue(name))
        in_line += self.store.callbacks.dialing(region.id)
        placed: list[int] = []
        while in_line + len(placed) < region.callbacks.place_while_waiting_below:
            callback = self.store.callbacks.claim(region.id, now, CLAIM_HOLD, closed)
            if callback is None:
                break
            if self._call(region, callback, now):
                placed.append(callback.id)
        return placed

    def _call(self, region: Region, callback: CallbackRecord, now: datetime) -> bool:
        if not may_call_back(region, callback.number):
            # Booked under older rules or settings (a country since taken off the allow-list):
            # never placed, and cancelled, so no text follows either.
            log.warning(
                "callback %s to %s not placed: %s no longer calls that number back; cancelled",
                callback.id,
                masked(callback.number),
                region.id,
            )
            self.store.callbacks.cancel(callback.id, now)
            return False
        query = urlencode({"cb": callback.id})
        try:
            call = self.client.calls.create(
                to=callback.number,
                from_=region.hotlines[0],
                url=self._url(CALLBACK_ANSWER, query),
                method="POST",
                status_callback=self._url(CALLBACK_STATUS, query),
                status_callback_method="POST",
                status_callback_event=["completed"],
                timeout=RING_SECONDS,
            )
        except TwilioRestException as exc:  # refused: no call was made
            log.warning("callback %s to %s refused: %s", callback.id, masked(callback.number), exc)
            settings = region.callbacks
            self.events.not_reached(region.id, callback.attempts >= settings.attempts, refused=True)
            self.store.callbacks.attempt_ended(
                callback.id,
                "",
                "failed",
                now,
                settings.attempts,
                settings.retry_after,
                partial(next_due, region),
            )
            return False
        except Exception:
            # No answer from Twilio: the call may have been made. The claim stays; if the
            # call reports back it settles it, else it is retried when the claim lapses.
            log.warning("placing callback %s: no answer from Twilio", callback.id, exc_info=True)
            return False
        self.store.callbacks.dialed(callback.id, str(call.sid), now)
        self.events.event(region.id, "placed")
        log.info("calling back %s (callback %s)", masked(callback.number), callback.id)
        return True

    def _send_notes(self, now: datetime) -> int:
        """A text to each caller we gave up on: the code, and how else to reach us."""
        sent = 0
        for callback in self.store.callbacks.notes_due():
            region = self.regions.regions.get(callback.region)
            if not self.store.callbacks.take_note(callback.id, now):
                continue  # another dispatcher is sending it
            if region is None or not region.hotlines:
                continue  # nothing to send it from
            body = self.catalogue.line(
                callback.language,
                "callback.note",
                region.default_language,
                code=callback.code,
                chat=region.chat_url,
            ).text
            if not may_text(region, callback.number):
                continue  # a landline, or a number the region no longer calls back
            try:
                self.client.messages.create(to=callback.number, from_=region.hotlines[0], body=body)
            except TwilioRestException as exc:
                log.warning("note to %s failed: %s", masked(callback.number), exc)
                if exc.status >= 500:
                    self.store.callbacks.note_failed(callback.id)  # Twilio's trouble: again
                continue  # refused (4xx: not a mobile, blocked...): trying again cannot help
            except Exception:
                log.warning("note to %s: Twilio unreachable", masked(callback.number))
                self.store.callbacks.note_failed(callback.id)
                continue
            sent += 1
            self.events.event(region.id, "texted")
        return sent

    def _purge(self, now: datetime) -> bool:
        days = self.settings.retention_days
        if days is None or (self._last_purge and now - self._last_purge < PURGE_EVERY):
            return False
        purge(self.store, self.client, now - timedelta(days=days))
        self._last_purge = now
        return True

    def _url(self, path: str, query: str) -> str:
        return f"{self.settings.public_url}{path}?{query}"


def unstaffed_languages(region: Region, staffing: Staffing | None) -> frozenset[str]:
    """The languages of `region` no logged-in agent speaks: a person called back there would
    wait in the callback queue with nobody to take them, so their callbacks stay pending."""
    if staffing is None:
        return frozenset()
    return frozenset(lang for lang in region.languages if not staffing.serves(region.id, lang))


def closed_languages(
    region: Region, announcements: Sequence[Announcement], now: datetime
) -> frozenset[str] | None:
    """The languages of `region` whose line an operator closed at `now`; None when the whole
    region is closed. Callback-only lines are not closed: calling back is their point."""
    if mode_of(applying(announcements, region.id, _NO_LANGUAGE, now)) is QueueMode.CLOSED:
        return None  # a region-wide closure reaches every language
    named = {a.language for a in announcements if a.region == region.id and a.language}
    return frozenset(
        language
        for language in named
        if mode_of(applying(announcements, region.id, language, now)) is QueueMode.CLOSED
    )
