"""Operators' announcements in the shared store, and each process's live copy of them.

Replicas share the database, so an announcement set anywhere (`ivr announce`, the wallboard)
reaches every replica at its next refresh, a few seconds later. A replica that cannot read
the table keeps the last list it read: an outage never stops a call.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ivr.engine.announcements import NewAnnouncement
from ivr.engine.line_state import Announcement, Kind
from ivr.store.models import Announcement as AnnouncementRow
from ivr.store.schedule import ReadSchedule

log = logging.getLogger("ivr")
# No line has this many announcements in force; a bound keeps one read small whatever happens.
READ_LIMIT = 500
REFRESH_EVERY = timedelta(seconds=5)
# After a failed read, wait longer: each attempt may hold one webhook up to the connect timeout.
RETRY_AFTER = timedelta(seconds=30)


class AnnouncementStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, announcement: NewAnnouncement, at: datetime) -> Announcement:
        """Store a checked announcement (see ivr.engine.announcements.new_announcement) set
        at `at`."""
        row = AnnouncementRow(
            region=announcement.region,
            language=announcement.language,
            kind=announcement.kind.value,
            text=announcement.text,
            starts_at=announcement.starts_at,
            expires_at=announcement.expires_at,
            created_by=announcement.created_by,
            created_at=at,
        )
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
        return _announcement(row)

    def get(self, announcement_id: int) -> Announcement | None:
        with Session(self.engine) as session:
            row = session.get(AnnouncementRow, announcement_id)
            return None if row is None else _announcement(row)

    def in_force(
        self, at: datetime, region: str | None = None, language: str | None = None
    ) -> list[Announcement]:
        """Announcements in force at `at`, oldest first; with `region`, that region's; with
        `language`, those its callers hear (that language's and the region-wide ones)."""
        return self._query(_not_over(at) & (AnnouncementRow.starts_at <= at), region, language)

    def not_over(
        self, at: datetime, region: str | None = None, language: str | None = None
    ) -> list[Announcement]:
        """In force at `at` or starting later, not expired or cancelled; filters as `in_force`."""
        return self._query(_not_over(at), region, language)

    def cancel(self, announcement_id: int, at: datetime, by: str) -> bool:
        """End an announcement at `at`; False when there is none by that id still to end."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(AnnouncementRow)
                .where(AnnouncementRow.id == announcement_id, _not_over(at))
                .values(cancelled_at=at, cancelled_by=by)
            )
            return int(result.rowcount) == 1

    def _query(
        self, where: ColumnElement[bool], region: str | None, language: str | None
    ) -> list[Announcement]:
        if region is not None:
            where = where & (AnnouncementRow.region == region)
        if language is not None:
            where = where & (
                AnnouncementRow.language.is_(None) | (AnnouncementRow.language == language)
            )
        query = (
            select(AnnouncementRow)
            .where(where)
            .order_by(AnnouncementRow.starts_at, AnnouncementRow.id)
            .limit(READ_LIMIT)
        )
        with Session(self.engine) as session:
            return [_announcement(row) for row in session.scalars(query)]


def _not_over(at: datetime) -> ColumnElement[bool]:
    return (AnnouncementRow.expires_at > at) & (
        AnnouncementRow.cancelled_at.is_(None) | (AnnouncementRow.cancelled_at > at)
    )


def _announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=row.id,
        region=row.region,
        language=row.language,
        kind=Kind(row.kind),
        text=row.text,
        starts_at=row.starts_at,
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
    )


class LiveAnnouncements:
    """One process's copy of the announcements not yet over, read again every few seconds.

    Timed on the service's injected clock, like the expiry itself: tests move a virtual clock,
    production reads the system clock (a clock jumping backwards just causes a read). Whether a
    read is due is decided on the event loop (`claim`); the read itself (`refresh`) runs in a
    worker thread and swaps the whole list in one assignment."""

    def __init__(
        self,
        store: AnnouncementStore,
        every: timedelta = REFRESH_EVERY,
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self._store = store
        self._schedule = ReadSchedule(every, retry_after)
        self._by_region: dict[str, tuple[Announcement, ...]] = {}

    def claim(self, now: datetime) -> bool:
        """True when the list should be read now; the caller then calls `refresh`. Until that
        read ends, other webhooks keep using the last list instead of reading too."""
        return self._schedule.claim(now)

    def refresh(self, now: datetime) -> None:
        """Read the announcements not over at `now`; on failure keep the last list and log."""
        try:
            current = self._store.not_over(now)
        except Exception as exc:
            kept = sum(len(list_) for list_ in self._by_region.values())
            log.warning(
                "announcements could not be read (%s); keeping the last %d known",
                type(exc).__name__,
                kept,
            )
            return
        by_region: dict[str, list[Announcement]] = {}
        for announcement in current:
            by_region.setdefault(announcement.region, []).append(announcement)
        self._by_region = {region: tuple(found) for region, found in by_region.items()}
        self._schedule.read(now)

    def stale(self) -> None:
        """Read again at the next webhook (after a change made through this process)."""
        self._schedule.stale()

    def for_region(self, region: str) -> tuple[Announcement, ...]:
        return self._by_region.get(region, ())
