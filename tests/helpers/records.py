"""Build record tables with exactly the stored columns, for tests of the rules.

Real imports are tested elsewhere; here a test states the records of a
business situation directly, with only the fields that matter to it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from daozhang.domain.records import Kind, stored_columns
from daozhang.match.engine import DuckDBEngine

ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}

_ids = itertools.count(1)


def record_table(kind: Kind, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows of ``kind`` completed with source columns and derived dates."""
    cols = stored_columns(kind)
    data: dict[str, list[Any]] = {c.name: [] for c in cols}
    for i, given in enumerate(rows):
        r = dict(given)
        r.setdefault("row_id", next(_ids))
        r.setdefault("import_id", 1)
        r.setdefault("src_file", "0" * 64)
        r.setdefault("src_path", f"{kind.value}.csv")
        r.setdefault("src_line", i + 2)
        r.setdefault("row_fp", f"fp{r['row_id']}")
        r.setdefault("row_occ", 1)
        if "currency" in data:
            r.setdefault("currency", "CNY")
        if isinstance(r.get("txn_time"), dt.datetime):
            t = r["txn_time"]
            r.setdefault("txn_date", t.date())
            r.setdefault("txn_secs", t.hour * 3600 + t.minute * 60 + t.second)
        if isinstance(r.get("created_at"), dt.datetime):
            r.setdefault("created_date", r["created_at"].date())
        if isinstance(r.get("starts_at"), dt.datetime):
            r.setdefault("start_date", r["starts_at"].date())
            r.setdefault("end_date", r["ends_at"].date())
            r.setdefault("scope", "payouts")
        unknown = set(r) - set(data)
        if unknown:
            raise KeyError(f"{kind.value} has no columns {sorted(unknown)}")
        for c in cols:
            data[c.name].append(r.get(c.name))
    return pa.table({c.name: pa.array(data[c.name], ARROW_TYPES[c.sql_type]) for c in cols})


def engine_with(records: Mapping[Kind, Iterable[Mapping[str, Any]]]) -> DuckDBEngine:
    """A DuckDB engine with every kind loaded (empty where not given)."""
    engine = DuckDBEngine()
    for kind in Kind:
        engine.load_arrow(kind.value, record_table(kind, records.get(kind, [])))
    return engine
