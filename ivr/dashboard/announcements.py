"""The wallboard's announcements panel: what operators have set, cancelling it, setting more.

The wallboard page fetches the panel (an HTML fragment) and shows it; its two forms post
here and come back to the wallboard. Everything shown is escaped here, operators' words
included. Like `ivr announce`, changes go to the shared store: this process reads them again
at its next webhook, the other replicas within seconds.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from datetime import datetime

import pytz
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ivr.config.regions import Region, RegionBook
from ivr.dashboard.access import DATABASE_AWAY, SameOrigin, SignedIn, form_fields
from ivr.dashboard.pages import SECURITY_HEADERS, WallboardRoute, message, page
from ivr.engine.announcements import InvalidAnnouncement, NewAnnouncement, expiry, new_announcement
from ivr.engine.line_state import Announcement, Kind
from ivr.store.announcements import AnnouncementStore
from ivr.web.services import Services
from ivr.web.webhooks import ServicesDep

log = logging.getLogger("ivr.dashboard")
ALL = "all"
# The form's names for the fields InvalidAnnouncement names.
LABELS = {
    "region": "Region",
    "language": "Language",
    "kind": "Kind",
    "text": "Text",
    "for": "For",
    "until": "Until",
    "expires": "For / until",
    "created_by": "Set by",
}

router = APIRouter(include_in_schema=False, route_class=WallboardRoute)


@router.get("/dashboard/announcements")
async def announcements_panel(user: SignedIn, services: ServicesDep) -> Response:
    """The announcements in force or starting later, each with a Cancel button, and a form
    to set one (an HTML fragment for the wallboard page)."""
    now = services.clock.now()
    try:
        found = await run_in_threadpool(_store(services).not_over, now)
    except Exception:
        log.exception("could not read the announcements for the wallboard")
        return _database_away(services)
    regions = services.config.regions
    fragment = _panel(found, regions, now, services.settings.path_prefix)
    return Response(fragment, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.post("/dashboard/announcements", dependencies=[SameOrigin])
async def set_announcement(user: SignedIn, request: Request, services: ServicesDep) -> Response:
    """Set an announcement from now until its expiry (`for` a duration or `until` a time)."""
    form = await form_fields(request)
    now = services.clock.now()
    try:
        checked = _checked(form, services.config.regions, now, user)
    except InvalidAnnouncement as exc:
        return _refused(services, exc.field, exc.reason)
    try:
        saved = await run_in_threadpool(_store(services).add, checked, now)
    except Exception:
        log.exception("could not store an announcement set on the wallboard")
        return _database_away(services)
    services.announcements.stale()
    log.info("announcement %s set on the wallboard by %s", saved.id, user)
    return _back_to_the_wallboard(services)


@router.post("/dashboard/announcements/{announcement_id}/cancel", dependencies=[SameOrigin])
async def cancel_announcement(
    announcement_id: int, user: SignedIn, services: ServicesDep
) -> Response:
    """End an announcement now."""
    store = _store(services)
    now = services.clock.now()
    try:
        ended = await run_in_threadpool(store.cancel, announcement_id, now, user)
        found = None if ended else await run_in_threadpool(store.get, announcement_id)
    except Exception:
        log.exception("could not cancel announcement %s on the wallboard", announcement_id)
        return _database_away(services)
    if not ended:
        why = "no such announcement" if found is None else "it has already ended"
        return _refused(services, "announcement", why, 404 if found is None else 409)
    services.announcements.stale()
    log.info("announcement %s cancelled on the wallboard by %s", announcement_id, user)
    return _back_to_the_wallboard(services)


# -- reading the form -----------------------------------------------------------------------
def _checked(
    form: dict[str, str], regions: RegionBook, now: datetime, user: str
) -> NewAnnouncement:
    region = form.get("region", "").strip()
    return new_announcement(
        regions,
        region=region,
        language=_language(region, form.get("language", "")),
        kind=form.get("kind", "").strip(),
        text=form.get("text", ""),
        starts_at=now,
        expires_at=expiry(now, until=_given(form, "until"), lasting=_given(form, "for")),
        created_by=user,
    )


def _language(region: str, chosen: str) -> str | None:
    """None for every language; the form offers "region:language" pairs (a bare language
    is taken too)."""
    chosen = chosen.strip()
    if chosen in ("", ALL):
        return None
    owner, _, language = chosen.rpartition(":")
    if owner and owner != region:
        raise InvalidAnnouncement(
            "language", f"{chosen} is a language of {owner}, not of {region}; choose again"
        )
    return language


def _given(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


# -- answers --------------------------------------------------------------------------------
def _store(services: Services) -> AnnouncementStore:
    return AnnouncementStore(services.store.engine)


def _back_to_the_wallboard(services: Services) -> Response:
    return RedirectResponse(f"{services.settings.path_prefix}/dashboard", 303)


def _refused(services: Services, field: str, reason: str, status_code: int = 400) -> Response:
    return page(
        "announcement_refused.html",
        status_code,
        prefix=services.settings.path_prefix,
        field=field,
        label=LABELS.get(field, field.capitalize()),
        reason=reason,
    )


def _database_away(services: Services) -> Response:
    return message("Try again shortly", DATABASE_AWAY, 503, services.settings.path_prefix)


# -- the panel ------------------------------------------------------------------------------
def _panel(found: list[Announcement], regions: RegionBook, now: datetime, prefix: str) -> str:
    listing = _table(found, regions, now, prefix) if found else "<p>No announcement in force.</p>"
    return (
        "<h2>Announcements</h2>\n"
        f"{listing}\n"
        f'<form method="post" action="{_e(prefix)}/dashboard/announcements" class="announce">\n'
        f"{_new_announcement_fields(regions)}"
        '<button type="submit">Set announcement</button>\n'
        "</form>\n"
        '<p class="hint">A message is read before the main menu; write it in the language of '
        "its callers (a message for all languages is read by each caller's own voice). "
        "closed: callers asking for an agent hear the other ways instead; callback-only: "
        "they are offered a callback. At most 7 days; times with their UTC offset.</p>\n"
    )


def _table(found: list[Announcement], regions: RegionBook, now: datetime, prefix: str) -> str:
    head = "".join(
        f"<th>{name}</th>" for name in ("Region", "Language", "Kind", "Text", "Until", "Set by", "")
    )
    rows = "".join(_row(one, regions, now, prefix) for one in found)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"


def _row(announcement: Announcement, regions: RegionBook, now: datetime, prefix: str) -> str:
    region = regions.regions.get(announcement.region)
    zone = region.timezone if region else "UTC"
    until = _local(announcement.expires_at, zone)
    if announcement.starts_at > now:
        until = f"from {_local(announcement.starts_at, zone)} until {until}"
    action = f"{prefix}/dashboard/announcements/{announcement.id}/cancel"
    cells = "".join(
        f"<td>{_e(cell)}</td>"
        for cell in (
            region.name if region else announcement.region,
            announcement.language or ALL,
            announcement.kind.value,
            announcement.text,
            until,
            announcement.created_by,
        )
    )
    return (
        f'<tr data-announcement="{announcement.id}">{cells}<td>'
        f'<form method="post" action="{_e(action)}"><button type="submit">Cancel</button></form>'
        "</td></tr>\n"
    )


def _new_announcement_fields(regions: RegionBook) -> str:
    known = list(regions.regions.values())
    region_options = _options((region.id, f"{region.name} ({region.id})") for region in known)
    language_groups = "".join(
        f'<optgroup label="{_e(region.name)}">{_options(_languages_of(region))}</optgroup>'
        for region in known
    )
    kinds = _options((kind.value, kind.value) for kind in Kind)
    return (
        f'<label>Region <select name="region" required>{region_options}</select></label>\n'
        f'<label>Language <select name="language"><option value="{ALL}">all</option>'
        f"{language_groups}</select></label>\n"
        f'<label>Kind <select name="kind">{kinds}</select></label>\n'
        '<label>Text <input name="text" size="48" maxlength="1000" '
        'placeholder="for a message: what callers hear"></label>\n'
        '<label>For <input name="for" size="6" placeholder="2h"></label>\n'
        '<label>or until <input name="until" size="22" '
        'placeholder="2026-12-02T18:00+09:00"></label>\n'
    )


def _languages_of(region: Region) -> Iterable[tuple[str, str]]:
    return (
        (f"{region.id}:{language}", f"{region.id}: {language}") for language in region.languages
    )


def _options(choices: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<option value="{_e(value)}">{_e(label)}</option>' for value, label in choices)


def _local(moment: datetime, zone: str) -> str:
    """A time as the region's operators read it, with its offset: 2026-12-02T18:00+09:00."""
    return moment.astimezone(pytz.timezone(zone)).isoformat(timespec="minutes")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
