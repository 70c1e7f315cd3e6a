"""Announcements in the shared store (SQLite and PostgreSQL), and each process's live copy."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import text

from ivr.engine.announcements import NewAnnouncement
from ivr.engine.line_state import Kind
from ivr.store import Store
from ivr.store.announcements import AnnouncementStore, LiveAnnouncements
from tests.support.databases import replica
from tests.support.moments import instant

NOW = instant("2026-03-02T10:00+09:00")


def new(
    kind: Kind = Kind.MESSAGE,
    text: str = "Known delay",
    region: str = "jp",
    language: str | None = None,
    starts_in: timedelta = timedelta(0),
    lasting: timedelta = timedelta(hours=2),
) -> NewAnnouncement:
    starts_at = NOW + starts_in
    return NewAnnouncement(region, language, kind, text, starts_at, starts_at + lasting, "aiko")


@pytest.fixture
def announcements(store: Store) -> AnnouncementStore:
    return AnnouncementStore(store.engine)


def test_an_added_announcement_is_read_back_as_set(announcements: AnnouncementStore) -> None:
    saved = announcements.add(new(text="障害のお知らせ <&>", language="ja-JP"), NOW)
    found = announcements.get(saved.id)
    assert found == saved
    assert (found.region, found.language, found.kind, found.text) == (
        "jp",
        "ja-JP",
        Kind.MESSAGE,
        "障害のお知らせ <&>",
    )
    assert found.expires_at == NOW + timedelta(hours=2)
    assert found.expires_at.utcoffset() == timedelta(0)  # kept in UTC, the same instant
    assert (found.created_by, found.created_at, found.cancelled_at) == ("aiko", NOW, None)


def test_in_force_follows_start_and_expiry(announcements: AnnouncementStore) -> None:
    now = announcements.add(new(text="now"), NOW)
    later = announcements.add(new(text="later", starts_in=timedelta(hours=1)), NOW)
    assert [a.id for a in announcements.in_force(NOW)] == [now.id]
    assert [a.id for a in announcements.not_over(NOW)] == [now.id, later.id]
    in_ninety = NOW + timedelta(minutes=90)
    assert [a.id for a in announcements.in_force(in_ninety)] == [now.id, later.id]
    assert [a.id for a in announcements.in_force(NOW + timedelta(hours=2))] == [later.id]
    assert announcements.in_force(NOW + timedelta(hours=3)) == []


def test_queries_by_region_and_language(announcements: AnnouncementStore) -> None:
    everyone = announcements.add(new(language=None), NOW)
    japanese = announcements.add(new(language="ja-JP"), NOW)
    english = announcements.add(new(language="en-US"), NOW)
    korea = announcements.add(new(region="kr", language="ko-KR"), NOW)
    ids = [a.id for a in announcements.in_force(NOW, region="jp")]
    assert ids == [everyone.id, japanese.id, english.id]
    ids = [a.id for a in announcements.in_force(NOW, region="jp", language="ja-JP")]
    assert ids == [everyone.id, japanese.id]  # what a Japanese-speaking caller hears
    assert [a.id for a in announcements.in_force(NOW, region="kr")] == [korea.id]


def test_cancelling_ends_an_announcement_once_and_keeps_who_did_it(
    announcements: AnnouncementStore,
) -> None:
    closed = announcements.add(new(Kind.CLOSED, text=""), NOW)
    at = NOW + timedelta(minutes=20)
    assert announcements.cancel(closed.id, at, "kenji")
    assert not announcements.cancel(closed.id, at + timedelta(minutes=1), "kenji")
    assert not announcements.cancel(closed.id + 100, at, "kenji")
    found = announcements.get(closed.id)
    assert found is not None and (found.cancelled_at, found.cancelled_by) == (at, "kenji")
    assert announcements.in_force(at) == []
    assert [a.id for a in announcements.in_force(at - timedelta(minutes=1))] == [closed.id]


def test_an_expired_announcement_cannot_be_cancelled(announcements: AnnouncementStore) -> None:
    short = announcements.add(new(lasting=timedelta(minutes=5)), NOW)
    assert not announcements.cancel(short.id, NOW + timedelta(minutes=5), "kenji")


def test_another_replica_reads_what_one_replica_set(store: Store) -> None:
    other = replica(store)
    try:
        saved = AnnouncementStore(store.engine).add(new(Kind.CALLBACK_ONLY, text=""), NOW)
        assert AnnouncementStore(other.engine).in_force(NOW) == [saved]
    finally:
        other.close()


# -- the live copy -------------------------------------------------------------------------
def test_the_live_copy_is_read_again_every_five_seconds_of_the_services_clock(
    announcements: AnnouncementStore,
) -> None:
    live = LiveAnnouncements(announcements)
    assert live.claim(NOW)
    live.refresh(NOW)
    assert live.for_region("jp") == ()
    saved = announcements.add(new(), NOW)
    assert not live.claim(NOW + timedelta(seconds=4))  # the last read is fresh enough
    assert live.for_region("jp") == ()
    assert live.claim(NOW + timedelta(seconds=5))
    live.refresh(NOW + timedelta(seconds=5))
    assert live.for_region("jp") == (saved,)
    assert live.for_region("kr") == ()


def test_only_one_webhook_reads_while_a_read_is_under_way(
    announcements: AnnouncementStore,
) -> None:
    live = LiveAnnouncements(announcements)
    assert live.claim(NOW)
    assert not live.claim(NOW)  # the first claimant reads; the others use the last list
    assert not live.claim(NOW + timedelta(seconds=10))
    live.refresh(NOW)
    assert not live.claim(NOW + timedelta(seconds=4))


def test_a_change_made_here_is_read_at_the_next_webhook(announcements: AnnouncementStore) -> None:
    live = LiveAnnouncements(announcements)
    live.claim(NOW)
    live.refresh(NOW)
    saved = announcements.add(new(), NOW)
    live.stale()
    assert live.claim(NOW + timedelta(seconds=1))
    live.refresh(NOW + timedelta(seconds=1))
    assert live.for_region("jp") == (saved,)


def test_a_clock_set_back_reads_again(announcements: AnnouncementStore) -> None:
    live = LiveAnnouncements(announcements)
    live.claim(NOW)
    live.refresh(NOW)
    assert live.claim(NOW - timedelta(hours=1))


def test_a_failed_read_keeps_the_last_known_list_and_says_so(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    announcements = AnnouncementStore(store.engine)
    live = LiveAnnouncements(announcements)
    saved = announcements.add(new(Kind.CLOSED, text=""), NOW)
    live.claim(NOW)
    live.refresh(NOW)
    with store.engine.begin() as connection:  # the table is gone: every read fails
        connection.execute(text("ALTER TABLE announcements RENAME TO announcements_away"))
    later = NOW + timedelta(seconds=5)
    assert live.claim(later)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        live.refresh(later)
    assert live.for_region("jp") == (saved,)
    assert "announcements could not be read" in caplog.text
    assert "keeping the last 1 known" in caplog.text
    # After a failure the next attempt waits longer than the usual refresh.
    assert not live.claim(later + timedelta(seconds=5))
    assert live.claim(later + timedelta(seconds=30))
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE announcements_away RENAME TO announcements"))
    live.refresh(later + timedelta(seconds=30))
    assert live.for_region("jp") == (saved,)
