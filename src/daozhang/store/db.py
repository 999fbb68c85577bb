"""The state database: an engine that behaves, and migrations applied on open.

SQLite is the embedded default (``daozhang.db`` in the workspace); any
SQLAlchemy URL can replace it (``DAOZHANG_DATABASE_URL``, PostgreSQL in
production), so every statement elsewhere is portable SQLAlchemy Core.

SQLite needs three things to be trusted with money and history:

* transactions that really are transactions, DDL included: pysqlite's own
  transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself,
  so a failed migration rolls back instead of leaving ``_alembic_tmp_*``
  tables behind (DEPENDENCIES.md);
* foreign keys enforced (off by default in SQLite), so rejects of an import
  go with it;
* WAL journal and a busy timeout, so a reader (``daozhang exceptions``)
  does not fail while an import writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

__all__ = ["MIGRATIONS", "alembic_config", "make_engine", "upgrade_to_head"]

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets real transactions, foreign keys and WAL."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration for our migrations, with no ini file.

    With ``engine`` the migrations run on it (env.py reads it from the
    config's attributes); without, a developer's ``alembic`` run uses the URL
    in ``sqlalchemy.url``.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade_to_head(engine: Engine) -> bool:
    """Bring the database to the newest schema; True when anything was applied."""
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return False
    command.upgrade(cfg, "head")
    return True
