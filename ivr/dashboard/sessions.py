"""The wallboard's session cookie: who signed in and until when, signed with IVR_SESSION_SECRET.

The cookie is `payload.signature`, both unpadded base64url: the payload is JSON with the
user's name, the expiry (Unix seconds) and a fingerprint of the user's password hash; the
signature is HMAC-SHA256 over the payload with a key derived from the secret. Nothing in it is
secret, and nothing in it can be changed without the key. The fingerprint ends every session of
a user whose password is changed (`ivr users passwd`) or who is removed, with no session table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE_NAME = "ivr_wallboard"
# A working day and a bit: a wall screen signed in at the start of a shift stays signed in.
SESSION_LIFETIME = timedelta(hours=12)
# Larger cookies are not ours: refuse before decoding anything.
MAX_COOKIE_CHARS = 1024


@dataclass(frozen=True)
class Session:
    """A signed-in user, as the cookie says."""

    user: str
    expires_at: int
    password: str


class SessionSigner:
    """Issues and checks session cookies with one secret."""

    def __init__(self, secret: bytes, lifetime: timedelta = SESSION_LIFETIME) -> None:
        # A key of its own for this purpose, so the secret could sign other things safely.
        self._key = hmac.new(secret, b"ivr wallboard session v1", hashlib.sha256).digest()
        self.lifetime = lifetime

    def fingerprint(self, password_hash: str) -> str:
        """A short keyed digest of the stored hash: it changes when the password does."""
        digest = hmac.new(self._key, password_hash.encode(), hashlib.sha256).digest()
        return _b64(digest[:12])

    def issue(self, user: str, password_hash: str, now: datetime) -> str:
        """The cookie value for `user`, valid from `now` for the signer's lifetime."""
        expires = int((now + self.lifetime).timestamp())
        document = {"u": user, "e": expires, "p": self.fingerprint(password_hash)}
        payload = _b64(json.dumps(document, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str, now: datetime) -> Session | None:
        """The session in `cookie` when it is ours, untouched and not expired; else None.

        The caller still checks the user and the password fingerprint against the store."""
        if len(cookie) > MAX_COOKIE_CHARS or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            return None
        try:
            document = json.loads(_unb64(payload))
        except (ValueError, UnicodeDecodeError):
            return None
        session = _session(document)
        if session is None or session.expires_at <= now.timestamp():
            return None
        return session

    def matches(self, session: Session, password_hash: str) -> bool:
        """The session was signed for this password hash (constant time)."""
        return hmac.compare_digest(session.password, self.fingerprint(password_hash))

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _session(document: object) -> Session | None:
    if not isinstance(document, dict):
        return None
    user, expires, password = document.get("u"), document.get("e"), document.get("p")
    if not isinstance(user, str) or not isinstance(password, str):
        return None
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    return Session(user, expires, password)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
