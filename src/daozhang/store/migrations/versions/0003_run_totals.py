"""run totals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:21:58.257009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_merchant_days",
        sa.Column("merchant_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sales_count", sa.BigInteger(), nullable=False),
        sa.Column("sales_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunds_fen", sa.BigInteger(), nullable=False),
        sa.Column("settled_count", sa.BigInteger(), nullable=False),
        sa.Column("settled_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_out_fen", sa.BigInteger(), nullable=False),
        sa.Column("arrived_fen", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconcile_runs.id"],
            name=op.f("fk_run_merchant_days_run_id_reconcile_runs"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", "day", "channel", name=op.f("pk_run_merchant_days")),
    )
    with op.batch_alter_table("run_merchant_days", schema=None) as batch_op:
        batch_op.create_index("ix_run_merchant_days_day", ["day"], unique=False)

    op.create_table(
        "run_merchants",
        sa.Column("merchant_id", sa.String(length=32), nullable=False),
        sa.Column("merchant_name", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconcile_runs.id"], name=op.f("fk_run_merchants_run_id_reconcile_runs")
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_run_merchants")),
    )
    op.create_table(
        "run_payout_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("src_path", sa.Text(), nullable=False),
        sa.Column("src_line", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconcile_runs.id"],
            name=op.f("fk_run_payout_attempts_run_id_reconcile_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_payout_attempts")),
    )
    with op.batch_alter_table("run_payout_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_run_payout_attempts_payout_id", ["payout_id"], unique=False)

    op.create_table(
        "run_payout_days",
        sa.Column("merchant_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconcile_runs.id"], name=op.f("fk_run_payout_days_run_id_reconcile_runs")
        ),
        sa.PrimaryKeyConstraint("merchant_id", "day", "payout_id", name=op.f("pk_run_payout_days")),
    )
    with op.batch_alter_table("run_payout_days", schema=None) as batch_op:
        batch_op.create_index("ix_run_payout_days_payout_id", ["payout_id"], unique=False)

    op.create_table(
        "run_payouts",
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=32), nullable=True),
        sa.Column("settle_date", sa.Date(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("n_attempts", sa.Integer(), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("account_no", sa.String(length=64), nullable=True),
        sa.Column("bank_code", sa.String(length=32), nullable=True),
        sa.Column("nominal_end", sa.Date(), nullable=True),
        sa.Column("extended_end", sa.Date(), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("credit_date", sa.Date(), nullable=True),
        sa.Column("bank_txn_id", sa.String(length=64), nullable=True),
        sa.Column("credit_path", sa.Text(), nullable=True),
        sa.Column("credit_line", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconcile_runs.id"], name=op.f("fk_run_payouts_run_id_reconcile_runs")
        ),
        sa.PrimaryKeyConstraint("payout_id", name=op.f("pk_run_payouts")),
    )
    with op.batch_alter_table("run_payouts", schema=None) as batch_op:
        batch_op.create_index("ix_run_payouts_merchant_id", ["merchant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_run_payouts_merchant_id")

    op.drop_table("run_payouts")
    with op.batch_alter_table("run_payout_days", schema=None) as batch_op:
        batch_op.drop_index("ix_run_payout_days_payout_id")

    op.drop_table("run_payout_days")
    with op.batch_alter_table("run_payout_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_run_payout_attempts_payout_id")

    op.drop_table("run_payout_attempts")
    op.drop_table("run_merchants")
    with op.batch_alter_table("run_merchant_days", schema=None) as batch_op:
        batch_op.drop_index("ix_run_merchant_days_day")

    op.drop_table("run_merchant_days")
