"""Operators' announcements (pure): which apply to a call, what the caller hears, queue modes.

An announcement belongs to a region and a language (None: every language of the region) and
is in force from `starts_at` until `expires_at` or until cancelled. A `message` is read out
before the main menu; `closed` and `callback-only` change what a caller who asks for an
agent gets. The edge reads them from the store (ivr.store.announcements) and hands them to
the engine in the call context; nothing here reads a clock or a database.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ivr.config.regions import RegionBook
from ivr.engine.context import CallContext
from ivr.engine.line_state import Announcement, Kind
from ivr.engine.phrases import Speaker
from ivr.engine.steps import Say

# Bounds an operator cannot get around: a forgotten announcement must lapse on its own, and a
# message must not keep callers from the menu for long.
MAX_DURATION = timedelta(days=7)
MAX_MESSAGE_SECONDS = 30.0
MAX_TEXT_CHARACTERS = 1000
MAX_NAME_CHARACTERS = 64  # the store's created_by / cancelled_by
# Callers hear at most this many messages (the newest), so a pile-up stays short.
MAX_MESSAGES = 3
# Speaking rates of the line's voices, as the emulator charges them: about 15 letters or
# 5 Chinese, Japanese or Korean characters a second.
LATIN_PER_SECOND = 15.0
CJK_PER_SECOND = 5.0
_CJK = re.compile(
    r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


class QueueMode(enum.StrEnum):
    """How a region's queues for one language take callers right now."""

    OPEN = "open"
    CALLBACK_ONLY = "callback-only"
    CLOSED = "closed"


# Closed beats callback-only beats open, whatever order the announcements were set in.
_MODE_OF_KIND = {Kind.CLOSED: QueueMode.CLOSED, Kind.CALLBACK_ONLY: QueueMode.CALLBACK_ONLY}
_MODE_RANK = {QueueMode.OPEN: 0, QueueMode.CALLBACK_ONLY: 1, QueueMode.CLOSED: 2}


class InvalidAnnouncement(ValueError):
    """An announcement an operator may not set; `field` names the input to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class NewAnnouncement:
    """A checked announcement, ready to be stored (see `new_announcement`)."""

    region: str
    language: str | None
    kind: Kind
    text: str
    starts_at: datetime
    expires_at: datetime
    created_by: str


# -- what applies to a call -----------------------------------------------------------------
def applying(
    announcements: Iterable[Announcement], region: str, language: str, moment: datetime
) -> tuple[Announcement, ...]:
    """The announcements in force at `moment` for callers of `region` speaking `language`,
    oldest first."""
    found = [a for a in announcements if a.reaches(region, language) and a.in_force(moment)]
    return tuple(sorted(found, key=lambda a: (a.starts_at, a.id)))


def mode_of(announcements: Iterable[Announcement]) -> QueueMode:
    modes = [_MODE_OF_KIND[a.kind] for a in announcements if a.kind in _MODE_OF_KIND]
    return max(modes, key=_MODE_RANK.__getitem__, default=QueueMode.OPEN)


def queue_mode(ctx: CallContext, language: str) -> QueueMode:
    """How the call's region takes callers of `language` into its queues now."""
    return mode_of(applying(ctx.announcements, ctx.region.id, language, ctx.now))


def message_lines(ctx: CallContext, language: str) -> list[Say]:
    """The messages for a caller of `language`, read by that language's voice: a message for
    the language is written in it; a region-wide one may not be (docs/announcements.md warns)."""
    in_force = applying(ctx.announcements, ctx.region.id, language, ctx.now)
    messages = [a for a in in_force if a.kind is Kind.MESSAGE][-MAX_MESSAGES:]
    return [Say(message.text, language) for message in messages]


def mode_notice(ctx: CallContext, language: str, mode: QueueMode, callback_possible: bool) -> Say:
    """What a caller hears instead of joining a queue in `mode`: agents cannot take calls now,
    or (callback-only, when we can call this caller back) that they can call back."""
    if mode is QueueMode.CALLBACK_ONLY and callback_possible:
        return Speaker(ctx, language).say("incident.callback_only")
    return Speaker(ctx, language).say("incident.closed")


# -- checking what an operator asks for -----------------------------------------------------
def new_announcement(
    regions: RegionBook,
    *,
    region: str,
    language: str | None,
    kind: str,
    text: str,
    starts_at: datetime,
    expires_at: datetime,
    created_by: str,
) -> NewAnnouncement:
    """Check an operator's announcement; raises InvalidAnnouncement naming the field to fix.

    `text` is required for a message (whitespace folded, at most ~30 seconds of speech) and
    must be empty for the queue modes, whose notice is a fixed prompt in every language."""
    known = regions.regions.get(region)
    if known is None:
        raise InvalidAnnouncement("region", f"unknown region {region!r}; known: {_ids(regions)}")
    if language is not None and language not in known.languages:
        offered = ", ".join(known.languages)
        raise InvalidAnnouncement(
            "language", f"{region} offers {offered}, not {language!r} (leave it out for all)"
        )
    try:
        checked_kind = Kind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise InvalidAnnouncement("kind", f"expected one of {kinds}, not {kind!r}") from None
    spoken = _checked_text(checked_kind, text)
    _check_period(starts_at, expires_at)
    by = created_by.strip()
    if not by or len(by) > MAX_NAME_CHARACTERS or _has_control(by):
        raise InvalidAnnouncement("created_by", f"a name of 1 to {MAX_NAME_CHARACTERS} characters")
    return NewAnnouncement(region, language, checked_kind, spoken, starts_at, expires_at, by)


def spoken_seconds(text: str) -> float:
    """About how long the line's voices take to say `text`."""
    cjk = len(_CJK.findall(text))
    return (len(text) - cjk) / LATIN_PER_SECOND + cjk / CJK_PER_SECOND


def expiry(now: datetime, until: str | None = None, lasting: str | None = None) -> datetime:
    """The expiry an operator gave: `until` an instant with its UTC offset
    ("2026-12-02T18:00+09:00"), or `lasting` a duration from `now` ("90m", "2h", "1d12h")."""
    if (until is None) == (lasting is None):
        raise InvalidAnnouncement("expires", "give either an end time or a duration")
    if until is not None:
        try:
            moment = datetime.fromisoformat(until.strip())
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidAnnouncement(
                "until",
                f"expected a time with its UTC offset, like 2026-12-02T18:00+09:00, not {until!r}",
            )
        return moment
    assert lasting is not None
    try:
        return now + duration(lasting)
    except OverflowError:  # beyond year 9999
        raise InvalidAnnouncement("for", f"{lasting.strip()!r} is far too long") from None


def duration(text: str) -> timedelta:
    """ "90m", "2h", "1d", "1h30m" -> a timedelta; raises InvalidAnnouncement."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise InvalidAnnouncement("for", f"expected a duration like 30m, 2h or 1d, not {text!r}")
    days, hours, minutes = (int(part) if part else 0 for part in match.groups())
    try:
        length = timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:  # "99999999999d": far past any expiry allowed anyway
        raise InvalidAnnouncement("for", f"{text.strip()!r} is far too long") from None
    if length <= timedelta(0):
        raise InvalidAnnouncement("for", "the duration must be longer than zero")
    return length


def _checked_text(kind: Kind, text: str) -> str:
    folded = " ".join(text.split())  # newlines and tabs typed into a form are not spoken
    if kind is not Kind.MESSAGE:
        if folded:
            raise InvalidAnnouncement(
                "text",
                f"a {kind.value} queue plays its own notice in every language; "
                "set a separate message for your words",
            )
        return ""
    if not folded:
        raise InvalidAnnouncement("text", "a message needs the text to read to callers")
    if _has_control(folded):
        raise InvalidAnnouncement("text", "control characters cannot be spoken; remove them")
    seconds = spoken_seconds(folded)
    if seconds > MAX_MESSAGE_SECONDS or len(folded) > MAX_TEXT_CHARACTERS:
        raise InvalidAnnouncement(
            "text",
            f"about {seconds:.0f} seconds of speech; keep it under {MAX_MESSAGE_SECONDS:.0f} "
            "(about 450 letters, or 150 Chinese, Japanese or Korean characters)",
        )
    return folded


def _check_period(starts_at: datetime, expires_at: datetime) -> None:
    if starts_at.tzinfo is None or expires_at.tzinfo is None:
        raise InvalidAnnouncement("expires", "times need their UTC offset")
    if expires_at <= starts_at:
        raise InvalidAnnouncement("expires", "the expiry must be after the start (now)")
    if expires_at - starts_at > MAX_DURATION:
        raise InvalidAnnouncement(
            "expires", f"at most {MAX_DURATION.days} days after the start; set it again then"
        )


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def _ids(regions: RegionBook) -> str:
    return ", ".join(sorted(regions.regions))
