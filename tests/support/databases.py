"""The PostgreSQL server the tests use, and another replica's view of a store."""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.store import Store

# IVR_TEST_POSTGRES_URL points the tests at another server (or at none, to see what skips).
POSTGRES_URL = os.environ.get(
    "IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def replica(store: Store) -> Store:
    """Another replica's view of `store`'s database: its own engine and connections."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        return Store.connect(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return Store(create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}))


def every_connection(engine: Engine) -> list[Connection]:
    """Check out the whole pool, as the webhooks of a burst would."""
    held: list[Connection] = []
    while True:
        try:
            held.append(engine.connect())
        except PoolTimeout:
            return held
