"""Persistence: the shared records of calls, in SQLite (one machine) or PostgreSQL (replicas)."""

from ivr.store.repository import CallRecord, Store

__all__ = ["CallRecord", "Store"]
