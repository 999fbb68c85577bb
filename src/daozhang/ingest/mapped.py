"""Reading any CSV/XLS/XLSX table through a column-mapping profile.

:class:`MappedFormat` is the :class:`~daozhang.ingest.base.Format` of one
:class:`~daozhang.ingest.profiles.Profile`. It recognises a file by its
header row (every column the profile reads, after trimming padding), maybe a
title-row marker; the more of the header a profile explains, the more
confident it is, so ICBC's 15-column layout beats its 13-column one on a
15-column file and loses nothing on a 13-column one.

Reading is set-based. Python only walks the rows of cells
(:func:`~daozhang.ingest.cells.source_rows`): the rows above the header are
kept as title rows (for values like ``账号：...``), the cells of the columns
the profile reads go into a DuckDB staging table in Arrow batches. Then SQL
does everything else, for all rows at once:

1. where the data stops (the first row whose first cell matches ``stop``);
2. the cleanup (padding, ``-`` for empty, ``¥`` and thousand separators);
3. ONE generated SELECT with one expression per canonical field (a column,
   columns joined, a constant, a title value; a map of values; the amount's
   sign from a signed column, an income/expense pair or a direction
   column; dates and times parsed with the profile's strptime formats)
   and, beside each, the reject code when its value does not parse;
4. the rows without a code go to ``ctx.table`` through
   :func:`~daozhang.ingest.base.raw_query` (the card number masked); the
   others become rejects with file, line, field and reason.

Free-text fields (counterparty, reference, names) have every run of 13 to 19
digits masked like a card number: a bank statement's counterparty of a card
repayment *is* a card number, and no field but ``card`` may hold one.

**Running balance.** Where a layout has a balance column, consecutive rows
must agree: previous balance + this amount = this balance. Exports come
newest first or oldest first, so both orders are tried and the one with
fewer breaks is taken; when even that one breaks on more than half of the
rows the file is not in balance order (a credit-card bill sorted by
merchant) and nothing is said. A break means a row is missing between two
rows (or the bank's order is not the booking order). The row that shows it
is still imported, because its own money is right and dropping it would
lose a real entry; the break is reported on that row's line as a
``balance_break`` notice (a reject code in
:data:`~daozhang.ingest.rejects.NOTICES`: stored and listed like a reject,
not counted as a rejected row) so that a person looks for the missing entry.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from daozhang.domain.records import Kind
from daozhang.ingest.base import (
    FileHead,
    Identification,
    ReadContext,
    ReadResult,
    SourceFile,
    ident,
    raw_query,
)
from daozhang.ingest.cells import (
    CellRow,
    SpreadsheetError,
    head_names,
    parsed_head,
    source_rows,
    spreadsheet_kind,
)
from daozhang.ingest.profiles import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    TIMESTAMP_FIELDS,
    TRIM_CHARS,
    FieldMap,
    Profile,
    builtin_profiles,
    trim_cell,
)
from daozhang.ingest.rejects import Reject, RejectCode, make_reject

__all__ = [
    "BUILTIN_PROFILE_FORMATS",
    "Fit",
    "MappedFormat",
    "MappingQuery",
    "fit_rows",
    "mapped_formats",
    "mapping_select",
    "sql_str",
]

_BATCH = 65_536
# The header must be within the first rows; a profile's title rows are few.
_HEADER_WITHIN = 200
# Fields whose text is free and may carry a card number someone typed in.
_FREE_TEXT = frozenset(
    {
        "counterparty_name",
        "counterparty_account",
        "reference",
        "merchant_name",
        "account_name",
        "failure_reason",
        "note",
    }
)
# An amount as exports print it once padding and ¥ are gone: a sign, digits
# with thousand separators in groups of three only, any decimals.
_AMOUNT_RE = r"^[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$"
_PAN_RUN = r"(^|[^0-9])([0-9]{6})[0-9]{3,9}([0-9]{4})([^0-9]|$)"


def sql_str(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Fit:
    """How a file's head fits a profile: the header row found and what it lacks.

    ``line`` is the header's line (None when no row has any expected
    column); ``found`` its cells, trimmed; ``missing`` the expected columns
    it lacks, plus ``marker: ...`` when the title marker is absent.
    """

    line: int | None
    expected: tuple[str, ...]
    found: tuple[str, ...]
    missing: tuple[str, ...]
    index: int | None = None

    @property
    def fits(self) -> bool:
        return self.line is not None and not self.missing


def fit_rows(
    profile: Profile,
    rows: Sequence[CellRow],
    names: Sequence[frozenset[str]] | None = None,
) -> Fit:
    """Find ``profile``'s header among ``rows``: the row with the most expected columns.

    ``names`` are the rows' trimmed cells as sets, when the caller has them
    already (:func:`head_names`, shared by every profile asked about a file).
    """
    expected = profile.columns_used()
    want = frozenset(expected)
    if names is None:
        names = [frozenset(map(trim_cell, row.cells)) for row in rows[:_HEADER_WITHIN]]
    best: tuple[int, int] | None = None  # (matched, index)
    for i, row_names in enumerate(names[:_HEADER_WITHIN]):
        n = len(want & row_names)
        if n and (best is None or n > best[0]):
            best = (n, i)
            if n == len(want):
                break
    if best is None:
        return Fit(None, expected, (), expected)
    i = best[1]
    cells = tuple(trim_cell(c) for c in rows[i].cells)
    missing = [c for c in expected if c not in cells]
    if not missing and profile.marker is not None:
        marker = re.compile(profile.marker)
        if not any(marker.search(_row_text(r)) for r in rows[:i]):
            missing.append(f"marker: {profile.marker}")
    return Fit(rows[i].line, expected, cells, tuple(missing), i)


def _row_text(row: CellRow) -> str:
    return " ".join(t for t in (trim_cell(c) for c in row.cells) if t)


class MappedFormat:
    """The format of one profile (see the module docstring)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    @property
    def name(self) -> str:
        return f"profile.{self.profile.name}"

    @property
    def kind(self) -> Kind:
        return self.profile.kind

    def __repr__(self) -> str:
        return f"MappedFormat({self.profile.name!r})"

    def fit(self, head: FileHead) -> Fit:
        """Where ``head``'s header is and what of the profile's columns it lacks."""
        delimiter = self.profile.delimiter
        return fit_rows(
            self.profile, parsed_head(head, delimiter), head_names(head, delimiter, trim_cell)
        )

    def identify(self, head: FileHead) -> Identification:
        p = self.profile
        fit = self.fit(head)
        spreadsheet = spreadsheet_kind(head.head) is not None
        found = [c for c in fit.found if c]
        matched = len(fit.expected) - len([m for m in fit.missing if not m.startswith("marker")])
        closeness = matched / len(set(fit.expected) | set(found)) if fit.line else 0.0
        wrong_encoding = (
            not spreadsheet
            and p.encoding != "auto"
            and head.encoding is not None
            and not head.encoding.startswith(p.encoding)
        )
        if not fit.fits or wrong_encoding:
            missing = fit.missing + ((f"encoding: {p.encoding}",) if wrong_encoding else ())
            return Identification(
                format=self.name,
                kind=p.kind,
                confidence=0.0,
                missing=missing,
                closeness=closeness,
                reads_text=not spreadsheet,
            )
        # The share of the header the profile explains: the more specific wins.
        coverage = len(fit.expected) / max(len(set(found)), 1)
        confidence = 0.55 + 0.4 * min(coverage, 1.0) + (0.02 if p.marker else 0.0)
        return Identification(
            format=self.name,
            kind=p.kind,
            confidence=min(confidence, 0.97),
            closeness=1.0,
            reads_text=not spreadsheet,
        )

    # ------------------------------------------------------------ reading

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        path = str(source.path)
        stage = f"__mapped_stage_{ctx.table}"
        try:
            staged = self._stage(ctx.con, stage, source)
        except (csv.Error, SpreadsheetError, UnicodeDecodeError) as exc:
            # A NUL byte or an oversized field; a broken workbook; a copy that
            # is not UTF-8 (the importer gives UTF-8, a test may not).
            reject = make_reject(RejectCode.UNREADABLE_FILE, path=path, detail=type(exc).__name__)
            return ReadResult(table=ctx.table, rows_read=0, rejects=(reject,), method="mapped")
        if isinstance(staged, Reject):
            return ReadResult(table=ctx.table, rows_read=0, rejects=(staged,), method="mapped")
        columns, titles = staged
        ctx.progress(0.5)
        con = ctx.con
        try:
            rows_read = self._cut(con, stage)
            rejects = self._map(ctx, stage, columns, titles, path)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
            con.execute(f"DROP TABLE IF EXISTS {stage}_m")
        ctx.progress(1.0)
        return ReadResult(
            table=ctx.table, rows_read=rows_read, rejects=tuple(rejects), method="mapped"
        )

    def _stage(
        self, con: duckdb.DuckDBPyConnection, stage: str, source: SourceFile
    ) -> tuple[dict[str, int], dict[str, str | None]] | Reject:
        """Rows of cells into ``stage``: ``src_line``, ``first`` and ``c<i>`` per column read.

        Returns the column name -> index of the header and the title values,
        or a whole-file reject when no header row fits the profile.
        """
        p = self.profile
        rows = source_rows(source, delimiter=p.delimiter)
        head: list[CellRow] = []
        fit: Fit | None = None
        for row in rows:
            head.append(row)
            if len(head) > _HEADER_WITHIN:
                break
            f = fit_rows(p, [head[-1]])
            if f.line is not None and not [m for m in f.missing if not m.startswith("marker")]:
                fit = fit_rows(p, head)
                break
        if fit is None or not fit.fits or fit.index is None:
            return make_reject(
                RejectCode.HEADER_NOT_FOUND,
                path=str(source.path),
                detail=", ".join(fit.missing if fit else p.columns_used()),
            )
        index: dict[str, int] = {}
        for i, c in enumerate(fit.found):
            index.setdefault(c, i)
        titles = _titles(p, head[: fit.index])
        wanted = sorted({index[c] for c in p.columns_used()})
        names = ["src_line", "first", *(f"c{i}" for i in wanted)]
        schema = pa.schema(
            [pa.field("src_line", pa.int64())] + [pa.field(n, pa.string()) for n in names[1:]]
        )
        data: Iterator[CellRow] = itertools.islice(rows, p.skip_rows, None)

        def batches() -> Iterator[pa.RecordBatch]:
            # Rows are gathered whole and turned into columns per batch: one
            # comprehension per column is much cheaper than an append per cell.
            while True:
                taken = list(itertools.islice(data, _BATCH))
                if not taken:
                    return
                chunk = [r for r in taken if "".join(r.cells).strip()]  # blank: no record
                if not chunk:
                    continue
                cells = [r.cells for r in chunk]
                texts = [[c[0] if c else None for c in cells]] + [
                    [c[i] if i < len(c) else None for c in cells] for i in wanted
                ]
                yield pa.RecordBatch.from_arrays(
                    [pa.array([r.line for r in chunk], pa.int64())]
                    + [pa.array(t, pa.string()) for t in texts],
                    schema=schema,
                )

        reader = pa.RecordBatchReader.from_batches(schema, batches())
        view = f"{stage}_reader"
        con.register(view, reader)
        try:
            # One statement streams every batch in: no per-batch INSERT overhead.
            con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)
        return index, titles

    def _cut(self, con: duckdb.DuckDBPyConnection, stage: str) -> int:
        """Drop the summary rows (from the first ``stop`` row on); the number of data rows."""
        stop = self.profile.stop
        if stop is not None:
            first = f"trim(first, {sql_str(TRIM_CHARS)})"
            con.execute(
                f"DELETE FROM {stage} WHERE src_line >= (SELECT min(src_line) FROM {stage} "
                f"WHERE regexp_matches({first}, {sql_str(stop)}))"
            )
        result = con.execute(f"SELECT count(*) FROM {stage}").fetchone()
        return int(result[0]) if result else 0

    def _map(
        self,
        ctx: ReadContext,
        stage: str,
        columns: dict[str, int],
        titles: dict[str, str | None],
        path: str,
    ) -> list[Reject]:
        con = ctx.con
        query = mapping_select(self.profile, stage, columns, titles)
        m = f"{stage}_m"
        con.execute(f"CREATE TEMP TABLE {m} AS {query.sql}")
        ok = " AND ".join(f"{ident('e_' + f)} IS NULL" for f in query.fields) or "TRUE"
        sources = {f: ident("o_" + f) for f in query.fields}
        con.execute(
            f"CREATE TABLE {ctx.table} AS "
            + raw_query(self.kind, f"(SELECT * FROM {m} WHERE {ok}) AS __good", sources)
        )
        rejects = self._rejects(con, stage, m, query.fields, path)
        if self.profile.balance_check and "amount" in query.fields and "balance" in query.fields:
            rejects += self._balance_breaks(con, stage, m, ok, path)
        rejects.sort(key=lambda r: (r.line or 0, r.field or ""))
        return rejects

    def _rejects(
        self,
        con: duckdb.DuckDBPyConnection,
        stage: str,
        m: str,
        fields: Sequence[str],
        path: str,
    ) -> list[Reject]:
        if not fields:
            return []
        parts = [
            f"SELECT src_line, {sql_str(f)} AS field, {ident('e_' + f)} AS code, "
            f"{ident('v_' + f)} AS value, {ident('d_' + f)} AS detail FROM {m} "
            f"WHERE {ident('e_' + f)} IS NOT NULL"
            for f in fields
        ]
        raw = self._raw_sql(con, stage)
        rows = con.execute(
            f"SELECT r.src_line, r.field, r.code, r.value, r.detail, {raw} AS raw "
            f"FROM ({' UNION ALL '.join(parts)}) AS r JOIN {stage} AS s USING (src_line) "
            "ORDER BY r.src_line, r.field"
        ).fetchall()
        return [
            make_reject(
                RejectCode(code),
                path=path,
                line=int(line),
                field=field,
                value=value,
                detail=detail,
                raw=raw_text,
            )
            for line, field, code, value, detail, raw_text in rows
        ]

    @staticmethod
    def _raw_sql(con: duckdb.DuckDBPyConnection, stage: str) -> str:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                "AND column_name LIKE 'c%' ORDER BY column_index",
                [stage],
            ).fetchall()
        ]
        return "concat_ws(',', " + ", ".join(f"s.{c}" for c in cols) + ")" if cols else "NULL"

    def _balance_breaks(
        self, con: duckdb.DuckDBPyConnection, stage: str, m: str, ok: str, path: str
    ) -> list[Reject]:
        """Rows whose balance does not follow from their neighbour's (see the module docstring)."""
        del stage
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {m}_b AS SELECT src_line, n_amount AS a, "
            "n_balance AS bal, o_balance AS shown, "
            "lag(n_balance) OVER w AS pb, lead(n_balance) OVER w AS nb, "
            "lead(n_amount) OVER w AS na "
            f"FROM {m} WHERE {ok} AND n_amount IS NOT NULL AND n_balance IS NOT NULL "
            "WINDOW w AS (ORDER BY src_line)"
        )
        try:
            counts = con.execute(
                "SELECT count(*) FILTER (WHERE pb IS NOT NULL), "
                "count(*) FILTER (WHERE pb IS NOT NULL AND pb + a <> bal), "
                "count(*) FILTER (WHERE nb IS NOT NULL AND nb + a <> bal) "
                f"FROM {m}_b"
            ).fetchone()
            assert counts is not None
            pairs, oldest_first, newest_first = (int(c) for c in counts)
            breaks = min(oldest_first, newest_first)
            if pairs == 0 or breaks == 0 or breaks * 2 > pairs:
                return []
            if oldest_first <= newest_first:
                where, expected = "pb IS NOT NULL AND pb + a <> bal", "pb + a"
            else:
                where, expected = "nb IS NOT NULL AND nb + a <> bal", "nb + a"
            rows = con.execute(
                f"SELECT src_line, shown, CAST({expected} AS VARCHAR) FROM {m}_b "
                f"WHERE {where} ORDER BY src_line"
            ).fetchall()
        finally:
            con.execute(f"DROP TABLE IF EXISTS {m}_b")
        return [
            make_reject(
                RejectCode.BALANCE_BREAK,
                path=path,
                line=int(line),
                field="balance",
                value=shown,
                detail=_plain_decimal(exp),
            )
            for line, shown, exp in rows
        ]


def _plain_decimal(text: str) -> str:
    """``1625.1100000000`` -> ``1625.11``: a computed balance shown like the file's."""
    if "." not in text:
        return text
    whole, frac = text.split(".", 1)
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def _titles(profile: Profile, rows: Sequence[CellRow]) -> dict[str, str | None]:
    """Each named title value: the first group of its pattern's first match in the title rows."""
    out: dict[str, str | None] = {}
    for name, pattern in profile.titles:
        rx = re.compile(pattern)
        out[name] = None
        for row in rows:
            m = rx.search(_row_text(row))
            if m:
                value = m.group(1) if rx.groups else m.group(0)
                out[name] = trim_cell(value) or None
                break
    return out


# ---------------------------------------------------------------- SQL


@dataclass(frozen=True, slots=True)
class MappingQuery:
    """The generated SELECT and the fields it maps.

    Per field ``f`` it gives ``o_f`` (the canonical text), ``e_f`` (the
    reject code or NULL), ``v_f`` (the offending value) and ``d_f`` (the
    reject's detail); plus ``n_amount``/``n_balance`` as exact decimals for
    the balance check.
    """

    sql: str
    fields: tuple[str, ...]


def _neg(x: str) -> str:
    """SQL: the amount text ``x`` (no ``+``, no separators) with its sign turned."""
    return (
        f"(CASE WHEN {x} IS NULL THEN NULL "
        f"WHEN regexp_matches({x}, '^-?[0.]+$') THEN ltrim({x}, '-') "
        f"WHEN starts_with({x}, '-') THEN substr({x}, 2) ELSE '-' || {x} END)"
    )


def _amount_text(x: str) -> str:
    """SQL: cleaned amount text -> canonical (no ``+``, no separators), or NULL if no amount."""
    return (
        f"(CASE WHEN regexp_matches({x}, {sql_str(_AMOUNT_RE)}) "
        f"THEN replace(ltrim({x}, '+'), ',', '') END)"
    )


def _money_clean(x: str) -> str:
    """SQL: spaces (also inside), ``¥``/``￥`` and the wide space gone from an amount cell."""
    return f"NULLIF(regexp_replace({x}, '[\\s\\x{{3000}}¥￥]', '', 'g'), '')"


def _code(code: RejectCode) -> str:
    return sql_str(code.value)


class _Builder:
    """Builds the per-field expressions of one profile over the cleaned cells ``k<i>``."""

    def __init__(self, profile: Profile, columns: dict[str, int], titles: dict[str, str | None]):
        self.p = profile
        self.columns = columns
        self.titles = titles

    def col(self, name: str) -> str:
        return f"k{self.columns[name]}"

    def base(self, f: FieldMap) -> str:
        """The field's text before typing: a column, columns joined, a constant, a title."""
        if f.column is not None:
            expr = self.col(f.column)
        elif f.columns:
            parts = ", ".join(self.col(c) for c in f.columns)
            expr = f"NULLIF(concat_ws({sql_str(f.join)}, {parts}), '')"
        elif f.first_of:
            expr = f"coalesce({', '.join(self.col(c) for c in f.first_of)})"
        elif f.constant is not None:
            expr = sql_str(f.constant)
        elif f.title is not None:
            value = self.titles.get(f.title)
            expr = sql_str(value) if value is not None else "NULL::VARCHAR"
        else:
            expr = "NULL::VARCHAR"
        if f.extract is not None:
            group = 1 if re.compile(f.extract).groups else 0
            expr = f"NULLIF(regexp_extract({expr}, {sql_str(f.extract)}, {group}), '')"
        if f.map:
            whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in f.map)
            expr = f"(CASE {expr} {whens} ELSE {expr} END)"
        if f.default is not None:
            expr = f"coalesce({expr}, {sql_str(f.default)})"
        return expr

    def field(self, f: FieldMap) -> tuple[dict[str, str], dict[str, str]]:
        """(level-1 helper columns, level-2 output columns) for field ``f``."""
        name = f.field
        if name in AMOUNT_FIELDS:
            return self._amount(f)
        if name in DATE_FIELDS or name in TIMESTAMP_FIELDS:
            return self._time(f)
        text = self.base(f)
        if name in _FREE_TEXT:
            # Twice: a separator consumed by one match cannot start the next.
            once = f"regexp_replace({text}, {sql_str(_PAN_RUN)}, '\\1\\2******\\3\\4', 'g')"
            twice = f"regexp_replace({once}, {sql_str(_PAN_RUN)}, '\\1\\2******\\3\\4', 'g')"
            text = f"(CASE WHEN regexp_matches({text}, '[0-9]{{13}}') THEN {twice} ELSE {text} END)"
        return {f"h_{name}": text}, {
            f"o_{name}": f"h_{name}",
            f"e_{name}": "NULL::VARCHAR",
            f"v_{name}": "NULL::VARCHAR",
            f"d_{name}": "NULL::VARCHAR",
        }

    def _amount(self, f: FieldMap) -> tuple[dict[str, str], dict[str, str]]:
        name = f.field
        h = f"h_{name}"
        lax = f.bad_value == "empty"
        if f.income is not None and f.expense is not None:
            i_raw = _money_clean(self.col(f.income))
            e_raw = _money_clean(self.col(f.expense))
            level1 = {f"{h}_ir": i_raw, f"{h}_er": e_raw}
            i_t, e_t = _amount_text(f"{h}_ir"), _amount_text(f"{h}_er")
            level1[f"{h}_it"] = i_t.replace(f"{h}_ir", i_raw)
            level1[f"{h}_et"] = e_t.replace(f"{h}_er", e_raw)
            i_nz = f"(CAST({h}_it AS DECIMAL(38, 10)) <> 0)"
            e_nz = f"(CAST({h}_et AS DECIMAL(38, 10)) <> 0)"
            text = (
                f"(CASE WHEN {e_nz} AND NOT coalesce({i_nz}, false) THEN {_neg(f'{h}_et')} "
                f"WHEN {i_nz} AND NOT coalesce({e_nz}, false) THEN {h}_it "
                f"WHEN {i_nz} AND {e_nz} THEN NULL "
                f"ELSE coalesce({h}_it, {_neg(f'{h}_et')}) END)"
            )
            bad_i = f"({h}_ir IS NOT NULL AND {h}_it IS NULL)"
            bad_e = f"({h}_er IS NOT NULL AND {h}_et IS NULL)"
            error = (
                f"(CASE WHEN {bad_i} OR {bad_e} THEN {_code(RejectCode.BAD_AMOUNT)} "
                f"WHEN coalesce({i_nz} AND {e_nz}, false) "
                f"THEN {_code(RejectCode.BOTH_AMOUNTS)} END)"
            )
            value = (
                f"(CASE WHEN {bad_i} THEN {h}_ir WHEN {bad_e} THEN {h}_er "
                f"ELSE concat_ws(' / ', {h}_ir, {h}_er) END)"
            )
            if lax:
                text = f"(CASE WHEN {error} IS NULL THEN {text} END)"
                error = "NULL::VARCHAR"
            return level1, self._amount_out(name, text, error, value, "NULL::VARCHAR")
        raw = _money_clean(self.base(f))
        level1 = {f"{h}_r": raw}
        text = _amount_text(f"{h}_r")
        if f.negate:
            text = _neg(text)
        error = (
            f"(CASE WHEN {h}_r IS NOT NULL AND {_amount_text(f'{h}_r')} IS NULL "
            f"THEN {_code(RejectCode.BAD_AMOUNT)} END)"
        )
        value, detail = f"{h}_r", "NULL::VARCHAR"
        if f.direction is not None:
            d = f.direction
            level1[f"{h}_d"] = self.col(d.column)
            sign = (
                f"(CASE WHEN {h}_d IS NULL THEN NULL "
                f"WHEN regexp_matches({h}_d, {sql_str(d.credit)}) THEN '+' "
                f"WHEN regexp_matches({h}_d, {sql_str(d.debit)}) THEN '-' END)"
            )
            # The direction decides the sign whatever the amount's own: a
            # refund printed as 12.00 or as -12.00 is -12.00 either way.
            magnitude = f"ltrim({text}, '-')"
            text = f"(CASE {sign} WHEN '+' THEN {magnitude} WHEN '-' THEN {_neg(magnitude)} END)"
            error = (
                f"coalesce({error}, CASE WHEN {h}_r IS NOT NULL AND {sign} IS NULL "
                f"THEN {_code(RejectCode.BAD_DIRECTION)} END)"
            )
            value = f"(CASE WHEN {h}_r IS NOT NULL AND {sign} IS NULL THEN {h}_d ELSE {h}_r END)"
            detail = sql_str(f"{d.credit} / {d.debit}")
        if lax:
            text = f"(CASE WHEN {error} IS NULL THEN {text} END)"
            error = "NULL::VARCHAR"
        return level1, self._amount_out(name, text, error, value, detail)

    @staticmethod
    def _amount_out(name: str, text: str, error: str, value: str, detail: str) -> dict[str, str]:
        # The text is computed once, as a level-2 helper, and read by the outputs.
        h = f"h_{name}_t"
        out = {
            h: text,
            f"o_{name}": h,
            f"e_{name}": error,
            f"v_{name}": value,
            f"d_{name}": detail,
        }
        if name in ("amount", "balance"):
            out[f"n_{name}"] = f"TRY_CAST({h} AS DECIMAL(38, 10))"
        return out

    def _time(self, f: FieldMap) -> tuple[dict[str, str], dict[str, str]]:
        name = f.field
        h = f"h_{name}"
        raw = self.base(f)
        formats = list(f.formats)
        year_month = self._year_month(f)
        parse_input = f"{h}_r"
        if year_month is not None:
            # A date printed without its year (``12/29``) takes the statement's;
            # a month after the statement's month is of the year before.
            parse_input = f"({h}_r || '|{year_month[0]}')"
            formats = [fmt + "|%Y" for fmt in formats]
        fmt_list = "[" + ", ".join(sql_str(x) for x in formats) + "]"
        parsed = f"try_strptime({parse_input}, {fmt_list})"
        if year_month is not None:
            parsed = (
                f"(CASE WHEN month({parsed}) > {year_month[1]} "
                f"THEN {parsed} - INTERVAL 1 YEAR ELSE {parsed} END)"
            )
        out_fmt = "%Y-%m-%dT%H:%M:%S" if name in TIMESTAMP_FIELDS else "%Y-%m-%d"
        text = f"strftime({h}_p, {sql_str(out_fmt)})"
        error = (
            f"(CASE WHEN {h}_r IS NOT NULL AND {h}_p IS NULL "
            f"THEN {_code(RejectCode.BAD_DATE_FORMAT)} END)"
        )
        if f.bad_value == "empty":
            error = "NULL::VARCHAR"
        # level 1 holds raw; the parse refers to it, so it is a level-2 helper.
        return {f"{h}_r": raw}, {
            f"{h}_p": parsed,
            f"o_{name}": text,
            f"e_{name}": error,
            f"v_{name}": f"{h}_r",
            f"d_{name}": sql_str(" | ".join(f.formats)),
        }

    def _year_month(self, f: FieldMap) -> tuple[int, int] | None:
        if f.year_from is None:
            return None
        value = self.titles.get(f.year_from) or ""
        m = re.search(r"(\d{4})\D{1,3}(\d{1,2})", value)
        if m is None:
            return (0, 12)  # no statement month: every date fails to parse, with its line
        return int(m.group(1)), int(m.group(2))


def mapping_select(
    profile: Profile, stage: str, columns: dict[str, int], titles: dict[str, str | None]
) -> MappingQuery:
    """The ONE SELECT that maps ``stage``'s cells to canonical texts and reject codes.

    Levels (each a sub-SELECT, so every expression reads the one before):
    cleaned cells ``k<i>``, then per-field helpers, then parsed helpers and
    outputs. Readable on purpose: print ``.sql`` to see what a profile does.
    """
    b = _Builder(profile, columns, titles)
    used = sorted({columns[c] for c in profile.columns_used()})
    pad = sql_str(TRIM_CHARS)
    # trim() with a set of characters is slow; most cells need none, which
    # their first and last character tell cheaply.
    trimmed = {
        i: f"(CASE WHEN strpos({pad}, left(c{i}, 1)) = 0 AND strpos({pad}, right(c{i}, 1)) = 0 "
        f"THEN c{i} ELSE trim(c{i}, {pad}) END)"
        for i in used
    }

    def is_empty(t: str) -> str:
        if profile.empty == r"^-+$":  # the usual pattern, without a regex per cell
            return f"ltrim({t}, '-') = ''"
        return f"{t} = '' OR regexp_matches({t}, {sql_str(profile.empty)})"

    clean = ", ".join(
        f"(CASE WHEN {is_empty(t)} THEN NULL ELSE {t} END) AS k{i}" for i, t in trimmed.items()
    )
    level1: dict[str, str] = {}
    level2: dict[str, str] = {}
    names: list[str] = []
    for f in profile.fields:
        one, two = b.field(f)
        level1.update(one)
        level2.update(two)
        names.append(f.field)
    # Outputs that read a level-2 helper (a parsed date) need a third level.
    helpers2 = {k: v for k, v in level2.items() if k.startswith("h_")}
    outs = {k: v for k, v in level2.items() if not k.startswith("h_")}

    def sel(d: dict[str, str]) -> str:
        return "".join(f",\n  {v} AS {ident(k)}" for k, v in d.items())

    sql = (
        f"SELECT src_line{sel(outs)}\nFROM (SELECT *{sel(helpers2)}\n"
        f"FROM (SELECT *{sel(level1)}\n"
        f"FROM (SELECT src_line, {clean if clean else 'NULL AS k_none'} FROM {stage}) AS cleaned"
        ") AS l1) AS l2"
    )
    return MappingQuery(sql=sql, fields=tuple(names))


def mapped_formats(profiles: Sequence[Profile]) -> tuple[MappedFormat, ...]:
    """One format per profile, in order."""
    return tuple(MappedFormat(p) for p in profiles)


# The built-in profiles (the YAML files beside profiles.py), as formats.
BUILTIN_PROFILE_FORMATS: tuple[MappedFormat, ...] = mapped_formats(builtin_profiles())
