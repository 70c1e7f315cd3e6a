"""`ivr agents add|set|list|remove|set-pin|lock|unlock`: the people who take callers on the agent
line. A PIN is asked without echo (or read from standard input), never taken as an argument,
so it never lands in a shell's history; only its scrypt hash is stored. PINs anyone would try
first (one digit repeated, a run, the agent's own number) are refused when set."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn

import phonenumbers
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ivr.commands import support
from ivr.config.languages import LANGUAGES
from ivr.engine.agent_line import PIN_DIGITS, plausible_pin, weak_pin
from ivr.engine.line_state import ALL_REGIONS, Skills
from ivr.engine.numbers import masked
from ivr.store.agents import NAME, AgentExists, AgentRecord, AgentStore, PhoneTaken
from ivr.store.passwords import hash_secret

agents = typer.Typer(
    help="Agents of the agent line: their phones, languages, regions, PIN, and state.",
    no_args_is_help=True,
)
Languages = Annotated[
    list[str],
    typer.Option(
        help="A language they take callers in, with a skill level from 1 to 5 if not 3 (zh-CN:5),"
        " or a level in one region (zh-CN@hk:2); repeat; the first is the one the agent line"
        " speaks to them."
    ),
]
Regions = Annotated[
    list[str], typer.Option(help="A region id whose callers they take; repeat; * for all.")
]
PinFromStdin = Annotated[
    bool,
    typer.Option("--pin-stdin", help="Read the PIN from the first line of standard input."),
]


@agents.command()
def add(
    name: Annotated[str, typer.Argument(help="A short name: letters, digits, '.', '_', '-'.")],
    phone: Annotated[
        list[str], typer.Option(help="A phone the agent calls from, E.164; repeat for more.")
    ],
    language: Languages,
    region: Regions,
    pin_stdin: PinFromStdin = False,
) -> None:
    """Add an agent (offline until they call the agent line); the PIN is asked twice."""
    if not NAME.fullmatch(name):
        _refuse("NAME", f"{name!r}: use letters, digits, '.', '_' or '-', at most 64")
    phones = [_e164(number) for number in phone]
    skills = _skills(language, region)
    pin_hash = hash_secret(_pin(pin_stdin, phones))
    with _agents() as store:
        try:
            added = store.add(name, phones, skills, pin_hash, datetime.now(UTC))
        except (AgentExists, PhoneTaken) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"agent {added.name} added: {_describe(added)}")


@agents.command(name="set")
def set_(
    name: Annotated[str, typer.Argument(help="The agent's name.")],
    language: Languages,
    region: Regions,
) -> None:
    """Replace an agent's languages, skill levels and regions (from their next caller on)."""
    skills = _skills(language, region)
    with _agents() as store:
        changed = store.set_skills(name, skills, datetime.now(UTC))
    _found(changed is not None, name)
    assert changed is not None
    typer.echo(f"agent {changed.name} set: {_describe(changed)}")


@agents.command(name="list")
def list_(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """The agents, their skills and their state now (phones masked)."""
    now = datetime.now(UTC)
    with _agents() as store:
        found = store.all()
    rows = [_row(agent, now) for agent in found]
    if json_output:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} agents")
    for column in ("Name", "Phones", "Languages", "Regions", "State", "Since (UTC)", "Locked"):
        table.add_column(column)
    for row in rows:
        cells = (
            row["name"],
            ", ".join(row["phones"]),
            ", ".join(row["languages"]),
            ", ".join(row["regions"]),
            row["state"],
            row["since"] or "",
            row["locked_until"] or "",
        )
        table.add_row(*(Text(cell) for cell in cells))  # never read as rich markup
    Console().print(table)


@agents.command()
def remove(name: Annotated[str, typer.Argument(help="The agent's name.")]) -> None:
    """Remove an agent: their phones no longer log in; a call in progress ends at its next
    step."""
    with _agents() as store:
        removed = store.remove(name, datetime.now(UTC))
    _found(removed, name)
    typer.echo(f"agent {name} removed")


@agents.command(name="set-pin")
def set_pin(
    name: Annotated[str, typer.Argument(help="The agent's name.")],
    pin_stdin: PinFromStdin = False,
) -> None:
    """Give an agent a new PIN (asked twice, without echo); wrong tries start again at 0."""
    with _agents() as store:
        agent = store.get(name)
        _found(agent is not None, name)
        assert agent is not None
        pin_hash = hash_secret(_pin(pin_stdin, agent.phones))
        changed = store.set_pin(name, pin_hash, datetime.now(UTC))
    _found(changed, name)
    typer.echo(f"agent {name}: new PIN set")


@agents.command()
def lock(
    name: Annotated[str, typer.Argument(help="The agent's name.")],
    minutes: Annotated[
        int | None,
        typer.Option(min=1, max=525_600, help="How long; default IVR_AGENT_LOCK_MINUTES."),
    ] = None,
) -> None:
    """Lock an agent out of the agent line for a while (logged out now if logged in)."""
    now = datetime.now(UTC)
    until = now + timedelta(minutes=minutes or support.settings().agent_lock_minutes)
    with _agents() as store:
        locked = store.lock(name, until, now)
    _found(locked, name)
    typer.echo(f"agent {name} locked until {until.isoformat(timespec='minutes')}")


@agents.command()
def unlock(name: Annotated[str, typer.Argument(help="The agent's name.")]) -> None:
    """Let an agent log in again (after wrong PINs, or `ivr agents lock`)."""
    with _agents() as store:
        unlocked = store.unlock(name, datetime.now(UTC))
    _found(unlocked, name)
    typer.echo(f"agent {name} unlocked")


# -- checks ---------------------------------------------------------------------------------
def _refuse(option: str, reason: str) -> NoReturn:
    typer.echo(f"{option}: {reason}", err=True)
    raise typer.Exit(2)


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        _refuse("--phone", f"{number!r} is not a valid number in E.164 (+ and country code)")
    assert parsed is not None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _skills(languages: list[str], regions: list[str]) -> Skills:
    """Languages with their levels, and regions, as `ivr agents add|set` take them."""
    try:
        skills = Skills.read(dict.fromkeys(languages), _regions(regions))
    except ValueError as exc:
        _refuse("--language", str(exc))
    for language in skills.languages:
        if language not in LANGUAGES:
            _refuse("--language", f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    for key, _ in skills.levels:
        region = key.partition("@")[2]
        if region and region not in skills.regions and ALL_REGIONS not in skills.regions:
            _refuse("--language", f"{key!r}: {region!r} is not one of the agent's regions")
    return skills


def _regions(ids: list[str]) -> tuple[str, ...]:
    if ALL_REGIONS in ids:
        return (ALL_REGIONS,)
    book = support.regions()
    for region in ids:
        if region not in book.regions:
            known = ", ".join(sorted(book.regions))
            _refuse("--region", f"no region {region!r} in the regions file; known: {known}")
    return tuple(dict.fromkeys(ids))


def _pin(from_stdin: bool, phones: Sequence[str]) -> str:
    """The PIN, refused (exit 2, the PIN never echoed) when it is not 6 to 12 digits or is
    one anyone would try first for an agent with `phones`."""
    shortest, longest = PIN_DIGITS
    if from_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = typer.prompt(
            f"PIN ({shortest} to {longest} digits)", hide_input=True, confirmation_prompt=True
        )
    if not plausible_pin(pin):
        _refuse("PIN", f"use {shortest} to {longest} digits (keyed on a phone)")
    weak = weak_pin(pin, phones)
    if weak is not None:
        _refuse("PIN", f"too easy to guess: {weak}; choose another")
    return str(pin)


def _found(changed: bool, name: str) -> None:
    if not changed:
        typer.echo(f"no agent named {name!r}", err=True)
        raise typer.Exit(1)


def _describe(agent: AgentRecord) -> str:
    phones = ", ".join(masked(number) for number in agent.phones)
    languages = ", ".join(agent.skills.entries)
    return f"phones {phones}; languages {languages}; regions {', '.join(agent.skills.regions)}"


def _row(agent: AgentRecord, now: datetime) -> dict[str, Any]:
    """What an operator may see of an agent: never a PIN hash nor a full phone number."""
    since = agent.state_since
    locked = agent.locked_until if agent.locked(now) else None
    return {
        "name": agent.name,
        "phones": [masked(number) for number in agent.phones],
        "languages": list(agent.skills.entries),
        "regions": list(agent.skills.regions),
        "state": agent.shown_state(now).value,
        "since": since.astimezone(UTC).isoformat(timespec="seconds") if since else None,
        "locked_until": locked.astimezone(UTC).isoformat(timespec="minutes") if locked else None,
    }


@contextmanager
def _agents() -> Iterator[AgentStore]:
    """The agents of IVR_DATABASE_URL (migrated first); a database that cannot be reached is a
    one-line error and exit 1."""
    with support.migrated_store() as store:
        yield AgentStore(store.engine)
