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


def test_after_the_call_fills_in_available_agents_and_its_downgrade_drops_skill_levels(
    tmp_path: Path,
) -> None:
    from alembic import command
    from alembic.config import Config

    engine = create_engine(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    try:
        upgrade(engine, "0006")
        with engine.begin() as connection:  # an agent logged in while the service upgrades
            connection.execute(
                text(
                    "INSERT INTO agents (name, languages, regions, pin_hash, state, state_since,"
                    " failed_pins, created_at, updated_at) VALUES ('li', 'zh-CN,en-US', 'cn',"
                    " 'x', 'available', '2026-03-02 02:00:00', 0, '2026-03-01 00:00:00',"
                    " '2026-03-02 02:00:00')"
                )
            )
        upgrade(engine)
        with engine.begin() as connection:
            since = connection.scalar(text("SELECT available_since FROM agents"))
            assert str(since).startswith("2026-03-02 02:00:00")
            connection.execute(text("UPDATE agents SET languages = 'zh-CN:5,en-US,zh-CN@hk:2'"))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT languages FROM agents")) == "zh-CN,en-US"
    finally:
        engine.dispose()
