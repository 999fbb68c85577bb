"""The state database: imports, rejected rows, reconcile runs, exceptions.

SQLAlchemy Core tables in portable SQL: the same definitions run on SQLite
(the embedded default) and PostgreSQL (a URL change). Invariants that protect
money or history are constraints here, not ``if`` statements in Python:

* a file is committed once: ``imports.committed_sha256`` is unique and only
  set when an import commits (NULLs never collide), so importing the same file
  twice cannot commit twice, even from two processes at once;
* an exception is identified by ``(type, key)``: a re-run updates it, never
  duplicates it;
* history is append-only rows in ``exception_events``.

Schema changes go through Alembic (``store/migrations``), never ``create_all``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Named constraints, so that Alembic batch operations on SQLite can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("committed_sha256", String(64), nullable=True, unique=True),
    Column("kind", String(32), nullable=True),  # pos_journal, settlement, ... once detected
    Column("format", String(64), nullable=True),  # the ingest format that read it
    Column("encoding", String(16), nullable=True),
    Column("status", String(16), nullable=False),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_imported", BigInteger, nullable=False, server_default="0"),
    Column("rows_duplicate", BigInteger, nullable=False, server_default="0"),
    Column("rows_rejected", BigInteger, nullable=False, server_default="0"),
    Column("message", Text, nullable=True),
    Column("actor", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "status IN ('running', 'committed', 'rolled_back', 'failed', 'duplicate_file')",
        name="status",
    ),
    Index("ix_imports_file_sha256", "file_sha256"),
)

rejects = Table(
    "rejects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("line", BigInteger, nullable=True),  # None for a whole-file problem
    Column("field", String(64), nullable=True),
    Column("value", Text, nullable=True),  # the offending value, card numbers masked
    Column("code", String(32), nullable=False),  # ingest.rejects.RejectCode: renders zh/en
    Column("detail", Text, nullable=True),  # the message's parameter (allowed values, ...)
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=True),  # the whole row as read, card numbers masked
    Index("ix_rejects_import_id", "import_id"),
)

reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("engine", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("stats", Text, nullable=True),  # JSON: counts per disposition, timings
    Column("warnings", Text, nullable=True),  # JSON list of strings
    Column("message", Text, nullable=True),
    CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("type", String(48), nullable=False),
    Column("key", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("merchant_id", String(32), nullable=True),
    Column("terminal_id", String(16), nullable=True),
    Column("batch_no", String(16), nullable=True),
    Column("trace_no", String(16), nullable=True),
    Column("rrn", String(32), nullable=True),
    Column("payout_id", String(64), nullable=True),
    Column("bank_txn_id", String(64), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("expected", Text, nullable=True),
    Column("actual", Text, nullable=True),
    Column("facts", Text, nullable=False),  # JSON object
    Column("evidence", Text, nullable=False),  # JSON list of {role, path, line, file_sha256}
    Column("due_date", Date, nullable=True),
    Column("ref_date", Date, nullable=True),  # the day it is about: txn date, or settle date
    Column("first_run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Column("last_run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolved_run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=True),
    Column("resolution", Text, nullable=True),  # JSON: why it is resolved, with evidence
    UniqueConstraint("type", "key", name="uq_exceptions_type_key"),
    CheckConstraint("status IN ('open', 'resolved')", name="status"),
    CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    Index("ix_exceptions_status_type", "status", "type"),
    Index("ix_exceptions_merchant_id", "merchant_id"),
    Index("ix_exceptions_ref_date", "ref_date"),
)

exception_events = Table(
    "exception_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "exception_id", Integer, ForeignKey("exceptions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("event", String(16), nullable=False),
    Column("detail", Text, nullable=True),  # JSON
    CheckConstraint("event IN ('opened', 'changed', 'resolved', 'reopened')", name="event"),
    Index("ix_exception_events_exception_id", "exception_id"),
)

workspace_meta = Table(
    "workspace_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
