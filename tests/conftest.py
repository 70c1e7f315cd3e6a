"""Shared fixtures: the real sample configuration, call contexts at chosen instants, the app."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from ivr.caller import CallContext, place_caller
from ivr.prompts import Catalogue, load_prompts
from ivr.regions import RegionBook, load_regions
from ivr.settings import Settings
from ivr.store import Store
from ivr.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_prompts(ROOT / "prompts")


@pytest.fixture(scope="session")
def book(catalogue: Catalogue) -> RegionBook:
    return load_regions(ROOT / "regions.toml", prompt_languages=catalogue.languages)


def instant(text: str) -> datetime:
    """'2026-03-01T03:00+08:00' -> an aware datetime (tests always say the offset)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, "give instants with their UTC offset"
    return moment


ContextFactory = Callable[..., CallContext]


@pytest.fixture
def make_context(book: RegionBook, catalogue: Catalogue) -> ContextFactory:
    """A call context: who calls which line, and when ("Sunday 23:59 in Tokyo")."""

    def make(
        from_: str = "+8613812345678",
        to: str = "+864001234567",
        at: str = "2026-03-02T10:00+08:00",
        company: str = "",
    ) -> CallContext:
        place = place_caller(book, from_, to)
        return CallContext(
            place=place, region=place.region, now=instant(at), prompts=catalogue, company=company
        )

    return make


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store: a SQLite file, or a schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
        upgrade(store.engine)
        yield store
        store.close()
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store(create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}))
    upgrade(store.engine)
    yield store
    store.close()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The sample configuration, a fresh SQLite file, local mode (no auth token)."""
    return Settings(
        regions=ROOT / "regions.toml",
        prompts=ROOT / "prompts",
        database_url=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        spool_dir=tmp_path / "spool",
        _env_file=None,
    )


class AppClient:
    """Synchronous requests into the ASGI app through httpx's ASGI transport (no server)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://ivr.test")

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.post(path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.get(path, **kwargs))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


def replica(store: Store) -> Store:
    """Another replica's view of `store`'s database: its own engine and connections."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        return Store.connect(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return Store(create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}))
