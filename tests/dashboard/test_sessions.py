"""The session cookie: signed, expiring, bound to the password it was issued for."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from ivr.dashboard.sessions import SESSION_LIFETIME, SessionSigner

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIGNER = SessionSigner(b"s" * 32)
HASH = "scrypt$16$8$1$c2FsdA$aGFzaA"


def test_a_fresh_cookie_names_its_user_until_it_expires() -> None:
    cookie = SIGNER.issue("ana", HASH, NOW)
    session = SIGNER.read(cookie, NOW + SESSION_LIFETIME - timedelta(seconds=1))
    assert session is not None and session.user == "ana"
    assert SIGNER.matches(session, HASH)
    assert SIGNER.read(cookie, NOW + SESSION_LIFETIME) is None


def test_the_session_lasts_twelve_hours() -> None:
    assert SESSION_LIFETIME == timedelta(hours=12)


def test_a_changed_payload_is_refused_even_when_it_decodes() -> None:
    cookie = SIGNER.issue("ana", HASH, NOW)
    payload, signature = cookie.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["u"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    assert SIGNER.read(f"{forged}.{signature}", NOW) is None


def test_a_changed_signature_is_refused() -> None:
    cookie = SIGNER.issue("ana", HASH, NOW)
    last = cookie[-1]
    assert SIGNER.read(cookie[:-1] + ("A" if last != "A" else "B"), NOW) is None


def test_a_cookie_signed_with_another_secret_is_refused() -> None:
    cookie = SessionSigner(b"t" * 32).issue("ana", HASH, NOW)
    assert SIGNER.read(cookie, NOW) is None


def test_garbage_is_refused_without_an_error() -> None:
    for junk in ("", ".", "a.b.c", "x" * 5000, "%%%.%%%", "eyJ1IjoxfQ.", "bm90IGpzb24.abc"):
        assert SIGNER.read(junk, NOW) is None


def test_a_new_password_ends_the_sessions_of_the_old_one() -> None:
    session = SIGNER.read(SIGNER.issue("ana", HASH, NOW), NOW)
    assert session is not None
    assert not SIGNER.matches(session, HASH.replace("aGFzaA", "b3RoZXI"))


def test_the_cookie_carries_no_password_hash() -> None:
    cookie = SIGNER.issue("ana", HASH, NOW)
    payload = cookie.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "scrypt" not in decoded and "aGFzaA" not in decoded
