"""The fixtures tests share, named for what they are: the sample configuration, call contexts
at chosen instants, stores on SQLite and PostgreSQL, and the service behind the emulator
(signed, with the wallboard, or with metrics). Helpers that are not fixtures are in
tests/support/.

Tests marked `postgres` need the server on 127.0.0.1:5432: without it they are skipped with a
reason on a developer's machine, and the run stops under CI (CI=true), which must run them."""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from twilio.rest import Client

from ivr.config.flow_file import load_flows
from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue, load_prompts
from ivr.config.regions import RegionBook, load_regions
from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.engine.agent_line import Waiting
from ivr.engine.context import CallContext, place_caller
from ivr.engine.line_state import Announcement, Kind
from ivr.jobs.dispatcher import Dispatcher, twilio_client
from ivr.store import Store
from ivr.store.agents import AgentStore
from ivr.store.migrate import upgrade
from ivr.store.passwords import hash_secret
from ivr.store.users import UserStore
from ivr.web.app import create_app
from ivr.web.waking import AgentWaker
from tests.support.agents import T0, WaitingFactory, sid
from tests.support.announcements import (
    JP_CALLER,
    JP_LINE,
    TOKYO_MORNING,
    AnnouncementFactory,
    TokyoCall,
)
from tests.support.app_client import AppClient
from tests.support.calls import MONDAY_MORNING_SHANGHAI, PUBLIC_URL, TOKEN, Inbox, Line
from tests.support.contexts import ContextFactory
from tests.support.databases import POSTGRES_URL
from tests.support.moments import instant
from tests.support.repository import ROOT
from tests.support.scrape import BEARER, METRICS_TOKEN, MONDAY_10_TOKYO, Scrape, ScrapeFn
from tests.support.wallboard import MONDAY_MORNING_LONDON, PASSWORD, SECRET, USER


def postgres_answers() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the postgres tests, with one line saying why, when the server does not answer;
    under CI stop instead: a CI run must not pass by skipping them."""
    needing = [item for item in items if item.get_closest_marker("postgres")]
    if not needing or postgres_answers():
        return
    reason = f"PostgreSQL does not answer at {POSTGRES_URL.split('@')[-1]} (trust auth)"
    if os.environ.get("CI"):
        raise pytest.UsageError(f"{reason}: CI runs all {len(needing)} postgres tests")
    for item in needing:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_prompts(ROOT / "prompts")


@pytest.fixture(scope="session")
def book(catalogue: Catalogue) -> RegionBook:
    return load_regions(ROOT / "regions.toml", prompt_languages=catalogue.languages)


@pytest.fixture(scope="session")
def flows(book: RegionBook, catalogue: Catalogue) -> FlowBook:
    return load_flows(ROOT / "flows.toml", book, catalogue)


@pytest.fixture
def make_context(book: RegionBook, catalogue: Catalogue, flows: FlowBook) -> ContextFactory:
    """A call context: who calls which line, and when ("Sunday 23:59 in Tokyo")."""

    def make(
        from_: str = "+8613812345678",
        to: str = "+864001234567",
        at: str = "2026-03-02T10:00+08:00",
        company: str = "",
    ) -> CallContext:
        place = place_caller(book, from_, to)
        return CallContext(
            place=place,
            region=place.region,
            now=instant(at),
            prompts=catalogue,
            flow=flows.for_region(place.region.id),
            company=company,
        )

    return make


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
        flows=ROOT / "flows.toml",
        database_url=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        spool_dir=tmp_path / "spool",
        # Tests share two cores with the servers they start: a busy moment must not read as a
        # database that stopped answering. The bound's own tests choose theirs.
        database_wait_seconds=5.0,
        _env_file=None,
    )


@pytest.fixture
def waiting() -> WaitingFactory:
    """A caller our records show in `queue` since `minutes` before T0."""
    numbers = itertools.count(1)

    def make(
        queue: str,
        minutes: float,
        since_minutes: float | None = None,
        region: str | None = None,
        language: str | None = None,
        reason: str | None = "main",
        reference: str | None = None,
    ) -> Waiting:
        queued_at = T0 - timedelta(minutes=minutes)
        since = T0 - timedelta(minutes=since_minutes) if since_minutes else queued_at
        return Waiting(
            call_sid=sid(next(numbers)),
            queue=queue,
            queued_at=queued_at,
            since=since,
            region=region or queue.split("-")[0],
            language=language or "-".join(queue.split("-")[1:3]),
            reason=reason,
            reference=reference,
        )

    return make


@pytest.fixture
def agent_store(store: Store) -> AgentStore:
    """The agents of a migrated store, on SQLite and on PostgreSQL."""
    return AgentStore(store.engine)


@pytest.fixture
def announcement() -> AnnouncementFactory:
    """An announcement in force from an hour before TOKYO_MORNING for `hours` hours."""
    ids = itertools.count(1)

    def make(
        kind: Kind = Kind.MESSAGE,
        text: str = "",
        region: str = "jp",
        language: str | None = None,
        starts: str = "2026-03-02T09:00+09:00",
        hours: float = 8,
        cancelled_at: datetime | None = None,
    ) -> Announcement:
        starts_at = instant(starts)
        return Announcement(
            id=next(ids),
            region=region,
            language=language,
            kind=kind,
            text=text,
            starts_at=starts_at,
            expires_at=starts_at + timedelta(hours=hours),
            created_by="operator",
            created_at=starts_at,
            cancelled_at=cancelled_at,
        )

    return make


@pytest.fixture
def tokyo_call(make_context: ContextFactory) -> TokyoCall:
    """A Tokyo caller on the Japanese line at `at`, with these announcements in the context."""

    def make(*announcements: Announcement, at: str = TOKYO_MORNING, **kwargs: str) -> CallContext:
        ctx = make_context(from_=kwargs.get("from_", JP_CALLER), to=JP_LINE, at=at)
        return replace(ctx, announcements=announcements)

    return make


@pytest.fixture
def london_clock() -> VirtualClock:
    return VirtualClock(MONDAY_MORNING_LONDON)


@pytest.fixture
def wallboard_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"session_secret": SecretStr(SECRET)})


@pytest.fixture
def wallboard_app(wallboard_settings: Settings, london_clock: VirtualClock) -> FastAPI:
    return create_app(wallboard_settings, clock=london_clock)


@pytest.fixture
def wallboard_store(wallboard_app: FastAPI) -> Store:
    """The service's own store."""
    found: Store = wallboard_app.state.services.store
    return found


@pytest.fixture
def wallboard_users(wallboard_store: Store) -> UserStore:
    users = UserStore(wallboard_store.engine)
    # A cheap hash keeps the tests fast; the cost is read from the stored hash.
    users.add(USER, hash_secret(PASSWORD, cost=2**4), datetime(2026, 3, 1, tzinfo=UTC))
    return users


@pytest.fixture
def wallboard_client(wallboard_app: FastAPI) -> Iterator[AppClient]:
    app_client = AppClient(wallboard_app)
    yield app_client
    app_client.close()


@pytest.fixture
def shanghai_clock() -> VirtualClock:
    return VirtualClock(MONDAY_MORNING_SHANGHAI)


@pytest.fixture
def signed_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC_URL}
    )


@pytest.fixture
def signed_app(signed_settings: Settings, shanghai_clock: VirtualClock) -> FastAPI:
    """The service under test, reading the emulator's virtual clock."""
    return create_app(signed_settings, clock=shanghai_clock)


@pytest.fixture
def signed_app_store(signed_app: FastAPI) -> Store:
    """The service's own store, to check what it kept."""
    store: Store = signed_app.state.services.store
    return store


@pytest.fixture
def switch(signed_app: FastAPI, shanghai_clock: VirtualClock, book: RegionBook) -> Iterator[Switch]:
    """A Twilio switch in front of the service; both read the same virtual clock. A call
    placed without a number to dial rings the caller's own regional line."""

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        signed_app,
        clock=shanghai_clock,
        auth_token=TOKEN,
        public_url=PUBLIC_URL,
        home_line=home_line,
    ) as switch:
        yield switch


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    """A running SMTP server and its smtp:// URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Inbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def line(
    signed_settings: Settings,
    shanghai_clock: VirtualClock,
    store: Store,
    book: RegionBook,
    inbox: tuple[Inbox, str],
) -> Iterator[Line]:
    """Like `phone`, on SQLite and on PostgreSQL, with callbacks and voicemail mail working."""
    mailbox, smtp_url = inbox
    settings = signed_settings.model_copy(update={"smtp_url": smtp_url})
    app = create_app(settings, clock=shanghai_clock, store=store)

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        app, clock=shanghai_clock, auth_token=TOKEN, public_url=PUBLIC_URL, home_line=home_line
    ) as switch:
        dispatching = settings.model_copy(
            update={
                "twilio_account_sid": switch.account_sid,
                "twilio_api_url": switch.serve_rest(),
            }
        )
        services = app.state.services
        dispatcher = Dispatcher(
            store,
            services.config.regions,
            services.config.prompts,
            dispatching,
            shanghai_clock,
            twilio_client(dispatching),
            services.mailer,
        )
        services.waker = AgentWaker(dispatching)  # idle agents are woken through the REST API
        yield Line(switch, app, store, dispatcher, mailbox)


@pytest.fixture
def tokyo_clock() -> VirtualClock:
    return VirtualClock(MONDAY_10_TOKYO)


@pytest.fixture
def metered_settings(settings: Settings) -> Settings:
    """Signed webhooks over the public URL, and a metrics token."""
    return settings.model_copy(
        update={
            "twilio_auth_token": SecretStr(TOKEN),
            "public_url": PUBLIC_URL,
            "metrics_token": SecretStr(METRICS_TOKEN),
        }
    )


@pytest.fixture
def metered_app(metered_settings: Settings, tokyo_clock: VirtualClock) -> Iterator[FastAPI]:
    app = create_app(metered_settings, clock=tokyo_clock)
    yield app
    app.state.services.store.close()


@pytest.fixture
def metered_client(metered_app: FastAPI) -> Iterator[AppClient]:
    client = AppClient(metered_app)
    yield client
    client.close()


@pytest.fixture
def scrape(metered_client: AppClient) -> Iterator[ScrapeFn]:
    def read() -> Scrape:
        response = metered_client.get("/metrics", headers=BEARER)
        assert response.status_code == 200, response.text
        return Scrape.parse(response.text)

    yield read


@pytest.fixture
def metered_switch(
    metered_app: FastAPI, tokyo_clock: VirtualClock, book: RegionBook
) -> Iterator[Switch]:
    """A Twilio switch in front of the service, on the same virtual clock."""

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        metered_app, clock=tokyo_clock, auth_token=TOKEN, public_url=PUBLIC_URL, home_line=home_line
    ) as switch:
        yield switch


@pytest.fixture
def emulated_twilio() -> Iterator[Switch]:
    """A Twilio switch whose REST API holds recordings; no call is placed, so its app (a base
    URL nobody listens on) is never asked anything."""
    clock = VirtualClock(instant("2026-06-01T10:00+00:00"))
    with Switch("http://127.0.0.1:9", clock=clock, auth_token=TOKEN) as switch:
        yield switch


@pytest.fixture
def rest_client(emulated_twilio: Switch) -> Iterator[Client]:
    """Twilio's own client, built as the dispatcher builds it, pointed at the switch."""
    settings = Settings(
        _env_file=None,
        TWILIO_ACCOUNT_SID=emulated_twilio.account_sid,
        TWILIO_AUTH_TOKEN=TOKEN,
        twilio_api_url=emulated_twilio.serve_rest(),
    )
    client = twilio_client(settings)
    yield client
    client.http_client.session.close()
