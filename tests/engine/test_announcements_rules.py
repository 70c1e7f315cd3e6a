"""Which announcements apply, which queue mode wins, and what an operator may set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.config.regions import RegionBook
from ivr.engine.announcements import (
    InvalidAnnouncement,
    NewAnnouncement,
    QueueMode,
    applying,
    duration,
    expiry,
    mode_of,
    new_announcement,
    spoken_seconds,
)
from ivr.engine.line_state import Kind
from tests.support.announcements import AnnouncementFactory
from tests.support.moments import instant

NOW = instant("2026-03-02T10:00+09:00")


def test_a_region_wide_announcement_reaches_every_language_of_that_region_only(
    announcement: AnnouncementFactory,
) -> None:
    everyone = announcement(text="Outage", language=None)
    assert applying([everyone], "jp", "ja-JP", NOW) == (everyone,)
    assert applying([everyone], "jp", "en-US", NOW) == (everyone,)
    assert applying([everyone], "kr", "ko-KR", NOW) == ()


def test_a_language_announcement_reaches_only_callers_of_that_language(
    announcement: AnnouncementFactory,
) -> None:
    japanese = announcement(text="障害のお知らせ", language="ja-JP")
    assert applying([japanese], "jp", "ja-JP", NOW) == (japanese,)
    assert applying([japanese], "jp", "en-US", NOW) == ()


def test_an_announcement_is_in_force_from_its_start_until_just_before_its_expiry(
    announcement: AnnouncementFactory,
) -> None:
    notice = announcement(text="Outage", starts="2026-03-02T10:00+09:00", hours=2)
    assert not notice.in_force(NOW - timedelta(seconds=1))
    assert notice.in_force(NOW)
    assert notice.in_force(NOW + timedelta(hours=2) - timedelta(seconds=1))
    assert not notice.in_force(NOW + timedelta(hours=2))


def test_a_cancelled_announcement_ends_when_it_was_cancelled(
    announcement: AnnouncementFactory,
) -> None:
    notice = announcement(text="Outage", cancelled_at=NOW)
    assert notice.in_force(NOW - timedelta(minutes=1))  # history stays true
    assert not notice.in_force(NOW)


def test_closed_beats_callback_only_beats_open(announcement: AnnouncementFactory) -> None:
    closed = announcement(Kind.CLOSED)
    callback_only = announcement(Kind.CALLBACK_ONLY)
    message = announcement(text="Known delay")
    assert mode_of([]) is QueueMode.OPEN
    assert mode_of([message]) is QueueMode.OPEN
    assert mode_of([message, callback_only]) is QueueMode.CALLBACK_ONLY
    assert mode_of([callback_only, closed]) is QueueMode.CLOSED
    assert mode_of([closed, callback_only]) is QueueMode.CLOSED


def test_announcements_apply_oldest_first(announcement: AnnouncementFactory) -> None:
    later = announcement(text="second", starts="2026-03-02T09:30+09:00")
    earlier = announcement(text="first", starts="2026-03-02T09:00+09:00")
    assert [a.text for a in applying([later, earlier], "jp", "ja-JP", NOW)] == ["first", "second"]


# -- what an operator may set --------------------------------------------------------------
def checked(book: RegionBook, **changes: object) -> NewAnnouncement:
    values: dict[str, object] = {
        "region": "jp",
        "language": "ja-JP",
        "kind": "message",
        "text": "システム障害が発生しています。",
        "starts_at": NOW,
        "expires_at": NOW + timedelta(hours=2),
        "created_by": "aiko",
    }
    values.update(changes)
    return new_announcement(book, **values)  # type: ignore[arg-type]


def refusal(book: RegionBook, **changes: object) -> InvalidAnnouncement:
    with pytest.raises(InvalidAnnouncement) as caught:
        checked(book, **changes)
    return caught.value


def test_a_message_in_the_callers_language_is_accepted_with_whitespace_folded(
    book: RegionBook,
) -> None:
    made = checked(book, text="  Card payments are delayed.\n  We're on it.  ")
    assert made.text == "Card payments are delayed. We're on it."
    assert made.kind is Kind.MESSAGE


def test_a_message_needs_text(book: RegionBook) -> None:
    assert refusal(book, text="   \n").field == "text"


def test_a_closed_queue_takes_no_text_of_its_own(book: RegionBook) -> None:
    assert checked(book, kind="closed", text="").text == ""
    error = refusal(book, kind="closed", text="We are closed")
    assert error.field == "text" and "separate message" in error.reason


def test_a_message_longer_than_about_thirty_seconds_is_refused(book: RegionBook) -> None:
    english = "Our card payments are delayed today. " * 13  # ~480 letters
    chinese = "由于系统维护，部分交易可能延迟到账，请耐心等待。" * 7  # 168 characters
    assert spoken_seconds(english.strip()) > 30
    assert spoken_seconds(chinese) > 30
    assert refusal(book, text=english).field == "text"
    assert "seconds of speech" in refusal(book, language="ja-JP", text=chinese).reason
    assert checked(book, text=english[:400])  # about 27 seconds: fine


def test_control_characters_are_refused(book: RegionBook) -> None:
    assert refusal(book, text="Outage\x07 today").field == "text"


def test_unknown_region_language_or_kind_name_the_field_to_fix(book: RegionBook) -> None:
    assert refusal(book, region="mars").field == "region"
    assert "ja-JP, en-US" in refusal(book, language="ko-KR").reason
    assert refusal(book, kind="silence").field == "kind"


def test_every_language_of_the_region_is_all_languages(book: RegionBook) -> None:
    assert checked(book, language=None).language is None


def test_expiry_must_follow_the_start_and_lie_within_seven_days(book: RegionBook) -> None:
    assert refusal(book, expires_at=NOW).field == "expires"
    assert "7 days" in refusal(book, expires_at=NOW + timedelta(days=7, minutes=1)).reason
    assert checked(book, expires_at=NOW + timedelta(days=7))


def test_an_operator_name_is_required(book: RegionBook) -> None:
    assert refusal(book, created_by=" ").field == "created_by"
    assert refusal(book, created_by="x" * 65).field == "created_by"


def test_expiry_is_an_instant_with_offset_or_a_duration() -> None:
    assert expiry(NOW, until="2026-03-02T18:00+09:00") == instant("2026-03-02T18:00+09:00")
    assert expiry(NOW, lasting="2h") == NOW + timedelta(hours=2)
    assert expiry(NOW, lasting="1d12h") == NOW + timedelta(days=1, hours=12)
    assert duration("1h30m") == timedelta(minutes=90)
    for until, lasting in (
        (None, None),
        ("2026-03-02T18:00+09:00", "2h"),
        ("2026-03-02T18:00", None),  # no offset: whose 18:00?
        ("tomorrow", None),
        (None, "2 hours"),
        (None, "0m"),
        (None, ""),
        (None, "99999999999d"),  # beyond what timedelta holds
        (None, "3000000d"),  # beyond year 9999
    ):
        with pytest.raises(InvalidAnnouncement):
            expiry(NOW, until, lasting)
