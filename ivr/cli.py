"""The `ivr` command: serve the webhooks, check the configuration, place emulated calls."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from pydantic import ValidationError

from ivr.settings import Settings
from ivr.tomlfile import ConfigError

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


def main() -> None:
    cli(prog_name="ivr")


if __name__ == "__main__":
    main()
