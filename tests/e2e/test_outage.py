"""The database goes away: callers notice nothing, acknowledged records are spooled, and they
reach the database once it is back, even across a kill -9 of the service."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text

from bench.faults import Fault, surge_under_fault
from bench.surge import SAMPLE_REGIONS
from bench.surge_plan import open_lines, staffed_around_the_clock
from ivr.config.regions import RegionBook, load_regions
from ivr.config.settings import Settings
from ivr.emulator import Call, Switch, VirtualClock
from ivr.engine.context import place_caller
from ivr.store import Store
from ivr.store.models import Call as CallRow
from ivr.store.spool import ACTIVE, Spool
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.calls import CALLERS, LINES
from tests.support.databases import POSTGRES_URL
from tests.support.processes import until
from tests.support.replicas import replica, replica_env
from tests.support.repository import ROOT
from tests.support.tcp_gate import TcpGate

UK_MONDAY_MORNING = "2026-03-02T10:00+00:00"
SUNDAY_EVENING_TOKYO = "2026-03-01T20:00+09:00"
# Nothing listens on port 1: a database there is down, and refuses at once.
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def settings_for(database_url: str, spool_dir: Path) -> Settings:
    return Settings(
        regions=ROOT / "regions.toml",
        prompts=ROOT / "prompts",
        database_url=database_url,
        spool_dir=spool_dir,
        _env_file=None,
    )


def spooled(spool_dir: Path) -> list[dict[str, Any]]:
    path = spool_dir / ACTIVE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- a real outage of PostgreSQL, behind a gate ----------------------------------------------
@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty schema (not migrated: the service must do it when the database is back)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def gate() -> Iterator[TcpGate]:
    with TcpGate(("127.0.0.1", 5432)) as gate:
        yield gate


def self_service_call(switch: Switch) -> Call:
    call = switch.dial(CALLERS["gb"], LINES["gb"], at=UK_MONDAY_MORNING)
    assert call.hears("Thank you for calling wallet support.")
    call.press("1")  # forgotten password
    assert call.hears("Here's how to reset a forgotten password.")
    call.hangup()
    return call


def queued_call(switch: Switch, caller: str) -> Call:
    call = switch.dial(caller, LINES["gb"], at=UK_MONDAY_MORNING)
    call.press("0")  # an agent, please
    assert call.queue == "gb-en-GB"
    call.wait(40)  # a round of the wait announcement: position, music
    assert call.queue == "gb-en-GB"
    call.hangup()  # tired of waiting
    return call


def assert_clean(*calls: Call) -> None:
    for call in calls:
        assert call.status == "completed" and call.error is None, call.transcript
        assert call.warnings == [], call.transcript


def test_gate_refuses_while_closed_and_cuts_connections_when_closing() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as echo_server,
        TcpGate(echo_server.getsockname()) as gate,
    ):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", gate.port), timeout=2).close()
        gate.open()
        with socket.create_connection(("127.0.0.1", gate.port), timeout=2) as client:
            peer, _ = echo_server.accept()
            with peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"
                peer.sendall(b"pong")
                assert client.recv(4) == b"pong"
                gate.close()
                assert client.recv(4) == b""  # cut
                assert peer.recv(4) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", gate.port), timeout=2).close()
        gate.open()  # the same port again
        with socket.create_connection(("127.0.0.1", gate.port), timeout=2) as client:
            peer, _ = echo_server.accept()
            with peer:
                client.sendall(b"again")
                assert peer.recv(5) == b"again"


@pytest.mark.slow
def test_a_held_gate_accepts_but_forwards_nothing_until_released() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        TcpGate(server.getsockname()) as gate,
    ):
        gate.open()
        with socket.create_connection(("127.0.0.1", gate.port), timeout=2) as client:
            peer, _ = server.accept()
            with peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"
                gate.hold()
                client.sendall(b"held")  # taken (acknowledged), not delivered
                peer.sendall(b"pong")
                peer.settimeout(0.2)
                client.settimeout(0.2)
                with pytest.raises(TimeoutError):
                    peer.recv(4)
                with pytest.raises(TimeoutError):
                    client.recv(4)
                late = socket.create_connection(("127.0.0.1", gate.port), timeout=2)  # accepted
                server.settimeout(0.2)
                with pytest.raises(TimeoutError):
                    server.accept()  # ...but not passed on
                gate.release()
                peer.settimeout(2)
                client.settimeout(2)
                assert peer.recv(4) == b"held"  # delivered late
                assert client.recv(4) == b"pong"
                server.settimeout(2)
                late_peer, _ = server.accept()
                with late, late_peer:
                    late.sendall(b"late")
                    assert late_peer.recv(4) == b"late"
                gate.hold()
                gate.close()  # cuts held connections too
                assert client.recv(4) == b""


@pytest.mark.slow
@pytest.mark.postgres
def test_calls_during_a_postgresql_outage_reach_the_database_when_it_is_back(
    tmp_path: Path, gate: TcpGate, pg_schema: str, book: RegionBook
) -> None:
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{gate.port}/test"
        f"?options=-csearch_path%3D{pg_schema}"
    )
    spool_dir = tmp_path / "spool"
    clock = VirtualClock(UK_MONDAY_MORNING)
    app = create_app(settings_for(url, spool_dir), clock=clock)  # the database is down: starts
    services = app.state.services
    checker = Store(
        create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={pg_schema}"})
    )

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    try:
        with Switch(app, clock=clock, home_line=home_line) as phone:
            # -- down from the start: the calls go on, the records go to the spool
            served = self_service_call(phone)
            queued = queued_call(phone, "+447700900124")
            assert_clean(served, queued)
            ops = [(entry["op"], entry["args"]["call_sid"]) for entry in spooled(spool_dir)]
            assert ("record_status", served.sid) in ops and ("record_status", queued.sid) in ops
            assert ("remember_queue_entry", queued.sid) in ops
            assert ("record_queue_result", queued.sid) in ops
            assert ops.index(("remember_queue_entry", queued.sid)) < ops.index(
                ("record_status", queued.sid)
            )
            with checker.engine.connect() as connection:  # nothing reached the database
                tables = connection.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": pg_schema}
                ).scalar_one()
            assert tables == 0

            # -- back: the service's own keeper migrates and replays the spool
            gate.open()
            run_keeper_until_spool_is_empty(app, spool_dir)
            record = checker.call(served.sid)
            assert record is not None, "the self-service call was not replayed"
            assert (record.status, record.region, record.language) == ("completed", "gb", "en-GB")
            assert record.path == "main:1" and record.outcome == "self-served"
            record = checker.call(queued.sid)
            assert record is not None, "the queued call was not replayed"
            assert (record.status, record.queue, record.queue_result) == (
                "completed",
                "gb-en-GB",
                "hangup",
            )
            assert record.path == "main:0" and record.outcome == "abandoned"
            assert not Spool(spool_dir).pending()

            # -- up: records go straight in
            direct = self_service_call(phone)
            assert_clean(direct)
            assert not Spool(spool_dir).pending()
            record = checker.call(direct.sid)
            assert record is not None and record.status == "completed"

            # -- down again, cutting the pooled connections mid-life
            assert gate.connections > 0
            gate.close()
            cut = queued_call(phone, "+447700900125")
            assert_clean(cut)
            assert ("record_status", cut.sid) in [
                (entry["op"], entry["args"]["call_sid"]) for entry in spooled(spool_dir)
            ]
            assert checker.call(cut.sid) is None

            gate.open()
            assert services.records.replay() > 0
            assert not Spool(spool_dir).pending()
            record = checker.call(cut.sid)
            assert record is not None
            assert (record.status, record.queue, record.outcome) == (
                "completed",
                "gb-en-GB",
                "abandoned",
            )
    finally:
        services.store.close()
        checker.close()


def gated_url(gate: TcpGate, schema: str) -> str:
    return (
        f"postgresql+psycopg://postgres@127.0.0.1:{gate.port}/test?options=-csearch_path%3D{schema}"
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_readiness_fails_while_the_database_is_silent_and_returns_when_it_answers(
    tmp_path: Path, gate: TcpGate, pg_schema: str
) -> None:
    gate.open()
    app = create_app(settings_for(gated_url(gate, pg_schema), tmp_path / "spool"))
    client = AppClient(app)
    try:
        assert (client.get("/readyz").status_code, client.get("/readyz").text) == (200, "ready")
        gate.hold()
        started = time.monotonic()
        silent = client.get("/readyz")
        assert time.monotonic() - started < 2.0
        assert (silent.status_code, silent.text) == (
            503,
            "not ready: the database did not answer within 1 s (records are spooled meanwhile)",
        )
        gate.release()
        until(lambda: client.get("/readyz").status_code == 200, "ready again")
    finally:
        gate.release()
        client.close()
        app.state.services.store.close()


def tokyo_caller_asks_for_a_callback(switch: Switch, at: str | None = None) -> Call:
    """Agents are closed: the caller is offered the other ways, and asks for a callback."""
    call = switch.dial(CALLERS["jp"], LINES["jp"], at=at)
    call.press("2")  # English
    call.press("0")  # an agent: closed, so a callback, a voice message...
    call.press("1")  # a callback
    assert call.hears("We'll call you back on your number ending in 5 6 7 8.")
    call.press("1")  # on this number
    return call


@pytest.mark.slow
@pytest.mark.postgres
def test_callbacks_asked_for_while_the_database_is_away_are_refused_with_a_voice_message_offered(
    tmp_path: Path, gate: TcpGate, pg_schema: str, book: RegionBook
) -> None:
    """Spooled, bookings skip the limits (two a day per number here): none is booked while they
    cannot be counted; the caller hears why and may leave a voice message, which is kept."""
    spool_dir = tmp_path / "spool"
    clock = VirtualClock(SUNDAY_EVENING_TOKYO)
    app = create_app(settings_for(gated_url(gate, pg_schema), spool_dir), clock=clock)
    checker = Store(
        create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={pg_schema}"})
    )

    def home_line(caller: str) -> str:
        return place_caller(book, caller, "").region.hotlines[0]

    try:
        with Switch(app, clock=clock, home_line=home_line) as phone:
            calls: list[Call] = []
            for n in range(3):  # one number, more bookings than a day allows
                call = tokyo_caller_asks_for_a_callback(
                    phone, None if calls else SUNDAY_EVENING_TOKYO
                )
                calls.append(call)
                assert call.turn == [
                    "Sorry, because of a technical problem on our side, we can't book callbacks"
                    " right now.",
                    "To leave a voice message for our support team, press 2, or say: message.",
                    "To hear other ways to reach us, press 3.",
                ]
                if n < 2:
                    call.press("3")
                    assert call.hears("There are other ways to reach us.")
                    assert call.ended and call.heard[-1] == "Thank you for calling. Goodbye."
            message = calls[-1]
            message.press("2")
            assert message.hears(
                "Don't say your password, recovery phrase, private key, or any verification"
                " code. We never need them."
            )
            message.say("Hi, this is Aiko. My card top-up failed twice this morning.")
            assert message.hears(
                "Thank you. Your message is saved, and our support team will reply by email"
                " within 24 hours."
            )
            assert not any("callback code" in line for call in calls for line in call.heard)

            gate.open()
            run_keeper_until_spool_is_empty(app, spool_dir)
        with checker.engine.connect() as connection:
            callbacks = connection.execute(text("SELECT count(*) FROM callbacks")).scalar_one()
        assert callbacks == 0
        ticket = checker.voicemails.get(phone.recordings[-1].sid)
        assert ticket is not None and ticket.call_sid == message.sid
        record = checker.call(message.sid)
        assert record is not None and record.outcome == "voicemail"
    finally:
        app.state.services.store.close()
        checker.close()


def run_keeper_until_spool_is_empty(app: FastAPI, spool_dir: Path, limit: float = 15.0) -> None:
    """Run the app's lifespan (its background keeper migrates, then replays) until the spool
    is empty. The lifespan closes the store when it ends; the engine reconnects on use."""

    async def run() -> None:
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + limit
            while Spool(spool_dir).pending():
                assert time.monotonic() < deadline, "the spool was not replayed in time"
                await asyncio.sleep(0.05)

    asyncio.run(run())


def test_a_status_callback_kept_nowhere_is_not_acknowledged(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "spool"
    not_a_directory.write_text("")  # the spool cannot be written: mkdir fails
    app = create_app(settings_for(DOWN, not_a_directory))
    client = AppClient(app)
    try:
        answer = client.post(
            "/voice/status",
            data={
                "CallSid": f"CA{uuid.uuid4().hex}",
                "From": CALLERS["us"],
                "To": LINES["us"],
                "CallStatus": "completed",
                "CallDuration": "7",
            },
        )
    finally:
        client.close()
        app.state.services.store.close()
    assert answer.status_code == 503


# -- kill -9 in a burst of status callbacks, on a real `ivr serve` ----------------------------
IVR = [sys.executable, "-m", "ivr.commands.main"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    database_url: str, spool_dir: Path, log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ivr serve` in its own process, local mode (no signatures), until the block ends."""
    env = replica_env(IVR_DATABASE_URL=database_url, IVR_SPOOL_DIR=str(spool_dir))
    with replica(env, log) as server:
        deadline = time.monotonic() + 30
        while not server.healthy():
            assert time.monotonic() < deadline, f"no /healthz in time:\n{log.read_text()}"
            time.sleep(0.05)
        yield server.url, server.process


def burst(base: str, pid: int, total: int = 300, kill_after: int = 150) -> list[str]:
    """POST `total` status callbacks, 16 at a time; SIGKILL the service once `kill_after` have
    been answered. Returns the CallSids that got a 2xx."""
    sids = [f"CA{uuid.uuid4().hex}" for _ in range(total)]
    acknowledged: list[str] = []
    refused: list[int] = []
    pending = iter(sids)

    async def worker(client: httpx.AsyncClient) -> None:
        for call_sid in pending:
            form = {
                "CallSid": call_sid,
                "From": CALLERS["us"],
                "To": LINES["us"],
                "CallStatus": "completed",
                "CallDuration": "42",
            }
            try:
                answer = await client.post(f"{base}/voice/status", data=form)
            except httpx.TransportError:
                continue  # killed mid-request: never acknowledged
            if answer.is_success:
                acknowledged.append(call_sid)
                if len(acknowledged) == kill_after:
                    os.kill(pid, signal.SIGKILL)
            else:
                refused.append(answer.status_code)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=10.0) as client:
            await asyncio.gather(*(worker(client) for _ in range(16)))

    asyncio.run(run())
    assert refused == []
    assert kill_after <= len(acknowledged) < total, "the kill came too late to test anything"
    return acknowledged


def wait_until_stored(database: str, sids: list[str], limit: float = 15.0) -> None:
    store = Store.connect(database)
    try:
        deadline = time.monotonic() + limit
        while True:
            with store.engine.connect() as connection:
                rows = connection.execute(
                    select(CallRow.call_sid, CallRow.status, CallRow.duration)
                ).all()
            stored = {row.call_sid: (row.status, row.duration) for row in rows}
            missing = [call_sid for call_sid in sids if call_sid not in stored]
            if not missing:
                break
            assert time.monotonic() < deadline, f"{len(missing)} acknowledged records lost"
            time.sleep(0.1)
        assert {stored[call_sid] for call_sid in sids} == {("completed", 42)}
    finally:
        store.close()


@pytest.mark.slow
def test_kill_9_in_a_burst_loses_no_acknowledged_status(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    spool_dir, log = tmp_path / "spool", tmp_path / "serve.log"
    with serving(database, spool_dir, log) as (base, process):
        acknowledged = burst(base, process.pid)
        assert process.wait(timeout=10) == -signal.SIGKILL
    with serving(database, spool_dir, log):  # restarted on the same files: replays any spool
        wait_until_stored(database, acknowledged)
        deadline = time.monotonic() + 15
        while Spool(spool_dir).pending():
            assert time.monotonic() < deadline, "the spool was not replayed"
            time.sleep(0.1)


@pytest.mark.slow
def test_kill_9_while_the_database_is_down_loses_no_acknowledged_status(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    spool_dir, log = tmp_path / "spool", tmp_path / "serve.log"
    with serving(DOWN, spool_dir, log) as (base, process):
        acknowledged = burst(base, process.pid)
        assert process.wait(timeout=10) == -signal.SIGKILL
    spool = Spool(spool_dir)
    assert spool.entries() >= len(acknowledged)  # only in the spool when the process died
    spooled_sids = {entry["args"]["call_sid"] for entry in spooled(spool_dir)}
    assert set(acknowledged) <= spooled_sids
    assert not Path(tmp_path / "ivr.sqlite3").exists()
    with serving(database, spool_dir, log):  # back, with a working database
        wait_until_stored(database, acknowledged)
        deadline = time.monotonic() + 15
        while spool.pending():
            assert time.monotonic() < deadline, "the spool was not emptied"
            time.sleep(0.1)


# -- a silent database under a surge of calls, on a real `ivr serve` ---------------------------
SURGE_CALLS = 24
SURGE_TOKEN = "outage-surge-token"


@pytest.mark.slow
@pytest.mark.postgres
def test_every_webhook_answers_in_time_and_every_record_is_kept_while_postgresql_is_silent(
    tmp_path: Path, gate: TcpGate, pg_schema: str
) -> None:
    """The database's traffic is held (connections accepted, nothing answered) for a while in
    the middle of a surge of whole calls, then released: every webhook is answered with valid
    TwiML within 2 s, and every call's row is right once the network is back."""
    gate.open()
    lines = open_lines(load_regions(SAMPLE_REGIONS))
    regions = staffed_around_the_clock(
        SAMPLE_REGIONS, tmp_path / "regions.toml", [line.region for line in lines]
    )
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = replica_env(
        TWILIO_AUTH_TOKEN=SURGE_TOKEN,
        IVR_PUBLIC_URL=public_url,
        IVR_REGIONS=str(regions),
        IVR_DATABASE_URL=gated_url(gate, pg_schema),
        IVR_SPOOL_DIR=str(tmp_path / "spool"),
    )
    direct = f"{POSTGRES_URL}?options=-csearch_path%3D{pg_schema}"
    silent = Fault(
        "silent database",
        gate.hold,
        gate.release,
        after=SURGE_CALLS * 2,
        lasting=SURGE_CALLS * 5,
        longest=6.0,
    )
    with replica(env, tmp_path / "serve.log", port) as served:
        until(served.healthy, "ivr serve to answer /healthz")
        run = surge_under_fault(
            served.url, SURGE_TOKEN, public_url, direct, SURGE_CALLS, 20260312, silent, patience=20
        )
    log = served.log.read_text()
    assert silent.began_at is not None and silent.answered_during > 0
    assert "the database did not answer in time; spooled" in log  # the silence was felt
    report = f"{silent}\n{run.records}\n{run.problems}"
    assert [answer for answer in run.timings.answers if answer.seconds > 2.0] == [], report
    assert run.timings.unanswered == [] and run.problems == (), report
    assert all(answer.status in (200, 204) for answer in run.timings.answers), report
    assert run.acknowledged == SURGE_CALLS and run.records.lost == (), report
