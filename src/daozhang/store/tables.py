"""The state database: imports, rejected rows, reconcile runs, exceptions.

SQLAlchemy Core tables in portable SQL: the same definitions run on SQLite
(the embedded default) and PostgreSQL (a URL change). Invariants that protect
money or history are constraints here, not ``if`` statements in Python:

* a file is committed once: ``imports.committed_sha256`` is unique and only
  set when an import commits (NULLs never collide), so importing the same file
  twice cannot commit twice, even from two processes at once;
* an exception is identified by ``(type, key)``: a re-run updates it, never
  duplicates it;
* history is append-only rows in ``exception_events``;
* who may see what (organisations, users, roles, sessions, API tokens) is
  kept by constraints too: a username, an organisation's name, a session's
  or token's hash are unique; a role is one of three; a merchant is given to
  an organisation once and its number has 15 characters. Secrets are never
  stored, only their SHA-256 (sessions, tokens) or argon2 hash (passwords).

Schema changes go through Alembic (``store/migrations``), never ``create_all``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    false,
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

# -- organisations, users and what they may see ------------------------------

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    # The organisation that runs the installation (a service provider): it sees
    # every merchant of the workspace, and the exceptions that have none.
    Column("all_merchants", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

org_merchants = Table(
    "org_merchants",
    metadata,
    Column(
        "org_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("merchant_id", String(32), primary_key=True),
    CheckConstraint("length(merchant_id) = 15", name="merchant_id_length"),
    # "which organisations see this merchant" (a shop and its provider)
    Index("ix_org_merchants_merchant_id", "merchant_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="role"),
    Index("ix_users_org_id", "org_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the first characters, to tell tokens apart
    Column("name", String(128), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_login_attempts_username_at", "username", "at"),
    Index("ix_login_attempts_client_at", "client", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_user_id", Integer, ForeignKey("users.id"), nullable=True),  # None: command line
    Column("actor", String(128), nullable=False),  # username, or cli:<os user>
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=True),
    Column("detail", Text, nullable=True),  # JSON object
    Index("ix_audit_log_org_id_id", "org_id", "id"),
)

# What the last successful reconcile run saw, for the pages and the daily
# report (report/totals.py): replaced whole, in the transaction that stores
# the run's exceptions, so they always agree with each other. ``run_id`` says
# which run; they are derived data and never the only copy of anything.
run_merchants = Table(
    "run_merchants",
    metadata,
    Column("merchant_id", String(32), primary_key=True),
    Column("merchant_name", Text, nullable=True),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
)

run_merchant_days = Table(
    "run_merchant_days",
    metadata,
    Column("merchant_id", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("sales_count", BigInteger, nullable=False),
    Column("sales_fen", BigInteger, nullable=False),
    Column("refunds_fen", BigInteger, nullable=False),
    Column("settled_count", BigInteger, nullable=False),
    Column("settled_fen", BigInteger, nullable=False),
    Column("fee_fen", BigInteger, nullable=False),
    Column("net_fen", BigInteger, nullable=False),
    Column("paid_out_fen", BigInteger, nullable=False),
    Column("arrived_fen", BigInteger, nullable=False),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Index("ix_run_merchant_days_day", "day"),
)

run_payout_days = Table(
    "run_payout_days",
    metadata,
    Column("merchant_id", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("payout_id", String(64), primary_key=True),
    Column("n_rows", BigInteger, nullable=False),
    Column("net_fen", BigInteger, nullable=False),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Index("ix_run_payout_days_payout_id", "payout_id"),
)

run_payouts = Table(
    "run_payouts",
    metadata,
    Column("payout_id", String(64), primary_key=True),
    Column("merchant_id", String(32), nullable=True),
    Column("settle_date", Date, nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("n_attempts", Integer, nullable=False),
    Column("failure_code", String(64), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("account_no", String(64), nullable=True),
    Column("bank_code", String(32), nullable=True),
    Column("nominal_end", Date, nullable=True),
    Column("extended_end", Date, nullable=True),
    Column("disposition", String(32), nullable=False),
    Column("credit_date", Date, nullable=True),
    Column("bank_txn_id", String(64), nullable=True),
    Column("credit_path", Text, nullable=True),
    Column("credit_line", BigInteger, nullable=True),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Index("ix_run_payouts_merchant_id", "merchant_id"),
)

run_payout_attempts = Table(
    "run_payout_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payout_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("failure_code", String(64), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=True),  # local time, as reported
    Column("src_path", Text, nullable=False),
    Column("src_line", BigInteger, nullable=False),
    Column("run_id", Integer, ForeignKey("reconcile_runs.id"), nullable=False),
    Index("ix_run_payout_attempts_payout_id", "payout_id"),
)
