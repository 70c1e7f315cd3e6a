"""The webhooks' OpenAPI document in the repository is the one their routes make, and the
service serves every path in it (and only POST)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.config.settings import Settings
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.repository import ROOT

KEPT = ROOT / "docs" / "webhooks.openapi.json"


@pytest.fixture
def app_client(settings: Settings) -> Iterator[AppClient]:
    app_client = AppClient(create_app(settings))
    yield app_client
    app_client.close()


def test_the_kept_document_is_what_the_routes_make(tmp_path: Path) -> None:
    made = tmp_path / "webhooks.openapi.json"
    command = [sys.executable, "-m", "ivr.web.openapi", str(made)]
    subprocess.run(command, cwd=ROOT, check=True)
    assert made.read_text(encoding="utf-8") == KEPT.read_text(encoding="utf-8"), (
        "docs/webhooks.openapi.json is out of date: python -m ivr.web.openapi "
        "docs/webhooks.openapi.json"
    )


def test_the_service_documents_every_webhook_as_the_kept_document_does(
    app_client: AppClient,
) -> None:
    kept = json.loads(KEPT.read_text(encoding="utf-8"))["paths"]
    served = app_client.get("/openapi.json").json()["paths"]
    voice = {path: item for path, item in served.items() if path.startswith("/voice/")}
    assert voice == kept


def test_a_webhook_takes_only_post(app_client: AppClient) -> None:
    kept = json.loads(KEPT.read_text(encoding="utf-8"))["paths"]
    for path in kept:
        response = app_client.get(path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == "POST"
