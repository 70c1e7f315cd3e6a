"""The store as the service sees it: calls, callbacks and voicemails on one database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, text

from ivr.store.callbacks import FINAL_STATUSES, CallbackStore
from ivr.store.models import Call, Callback, EndedLine
from ivr.store.repository import CallStore, make_engine
from ivr.store.voicemails import VoicemailStore


@dataclass(frozen=True)
class Purged:
    calls: int
    callbacks: int


class Store(CallStore):
    """Calls (inherited), `callbacks` and `voicemails`, sharing one engine."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.callbacks = CallbackStore(engine)
        self.voicemails = VoicemailStore(engine)

    @classmethod
    def connect(cls, url: str) -> Store:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raises when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def purge(self, before: datetime) -> Purged:
        """Delete calls and finished callbacks older than `before` (personal data).

        Voicemails are purged one by one by the caller of this, after their recording is
        deleted at Twilio, so a failure there never leaves a recording without its ticket."""
        with self.engine.begin() as connection:
            calls = connection.execute(delete(Call).where(Call.created_at < before))
            callbacks = connection.execute(
                delete(Callback).where(
                    Callback.booked_at < before, Callback.status.in_(FINAL_STATUSES)
                )
            )
            connection.execute(delete(EndedLine).where(EndedLine.ended_at < before))
            return Purged(int(calls.rowcount), int(callbacks.rowcount))
