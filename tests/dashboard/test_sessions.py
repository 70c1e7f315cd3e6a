"""The session cookie: signed, expiring, naming a session the store can end."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from ivr.dashboard.sessions import SESSION_LIFETIME, SessionSigner

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIGNER = SessionSigner(b"s" * 32)


def cookie_for(user: str) -> str:
    return SIGNER.cookie(SIGNER.new_session(user, NOW))


def test_a_fresh_cookie_names_its_user_and_session_until_it_expires() -> None:
    issued = SIGNER.new_session("ana", NOW)
    cookie = SIGNER.cookie(issued)
    session = SIGNER.read(cookie, NOW + SESSION_LIFETIME - timedelta(seconds=1))
    assert session == issued and session.user == "ana"
    assert SIGNER.read(cookie, NOW + SESSION_LIFETIME) is None


def test_every_sign_in_is_a_session_of_its_own() -> None:
    ids = {SIGNER.new_session("ana", NOW).id for _ in range(100)}
    assert len(ids) == 100 and all(len(session_id) == 22 for session_id in ids)


def test_the_session_lasts_twelve_hours() -> None:
    assert SESSION_LIFETIME == timedelta(hours=12)


def test_a_changed_payload_is_refused_even_when_it_decodes() -> None:
    payload, signature = cookie_for("ana").split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["u"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    assert SIGNER.read(f"{forged}.{signature}", NOW) is None


def test_a_changed_signature_is_refused() -> None:
    cookie = cookie_for("ana")
    last = cookie[-1]
    assert SIGNER.read(cookie[:-1] + ("A" if last != "A" else "B"), NOW) is None


def test_a_cookie_signed_with_another_secret_is_refused() -> None:
    other = SessionSigner(b"t" * 32)
    assert SIGNER.read(other.cookie(other.new_session("ana", NOW)), NOW) is None


def test_garbage_is_refused_without_an_error() -> None:
    for junk in ("", ".", "a.b.c", "x" * 5000, "%%%.%%%", "eyJ1IjoxfQ.", "bm90IGpzb24.abc"):
        assert SIGNER.read(junk, NOW) is None
