"""infra/nginx/ivr.conf for real: nginx terminating TLS in front of two `ivr serve` replicas,
calls placed through it by the emulator, and one replica killed with a request in flight."""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from ivr.emulator import Call, Switch
from ivr.store import Store
from tests.support.databases import POSTGRES_URL
from tests.support.nginx import FALLBACK_XML, Proxy, running
from tests.support.processes import free_port, unread_bytes, until
from tests.support.replicas import Replica, replica, replica_env

pytestmark = [pytest.mark.slow, pytest.mark.infra]

TOKEN = "proxy-test-token"
GB_LINE = "+442079460123"
# What every self-service call below chooses: forgotten password, back, account security.
PATH = "main:1 password:# main:2"


def caller(index: int) -> str:
    return f"+447700900{100 + index:03d}"  # Ofcom's drama range


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    """The replicas' shared database (URL), and a store of our own to read it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
        checker = Store.connect(url)
        yield url, checker
        checker.close()
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    checker = Store(
        create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    )
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", checker
    finally:
        checker.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def trust(proxy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's HTTP client (httpx) trusts the proxy's self-signed certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(proxy_dir / "certs" / "fullchain.pem"))


@pytest.fixture
def proxy_dir(tmp_path: Path) -> Path:
    return tmp_path / "nginx"


def whole_call(phone: Switch, index: int) -> Call:
    """A self-service call: the main menu, password guidance, back, security, hang up."""
    call = phone.dial(caller(index), GB_LINE)
    assert call.hears("Thank you for calling wallet support."), call
    call.silence()  # the welcome listens for keys only; the main menu follows
    assert call.hears("Main menu."), call
    call.press("1")
    assert call.hears("Here's how to reset a forgotten password."), call
    call.press("#")
    assert call.hears("Main menu."), call
    call.press("2")
    assert call.hears("Here's how to keep your account secure."), call
    call.hangup()
    return call


def assert_unnoticed(call: Call) -> None:
    assert call.status == "completed", call.transcript
    assert call.error is None and call.warnings == [], call.transcript


class KillWhenARequestWaits(threading.Thread):
    """SIGKILLs a stopped replica as soon as nginx has passed it a request: the request is then
    in flight, on a connection that only a dead process holds."""

    def __init__(self, victim: Replica, limit: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.victim, self.limit = victim, limit
        self.killed = threading.Event()

    def run(self) -> None:
        try:
            until(lambda: unread_bytes(self.victim.port) > 0, "a request at A", self.limit)
        except AssertionError:
            return
        self.victim.signal(signal.SIGKILL)
        self.killed.set()


def test_callers_notice_nothing_when_a_replica_dies_mid_request(
    tmp_path: Path, proxy_dir: Path, shared_database: tuple[str, Store], trust: None
) -> None:
    url, records = shared_database
    # The replicas check signatures against the proxy's public URL, and the proxy needs their
    # addresses: choose their ports first, start the proxy, then them.
    ports = [free_port(), free_port()]
    with running(proxy_dir, [f"127.0.0.1:{port}" for port in ports]) as proxy:
        env = replica_env(
            TWILIO_AUTH_TOKEN=TOKEN,
            IVR_PUBLIC_URL=proxy.public_url,
            IVR_DATABASE_URL=url,
            IVR_SPOOL_DIR=str(tmp_path / "spool"),
        )
        with (
            replica(env, tmp_path / "a.log", ports[0]) as a,
            replica(env, tmp_path / "b.log", ports[1]) as b,
        ):
            until(lambda: a.healthy() and b.healthy(), "both replicas")
            with Switch(proxy.public_url, auth_token=TOKEN, public_url=proxy.public_url) as phone:
                calls = [whole_call(phone, index) for index in range(4)]
                assert_both_answered(proxy, a, b)
                # Freeze A: the next request nginx passes it waits there, unread; A dies then.
                a.signal(signal.SIGSTOP)
                killer = KillWhenARequestWaits(a)
                killer.start()
                calls += [whole_call(phone, index) for index in range(4, 12)]
                killer.join(timeout=60)
                assert killer.killed.is_set(), "nginx passed no request to the frozen replica"
                assert a.process.wait(timeout=10) == -signal.SIGKILL

            for call in calls:
                assert_unnoticed(call)
            # Every step of every call reaches the shared database, whichever replica answered
            # it (B replays anything spooled, say while SQLite was busy, within seconds).
            until(lambda: all(stored(records, call) for call in calls), "every call's record")
    assert_retried_on_the_other(proxy, a, b)


def stored(records: Store, call: Call) -> bool:
    """The call's row holds its whole path and its end."""
    record = records.call(call.sid)
    done = ("completed", PATH, "self-served")
    return record is not None and (record.status, record.path, record.outcome) == done


def assert_both_answered(proxy: Proxy, a: Replica, b: Replica) -> None:
    def answered_by(replica: Replica) -> bool:
        return any(
            entry["upstream"] == replica.address and entry["status"] == "200"
            for entry in proxy.entries()
        )

    until(lambda: answered_by(a) and answered_by(b), "requests answered by both replicas")


def assert_retried_on_the_other(proxy: Proxy, a: Replica, b: Replica) -> None:
    """The access log shows the request in flight at A failed over to B, and answered (200,
    or 204 if it was a status callback)."""
    retried = [
        entry
        for entry in proxy.entries()
        if entry["upstream"] == f"{a.address}, {b.address}" and entry["status"] in ("200", "204")
    ]
    assert retried, proxy.access_log.read_text()
    assert all(entry["method"] == "POST" for entry in retried)
    failures = [entry for entry in proxy.entries() if entry["status"] != "200"]
    # The only other answers are the status callbacks' 204s.
    assert {entry["status"] for entry in failures} <= {"204"}, failures


def test_the_edge_forwards_what_the_replicas_need_and_refuses_the_rest(
    tmp_path: Path, proxy_dir: Path, trust: None
) -> None:
    port = free_port()
    with running(proxy_dir, [f"127.0.0.1:{port}"]) as proxy:
        # No IVR_PUBLIC_URL: the replica can only check a signature over the URL Twilio used
        # if the proxy forwards the Host (with its port) and X-Forwarded-Proto: https.
        env = replica_env(
            TWILIO_AUTH_TOKEN=TOKEN,
            IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
            IVR_SPOOL_DIR=str(tmp_path / "spool"),
            IVR_SESSION_SECRET="s" * 32,
        )
        with replica(env, tmp_path / "replica.log", port) as alone:
            until(alone.healthy, "the replica")
            with Switch(proxy.public_url, auth_token=TOKEN, public_url=proxy.public_url) as phone:
                assert_unnoticed(whole_call(phone, 0))
            # X-Forwarded-For reached uvicorn (it reports forwarded clients with port 0).
            assert '127.0.0.1:0 - "POST /voice/incoming HTTP/1.1" 200' in alone.log.read_text()

            with httpx.Client(base_url=proxy.public_url) as client:
                # The scheme comes from the proxy, never from the client (which lies here).
                form = {"CallSid": "CA" + "e" * 32, "From": caller(1), "To": GB_LINE}
                signature = RequestValidator(TOKEN).compute_signature(
                    f"{proxy.public_url}/voice/incoming", form
                )
                headers = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "http"}
                answer = client.post("/voice/incoming", data=form, headers=headers)
                assert answer.status_code == 200, answer.text
                assert "Thank you for calling wallet support." in answer.text
                # Plain HTTP only redirects to HTTPS.
                moved = httpx.get(f"{proxy.http_url}/voice/incoming?x=1")
                assert moved.status_code == 301
                assert moved.headers["location"] == "https://127.0.0.1/voice/incoming?x=1"
                # Over IVR_MAX_BODY_BYTES: refused at the edge, never passed on.
                form = {"CallSid": "CA" + "0" * 32, "Junk": "x" * 65536}
                assert client.post("/voice/incoming", data=form).status_code == 413
                # Only the webhooks, /healthz and the hold music are public.
                assert client.get("/docs").status_code == 404
                assert client.get("/readyz").status_code == 404
                assert client.get("/healthz").text == "ok"
                music = client.get("/audio/hold.wav")  # no signature: Twilio signs no media
                assert music.status_code == 200 and music.headers["content-type"] == "audio/wav"
                assert client.post("/audio/hold.wav").status_code == 403
                # The wallboard only from the networks the operator lists: none as shipped.
                for path in ("/login", "/dashboard", "/dashboard/events", "/dashboard/live.js"):
                    assert client.get(path).status_code == 403, path
                assert client.post("/logout").status_code == 403
                # Keyed digits in a webhook's query never reach the access log.
                refused = client.post("/voice/menu?n=ref&r=gb&l=en-GB&d=20260302", data={})
                assert refused.status_code == 415  # the replica's answer, passed back as is
            until(lambda: len(proxy.entries()) >= 15, "the access log")
            entries = proxy.entries()
            assert "20260302" not in proxy.access_log.read_text()
            assert [(e["status"], e["upstream"]) for e in entries if e["path"] == "/docs"] == [
                ("404", "-")
            ]
            assert {e["upstream"] for e in entries if e["status"] == "403"} == {"-"}
            assert [e["upstream"] for e in entries if e["status"] == "413"] == ["-"]


def test_the_fallback_url_answers_with_every_replica_down(
    tmp_path: Path, proxy_dir: Path, trust: None
) -> None:
    port = free_port()
    with running(proxy_dir, [f"127.0.0.1:{port}"]) as proxy:
        env = replica_env(
            TWILIO_AUTH_TOKEN=TOKEN,
            IVR_PUBLIC_URL=proxy.public_url,
            IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
            IVR_SPOOL_DIR=str(tmp_path / "spool"),
        )
        with replica(env, tmp_path / "replica.log", port) as alone:
            until(alone.healthy, "the replica")
            with fallback_switch(proxy) as phone:
                served = phone.dial(caller(0), GB_LINE)  # answered by the replica, in en-GB
                assert served.hears("We're sorry, something's gone wrong on our side."), served
                assert_unnoticed_so_far(served)
                if served.queue:  # agents are open right now: the caller waits for one
                    served.hangup()
            alone.signal(signal.SIGKILL)
            assert alone.process.wait(timeout=10) == -signal.SIGKILL

            with fallback_switch(proxy) as phone:
                static = phone.dial(caller(1), GB_LINE, run_to_end=True)  # nginx's, in en-US
            assert static.hears("We're sorry, something went wrong on our side.")
            assert static.hears("Or email us at support@example.com. We reply within 24 hours.")
            assert static.hears("Thank you for calling. Goodbye.")
            assert_unnoticed(static)
            with httpx.Client(base_url=proxy.public_url) as client:
                answer = client.post("/voice/fallback", data={"CallSid": "CA" + "1" * 32})
                assert answer.status_code == 200
                assert answer.headers["content-type"] == "text/xml; charset=utf-8"
                assert answer.content == FALLBACK_XML.read_bytes()
                # Only the Fallback URL is covered: other webhooks fail, so Twilio falls back.
                assert client.post("/voice/incoming", data={}).status_code == 502
    # The replica answered while it lived; then nginx answered the static document (logged
    # under its internal location) after the replica's 502.
    fallbacks = [
        (entry["method"], entry["path"], entry["status"], entry["upstream_status"])
        for entry in proxy.entries()
        if "fallback" in entry["path"]
    ]
    assert fallbacks == [
        ("POST", "/voice/fallback", "200", "200"),
        ("GET", "/fallback.xml", "200", "502"),
        ("GET", "/fallback.xml", "200", "502"),
    ]


def fallback_switch(proxy: Proxy) -> Switch:
    """Twilio calling the number's Fallback URL; no status callback (nobody would take it)."""
    return Switch(
        proxy.public_url,
        auth_token=TOKEN,
        public_url=proxy.public_url,
        voice_path="/voice/fallback",
        status_path=None,
    )


def assert_unnoticed_so_far(call: Call) -> None:
    assert call.error is None and call.warnings == [], call.transcript
