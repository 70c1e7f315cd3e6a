"""`ivr users add|list|remove|passwd`: who may sign in to the wallboard.

Passwords are read from a hidden prompt (typed twice) on a terminal, or as the first line of
standard input otherwise (`printf '%s\\n' "$PASSWORD" | ivr users add ana`), never from the
command line, where other users of the machine and the shell history would see them. Only
their scrypt hash is stored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ivr.commands import support
from ivr.store.passwords import hash_secret
from ivr.store.users import BadUserName, UserExists, UserStore, check_name

MIN_PASSWORD = 12
MAX_PASSWORD = 1024

users = typer.Typer(help="Wallboard users: add, list, remove, change a password.")
Name = Annotated[str, typer.Argument(help="The user's sign-in name, e.g. ana.lima.")]


@users.command()
def add(name: Name) -> None:
    """Add a user; the password comes from a hidden prompt or the first line of stdin."""
    _valid_name(name)
    password_hash = hash_secret(_new_password())
    with _users() as store:
        try:
            store.add(name, password_hash, datetime.now(UTC))
        except UserExists as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"added user {name}")


@users.command(name="list")
def list_users(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the users and when each was added (never their passwords)."""
    with _users() as store:
        rows = [
            {"name": user.name, "created_at": user.created_at.isoformat()} for user in store.all()
        ]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Wallboard users ({len(rows)})")
    table.add_column("Name")
    table.add_column("Added (UTC)")
    for row in rows:
        table.add_row(Text(row["name"]), row["created_at"][:19].replace("T", " "))
    Console().print(table)


@users.command()
def remove(name: Name) -> None:
    """Remove a user; their open wallboards go back to the sign-in page within half a minute."""
    with _users() as store:
        removed = store.remove(name)
    if not removed:
        typer.echo(f"no user {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed user {name}")


@users.command()
def passwd(name: Name) -> None:
    """Set a new password (hidden prompt or stdin); the user's open sessions end."""
    password_hash = hash_secret(_new_password())
    with _users() as store:
        changed = store.set_password(name, password_hash)
    if not changed:
        typer.echo(f"no user {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"changed the password of {name}")


def _valid_name(name: str) -> None:
    try:
        check_name(name)
    except BadUserName as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _new_password() -> str:
    if sys.stdin.isatty():
        password = str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        typer.echo(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long", err=True
        )
        raise typer.Exit(2)
    return password


@contextmanager
def _users() -> Iterator[UserStore]:
    """The users of IVR_DATABASE_URL's database, brought to the current schema; a database
    that cannot be reached is a one-line error and exit 1."""
    with support.migrated_store() as store:
        yield UserStore(store.engine)
