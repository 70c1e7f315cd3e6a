"""The spool: records the database could not take, on real files, replayed in order, once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError, OperationalError

from ivr.store import Store
from ivr.store.migrate import upgrade
from ivr.store.records import PAUSE_SECONDS, Records
from ivr.store.spool import ACTIVE, CLAIMED, REJECTED, Spool
from tests.support.databases import POSTGRES_URL
from tests.support.repository import ROOT

# Nothing listens on port 1: connecting is refused at once, like a database that is down.
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/test"
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def sid(n: int) -> str:
    return f"CA{n:032x}"


def replay_all(spool: Spool) -> list[dict[str, Any]]:
    applied: list[dict[str, Any]] = []
    spool.replay(applied.append)
    return applied


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# -- the spool on its own ----------------------------------------------------------------------
def test_entries_replay_in_order_and_leave_the_spool_empty(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    assert not spool.pending() and spool.entries() == 0 and replay_all(spool) == []
    for n in range(5):
        spool.append({"op": "record_status", "args": {"n": n, "text": "普通话"}})
    assert spool.pending() and spool.entries() == 5
    applied = replay_all(spool)
    assert [entry["args"]["n"] for entry in applied] == [0, 1, 2, 3, 4]
    assert applied[0]["args"]["text"] == "普通话"
    assert not spool.pending() and spool.entries() == 0
    assert files(tmp_path / "spool") == []
    assert replay_all(spool) == []


def test_a_failing_entry_and_the_rest_are_kept_for_the_next_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(6):
        spool.append({"n": n})
    applied: list[int] = []

    def down_at_3(entry: dict[str, Any]) -> None:
        if entry["n"] == 3:
            raise ConnectionError("the database went away again")
        applied.append(entry["n"])

    with pytest.raises(ConnectionError):
        spool.replay(down_at_3)
    assert applied == [0, 1, 2]
    assert spool.pending() and spool.entries() == 3
    # The rest stays in the claimed file, ahead of anything spooled since.
    assert len(files(tmp_path)) == 1 and files(tmp_path)[0].endswith(CLAIMED)
    assert spool.replay(lambda entry: applied.append(entry["n"])) == 3
    assert applied == [0, 1, 2, 3, 4, 5]  # each once, in order
    assert not spool.pending()


def test_a_line_torn_by_a_crash_is_skipped_and_the_complete_lines_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"n": 1})
    spool.append({"n": 2, "text": "普通话服务"})
    torn = json.dumps({"n": 3, "text": "普通话服务"}, ensure_ascii=False).encode()
    with (tmp_path / ACTIVE).open("ab") as file:  # the crash came mid-write, mid-character
        file.write(torn[: torn.index("通".encode()) + 1])
    assert spool.entries() == 2
    assert replay_all(spool) == [{"n": 1}, {"n": 2, "text": "普通话服务"}]
    assert not spool.pending()


def test_a_line_appended_after_a_torn_line_is_not_lost(tmp_path: Path) -> None:
    """The process restarted after the crash and spooled more: the torn bytes must not swallow
    the next (acknowledged) line."""
    spool = Spool(tmp_path)
    spool.append({"n": 1})
    with (tmp_path / ACTIVE).open("ab") as file:
        file.write(b'{"n":2,"op":"rec')
    spool.append({"n": 3})
    spool.append({"n": 4})
    assert replay_all(spool) == [{"n": 1}, {"n": 3}, {"n": 4}]


def test_entries_with_unicode_line_separators_survive(tmp_path: Path) -> None:
    """json.dumps(ensure_ascii=False) leaves U+2028, U+2029 and U+0085 as they are; they must
    not split an entry."""
    spool = Spool(tmp_path)
    entries = [{"url": "https://api.twilio.com/a\u2028b"}, {"x": "\u2029"}, {"y": "\x85"}]
    for entry in entries:
        spool.append(entry)
    assert spool.entries() == 3
    assert replay_all(spool) == entries


def test_a_claim_left_by_a_replayer_that_died_is_replayed_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"n": 1})
    spool.append({"n": 2})
    (tmp_path / ACTIVE).rename(tmp_path / f"dead{CLAIMED}")  # claimed, then killed
    spool.append({"n": 3})
    assert spool.pending() and spool.entries() == 3
    assert replay_all(spool) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert files(tmp_path) == []


def test_entries_spooled_during_a_failed_replay_stay_after_the_ones_put_back(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    for n in (1, 2, 3):
        spool.append({"n": n})
    applied: list[int] = []

    def down_at_2(entry: dict[str, Any]) -> None:
        if entry["n"] == 2:
            spool.append({"n": 4})  # a webhook spools while the replay runs...
            raise ConnectionError("...and the database goes away again")
        applied.append(entry["n"])

    with pytest.raises(ConnectionError):
        spool.replay(down_at_2)
    spool.replay(lambda entry: applied.append(entry["n"]))
    assert applied == [1, 2, 3, 4]


WRITER = """
import sys
from pathlib import Path
from ivr.store.spool import Spool

spool = Spool(Path(sys.argv[1]))
name, count = sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    spool.append({"writer": name, "n": n})
print("done", flush=True)
"""


@pytest.mark.slow
def test_two_writers_and_a_replayer_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    count = 250
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), name, str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    applied: list[tuple[str, int]] = []
    replays = 0
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        deadline = time.monotonic() + 20
        while any(writer.poll() is None for writer in writers) or Spool(directory).pending():
            assert time.monotonic() < deadline, "the writers or the replay did not finish"
            if Spool(directory).replay(lambda e: applied.append((e["writer"], e["n"]))):
                replays += 1
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
            writer.wait(timeout=10)
            if writer.stdout is not None:
                writer.stdout.close()
    assert [writer.returncode for writer in writers] == [0, 0]
    for name in ("a", "b"):
        mine = [n for writer, n in applied if writer == name]
        assert sorted(set(mine)) == list(range(count)), f"writer {name} lost entries"
        assert mine == list(range(count)), f"writer {name}: applied twice or out of order"
    assert replays > 1 and files(directory) == []


# -- Records: the database or the spool ----------------------------------------------------------
def status_args(n: int, at: datetime = AT) -> dict[str, Any]:
    return {
        "call_sid": sid(n),
        "caller": "+12025550188",
        "status": "completed",
        "duration": n,
        "at": at.isoformat(),
    }


def status(records: Records, n: int, at: datetime = AT) -> None:
    records.write("record_status", **{**status_args(n, at), "at": at})


def test_records_spool_while_the_database_is_down_and_replay_when_it_answers(
    tmp_path: Path,
) -> None:
    spool_dir = tmp_path / "spool"
    down = Store.connect(DOWN)
    try:
        offline = Records(down, Spool(spool_dir))
        for n in range(1, 4):
            status(offline, n)
        step = {"region": "us", "language": "en-US", "step": "s1", "choice": "main:0"}
        offline.write("record_step", call_sid=sid(1), caller="+12025550188", at=AT, **step)
        assert offline.spool is not None and offline.spool.entries() == 4
        assert offline.replay() == 0  # still down: nothing moves, nothing is lost
        assert offline.spool.entries() == 4
    finally:
        down.close()
    lines = [json.loads(line) for line in (spool_dir / ACTIVE).read_text().splitlines()]
    assert [line["op"] for line in lines] == ["record_status"] * 3 + ["record_step"]
    assert lines[0]["args"]["at"] == "2026-03-02T10:00:00+00:00"

    store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    try:
        upgrade(store.engine)
        online = Records(store, Spool(spool_dir))
        assert online.replay() == 4
        assert not Spool(spool_dir).pending()
        for n in range(1, 4):
            record = store.call(sid(n))
            assert record is not None
            assert (record.status, record.duration, record.caller) == (
                "completed",
                n,
                "+12025550188",
            )
            assert record.ended_at == AT
        first = store.call(sid(1))
        assert first is not None and (first.path, first.region) == ("main:0", "us")
        status(online, 9)  # the spool is empty again: straight to the database
        assert store.call(sid(9)) is not None and not Spool(spool_dir).pending()
    finally:
        store.close()


def test_after_a_failure_writes_skip_the_database_for_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that is down must not cost every webhook a connection attempt; and while the
    spool holds records, new ones join it, in order."""
    store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    upgrade(store.engine)
    now = [100.0]
    attempts: list[str] = []
    real_record_status = store.record_status

    def flaky(**args: Any) -> None:
        attempts.append(args["call_sid"])
        if len(attempts) == 1:
            raise OperationalError("INSERT", {}, ConnectionRefusedError())
        real_record_status(**args)

    monkeypatch.setattr(store, "record_status", flaky)
    try:
        records = Records(store, Spool(tmp_path / "spool"), monotonic=lambda: now[0])
        status(records, 1)  # fails: spooled, direct writes paused
        status(records, 2)  # paused: spooled without trying
        now[0] += PAUSE_SECONDS + 1
        status(records, 3)  # pause over, but the spool is not empty: joins it, in order
        assert attempts == [sid(1)]
        assert records.spool is not None and records.spool.entries() == 3
        assert records.replay() == 3
        assert attempts == [sid(1), sid(1), sid(2), sid(3)]
        status(records, 4)
        assert attempts[-1] == sid(4) and not records.spool.pending()
        assert all(store.call(sid(n)) is not None for n in range(1, 5))
    finally:
        store.close()


@pytest.mark.postgres
def test_a_write_the_database_rejects_does_not_block_the_spool(tmp_path: Path) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store(create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}))
    now = [0.0]
    try:
        upgrade(store.engine)
        spool = Spool(tmp_path / "spool")
        records = Records(store, spool, monotonic=lambda: now[0])
        too_long = {"call_sid": sid(1), "result": "a" * 40, "queue_time": 3, "at": AT}
        # Refused for good: raised (and logged by the webhook), not spooled to fail forever.
        with pytest.raises(DataError):
            records.write("record_queue_result", **too_long)
        assert not spool.pending()
        # Spooled while the database was away, refused when it is back: set aside.
        spool.append({"op": "record_queue_result", "args": {**too_long, "at": AT.isoformat()}})
        spool.append({"op": "record_status", "args": status_args(2)})
        assert records.replay() == 2
        assert store.call(sid(2)) is not None and not spool.pending()
        rejected = (tmp_path / "spool" / REJECTED).read_text(encoding="utf-8")
        assert json.loads(rejected)["args"]["result"] == "a" * 40
    finally:
        store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
