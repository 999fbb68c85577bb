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

Where SQLite and PostgreSQL disagree, the store makes them agree, so a
workspace behaves the same on both (the tests run the state on both):

* times: SQLite keeps the wall clock and forgets the zone, PostgreSQL's
  ``timestamptz`` keeps the instant and returns it in the session's zone (the
  server's, often Asia/Shanghai). Every time goes in and comes out through
  :func:`as_utc`: stored as UTC, read back as an aware UTC datetime.
* text: SQLite stores any string in any ``VARCHAR(n)``; PostgreSQL refuses a
  NUL character in any text and a string longer than ``n``, and one such
  value from a user's file would fail a whole import or reconcile run.
  Every row written goes through :func:`storable`, on both databases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, String, Table, create_engine, event, make_url

from daozhang.errors import WorkspaceError

__all__ = [
    "MIGRATIONS",
    "NUL_STANDIN",
    "alembic_config",
    "as_utc",
    "as_utc_or_none",
    "fit_text",
    "make_engine",
    "storable",
    "upgrade_to_head",
]

MIGRATIONS = Path(__file__).with_name("migrations")


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already.

    Used on the way in (a time in +08:00 would otherwise be stored on SQLite
    as its wall clock and read back 8 hours off) and on the way out (SQLite
    returns naive UTC, PostgreSQL the session's zone).
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def as_utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    """:func:`as_utc` for a column that may be NULL."""
    return None if value is None else as_utc(value)


_LIBPQ = ("psycopg", "psycopg2")  # drivers that take libpq's connection parameters

NUL_STANDIN = "\u2400"  # ␀ SYMBOL FOR NULL: shows the user where the NUL byte was
_FIT_MARK = "~"
_FIT_DIGEST = 8


def fit_text(value: str, length: int | None) -> str:
    """``value`` with NUL replaced by ␀ and, when longer than ``length``, shortened.

    A shortened value keeps its beginning and ends in ``~`` and 8 hex digits
    of the SHA-256 of the whole value: deterministic, so a re-run finds the
    same stored identifier, and two long values that differ stay apart.
    """
    if "\x00" in value:
        value = value.replace("\x00", NUL_STANDIN)
    if length is None or len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    keep = max(length - len(_FIT_MARK) - _FIT_DIGEST, 0)
    return (value[:keep] + _FIT_MARK + digest)[:length]


@cache
def _text_columns(table: Table) -> tuple[tuple[str, int | None], ...]:
    return tuple((c.name, c.type.length) for c in table.columns if isinstance(c.type, String))


def storable(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` for a row of ``table``, every text fit for any database (:func:`fit_text`).

    Called once per stored reject (millions for a bad file), so the common
    case, nothing to change, costs a lookup and two tests per text column.
    """
    out = dict(values)
    for name, length in _text_columns(table):
        v = out.get(name)
        if type(v) is str and ("\x00" in v or (length is not None and len(v) > length)):
            out[name] = fit_text(v, length)
    return out


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets real transactions, foreign keys and WAL.

    A server database gets its pooled connections checked before use: a
    long-running process (the web server) then survives a database restart
    or failover instead of failing one request per stale connection. The
    libpq drivers talk UTF-8 whatever ``PGCLIENTENCODING`` says, so Chinese
    text always goes through, and a database that is not UTF-8 can be named
    as such (:func:`_check_server`) rather than fail in the driver.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in _LIBPQ:
        connect_args["client_encoding"] = "utf8"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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


def _check_server(conn: Connection) -> None:
    """Refuse a PostgreSQL database that is not UTF-8, before anything is written to it.

    Merchant names, reasons and explanations are Chinese; a database created
    with another encoding (``SQL_ASCII``, ``LATIN1``: an old cluster's
    default) would fail the first import that meets one, or store bytes no
    one can read back. PostgreSQL only: SQLite text is always Unicode.
    """
    if conn.dialect.name != "postgresql":
        return
    encoding = conn.exec_driver_sql("SHOW server_encoding").scalar()
    if encoding != "UTF8":
        raise WorkspaceError(
            f"the PostgreSQL database {conn.engine.url.database} is encoded {encoding}; "
            "daozhang needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
        )


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
    """Bring the database to the newest schema; True when anything was applied.

    Raises:
        WorkspaceError: the database cannot hold what we store (see
            :func:`_check_server`).
    """
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        _check_server(conn)
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return False
    command.upgrade(cfg, "head")
    return True
