"""Voicemail tickets: one per recording, mailed to the region's support mailbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ivr.store.models import Call, Voicemail
from ivr.store.repository import upsert_into


@dataclass(frozen=True)
class VoicemailRecord:
    recording_sid: str
    call_sid: str
    recording_url: str
    duration: int
    caller: str
    region: str
    language: str
    reason: str | None
    transaction_ref: str | None
    created_at: datetime
    emailed_at: datetime | None


class VoicemailStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        recording_sid: str,
        call_sid: str,
        recording_url: str,
        duration: int,
        caller: str,
        region: str,
        language: str,
        reason: str | None,
        at: datetime,
    ) -> None:
        """Keep the ticket; the same recording posted twice stays one ticket."""
        with Session(self.engine) as session, session.begin():
            call = session.get(Call, call_sid)
            insert = upsert_into(self.engine, Voicemail).values(
                recording_sid=recording_sid,
                call_sid=call_sid,
                recording_url=recording_url,
                duration=duration,
                caller=caller,
                region=region,
                language=language,
                reason=reason,
                transaction_ref=call.transaction_ref if call else None,
                created_at=at,
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=[Voicemail.recording_sid]))

    def unsent(self, limit: int = 50, at: datetime | None = None) -> list[VoicemailRecord]:
        """Tickets not yet mailed to the support team, oldest first; with `at`, only those
        no sender holds at that moment."""
        free: ColumnElement[bool] = Voicemail.emailed_at.is_(None)
        if at is not None:
            free = free & (Voicemail.mailing_until.is_(None) | (Voicemail.mailing_until < at))
        query = select(Voicemail).where(free).order_by(Voicemail.created_at).limit(limit)
        with Session(self.engine) as session:
            return [_record(voicemail) for voicemail in session.scalars(query)]

    def take_for_mail(self, recording_sid: str, at: datetime, lease: timedelta) -> bool:
        """Hold the ticket for mailing until `at + lease`: True for exactly one sender
        (replicas and the dispatcher sweep the same tickets)."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(Voicemail)
                .where(
                    Voicemail.recording_sid == recording_sid,
                    Voicemail.emailed_at.is_(None),
                    Voicemail.mailing_until.is_(None) | (Voicemail.mailing_until < at),
                )
                .values(mailing_until=at + lease)
            )
            return int(result.rowcount) == 1

    def mail_failed(self, recording_sid: str) -> None:
        """The mail did not go: free for the next sender."""
        with self.engine.begin() as connection:
            connection.execute(
                update(Voicemail)
                .where(Voicemail.recording_sid == recording_sid)
                .values(mailing_until=None)
            )

    def emailed(self, recording_sid: str, at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(Voicemail)
                .where(Voicemail.recording_sid == recording_sid)
                .values(emailed_at=at)
            )

    def get(self, recording_sid: str) -> VoicemailRecord | None:
        with Session(self.engine) as session:
            voicemail = session.get(Voicemail, recording_sid)
            return None if voicemail is None else _record(voicemail)

    def older_than(self, before: datetime) -> list[VoicemailRecord]:
        query = select(Voicemail).where(Voicemail.created_at < before)
        with Session(self.engine) as session:
            return [_record(voicemail) for voicemail in session.scalars(query)]

    def forget(self, recording_sid: str) -> None:
        """The recording is gone from Twilio: delete the ticket and what it held."""
        with self.engine.begin() as connection:
            connection.execute(delete(Voicemail).where(Voicemail.recording_sid == recording_sid))


def _record(voicemail: Voicemail) -> VoicemailRecord:
    return VoicemailRecord(
        recording_sid=voicemail.recording_sid,
        call_sid=voicemail.call_sid,
        recording_url=voicemail.recording_url,
        duration=voicemail.duration,
        caller=voicemail.caller,
        region=voicemail.region,
        language=voicemail.language,
        reason=voicemail.reason,
        transaction_ref=voicemail.transaction_ref,
        created_at=voicemail.created_at,
        emailed_at=voicemail.emailed_at,
    )
