"""What the `ivr` commands share: settings read from the environment, the regions file and
the database, each a one-line error and an exit code rather than a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ivr.config.loading import Config, load_config
from ivr.config.regions import RegionBook, load_regions
from ivr.config.settings import Settings
from ivr.config.tomlfile import ConfigError
from ivr.store import Store
from ivr.store.migrate import upgrade


def settings() -> Settings:
    """The settings, or each bad variable named and exit 2."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = Settings.variable(str(error["loc"][0])) if error["loc"] else "settings"
            typer.echo(f"environment: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def regions() -> RegionBook:
    """The regions file of IVR_REGIONS, or its problems with file and line and exit 2."""
    try:
        return load_regions(settings().regions)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@contextmanager
def migrated_store() -> Iterator[Store]:
    """The store of IVR_DATABASE_URL, brought to the current schema (a new file works), closed
    after; a database that cannot be reached is a one-line error and exit 1, not a trace."""
    store = Store.connect(settings().database_url)
    try:
        upgrade(store.engine)
        yield store
    except SQLAlchemyError as exc:
        # The first line names the driver's error; the rest is a link to SQLAlchemy's docs.
        typer.echo(f"database: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()


def config(settings: Settings) -> Config:
    """Regions and prompts of `settings`, or their problems with file and line and exit 2."""
    try:
        return load_config(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
