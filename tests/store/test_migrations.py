"""The Alembic migrations build exactly the tables store/tables.py declares, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from daozhang.store.db import alembic_config, make_engine, upgrade_to_head
from daozhang.store.tables import metadata


def test_migrations_and_tables_py_agree(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    assert upgrade_to_head(engine) is True
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diff == [], diff


def test_opening_twice_applies_nothing_the_second_time(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    upgrade_to_head(engine)
    assert upgrade_to_head(engine) is False
    engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_nothing_and_back(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    assert inspect(engine).get_table_names() == []
    upgrade_to_head(engine)
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade_to_head(engine)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    engine.dispose()


def test_sqlite_enforces_foreign_keys_so_rejects_go_with_their_import(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
