"""From a format's raw VARCHAR table to the stored columns of a kind, set-based.

One SQL statement parses every field of every row (see :mod:`.rules`); a row
with any failing field is set aside, with one reject per failing field, and
is not imported. The good rows get ``row_fp``: an MD5 of all their canonical
columns, the identity by which an overlapping re-export is recognised as
already imported. Each value is written with its length and NULL as its own
token, so ``NULL`` and ``''`` and ``"a|b"`` versus ``"a", "b"`` never collide.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import duckdb

from daozhang.domain.records import SCHEMAS, Kind
from daozhang.ingest.base import ident, raw_columns
from daozhang.ingest.fields import field_names
from daozhang.ingest.rejects import Reject, RejectCode, make_reject
from daozhang.normalise.rules import RULES, Const, Rule, clean_sql, outputs_of, sql_str

__all__ = [
    "CROSS_CHECKS",
    "FILE_COLUMN",
    "NormaliseResult",
    "drop",
    "iter_rejects",
    "normalise",
    "parse_values",
    "rejected_rows_by_file",
    "row_fp_sql",
]

FILE_COLUMN = "__file"
"""In a batch of files read together, the column saying which file (0, 1, ...) a row is from."""

# Checks between fields of one row: (field blamed, condition over the stored
# values meaning the row is wrong, code). Run only where both fields parsed.
CROSS_CHECKS: dict[Kind, tuple[tuple[str, tuple[str, ...], str, RejectCode], ...]] = {
    Kind.MAINTENANCE: (
        ("end", ("start", "end"), "ends_at < starts_at", RejectCode.END_BEFORE_START),
    ),
}


@dataclass(frozen=True, slots=True)
class NormaliseResult:
    """The outcome: ``table`` holds the good rows, ``rejects_table`` one row per failing field.

    ``table`` (a view) columns: ``src_line``, the kind's schema columns in order, ``row_fp``.
    ``rejects_table`` columns: ``file, line, field, code, value, detail, raw``.
    For a batch (see :func:`normalise`) both also carry :data:`FILE_COLUMN`
    first; otherwise the rejects' ``file`` is 0.
    """

    table: str
    rejects_table: str
    rows: int
    rejected_rows: int
    work_table: str  # what ``table`` is a view over; dropped by :func:`drop`


def row_fp_sql(kind: Kind) -> str:
    """SQL for the fingerprint of a row of ``kind``: MD5 of every canonical column."""
    parts = []
    for col in SCHEMAS[kind]:
        text = f"CAST({ident(col.name)} AS VARCHAR)"
        parts.append(
            f"CASE WHEN {ident(col.name)} IS NULL THEN '~' "
            f"ELSE CAST(length({text}) AS VARCHAR) || ':' || {text} END"
        )
    return "md5(concat(" + ", '|', ".join(parts) + "))"


def _raw_text(kind: Kind, alias: str) -> str:
    """The row as read, for a reject: ``name=value`` for every non-empty field.

    Self-describing, because a raw table keeps only the kind's fields and not
    the file's column order; the line number leads back to the file itself.
    """
    parts = ", ".join(
        f"CASE WHEN {alias}.{ident(c)} IS NULL THEN NULL ELSE '{c}=' || {alias}.{ident(c)} END"
        for c in field_names(kind)
    )
    return f"concat_ws('; ', {parts})"


def _rules(kind: Kind) -> tuple[Rule, ...]:
    return tuple(r for r in RULES[kind] if not isinstance(r, Const))


def _only_if_slow(rule: Rule, expr: str) -> str:
    """A helper of the exact parse, computed only where the fast path gave nothing."""
    if rule.fast() is None:
        return expr
    return f"(CASE WHEN {rule.h('fast')} IS NULL AND {rule.t} IS NOT NULL THEN {expr} END)"


def _parse_query(kind: Kind, raw_table: str, keys: Sequence[str]) -> str:
    has_card = "card_state" in raw_columns(kind)
    return _rules_query(
        _rules(kind),
        field_names(kind),
        dict(outputs_of(kind)),
        raw_table,
        keys=keys,
        passthrough=("card_hash", "card_state") if has_card else (),
    )


def _rules_query(
    rules: Sequence[Rule],
    fields: Sequence[str],
    outputs: Mapping[str, str],
    raw_table: str,
    *,
    keys: Sequence[str] = ("src_line",),
    passthrough: Sequence[str] = (),
) -> str:
    """The one statement that parses ``fields`` of ``raw_table`` with ``rules``."""
    level = [*keys, *passthrough]
    level += [f"{clean_sql(ident(name))} AS t_{name}" for name in fields]
    query = f"SELECT {', '.join(level)} FROM {raw_table}"
    fasts = [f"{r.fast()} AS {r.h('fast')}" for r in rules if r.fast() is not None]
    if fasts:
        query = f"SELECT *, {', '.join(fasts)} FROM ({query})"
    depth = max((len(r.stages()) for r in rules), default=0)
    for k in range(depth):
        exprs = [
            f"{_only_if_slow(r, e)} AS {n}"
            for r in rules
            if len(r.stages()) > k
            for n, e in r.stages()[k].items()
        ]
        query = f"SELECT *, {', '.join(exprs)} FROM ({query})"
    errors = [f"CAST({r.error()} AS VARCHAR) AS {r.e}" for r in rules]
    query = f"SELECT *, {', '.join(errors)} FROM ({query})"
    cols = [f"{expr} AS {ident(col)}" for col, expr in outputs.items()]
    good = " AND ".join(f"{r.e} IS NULL" for r in rules) or "TRUE"
    # One column of errors, NULL for a good row, rather than one per field:
    # a million rows of mostly-NULL columns would still cost memory.
    listed = ", ".join(f"CASE WHEN {r.e} IS NOT NULL THEN '{r.field}=' || {r.e} END" for r in rules)
    errors_col = (
        f"CASE WHEN {good} THEN NULL ELSE concat_ws(';', {listed}) END" if rules else "NULL"
    )
    return (
        f"SELECT {', '.join(keys)}, {', '.join(cols)}, CAST({errors_col} AS VARCHAR) AS __errors "
        f"FROM ({query})"
    )


def parse_values(
    con: duckdb.DuckDBPyConnection, rule: Rule, values: Sequence[str | None]
) -> list[tuple[dict[str, object], str | None]]:
    """Parse single values with ``rule`` exactly as a file's column would be.

    For checking a value typed by a person (an API field, a test) against the
    same SQL that parses a million rows. Returns, per value, the stored
    columns and the reject code (None when it parsed).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE __values (src_line BIGINT, {rule.field} VARCHAR)")
    con.executemany("INSERT INTO __values VALUES (?, ?)", list(enumerate(values)))
    outputs = rule.outputs()
    query = _rules_query([rule], [rule.field], outputs, "__values")
    rows = con.execute(f"SELECT * FROM ({query}) ORDER BY src_line").fetchall()
    con.execute("DROP TABLE __values")
    names = list(outputs)
    return [
        (
            dict(zip(names, row[1 : 1 + len(names)], strict=True)),
            row[-1].split("=", 1)[1] if row[-1] else None,
        )
        for row in rows
    ]


def normalise(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    raw_table: str,
    *,
    out_table: str,
    rejects_table: str,
    batch: bool = False,
    scope_table: str | None = None,
) -> NormaliseResult:
    """Parse ``raw_table`` (a format's output for ``kind``) into ``out_table``.

    Args:
        con: the connection holding ``raw_table``.
        kind: the record kind.
        raw_table: columns :func:`daozhang.ingest.base.raw_columns` of ``kind``.
        out_table: the table to create with the good rows.
        rejects_table: the table to create with one row per failing field.
        batch: ``raw_table`` holds several files, told apart by
            :data:`FILE_COLUMN`: one statement for all of them, because a
            statement's fixed cost, not its rows, is what a day of small
            files (one bank statement per account) spends its time on.
        scope_table: a table of the merchants (``merchant_id``) and their
            settlement accounts (``account_no``) the uploader's organisation
            may import; a row naming any other is set aside with
            ``not_in_organisation``. None: no restriction.
    """
    rules = _rules(kind)
    work = f"{out_table}__all"
    keys = (FILE_COLUMN, "src_line") if batch else ("src_line",)
    file_of = f"n.{FILE_COLUMN}" if batch else "0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {work} AS {_parse_query(kind, raw_table, keys)}")
    for field, needs, condition, code in CROSS_CHECKS.get(kind, ()):
        # Only where the fields it compares parsed (their errors are listed as ";f=").
        fine = " AND ".join(
            f"NOT contains(';' || coalesce(__errors, '') || ';', ';{f}=')" for f in needs
        )
        con.execute(
            f"UPDATE {work} SET __errors = concat_ws(';', __errors, '{field}={code.value}') "
            f"WHERE {fine} AND ({condition})"
        )

    if scope_table is not None:
        _check_scope(con, kind, work, scope_table)

    bad_rows = _scalar(con, f"SELECT count(*) FROM {work} WHERE __errors IS NOT NULL")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rejects_table} (file INTEGER, line BIGINT, "
        "field VARCHAR, code VARCHAR, value VARCHAR, detail VARCHAR, raw VARCHAR)"
    )
    if bad_rows:
        value = " ".join(f"WHEN {sql_str(r.field)} THEN r.{ident(r.field)}" for r in rules)
        detail = " ".join(
            f"WHEN {sql_str(r.field)} THEN {sql_str(r.detail)}" for r in rules if r.detail
        )
        con.execute(
            f"""
            INSERT INTO {rejects_table}
            SELECT {file_of}, n.src_line,
                   split_part(n.e, '=', 1) AS field, split_part(n.e, '=', 2) AS code,
                   CASE split_part(n.e, '=', 1) {value} END,
                   {f"CASE split_part(n.e, '=', 1) {detail} END" if detail else "NULL"},
                   {_raw_text(kind, "r")}
            FROM (
                SELECT {", ".join(keys)}, unnest(string_split(__errors, ';')) AS e
                FROM {work} WHERE __errors IS NOT NULL
            ) AS n JOIN {raw_table} AS r USING ({", ".join(keys)})
            ORDER BY 1, 2, 3
            """
        )
    good = "__errors IS NULL"
    cols = ", ".join(ident(c.name) for c in SCHEMAS[kind])
    # A view, not a copy: the good rows are read once more (to be stored),
    # and the fingerprint is computed in that same pass.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {out_table} AS "
        f"SELECT {', '.join(keys)}, {cols}, {row_fp_sql(kind)} AS row_fp FROM {work} WHERE {good}"
    )
    rows = _scalar(con, f"SELECT count(*) FROM {work} WHERE {good}")
    rejected = _scalar(con, f"SELECT count(DISTINCT (file, line)) FROM {rejects_table}")
    return NormaliseResult(out_table, rejects_table, rows, rejected, work)


# Which stored column ties a row of a kind to an organisation, and the column
# of the scope table it must be found in. Maintenance windows are a bank's,
# not a merchant's, and anyone may record them.
_SCOPED_BY: dict[Kind, tuple[str, str]] = {
    Kind.POS_JOURNAL: ("merchant_id", "merchant_id"),
    Kind.SETTLEMENT: ("merchant_id", "merchant_id"),
    Kind.PAYOUTS: ("merchant_id", "merchant_id"),
    Kind.CONTRACTS: ("merchant_id", "merchant_id"),
    Kind.TERMINALS: ("merchant_id", "merchant_id"),
    Kind.BANK_STATEMENT: ("account_no", "account_no"),
}


def _check_scope(con: duckdb.DuckDBPyConnection, kind: Kind, work: str, scope_table: str) -> None:
    """Mark the rows that name a merchant (or an account) outside the scope."""
    if kind not in _SCOPED_BY:
        return
    column, allowed = _SCOPED_BY[kind]
    fine = f"NOT contains(';' || coalesce(__errors, '') || ';', ';{column}=')"
    con.execute(
        f"UPDATE {work} SET __errors = concat_ws(';', __errors, "
        f"'{column}={RejectCode.NOT_IN_ORGANISATION.value}') "
        f"WHERE {fine} AND {ident(column)} IS NOT NULL AND {ident(column)} NOT IN "
        f"(SELECT {allowed} FROM {scope_table} WHERE {allowed} IS NOT NULL)"
    )


def drop(con: duckdb.DuckDBPyConnection, result: NormaliseResult) -> None:
    """Drop what :func:`normalise` created."""
    con.execute(f"DROP VIEW IF EXISTS {result.table}")
    con.execute(f"DROP TABLE IF EXISTS {result.work_table}")
    con.execute(f"DROP TABLE IF EXISTS {result.rejects_table}")


def iter_rejects(
    con: duckdb.DuckDBPyConnection,
    rejects_table: str,
    *,
    path: str,
    file: int = 0,
    batch: int = 10_000,
) -> Iterator[Reject]:
    """The rejects of one file of a :func:`normalise` run, in line order, a batch at a time."""
    cur = con.execute(
        f"SELECT line, field, code, value, detail, raw FROM {rejects_table} WHERE file = ? "
        "ORDER BY line, field",
        [file],
    )
    while rows := cur.fetchmany(batch):
        for line, field, code, value, detail, raw in rows:
            yield make_reject(
                RejectCode(code),
                path=path,
                line=int(line),
                field=field,
                value=None if code == RejectCode.REQUIRED else value,
                raw=raw,
                detail=detail,
            )


def rejected_rows_by_file(con: duckdb.DuckDBPyConnection, rejects_table: str) -> dict[int, int]:
    """How many rows of each file of a batch were set aside (files with none are absent)."""
    rows = con.execute(
        f"SELECT file, count(DISTINCT line) FROM {rejects_table} GROUP BY file"
    ).fetchall()
    return {int(f): int(n) for f, n in rows}


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()  # fetched to the end: DuckDB 2.0 needs it
    return int(rows[0][0]) if rows else 0
