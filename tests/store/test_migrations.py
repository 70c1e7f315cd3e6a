"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, event, text

from ivr.store.migrate import HEAD, MIGRATIONS, current_revision, upgrade
from ivr.store.models import Base
from tests.support.databases import POSTGRES_URL


def differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def test_migrated_sqlite_matches_the_models(tmp_path: Path) -> None:
    assert differences(f"sqlite:///{tmp_path / 'ivr.sqlite3'}") == []


@pytest.mark.slow
@pytest.mark.postgres
def test_migrated_postgresql_matches_the_models() -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        assert differences(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}") == []
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_head_names_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_a_current_database_is_not_migrated_again(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == HEAD
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        upgrade(engine)
        assert statements == ["SELECT version_num FROM alembic_version"]
    finally:
        engine.dispose()
