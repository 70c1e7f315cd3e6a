"""ivr.web.routes.ops in-process: readiness, and the Fallback URL (which must never touch the database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, event
from twilio.request_validator import RequestValidator

from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.web.app import create_app
from ivr.web.routes import ops
from tests.support.app_client import AppClient

TOKEN = "ops-test-token"
PUBLIC_URL = "https://ivr.example.com"
GB_CALLER, GB_LINE = "+447700900123", "+442079460123"
MONDAY_MORNING_LONDON = "2026-03-02T10:00+00:00"
SUNDAY_NIGHT_LONDON = "2026-03-01T23:00+00:00"
# Nothing listens on port 1: a database there is down and refuses at once.
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/test"
FORM = {"CallSid": "CA" + "a" * 32, "From": GB_CALLER, "To": GB_LINE, "ErrorCode": "11200"}


def signed(settings: Settings, **changes: Any) -> Settings:
    update = {"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC_URL, **changes}
    return settings.model_copy(update=update)


@pytest.fixture
def client(settings: Settings) -> Iterator[AppClient]:
    client = AppClient(create_app(settings))
    yield client
    client.close()


# -- readiness ----------------------------------------------------------------------------
def test_ready_when_the_database_answers(client: AppClient) -> None:
    answer = client.get("/readyz")
    assert (answer.status_code, answer.text) == (200, "ready")


def test_still_ready_while_the_database_is_away_and_the_spool_takes_records(
    settings: Settings,
) -> None:
    client = AppClient(create_app(settings.model_copy(update={"database_url": DOWN})))
    try:
        answer = client.get("/readyz")
    finally:
        client.close()
    assert answer.status_code == 200
    assert answer.text == "ready (database unavailable: records are spooled)"
    assert list(settings.spool_dir.iterdir()) == []  # the probe leaves nothing to replay


def test_not_ready_when_records_could_be_kept_nowhere(settings: Settings, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "spool-file"
    not_a_directory.write_text("")
    changes = {"database_url": DOWN, "spool_dir": not_a_directory}
    client = AppClient(create_app(settings.model_copy(update=changes)))
    try:
        answer = client.get("/readyz")
    finally:
        client.close()
    assert answer.status_code == 503
    assert answer.text == "not ready: the database is unavailable and the spool is not writable"


def test_not_ready_without_a_configuration() -> None:
    app = FastAPI()
    app.include_router(ops.router)
    client = AppClient(app)
    try:
        answer = client.get("/readyz")
    finally:
        client.close()
    assert (answer.status_code, answer.text) == (503, "not ready: no configuration loaded")


@pytest.mark.slow
def test_a_database_that_hangs_fails_the_probe_in_time(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()
    monkeypatch.setattr(ops, "PING_SECONDS", 0.2)
    monkeypatch.setattr(client.app.state.services.store, "ping", lambda: released.wait(30))
    try:
        answer = client.get("/readyz")
    finally:
        released.set()
    assert answer.status_code == 503
    assert answer.text == (
        "not ready: the database did not answer within 0.2 s (records are spooled meanwhile)"
    )


# -- the Fallback URL ---------------------------------------------------------------------
def database_use(engine: Engine) -> list[str]:
    """Every connection attempt and statement on `engine` from now on."""
    used: list[str] = []
    event.listen(engine, "do_connect", lambda *_: used.append("connect"))
    event.listen(
        engine, "before_cursor_execute", lambda _c, _r, statement, *_: used.append(statement)
    )
    return used


def fallback_switch(app: FastAPI, clock: VirtualClock, path: str = ops.FALLBACK) -> Switch:
    return Switch(
        app,
        clock=clock,
        auth_token=TOKEN,
        public_url=PUBLIC_URL,
        voice_path=path,
        status_path=None,  # the status callback is another webhook, which does keep records
    )


def assert_clean(call: Any) -> None:
    assert call.error is None and call.warnings == [], call.transcript


def test_fallback_with_agents_open_apologises_gives_the_channels_and_queues(
    settings: Settings,
) -> None:
    clock = VirtualClock(MONDAY_MORNING_LONDON)
    app = create_app(signed(settings), clock=clock)
    with fallback_switch(app, clock) as phone:
        call = phone.dial(GB_CALLER, GB_LINE)
        assert call.turn[:5] == [
            "We're sorry, something's gone wrong on our side.",
            "There are other ways to get in touch.",
            "For online chat, open the app, go to Help, and tap Chat. You'll also find chat on our official website.",
            "Or email us at support-uk@example.com. We reply within 24 hours.",
            "Please hold. We're putting you through to the next available adviser.",
        ]
        assert call.queue == "gb-en-GB"
        call.hangup()
    assert_clean(call)


def test_the_fallback_never_touches_the_database(settings: Settings) -> None:
    app = create_app(signed(settings), clock=VirtualClock(MONDAY_MORNING_LONDON))
    used = database_use(app.state.services.store.engine)
    answer = post(app, ops.FALLBACK, FORM)
    assert answer.status_code == 200 and "<Enqueue" in answer.text
    assert used == [], "the fallback used the database"
    # The primary voice URL does use it: the check above can fail.
    assert post(app, "/voice/incoming", FORM).status_code == 200
    assert used


def test_fallback_with_agents_closed_says_goodbye(settings: Settings) -> None:
    clock = VirtualClock(SUNDAY_NIGHT_LONDON)
    app = create_app(signed(settings), clock=clock)
    with fallback_switch(app, clock) as phone:
        call = phone.dial(GB_CALLER, GB_LINE)
    assert call.heard[0] == "We're sorry, something's gone wrong on our side."
    assert call.heard[-1] == "Thank you for calling. Goodbye."
    assert call.status == "completed" and call.queue is None
    assert_clean(call)


def test_fallback_answers_with_the_database_down_and_no_spool(
    settings: Settings, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "spool-file"
    not_a_directory.write_text("")
    clock = VirtualClock(MONDAY_MORNING_LONDON)
    app = create_app(signed(settings, database_url=DOWN, spool_dir=not_a_directory), clock=clock)
    used = database_use(app.state.services.store.engine)
    answer = post(app, ops.FALLBACK, FORM)
    assert answer.status_code == 200 and "<Enqueue" in answer.text
    assert used == []
    # Played by the emulator (its queue webhooks then find no database, and say nothing of it).
    with fallback_switch(app, clock) as phone:
        call = phone.dial(GB_CALLER, GB_LINE)
        assert call.queue == "gb-en-GB"
        call.hangup()
    assert_clean(call)


def post(app: FastAPI, path: str, form: dict[str, str], signature: str | None = None) -> Any:
    """A webhook as Twilio posts it, signed over the public URL (unless `signature` is given)."""
    signature = signature or RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, form)
    client = AppClient(app)
    try:
        return client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    finally:
        client.close()


def test_a_caller_whose_queue_failed_is_not_queued_again(settings: Settings) -> None:
    app = create_app(signed(settings), clock=VirtualClock(MONDAY_MORNING_LONDON))
    form = {
        "CallSid": "CA" + "b" * 32,
        "From": GB_CALLER,
        "To": GB_LINE,
        "ErrorCode": "11200",
        "ErrorUrl": f"{PUBLIC_URL}/voice/queue/result?r=gb&l=en-GB&w=menu",
    }
    answer = post(app, ops.FALLBACK, form)
    assert answer.status_code == 200
    verbs = [element.tag for element in ElementTree.fromstring(answer.text)]
    assert "Enqueue" not in verbs and verbs[-1] == "Hangup"
    # From anywhere else, the same caller is queued.
    answer = post(app, ops.FALLBACK, {**form, "ErrorUrl": f"{PUBLIC_URL}/voice/menu?n=main&r=gb"})
    assert "Enqueue" in [element.tag for element in ElementTree.fromstring(answer.text)]


def test_fallback_checks_the_signature(settings: Settings) -> None:
    app = create_app(signed(settings), clock=VirtualClock(MONDAY_MORNING_LONDON))
    form = {"CallSid": "CA" + "c" * 32, "From": GB_CALLER, "To": GB_LINE}
    assert post(app, ops.FALLBACK, form, signature="forged").status_code == 403
