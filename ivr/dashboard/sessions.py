"""The wallboard's session cookie: who signed in and until when, signed with IVR_SESSION_SECRET.

The cookie is `payload.signature`, both unpadded base64url: the payload is JSON with the
user's name, the expiry (Unix seconds) and the session's id; the signature is HMAC-SHA256 over
the payload with a key derived from the secret. Nothing in it can be changed without the key.
The id names the session's row in the database (ivr.store.users): signing out, a new password
(`ivr users passwd`) or removing the user deletes the row, and from then on every replica
refuses the cookie, however long it had left.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE_NAME = "ivr_wallboard"
# A working day and a bit: a wall screen signed in at the start of a shift stays signed in.
SESSION_LIFETIME = timedelta(hours=12)
# 128 random bits name a session (22 characters).
SESSION_ID_BYTES = 16
# Larger cookies are not ours: refuse before decoding anything.
MAX_COOKIE_CHARS = 1024


@dataclass(frozen=True)
class Session:
    """A signed-in user, as the cookie says."""

    user: str
    expires_at: int
    id: str


class SessionSigner:
    """Issues and checks session cookies with one secret."""

    def __init__(self, secret: bytes, lifetime: timedelta = SESSION_LIFETIME) -> None:
        # A key of its own for this purpose, so the secret could sign other things safely.
        self._key = hmac.new(secret, b"ivr wallboard session v1", hashlib.sha256).digest()
        self.lifetime = lifetime

    def new_session(self, user: str, now: datetime) -> Session:
        """A session for `user` from `now`, with a fresh random id, for the signer's lifetime."""
        expires = int((now + self.lifetime).timestamp())
        return Session(user, expires, secrets.token_urlsafe(SESSION_ID_BYTES))

    def cookie(self, session: Session) -> str:
        """The cookie value that carries `session`."""
        document = {"u": session.user, "e": session.expires_at, "s": session.id}
        payload = _b64(json.dumps(document, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str, now: datetime) -> Session | None:
        """The session in `cookie` when it is ours, untouched and not expired; else None.

        The caller still checks that the session has not ended (the store)."""
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

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _session(document: object) -> Session | None:
    if not isinstance(document, dict):
        return None
    user, expires, session_id = document.get("u"), document.get("e"), document.get("s")
    if not isinstance(user, str) or not isinstance(session_id, str):
        return None
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    return Session(user, expires, session_id)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
