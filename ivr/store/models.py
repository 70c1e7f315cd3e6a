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
    # Since when Twilio has the caller in `queue` (its wait webhook said so): we record the
    # join a few seconds earlier, before the "please hold" the caller hears first.
    in_queue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    # The agent who took the caller from the queue, and when they were bridged (agent line).
    agent: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # After the call: the agent's wrap-up code ("skipped" when they keyed none), and the
    # caller's survey (asked at, the 1-5 rating if given, a recorded comment if left).
    disposition: Mapped[str | None] = mapped_column(String(32))
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    surveyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    comment_sid: Mapped[str | None] = mapped_column(String(34))
    comment_url: Mapped[str | None] = mapped_column(String(300))
    comment_duration: Mapped[int | None] = mapped_column(Integer)


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


class WallboardSession(Base):
    """A wallboard sign-in, named by its cookie: signing out, a new password or removing the
    user deletes it, and every replica then refuses the cookie."""

    __tablename__ = "wallboard_sessions"
    __table_args__ = (Index("ix_wallboard_sessions_user_name", "user_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    # Cancelling keeps the row (who ended it, and when) rather than rewriting the expiry.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(64))


class Agent(Base):
    """A person who takes callers on the agent line: skills, a hashed PIN, and their state
    (offline, available, on-call, wrap-up), changed only through ivr.store.agents."""

    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_line_call", "line_call"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    languages: Mapped[str] = mapped_column(String(200))  # comma-separated language ids
    regions: Mapped[str] = mapped_column(String(400))  # comma-separated region ids, or "*"
    pin_hash: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(12), default="offline")
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    line_call: Mapped[str | None] = mapped_column(String(34))  # the agent line call logged in
    serving: Mapped[str | None] = mapped_column(String(34))  # the caller chosen or bridged
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[str | None] = mapped_column(String(40))  # a retried webhook counts once
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Routing: available (idle) since when, last given a caller, callers talked to since
    # logging in (longest-idle, round-robin and fewest-calls, in ivr.engine.routing), and a
    # wake on its way (ivr.web.waking): when, and for which caller.
    available_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    woken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    woken_for: Mapped[str | None] = mapped_column(String(34))
    calls_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgentPhone(Base):
    """A phone an agent calls the agent line from (caller ID, always with the PIN)."""

    __tablename__ = "agent_phones"
    __table_args__ = (Index("ix_agent_phones_agent", "agent"),)

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))


class EndedLine(Base):
    """An agent line call that has ended. Its status callback can overtake the PIN webhook
    still being answered: a login on a call that is over must be refused, or the agent would
    stay logged in with nobody on the line."""

    __tablename__ = "ended_lines"

    call_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QueueClaim(Base):
    """What the agent line knows of one queue: the agent about to take its first caller (the
    whisper, then the Dial), one at a time so the whisper is about the caller they get; and
    when an agent's Dial last found it empty (callers recorded there before are gone)."""

    __tablename__ = "queue_claims"
    __table_args__ = (Index("ix_queue_claims_agent", "agent"),)

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str] = mapped_column(String(34))
    claimed_until: Mapped[datetime] = mapped_column(UTCDateTime())
    empty_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PinBudget(Base):
    """Failed PINs on the whole agent line (every agent, every number, every replica) in the
    current window: one row per line, whose count starts again with each window."""

    __tablename__ = "pin_budget"

    line: Mapped[str] = mapped_column(String(16), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer)
