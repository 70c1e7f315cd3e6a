"""Bringing a database to the current schema with alembic, from code (no alembic.ini needed).

Replicas and uvicorn workers start together, so the upgrade holds a lock: a PostgreSQL
advisory lock, or a lock file beside a SQLite database. The second one in finds the schema
current and does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision: migrations are numbered in order, 0001_calls.py, 0002_... (a test holds
# this to alembic's own idea of the head).
HEAD = max(path.name.split("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
# Any constant shared by every replica: "ivr" in ASCII.
_ADVISORY_LOCK = 0x697672


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision` on `engine`'s database."""
    if revision == "head" and current_revision(engine) == HEAD:
        return  # a restart: alembic (a fifth of a cold start) is not even imported
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _exclusive(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            _lock_postgresql(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None when it has none yet (or cannot say)."""
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            return version.scalar_one_or_none()
    except SQLAlchemyError:
        return None


def _lock_postgresql(connection: Connection) -> None:
    # Migrations (and the wait for another replica's) may outlast the statement timeout made
    # for webhooks (ivr.store.repository): lifted for this transaction only.
    connection.execute(text("SET LOCAL statement_timeout = 0"))
    # Released with the transaction that runs the migrations.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock = Path(database).with_name(Path(database).name + ".migrate-lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
