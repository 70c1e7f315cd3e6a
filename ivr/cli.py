"""The `ivr` command: serve the webhooks, check the configuration, place emulated calls."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from ivr.settings import Settings
from ivr.tomlfile import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivr.app import Config
    from ivr.emulator import Event

cli = typer.Typer(help="Regional wallet support hotlines over Twilio.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "IVR_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            typer.echo(f"environment: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the webhook service (uvicorn) on the configuration in the environment."""
    import uvicorn

    from ivr.app import load_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings()
    try:
        load_config(settings)  # refuse a broken file before binding the port
    except ConfigError as exc:
        typer.echo(f"refusing to start, the configuration is broken:\n{exc}", err=True)
        raise typer.Exit(2) from None
    if settings.auth_token is None:
        typer.secho(
            "WARNING: TWILIO_AUTH_TOKEN is not set; signatures are not checked. Local use only.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    uvicorn.run("ivr.app:app", host=host, port=port, workers=workers, proxy_headers=True)


@cli.command()
def check() -> None:
    """Validate regions.toml and the prompts; list errors and prompt gaps with file and line."""
    from ivr.app import load_config
    from ivr.prompts import check_prompts

    settings = _settings()
    try:
        config = load_config(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    gaps = check_prompts(config.prompts)
    for problem in gaps:
        typer.echo(f"warning: {problem}")
    regions = config.regions.regions
    languages = sorted(config.prompts.languages)
    typer.echo(f"ok: {len(regions)} regions, {len(languages)} languages ({', '.join(languages)})")


@cli.command()
def call(
    caller: Annotated[
        str, typer.Argument(metavar="FROM", help="The caller's number, e.g. +81312345678.")
    ],
    to: Annotated[
        str | None, typer.Option(help="The hotline dialed; default: the caller's own.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="When, ISO 8601 with offset: 2026-03-01T03:00+08:00 (in-process)."),
    ] = None,
    press: Annotated[
        str | None,
        typer.Option(
            help="One answer per question: keys, _ for silence, say:TEXT (quote it when TEXT has"
            " spaces). E.g. '1 _ 12345# \"say:my password\"'."
        ),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Call a running service over HTTP at this base URL.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
    audio: Annotated[
        Path | None, typer.Option(help="Also render the call to this WAV file (espeak-ng).")
    ] = None,
    agent_after: Annotated[
        float | None,
        typer.Option(help="An agent takes the caller from the queue after this many seconds."),
    ] = None,
) -> None:
    """Place an emulated call and print what the caller hears (exit 1 on a TwiML error)."""
    from ivr.calling import CallProblem, CallRequest, place_call

    settings = _settings()
    interactive = press is None and sys.stdin.isatty() and not as_json
    try:
        answers = tuple(shlex.split(press or ""))  # quotes keep speech together: "say:my password"
    except ValueError as exc:
        typer.echo(f"--press: {exc}", err=True)
        raise typer.Exit(2) from None
    request = CallRequest(caller, to, at, answers, url, agent_after)
    try:
        placed = place_call(request, settings, lambda: _config(settings).regions, live=interactive)
    except (CallProblem, ConfigError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _show(placed.events, as_json=as_json, already_shown=interactive, audio=audio)
    if placed.error is not None:
        raise typer.Exit(1)


def _show(
    events: Sequence[Event], *, as_json: bool, already_shown: bool, audio: Path | None
) -> None:
    from ivr.emulator import AudioToolMissing, events_to_json, render_audio, render_transcript

    if not already_shown:
        typer.echo(events_to_json(events) if as_json else render_transcript(events))
    if audio is not None:
        try:
            typer.echo(f"audio: {render_audio(events, audio)}", err=True)
        except AudioToolMissing as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None


def _config(settings: Settings) -> Config:
    from ivr.app import load_config

    return load_config(settings)


def main() -> None:
    cli(prog_name="ivr")


if __name__ == "__main__":
    main()
