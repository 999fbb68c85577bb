"""Imported records as the pages show them: one record by file and line, and reference data.

The evidence of an exception and the steps of a money trail name records
by their file and line; a click shows that record as it was imported (card
numbers masked, amounts in fen). The settings page lists the reference data
(contracts, terminals, maintenance windows) as the rules see it: for each
key, the version imported last.

These read the workspace's Parquet files with DuckDB, like the rules do;
what a user may see is decided by the caller, who passes the merchants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from daozhang.domain.records import PARTITION_COLUMN, Kind, stored_columns
from daozhang.store.workspace import Workspace

__all__ = [
    "KIND_OF_ROLE",
    "REFERENCE_KINDS",
    "FoundRecord",
    "ReferencePage",
    "find_record",
    "reference_rows",
]

KIND_OF_ROLE: dict[str, Kind] = {
    "pos": Kind.POS_JOURNAL,
    "sale": Kind.POS_JOURNAL,
    "settlement": Kind.SETTLEMENT,
    "payout": Kind.PAYOUTS,
    "bank": Kind.BANK_STATEMENT,
    "contract": Kind.CONTRACTS,
    "terminal": Kind.TERMINALS,
    "maintenance": Kind.MAINTENANCE,
}
REFERENCE_KINDS = (Kind.CONTRACTS, Kind.TERMINALS, Kind.MAINTENANCE)

# Columns a person does not need to see on a record (internal numbering).
_HIDDEN = frozenset({"row_id", "import_id", "src_file", "row_fp", "row_occ"})


@dataclass(frozen=True, slots=True)
class FoundRecord:
    kind: Kind
    fields: dict[str, Any]

    @property
    def merchant_id(self) -> str | None:
        value = self.fields.get("merchant_id")
        return str(value) if value is not None else None


def _source(ws: Workspace, kind: Kind) -> str | None:
    """A FROM clause over the committed Parquet files of ``kind`` (None: there are none)."""
    files = ws.record_files(kind)
    if not files:
        return None
    listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    partition = PARTITION_COLUMN[kind]
    hive = ""
    if partition is not None:
        ptype = next(c.sql_type for c in stored_columns(kind) if c.name == partition)
        hive = f", hive_partitioning = true, hive_types = {{'{partition}': {ptype}}}"
    columns = ", ".join(c.name for c in stored_columns(kind))
    return f"(SELECT {columns} FROM read_parquet([{listing}]{hive}))"


def find_record(
    ws: Workspace,
    path: str,
    line: int,
    *,
    kinds: Sequence[Kind] = tuple(Kind),
    file_sha256: str | None = None,
) -> FoundRecord | None:
    """The record imported from ``path`` at ``line``, looking in ``kinds`` in order."""
    con = ws.duckdb()
    try:
        for kind in kinds:
            source = _source(ws, kind)
            if source is None:
                continue
            where = "src_path = ? AND src_line = ?"
            params: list[object] = [path, line]
            if file_sha256:
                where += " AND src_file = ?"
                params.append(file_sha256)
            cur = con.execute(f"SELECT * FROM {source} WHERE {where} LIMIT 1", params)
            row = cur.fetchone()
            if row is not None:
                names = [d[0] for d in cur.description or []]
                fields = {n: v for n, v in zip(names, row, strict=True) if n not in _HIDDEN}
                return FoundRecord(kind, fields)
    finally:
        con.close()
    return None


@dataclass(frozen=True, slots=True)
class ReferencePage:
    kind: Kind
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# The version the rules use: last imported per key (match/reference.py).
_CURRENT: dict[Kind, tuple[str, str, str]] = {
    Kind.CONTRACTS: (
        "merchant_id, effective_from",
        "merchant_id, effective_from DESC",
        "merchant_id, merchant_name, mcc, acquirer, settlement_account, "
        "settlement_account_name, settlement_bank_code, cycle, cutoff_secs, "
        "fee_debit_card_ppm, cap_debit_card_fen, fee_credit_card_ppm, fee_wechat_ppm, "
        "fee_alipay_ppm, fee_unionpay_qr_ppm, effective_from",
    ),
    Kind.TERMINALS: (
        "terminal_id, status_since",
        "merchant_id, terminal_id, status_since DESC",
        "terminal_id, merchant_id, status, status_since, reason, note",
    ),
    Kind.MAINTENANCE: (
        "bank_code, starts_at, ends_at, scope",
        "starts_at DESC, bank_code",
        "bank_code, starts_at, ends_at, scope, note",
    ),
}


def reference_rows(
    ws: Workspace,
    kind: Kind,
    *,
    merchant_ids: Sequence[str] | None,
    page: int = 1,
    per_page: int = 50,
) -> ReferencePage:
    """The current rows of a reference kind, a page at a time, with file and line.

    ``merchant_ids`` (None: all) narrows contracts and terminals to those
    merchants; maintenance windows are a bank's notices to everyone and
    are not narrowed.
    """
    key, order, columns = _CURRENT[kind]
    names = (*(c.strip() for c in columns.split(",")), "src_path", "src_line")
    source = _source(ws, kind)
    if source is None:
        return ReferencePage(kind, names, (), 0, page, per_page)
    where = ""
    params: list[object] = []
    if merchant_ids is not None and kind is not Kind.MAINTENANCE:
        if not merchant_ids:
            return ReferencePage(kind, names, (), 0, page, per_page)
        where = f"WHERE merchant_id IN ({', '.join('?' for _ in merchant_ids)})"
        params = list(merchant_ids)
    current = f"""
        SELECT {columns}, src_path, src_line FROM (
            SELECT *, ROW_NUMBER() OVER (
                PARTITION BY {key} ORDER BY import_id DESC, src_line DESC) AS version_rank
            FROM {source}
        ) v
        {where} {"AND" if where else "WHERE"} version_rank = 1
    """
    con = ws.duckdb()
    try:
        count = con.execute(f"SELECT COUNT(*) FROM ({current}) c", params).fetchone()
        total = int(count[0]) if count else 0
        cur = con.execute(
            f"SELECT * FROM ({current}) c ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, per_page, (max(1, page) - 1) * per_page],
        )
        rows = tuple(dict(zip(names, r, strict=True)) for r in cur.fetchall())
    finally:
        con.close()
    return ReferencePage(kind, names, rows, total, max(1, page), per_page)


def cutoff_text(seconds: int | None) -> str:
    """A contract's cutoff (seconds after midnight) as HH:MM."""
    if seconds is None:
        return ""
    return (dt.datetime.min + dt.timedelta(seconds=int(seconds))).strftime("%H:%M")
