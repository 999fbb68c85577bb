"""A named, materialised step of a reconcile run: SQL plus why it exists.

Steps run in order; each may read the input tables and the steps before it.
Run-wide values (the as-of date, the arrival grace) come from the one-row
table ``params`` rather than being pasted into the SQL, so every step's text
is fixed and can be read, tested and transpiled once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Step", "add_working", "tx_key"]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    sql: str


def tx_key(alias: str) -> str:
    """The transaction key of RULES.md: ``M|rrn``, or ``M|T|batch|trace`` without an rrn."""
    a = alias
    return (
        f"CASE WHEN {a}.rrn IS NOT NULL THEN {a}.merchant_id || '|' || {a}.rrn "
        f"ELSE {a}.merchant_id || '|' || COALESCE({a}.terminal_id, '') || '|' "
        f"|| COALESCE({a}.batch_no, '') || '|' || COALESCE({a}.trace_no, '') END"
    )


def add_working(date_expr: str, n_expr: str, alias: str) -> str:
    """JOIN clauses that bind ``{alias}.d`` to the n-th working day strictly after a date.

    Uses the calendar table's running count of working days; see
    :mod:`daozhang.match.calendar_table`.
    """
    return (
        f"LEFT JOIN cal {alias}_from ON {alias}_from.d = {date_expr} "
        f"LEFT JOIN cal_working {alias} ON {alias}.wseq = {alias}_from.wseq + {n_expr}"
    )
