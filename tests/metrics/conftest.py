"""Shared by the metrics tests: the service with a metrics token behind the emulator, and
scrapes of GET /metrics parsed with prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ivr.app import create_app
from ivr.caller import place_caller
from ivr.emulator import Switch, VirtualClock
from ivr.regions import RegionBook
from ivr.settings import Settings
from tests.conftest import AppClient
from tests.e2e.conftest import PUBLIC_URL, TOKEN

METRICS_TOKEN = "metrics-scrape-token"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
# Monday 2 March 2026, 10:00 in Tokyo: agents are open.
MONDAY_10_TOKYO = "2026-03-02T10:00+09:00"
Labels = tuple[tuple[str, str], ...]
ScrapeFn = Callable[[], "Scrape"]


@dataclass(frozen=True)
class Scrape:
    """One scrape: every sample's value by (sample name, labels)."""

    values: Mapping[tuple[str, Labels], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        values = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return cls(values)

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels; 0 when it was never recorded."""
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def __sub__(self, before: Scrape) -> Scrape:
        keys = set(self.values) | set(before.values)
        return Scrape(
            {key: self.values.get(key, 0.0) - before.values.get(key, 0.0) for key in keys}
        )

    def labels_of(self, prefix: str) -> list[dict[str, str]]:
        """The label sets of every sample whose name starts with `prefix`."""
        return [dict(labels) for name, labels in self.values if name.startswith(prefix)]


@pytest.fixture
def clock() -> VirtualClock:
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
def service(metered_settings: Settings, clock: VirtualClock) -> Iterator[FastAPI]:
    app = create_app(metered_settings, clock=clock)
    yield app
    app.state.services.store.close()


@pytest.fixture
def client(service: FastAPI) -> Iterator[AppClient]:
    client = AppClient(service)
    yield client
    client.close()


@pytest.fixture
def scrape(client: AppClient) -> Iterator[ScrapeFn]:
    def read() -> Scrape:
        response = client.get("/metrics", headers=BEARER)
        assert response.status_code == 200, response.text
        return Scrape.parse(response.text)

    yield read


@pytest.fixture
def phone(service: FastAPI, clock: VirtualClock, book: RegionBook) -> Iterator[Switch]:
    """A Twilio switch in front of the service, on the same virtual clock."""

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    with Switch(
        service, clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL, home_line=home_line
    ) as switch:
        yield switch
