"""Tables of the shared store; migrations in ivr/store/migrations change them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Dialect, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC everywhere; SQLite keeps no zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store only timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Call(Base):
    """One call, keyed by Twilio's CallSid; every write is an idempotent upsert."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_queue_queued_at", "queue", "queued_at"),
        Index("ix_calls_queue_left_queue_at", "queue", "left_queue_at"),
        Index("ix_calls_created_at", "created_at"),
        Index("ix_calls_caller_created_at", "caller", "created_at"),
    )

    call_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str | None] = mapped_column(String(24))
    language: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    transaction_ref: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[int | None] = mapped_column(Integer)
    # The caller's way through the menus, "main:1 password:#"; last_step makes a retried
    # webhook a no-op (Twilio repeats exactly the last request).
    path: Mapped[str] = mapped_column(Text, default="")
    last_step: Mapped[str | None] = mapped_column(String(40))
    # self-served, queued, bridged, abandoned, callback, voicemail, error: the most telling
    # one wins (outcome_rank), whatever order the webhooks arrive in.
    outcome: Mapped[str] = mapped_column(String(16), default="self-served")
    outcome_rank: Mapped[int] = mapped_column(Integer, default=0)
    queue_result: Mapped[str | None] = mapped_column(String(32))
    queue_time: Mapped[int | None] = mapped_column(Integer)
    left_queue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stir_verstat: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Callback(Base):
    """A caller who asked to be called back; one per call, done, cancelled or expired at last."""

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_due", "status", "region", "next_attempt_at"),
        Index("ix_callbacks_number_booked_at", "number", "booked_at"),
        Index("ix_callbacks_region_booked_at", "region", "booked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    code: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    transaction_ref: Mapped[str | None] = mapped_column(String(32))
    # When the caller first joined a queue (or booked, if never queued): the order of service.
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime())
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_call_sid: Mapped[str | None] = mapped_column(String(34))
    last_result: Mapped[str | None] = mapped_column(String(16))
    note_due: Mapped[bool] = mapped_column(Boolean, default=False)
    note_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Voicemail(Base):
    """A recorded message: a ticket for the support team, mailed to the region's mailbox."""

    __tablename__ = "voicemails"
    __table_args__ = (Index("ix_voicemails_created_at", "created_at"),)

    recording_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), index=True)
    recording_url: Mapped[str] = mapped_column(String(300))
    duration: Mapped[int] = mapped_column(Integer, default=0)
    caller: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    transaction_ref: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A sender holds the ticket until then: two senders never mail it twice, and one that
    # died mid-send leaves it to the next once the lease lapses.
    mailing_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    """A supervisor or operator who may sign in to the wallboard; only a hash of the password."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Announcement(Base):
    """An operator's live change to a region's line, until it expires: a message played before
    the main menu (an outage, a known delay, a scam warning), or a queue closed or made
    callback-only."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(24))
    language: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
