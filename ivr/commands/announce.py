"""`ivr announce add|list|cancel`: operators' messages and queue modes, live on every replica."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import pytz
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ivr.commands import support
from ivr.engine.announcements import (
    MAX_MESSAGES,
    InvalidAnnouncement,
    applying,
    expiry,
    new_announcement,
)
from ivr.engine.line_state import Announcement, Kind
from ivr.store.announcements import REFRESH_EVERY, AnnouncementStore

_OPTION_OF_FIELD = {"expires": "--until/--for", "created_by": "--by"}

announce = typer.Typer(
    help="Messages before the main menu, and queues closed or callback-only, with an expiry.",
    no_args_is_help=True,
)


@announce.command()
def add(
    region: Annotated[str, typer.Option(help="The region's id, e.g. jp.")],
    kind: Annotated[
        str, typer.Option(help="message, closed (no queue) or callback-only (callbacks only).")
    ],
    until: Annotated[
        str | None,
        typer.Option(help="Expiry with its UTC offset, e.g. 2026-12-02T18:00+09:00."),
    ] = None,
    lasting: Annotated[
        str | None, typer.Option("--for", help="Or a duration from now: 30m, 2h, 1d, 1h30m.")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Only callers of this language, e.g. ja-JP; default: all.")
    ] = None,
    text: Annotated[
        str, typer.Option(help="For a message: what callers hear, in that language (<30 s).")
    ] = "",
    by: Annotated[str | None, typer.Option(help="Who sets it; default: your login name.")] = None,
) -> None:
    """Set an announcement from now until its expiry (at most 7 days)."""
    now = datetime.now(UTC)
    regions = support.regions()
    try:
        checked = new_announcement(
            regions,
            region=region,
            language=language,
            kind=kind,
            text=text,
            starts_at=now,
            expires_at=expiry(now, until, lasting),
            created_by=by or _login(),
        )
    except InvalidAnnouncement as exc:
        option = _OPTION_OF_FIELD.get(exc.field, f"--{exc.field}")
        typer.echo(f"{option}: {exc.reason}", err=True)
        raise typer.Exit(2) from None
    with _announcements() as store:
        saved = store.add(checked, now)
        in_force = store.in_force(now, region)
    zone = regions.regions[region].timezone
    typer.echo(
        f"announcement {saved.id} set: {_describe(saved)} until {_local(saved.expires_at, zone)};"
        f" every replica plays it within {REFRESH_EVERY.seconds} seconds"
    )
    if saved.kind is Kind.MESSAGE and saved.language is None:
        typer.echo(
            "note: a message for all languages is read by each caller's own voice; unless its"
            " text suits them all, set one per language (--language)",
            err=True,
        )
    for spoken in regions.regions[region].languages if saved.kind is Kind.MESSAGE else ():
        heard = [a for a in applying(in_force, region, spoken, now) if a.kind is Kind.MESSAGE]
        if len(heard) > MAX_MESSAGES:
            typer.echo(
                f"note: {len(heard)} messages now reach {spoken} callers; only the newest "
                f"{MAX_MESSAGES} are played",
                err=True,
            )


@announce.command(name="list")
def list_(
    region: Annotated[str | None, typer.Option(help="Only this region (its id).")] = None,
    language: Annotated[
        str | None, typer.Option(help="Only those callers of this language hear.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="In force at this time (with UTC offset); default: now.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the announcements in force (and those set to start later), oldest first."""
    moment = _instant(at) if at else datetime.now(UTC)
    regions = support.regions()
    with _announcements() as store:
        found = store.not_over(moment, region, language)
    if json_output:
        typer.echo(json.dumps([_row(a) for a in found], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Announcements at {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    for name in ("Id", "Region", "Language", "Kind"):
        table.add_column(name, no_wrap=True)
    table.add_column("Text", overflow="fold")  # wrapped, never cut: the operator checks it
    for name in ("From", "Until", "Set by"):
        table.add_column(name, no_wrap=True)
    for found_one in found:
        region_of = regions.regions.get(found_one.region)
        zone = region_of.timezone if region_of else "UTC"
        cells = (
            str(found_one.id),
            found_one.region,
            found_one.language or "all",
            found_one.kind.value,
            found_one.text,
            _local(found_one.starts_at, zone),
            _local(found_one.expires_at, zone),
            found_one.created_by,
        )
        # Text, not str: an operator's words must never be read as rich markup.
        table.add_row(*(Text(cell) for cell in cells))
    Console().print(table)


@announce.command()
def cancel(
    announcement_id: Annotated[int, typer.Argument(metavar="ID", help="From `ivr announce list`.")],
    by: Annotated[
        str | None, typer.Option(help="Who cancels it; default: your login name.")
    ] = None,
) -> None:
    """End an announcement now; every replica stops playing it within seconds."""
    now = datetime.now(UTC)
    with _announcements() as store:
        ended = store.cancel(announcement_id, now, (by or _login())[:64])
        found = store.get(announcement_id)
    if not ended or found is None:
        why = "unknown" if found is None else "already expired or cancelled"
        typer.echo(f"announcement {announcement_id}: nothing to cancel ({why})", err=True)
        raise typer.Exit(1)
    typer.echo(f"announcement {announcement_id} cancelled: {_describe(found)}")


def _describe(announcement: Announcement) -> str:
    audience = f"{announcement.region} {announcement.language or '(all languages)'}"
    if announcement.kind is Kind.MESSAGE:
        return f"{audience} message {announcement.text!r}"
    return f"{audience} queues {announcement.kind.value}"


def _row(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": announcement.id,
        "region": announcement.region,
        "language": announcement.language,
        "kind": announcement.kind.value,
        "text": announcement.text,
        "starts_at": announcement.starts_at.isoformat(),
        "expires_at": announcement.expires_at.isoformat(),
        "created_by": announcement.created_by,
        "created_at": announcement.created_at.isoformat(),
    }


def _local(moment: datetime, zone: str) -> str:
    """A time as the region's operators read it, with its offset: 2026-12-02T18:00+09:00."""
    return moment.astimezone(pytz.timezone(zone)).isoformat(timespec="minutes")


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        typer.echo(f"--at: expected a time with its UTC offset, not {text!r}", err=True)
        raise typer.Exit(2)
    return moment


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"


@contextmanager
def _announcements() -> Iterator[AnnouncementStore]:
    """The announcements of IVR_DATABASE_URL (migrated first); a database that cannot be
    reached is a one-line error and exit 1."""
    with support.migrated_store() as store:
        yield AnnouncementStore(store.engine)
