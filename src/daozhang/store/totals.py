"""The last run's day and payout totals (report/totals.py) in the state database.

Stored whole by :func:`replace_totals` in the transaction that stores the
run's exceptions, so that a page never shows totals of one run beside
exceptions of another. Rows are written in chunks: ten million transactions
make about half a million day-channel rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from daozhang.report.totals import RunTotals
from daozhang.store.db import storable
from daozhang.store.tables import (
    run_merchant_days,
    run_merchants,
    run_payout_attempts,
    run_payout_days,
    run_payouts,
    workspace_meta,
)

__all__ = ["TOTALS_RUN_KEY", "replace_totals", "totals_run_id"]

TOTALS_RUN_KEY = "totals_run_id"
_CHUNK = 5_000


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


def _insert(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    # Identifiers come from users' files: fit them to the columns (store/db.py).
    for chunk in _chunks(storable(table, r) for r in rows):
        conn.execute(table.insert(), chunk)


def _as_rows(items: Sequence[Any], run_id: int) -> Iterator[dict[str, Any]]:
    if not items:
        return
    # Not dataclasses.asdict: it deep-copies every value, and half a million
    # rows of plain ints and dates took most of a minute.
    names = [f.name for f in dataclasses.fields(items[0])]
    for item in items:
        row = {n: getattr(item, n) for n in names}
        row["run_id"] = run_id
        yield row


def replace_totals(conn: Connection, *, run_id: int, totals: RunTotals) -> None:
    """Make ``totals`` of run ``run_id`` the stored ones (inside the caller's transaction)."""
    for table in (
        run_payout_attempts,
        run_payouts,
        run_payout_days,
        run_merchant_days,
        run_merchants,
    ):
        conn.execute(table.delete())
    _insert(
        conn,
        run_merchants,
        ({"merchant_id": m, "merchant_name": n, "run_id": run_id} for m, n in totals.merchants),
    )
    _insert(conn, run_merchant_days, _as_rows(totals.days, run_id))
    _insert(conn, run_payout_days, _as_rows(totals.payout_days, run_id))
    _insert(conn, run_payouts, _as_rows(totals.payouts, run_id))
    _insert(conn, run_payout_attempts, _as_rows(totals.attempts, run_id))
    conn.execute(workspace_meta.delete().where(workspace_meta.c.key == TOTALS_RUN_KEY))
    conn.execute(workspace_meta.insert().values(key=TOTALS_RUN_KEY, value=str(run_id)))


def totals_run_id(conn: Connection) -> int | None:
    """The run whose totals are stored; None before the first successful run."""
    value = conn.execute(
        sa.select(workspace_meta.c.value).where(workspace_meta.c.key == TOTALS_RUN_KEY)
    ).scalar_one_or_none()
    return int(value) if value is not None else None
