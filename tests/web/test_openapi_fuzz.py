"""Every route, fed what its OpenAPI description allows and what it forbids: never a 5xx.

schemathesis generates form bodies from the webhooks' document kept in the repository
(docs/webhooks.openapi.json) and the other routes' from the app's own OpenAPI (positive and
negative cases);
hypothesis adds the query strings our URLs carry (menu state, queue and callback marks),
which OpenAPI does not describe. Local mode (no token), so requests reach the handlers
instead of stopping at the signature check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.config.settings import Settings
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.repository import ROOT

_SCRATCH = tempfile.TemporaryDirectory(prefix="ivr-fuzz-")
APP = create_app(
    Settings(
        regions=ROOT / "regions.toml",
        prompts=ROOT / "prompts",
        database_url=f"sqlite:///{Path(_SCRATCH.name) / 'fuzz.sqlite3'}",
        spool_dir=Path(_SCRATCH.name) / "spool",
        _env_file=None,
    )
)
WEBHOOK_SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "webhooks.openapi.json")
WEBHOOK_SCHEMA.app = APP
APP_SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
OPERATIONS = [result.ok() for result in WEBHOOK_SCHEMA.get_all_operations()] + [
    operation
    for operation in (result.ok() for result in APP_SCHEMA.get_all_operations())
    if not operation.path.startswith("/voice/")
]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _scratch() -> Any:
    yield
    APP.state.services.store.close()
    _SCRATCH.cleanup()


# Negative cases need something to break: a route without inputs (GET /healthz) has none.
CASES = [
    pytest.param(operation, mode, id=f"{operation.label} {mode.value}")
    for operation in OPERATIONS
    for mode in schemathesis.GenerationMode
    if operation.method.upper() == "POST" or mode is schemathesis.GenerationMode.POSITIVE
]


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_route_answers_a_server_error(operation: Any, mode: Any) -> None:
    @given(operation.as_strategy(generation_mode=mode))
    @FUZZ
    def call(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, (case.path, case.body, response.text[:300])

    call()


QUERY_KEYS = ("n", "r", "l", "t", "w", "d", "q", "cb", "s")
QUERY_VALUES = st.one_of(
    st.sampled_from(["main", "ways", "cb_ok", "ref", "jp", "cn", "en-US", "zh-CN", "2", "1"]),
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,40}", fullmatch=True),
)
WEBHOOKS = [operation.path for operation in OPERATIONS if operation.method.upper() == "POST"]


@pytest.mark.slow
@given(
    path=st.sampled_from(WEBHOOKS),
    query=st.dictionaries(st.sampled_from(QUERY_KEYS), QUERY_VALUES, max_size=6),
    digits=st.one_of(st.just(""), st.from_regex(r"[0-9*#]{1,25}", fullmatch=True)),
)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_state_in_our_urls_gets_an_answer_not_an_error(
    path: str, query: dict[str, str], digits: str
) -> None:
    form = {
        "CallSid": "CA" + "f" * 32,
        "From": "+819012345678",
        "To": "+81345678901",
        "Digits": digits,
        "CallStatus": "completed",
        "QueuePosition": "2",
        "QueueTime": "30",
        "QueueResult": "leave",
        "RecordingSid": "RE" + "f" * 32,
        "RecordingUrl": "https://api.twilio.com/rec",
        "RecordingDuration": "12",
    }
    client = AppClient(APP)
    try:
        response = client.post(path, params=query, data=form)
    finally:
        client.close()
    assert response.status_code < 500, (path, query, response.text[:300])
    if response.status_code == 200:
        assert response.text.startswith("<?xml") and "<Response" in response.text
