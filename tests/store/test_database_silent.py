"""A database that goes silent behind a proxy (connections accepted, nothing answered, nothing
refused) must not hold the threads that wait for it: the records' writer, the replay, and the
threads webhooks stopped waiting for each let go within ANSWER_SECONDS (ivr.store.database), not
when the network comes back, and the spool replays once it does. The driver's own timeouts
never fire there: the proxy acknowledges everything and answers the keepalives."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ivr.engine.booking import UNAVAILABLE, Booking
from ivr.store import database
from ivr.store.records import Records
from ivr.store.spool import Spool
from tests.store.test_database import (
    AT,
    CALLER,
    book,
    checked_out,
    direct_store,
    gate,
    gated_store,
    schema,
    sid,
    spooled,
    step,
)
from tests.support.processes import until
from tests.support.tcp_gate import TcpGate

__all__ = ["gate", "schema"]  # fixtures, shared with tests/store/test_database.py
# Long enough for ANSWER_SECONDS (set to 1 s below) and a connect timeout after it, on a busy
# machine; the held network would keep a thread far longer without the bound.
LETS_GO = 15.0


@pytest.fixture(autouse=True)
def short_answer_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "ANSWER_SECONDS", 1.0)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_writer_lets_go_of_a_silent_database_and_every_record_is_stored_once_it_answers(
    tmp_path: Path, gate: TcpGate, schema: str
) -> None:
    store = gated_store(gate, schema)
    checker = direct_store(schema)
    records = Records(store, Spool(tmp_path / "spool"))
    try:
        step(records, 1)  # committed; its connection waits in the pool
        gate.hold()
        step(records, 2)  # the writer waits for the silent database; the webhook spools
        until(lambda: checked_out(store.engine) == 0, "the writer to let go", LETS_GO)
        assert gate.is_held  # let go while the database is still silent
        step(records, 3)
        assert [entry["args"]["step"] for entry in spooled(tmp_path / "spool")] == ["s2", "s3"]
        gate.release()
        until(lambda: records.replay() > 0, "the spool to be replayed")
        record = checker.call(sid(1))
        assert record is not None and record.path == "main:1 main:2 main:3"
    finally:
        gate.release()
        records.close()
        store.close()
        checker.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_the_replay_lets_go_of_a_silent_database_and_replays_once_it_answers(
    tmp_path: Path, gate: TcpGate, schema: str
) -> None:
    store = gated_store(gate, schema)  # migrated: a connection waits in the pool
    checker = direct_store(schema)
    spool = Spool(tmp_path / "spool")
    records = Records(store, spool)
    spool.append(
        {
            "op": "record_step",
            "args": {
                "call_sid": sid(1),
                "caller": CALLER,
                "region": "jp",
                "language": "en-US",
                "step": "s1",
                "choice": "main:1",
                "at": AT.isoformat(),
            },
        }
    )
    replayed: list[int] = []
    try:
        gate.hold()
        replay = threading.Thread(target=lambda: replayed.append(records.replay()), daemon=True)
        replay.start()
        replay.join(LETS_GO)
        assert replayed == [0] and gate.is_held  # gave up while the database was silent
        assert records.paused()  # and the webhooks do without it meanwhile
        gate.release()
        until(lambda: records.replay() > 0, "the spool to be replayed")
        record = checker.call(sid(1))
        assert record is not None and record.path == "main:1"
    finally:
        gate.release()
        records.close()
        store.close()
        checker.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_booking_the_webhook_stopped_waiting_for_lets_go_of_a_silent_database(
    gate: TcpGate, schema: str
) -> None:
    store = gated_store(gate, schema)
    records = Records(store, None)
    try:
        gate.hold()
        assert book(records, 1) == Booking(None, UNAVAILABLE)
        until(lambda: checked_out(store.engine) == 0, "the booking's thread to let go", LETS_GO)
        assert gate.is_held
    finally:
        gate.release()
        records.close()
        store.close()
