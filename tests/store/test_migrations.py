"""The Alembic migrations build exactly the tables that store/tables.py declares."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from daozhang.store.db import alembic_config, make_engine, upgrade_to_head
from daozhang.store.tables import metadata


def test_migrations_and_tables_py_agree(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    assert upgrade_to_head(engine) is True
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], diff


def test_opening_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade_to_head(engine)
    assert upgrade_to_head(engine) is False


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade_to_head(engine)
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade_to_head(engine)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)


def test_sqlite_enforces_foreign_keys_so_rejects_go_with_their_import(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
