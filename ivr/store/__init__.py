"""The shared records: calls, callbacks, voicemails, agents, announcements, users.

In SQLite (one machine) or PostgreSQL (replicas), with a local spool for when the database is
away."""

from ivr.engine.booking import Booking
from ivr.store.callbacks import CallbackRecord, Limits
from ivr.store.database import Purged, Store
from ivr.store.repository import OUTCOMES, CallRecord
from ivr.store.voicemails import VoicemailRecord

__all__ = [
    "OUTCOMES",
    "Booking",
    "CallRecord",
    "CallbackRecord",
    "Limits",
    "Purged",
    "Store",
    "VoicemailRecord",
]
