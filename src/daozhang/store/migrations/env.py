"""Alembic environment: our tables, batch mode for SQLite, DDL inside transactions.

Run programmatically by :func:`daozhang.store.db.upgrade_to_head` (the engine
comes in through ``config.attributes``), or by a developer with
``alembic -x url=sqlite:///path/daozhang.db revision --autogenerate -m ...``
after pointing ``script_location`` here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from daozhang.store.db import make_engine
from daozhang.store.tables import metadata

config = context.config


def _engine() -> Engine:
    given = config.attributes.get("engine")
    if isinstance(given, Engine):
        return given
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or set sqlalchemy.url")
    return make_engine(url)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            # SQLite can run DDL in a transaction once pysqlite stops managing
            # transactions (store/db.py): a failed migration then rolls back whole.
            transactional_ddl=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
