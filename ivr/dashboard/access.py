"""Who may see the wallboard: signing in and out, the session check, and the same-origin rule.

CSRF: every POST (sign in, sign out, and any form added to the wallboard) must come from our
own pages: its Origin header (or, when a browser sends none, its Referer) must name the host
the request was sent to, or IVR_PUBLIC_URL. The session cookie is also SameSite=Lax, so a
browser never attaches it to another site's POST. No token to keep, so any replica can check.

Routes ask for `SignedIn` (401 for anyone else: the event stream, scripts) or `SignedInPage`
(a redirect to the sign-in page), and `SameOrigin` on POSTs, whose fields `form_fields` reads.
A form added to the wallboard (the announcements) uses the same three.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ivr.clock import Clock
from ivr.config.settings import Settings
from ivr.dashboard.attempts import FailedSignIns
from ivr.dashboard.pages import message
from ivr.dashboard.sessions import COOKIE_NAME, Session, SessionSigner
from ivr.store.passwords import hash_secret, verify_secret
from ivr.store.users import UserStore
from ivr.web import metrics

# Password checks take ~40 ms of CPU each: at most two at once, so a burst of sign-ins never
# holds the thread pool that webhooks use for the database.
HASHING_AT_ONCE = 2
log = logging.getLogger("ivr.dashboard")
DATABASE_AWAY = "The database cannot be read right now; the wallboard will be back with it."
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096


@cache
def _nobody() -> str:
    """Checked when the name is unknown, so an unknown name takes as long as a wrong password."""
    return hash_secret("no such user")


class SignInRefused(Exception):
    """Too many failed attempts for this name from this address, or from this address: try
    again in `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class PageProblem(Exception):
    """A page route cannot be shown: answer `response` instead (a redirect, a 503 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class Gate:
    """The wallboard's door, one per app: the cookie signer, the users and failed attempts."""

    settings: Settings
    signer: SessionSigner
    users: UserStore
    clock: Clock
    attempts: FailedSignIns = field(init=False)
    _hashing: CapacityLimiter | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # The delays run on the service's clock, so tests move it instead of waiting.
        self.attempts = FailedSignIns(monotonic=lambda: self.clock.now().timestamp())

    @property
    def cookie_path(self) -> str:
        return self.settings.path_prefix or "/"

    async def sign_in(self, name: str, password: str, address: str) -> str | None:
        """The session cookie's value for a right name and password, else None (the same for
        an unknown name and a wrong password). SignInRefused after too many failures."""
        wait = self.attempts.wait(name, address)
        if wait > 0:
            metrics.wallboard_sign_in_failed("too_soon")
            raise SignInRefused(wait)
        # Counted as a failure until the password proves right: guesses sent all at once are
        # held to the same limit as guesses sent one after another.
        self.attempts.failed(name, address)
        user = await run_in_threadpool(self.users.get, name) if name else None
        stored = user.password_hash if user else _nobody()
        if self._hashing is None:  # made on the event loop that serves this app
            self._hashing = CapacityLimiter(HASHING_AT_ONCE)
        limiter = self._hashing
        matches = await to_thread.run_sync(verify_secret, password, stored, limiter=limiter)
        if user is None or not matches:
            metrics.wallboard_sign_in_failed("wrong")
            log.warning("wallboard sign-in failed for %r from %s", name[:64], address)
            return None
        self.attempts.signed_in(name, address)
        now = self.clock.now()
        session = self.signer.new_session(user.name, now)
        expires_at = datetime.fromtimestamp(session.expires_at, UTC)
        await run_in_threadpool(self.users.open_session, session.id, user.name, now, expires_at)
        log.info("wallboard sign-in: %s from %s", user.name, address)
        return self.signer.cookie(session)

    async def sign_out(self, request: Request) -> None:
        """End the session of `request`'s cookie, if any, for every replica."""
        session = self.session(request)
        if session is not None:
            await run_in_threadpool(self.users.end_session, session.id)
            log.info("wallboard sign-out: %s", session.user)

    async def user(self, request: Request) -> str | None:
        """The signed-in user of `request`, or None. The session must still be open: not
        signed out, and the user neither removed nor given a new password since."""
        session = self.session(request)
        if session is None:
            return None
        now = self.clock.now()
        name = await run_in_threadpool(self.users.session_user, session.id, now)
        return name if name == session.user else None

    def session(self, request: Request) -> Session | None:
        cookie = request.cookies.get(COOKIE_NAME)
        return self.signer.read(cookie, self.clock.now()) if cookie else None

    def still_valid(self, session: Session) -> bool:
        return session.expires_at > self.clock.now().timestamp()

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=int(self.signer.lifetime.total_seconds()),
            path=self.cookie_path,
            secure=(self.settings.public_url or "").startswith("https://"),
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME,
            path=self.cookie_path,
            secure=(self.settings.public_url or "").startswith("https://"),
            httponly=True,
            samesite="lax",
        )

    def same_origin(self, request: Request) -> bool:
        """The request comes from a page of ours (see the module docstring)."""
        claimed = request.headers.get("origin") or request.headers.get("referer") or ""
        origin = urlsplit(claimed)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            return False
        ours = {request.headers.get("host", "").lower()}
        if self.settings.public_url:
            ours.add(urlsplit(self.settings.public_url).netloc.lower())
        return origin.netloc.lower() in ours


def gate(request: Request) -> Gate:
    found: Gate = request.app.state.wallboard
    return found


GateDep = Annotated[Gate, Depends(gate)]


async def signed_in(request: Request, door: GateDep) -> str:
    """The signed-in user's name; 401 for anyone else."""
    try:
        user = await door.user(request)
    except Exception:
        log.exception("could not check a wallboard session")
        raise HTTPException(503, DATABASE_AWAY) from None
    if user is None:
        raise HTTPException(401, "sign in first", headers={"Cache-Control": "no-store"})
    return user


async def signed_in_page(request: Request, door: GateDep) -> str:
    """The signed-in user's name; anyone else is sent to the sign-in page."""
    prefix = door.settings.path_prefix
    try:
        user = await door.user(request)
    except Exception:
        log.exception("could not check a wallboard session")
        raise PageProblem(message("Try again shortly", DATABASE_AWAY, 503, prefix)) from None
    if user is None:
        raise PageProblem(RedirectResponse(f"{prefix}/login", 303))
    return user


async def same_origin(request: Request, door: GateDep) -> None:
    """403 for a POST that does not come from one of our pages (CSRF)."""
    if not door.same_origin(request):
        raise HTTPException(403, "this form must be sent from the wallboard's own pages")


SignedIn = Annotated[str, Depends(signed_in)]
SignedInPage = Annotated[str, Depends(signed_in_page)]
SameOrigin = Depends(same_origin)


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a small url-encoded form posted from the wallboard (4xx otherwise)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise HTTPException(415, f"expected {FORM}")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise HTTPException(413, "form too large")
    except ClientDisconnect:
        raise HTTPException(400, "client disconnected") from None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "malformed form") from None
