"""The wallboard's routes: sign in and out, the page, its live feed and its two static files.

Everything but the sign-in page and its stylesheet needs a session. Without
IVR_SESSION_SECRET every route answers 503 with a page saying how to turn the wallboard on.
"""

from __future__ import annotations

import logging
import math
from functools import partial

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from ivr.dashboard.access import (
    DATABASE_AWAY,
    Gate,
    GateDep,
    PageProblem,
    SameOrigin,
    SignedIn,
    SignedInPage,
    SignInRefused,
    form_fields,
)
from ivr.dashboard.announcements import router as announcements_router
from ivr.dashboard.figures import take_snapshot
from ivr.dashboard.pages import (
    SECURITY_HEADERS,
    WallboardRoute,
    add_wallboard_headers,
    asset,
    message,
    page,
)
from ivr.dashboard.sessions import SessionSigner
from ivr.dashboard.stream import Feed, Snapshots, events
from ivr.store.users import UserStore
from ivr.web.services import Services

log = logging.getLogger("ivr.dashboard")
WRONG = "Wrong name or password."
SIGN_OUT_LATER = (
    "The database cannot be reached, so the session could not be ended on the server: this "
    "browser forgot it, but a copy of its cookie stays valid until it expires or the "
    "password is changed (ivr users passwd)."
)
TOO_MANY = "Too many failed attempts. Try again in {seconds} seconds."

router = APIRouter(include_in_schema=False, route_class=WallboardRoute)


def install_wallboard(app: FastAPI, services: Services) -> None:
    """Add the wallboard to `app`. Without IVR_SESSION_SECRET it is off: a warning now, and
    503 on its routes."""
    settings = services.settings
    key = settings.session_key
    if key is None:
        log.warning(
            "IVR_SESSION_SECRET is not set: the wallboard (/dashboard) is off and answers 503"
        )
        app.include_router(_off(settings.path_prefix))
        return
    users = UserStore(services.store.engine)
    app.state.wallboard = Gate(settings, SessionSigner(key), users, services.clock)
    snapshots = Snapshots(partial(take_snapshot, services), settings.dashboard_refresh_seconds)
    app.state.wallboard_feed = Feed(snapshots, settings.dashboard_refresh_seconds)
    app.add_exception_handler(PageProblem, _problem_page)
    app.include_router(router)
    app.include_router(announcements_router)


@router.get("/login")
async def login_page(request: Request, door: GateDep) -> Response:
    """The sign-in form (already signed in: the wallboard)."""
    prefix = door.settings.path_prefix
    try:
        signed_in = await door.user(request) is not None
    except Exception:
        signed_in = False  # the database is away: signing in will say so
    if signed_in:
        return RedirectResponse(f"{prefix}/dashboard", 303)
    return page("login.html", prefix=prefix, error="", name="")


@router.post("/login", dependencies=[SameOrigin])
async def login(request: Request, door: GateDep) -> Response:
    """Check the name and password; on success set the session cookie and open the wallboard."""
    prefix = door.settings.path_prefix
    form = await form_fields(request)
    name, password = form.get("name", "").strip(), form.get("password", "")
    address = request.client.host if request.client else "unknown"
    try:
        cookie = await door.sign_in(name, password, address)
    except SignInRefused as refused:
        seconds = math.ceil(refused.wait)
        error = TOO_MANY.format(seconds=seconds)
        response = page("login.html", 429, prefix=prefix, error=error, name=name)
        response.headers["Retry-After"] = str(seconds)
        return response
    except Exception:
        log.exception("could not check a wallboard sign-in")
        return message("Try again shortly", DATABASE_AWAY, 503, prefix)
    if cookie is None:
        return page("login.html", 401, prefix=prefix, error=WRONG, name=name)
    response = RedirectResponse(f"{prefix}/dashboard", 303, headers=SECURITY_HEADERS)
    door.set_cookie(response, cookie)
    return response


@router.post("/logout", dependencies=[SameOrigin])
async def logout(request: Request, door: GateDep) -> Response:
    """End the session (its cookie is refused everywhere from now on), forget the cookie in
    this browser, and go back to the sign-in page."""
    prefix = door.settings.path_prefix
    response: Response
    try:
        await door.sign_out(request)
        response = RedirectResponse(f"{prefix}/login", 303)
    except Exception:
        log.exception("could not end a wallboard session")
        response = message("Not signed out", SIGN_OUT_LATER, 503, prefix)
    door.clear_cookie(response)
    return response


@router.get("/dashboard")
async def dashboard(user: SignedInPage, request: Request, door: GateDep) -> Response:
    """The wallboard: one tile per region and language, kept live by /dashboard/events."""
    feed: Feed = request.app.state.wallboard_feed
    return page(
        "wallboard.html", prefix=door.settings.path_prefix, user=user, interval=feed.interval
    )


@router.get("/dashboard/events")
async def dashboard_events(
    user: SignedIn, request: Request, door: GateDep, region: str = ""
) -> Response:
    """Server-sent events: a `snapshot` (JSON figures) every interval, `unavailable` when the
    figures cannot be read, `signed-out` when the session expired. `region`: the page's own
    `?region=jp,cn`, which narrows the survey groups to those regions' calls."""
    session = door.session(request)
    if session is None:  # it expired since SignedIn read it
        raise HTTPException(401, "sign in first")
    feed: Feed = request.app.state.wallboard_feed
    regions = frozenset(filter(None, (rid.strip() for rid in region.split(","))))
    stream = events(feed, partial(door.still_valid, session), regions)
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}  # nginx: pass events on at once
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@router.get("/dashboard/live.js")
async def script(user: SignedIn) -> Response:
    """The wallboard's script (signed-in users only, like everything on the wallboard)."""
    return asset("live.js")


@router.get("/dashboard/style.css")
async def stylesheet() -> Response:
    """The stylesheet, which the sign-in page needs too: nothing in it is private."""
    return asset("style.css")


async def _problem_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageProblem)
    return add_wallboard_headers(request, exc.response)


def _off(prefix: str) -> APIRouter:
    """Every wallboard route, answering that the wallboard is off."""
    off = APIRouter(include_in_schema=False)

    async def wallboard_off() -> Response:
        return message(
            "The wallboard is off",
            "IVR_SESSION_SECRET is not set on this server. Set it to a random secret of 32 "
            "characters or more (the same on every replica), restart, and sign in with a user "
            "made with `ivr users add`.",
            503,
            prefix,
        )

    for path in ("/login", "/logout", "/dashboard", "/dashboard/events", "/dashboard/live.js"):
        off.add_api_route(path, wallboard_off, methods=["GET", "POST"])
    off.add_api_route("/dashboard/style.css", stylesheet, methods=["GET"])
    return off
