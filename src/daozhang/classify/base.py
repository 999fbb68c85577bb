"""What every classifier is: one exception type, its SQL, and how to read its facts.

A classifier module is plugin-sized (beancount's plugins are the model): its
docstring is its specification, with a *worked example* written in the
canonical file formats that its test runs for real (see
``tests/classify/worked_examples.py``). The example notation is::

    settlement.csv:
        acquirer,merchant_id,...        <- a canonical CSV, indented
        银联商务,898...,...
    as_of: 2026-11-06
    finds: late_settlement 898340153990001|R00000000001 100.00

Each classifier selects rows with the uniform columns of
:data:`FINDING_COLUMNS` (unused ones NULL) and, separately, its evidence as
``(key, role, row_id)`` rows. Both are plain SQL over the match steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daozhang.domain.findings import ExceptionType

__all__ = ["FINDING_COLUMNS", "Classifier", "finding_select", "transaction_ids"]

FINDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "VARCHAR"),
    ("merchant_id", "VARCHAR"),
    ("terminal_id", "VARCHAR"),
    ("batch_no", "VARCHAR"),
    ("trace_no", "VARCHAR"),
    ("rrn", "VARCHAR"),
    ("payout_id", "VARCHAR"),
    ("bank_txn_id", "VARCHAR"),
    ("amount_fen", "BIGINT"),  # the money at stake, >= 0
    ("currency", "VARCHAR"),
    # facts the explanation is written from; their meaning is per type
    ("exp_fen", "BIGINT"),
    ("act_fen", "BIGINT"),
    ("extra_fen", "BIGINT"),
    ("exp_date", "DATE"),
    ("act_date", "DATE"),
    ("ref_date", "DATE"),
    ("extra_date", "DATE"),
    ("exp_text", "VARCHAR"),
    ("act_text", "VARCHAR"),
    ("code", "VARCHAR"),
    ("detail", "VARCHAR"),
    ("n", "BIGINT"),
    ("t1", "TIMESTAMP"),
    ("t2", "TIMESTAMP"),
)
_TYPES = dict(FINDING_COLUMNS)


def finding_select(source: str, columns: Mapping[str, str]) -> str:
    """A SELECT with every finding column, in order, from ``source``.

    ``columns`` maps a finding column to its SQL expression; the rest are
    typed NULLs, so that every classifier's rows have one shape.
    """
    unknown = set(columns) - set(_TYPES)
    if unknown:
        raise ValueError(f"not finding columns: {sorted(unknown)}")
    parts = [
        f"CAST({columns[name]} AS {sql_type}) AS {name}"
        if name in columns
        else f"CAST(NULL AS {sql_type}) AS {name}"
        for name, sql_type in FINDING_COLUMNS
    ]
    return "SELECT " + ",\n       ".join(parts) + f"\n{source}"


def transaction_ids(alias: str) -> dict[str, str]:
    """The identifying columns of a transaction-level finding, from the row bound as ``alias``."""
    return {
        "key": f"{alias}.tx_key",
        **{
            c: f"{alias}.{c}" for c in ("merchant_id", "terminal_id", "batch_no", "trace_no", "rrn")
        },
    }


@dataclass(frozen=True, slots=True)
class Classifier:
    """One exception type: the rows it finds and the records it rests on."""

    type: ExceptionType
    findings: str  # SQL with FINDING_COLUMNS
    evidence: str  # SQL with (key, role, row_id)
    # The fact columns shown as the contract's `expected` and `actual` fields
    # (money as yuan, dates ISO); None when nothing sensible can be said.
    expected: str | None = None
    actual: str | None = None
