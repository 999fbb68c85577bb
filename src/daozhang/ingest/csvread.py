"""Reading a CSV file into DuckDB, with the physical line of every record.

The fast path is DuckDB's own reader, all VARCHAR, the dialect given
explicitly (no sniffing), single-threaded so that ``row_number() OVER ()``
follows the file, rows it cannot parse kept aside with ``store_rejects``.
DuckDB numbers records, not lines; the two agree exactly when every record
is one line and no line is blank. That is checked, cheaply and completely:
the file's content lines (counted while hashing it) must equal header + rows
+ rejected records.

When they differ (a quoted line break in a note, a blank line, old Mac line
ends), Python's ``csv`` module walks the file once to find the line each
record starts on, and DuckDB's rows get those lines, provided both split the
file into the same records (same count, same number of fields). Only when
they do not (an unterminated quote that swallowed lines, which DuckDB may
drop without a word) is the whole file read by Python's ``csv`` module,
which also resynchronises: a record that spans lines and has the wrong
number of fields is an unterminated quote, so only its first line is
rejected and reading resumes on the next line, as a person would read it.

Two DuckDB habits are guarded against: it accepts a record with one empty
field too many and drops that field (so one column more than the header is
read, and every record's true field count is checked), and it reads an
empty field as NULL (so NULL is reserved for "no such field").

Blank records (every field empty) are not records: they are dropped like
blank lines and not counted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import duckdb
import pyarrow as pa

from daozhang.domain.records import Kind
from daozhang.ingest.base import ReadContext, ReadResult, SourceFile, raw_query
from daozhang.ingest.rejects import Reject, RejectCode, make_reject

__all__ = ["CsvDialect", "parse_header", "read_csv_table"]

_BATCH = 65_536
_MAX_LINE = 8 << 20  # DuckDB max_line_size: longer lines are rejected, not read


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """The CSV dialect of a format, stated, never sniffed."""

    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'  # the same as quote: a quote is escaped by doubling it

    def reader(self, lines: Iterator[str] | TextIO) -> Iterator[list[str]]:
        """A strict ``csv.reader`` with this dialect (strict: a stray quote is an error)."""
        doubled = self.escape == self.quote
        return csv.reader(
            lines,
            delimiter=self.delimiter,
            quotechar=self.quote,
            doublequote=doubled,
            escapechar=None if doubled else self.escape,
            strict=True,
        )


def parse_header(text: str, dialect: CsvDialect) -> list[str] | None:
    """The header record at the very start of ``text``, or None when line 1 has none."""
    try:
        first = next(iter(dialect.reader(io.StringIO(text, newline=""))), None)
    except csv.Error:
        return None
    return first or None


def read_csv_table(
    ctx: ReadContext,
    source: SourceFile,
    *,
    kind: Kind,
    positions: Sequence[str | None],
    dialect: CsvDialect,
) -> ReadResult:
    """Read ``source`` into table ``ctx.table`` (the raw columns of ``kind``).

    Args:
        ctx: the connection, table name and progress callback.
        source: the file; its header is line 1.
        kind: the record kind (its input fields are the table's columns).
        positions: for each column of the file, the input field it holds, or
            None for a column to ignore.
        dialect: the CSV dialect.
    """
    if not source.bad_lines:
        result = _read_with_duckdb(ctx, source, kind, positions, dialect)
        if result is not None:
            return result
    return _read_with_python(ctx, source, kind, positions, dialect)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _blank_sql(n: int) -> str:
    """True when every field of the record is empty or spaces: a blank record.

    A CASE stops at the first field with content, which for a real record is
    the first one, so this costs one test per row rather than one per field.
    """
    whens = " ".join(f"WHEN trim(coalesce(c{i}, '')) <> '' THEN false" for i in range(n))
    return f"(CASE {whens} ELSE true END)"


@contextlib.contextmanager
def _poll_progress(ctx: ReadContext) -> Iterator[None]:
    """Report DuckDB's own progress of the running query from a side thread."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.1):
            pct = ctx.con.query_progress()
            if pct >= 0:
                ctx.progress(min(pct, 100.0) / 100.0)

    thread = threading.Thread(target=poll, name="daozhang-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


_DUCKDB_CODES = {
    "TOO MANY COLUMNS": RejectCode.WRONG_FIELD_COUNT,
    "MISSING COLUMNS": RejectCode.WRONG_FIELD_COUNT,
    "UNQUOTED VALUE": RejectCode.BAD_QUOTING,
    "INVALID ENCODING": RejectCode.UNDECODABLE_ROW,
    "LINE SIZE OVER MAXIMUM": RejectCode.LINE_TOO_LONG,
}
_FOUND = re.compile(r"Found: (\d+)")


# What DuckDB reads as NULL: a string no file holds, so that an empty field
# is '' and NULL only ever means "the record had no such field".
_NEVER = "\x01daozhang-no-such-value\x02"


def _read_with_duckdb(
    ctx: ReadContext,
    source: SourceFile,
    kind: Kind,
    positions: Sequence[str | None],
    dialect: CsvDialect,
) -> ReadResult | None:
    """The fast path; None when its line numbers cannot be trusted for this file.

    DuckDB quietly accepts a record with one empty field too many (``a,b,c,``
    for three columns) and drops it, shifting nothing visibly but losing the
    fact that the record was malformed. So one sentinel column more than the
    header is read, with short records padded with NULL and empty fields kept
    as '': the number of non-NULL columns is then the record's true field
    count, and any record whose count is not the header's is rejected.
    """
    con, table, n = ctx.con, ctx.table, len(positions)
    rej_table, rej_scan = f"{table}__rejects", f"{table}__scans"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n + 1)) + "}"
    read = (
        f"read_csv({_sql_str(str(source.data_path))}, header = true, columns = {columns}, "
        f"auto_detect = false, delim = {_sql_str(dialect.delimiter)}, "
        f"quote = {_sql_str(dialect.quote)}, escape = {_sql_str(dialect.escape)}, "
        f"nullstr = {_sql_str(_NEVER)}, parallel = false, null_padding = true, "
        f"strict_mode = true, max_line_size = {_MAX_LINE}, store_rejects = true, "
        f"rejects_table = {_sql_str(rej_table)}, rejects_scan = {_sql_str(rej_scan)})"
    )
    field_count = " + ".join(f"CAST(c{i} IS NOT NULL AS INTEGER)" for i in range(n + 1))
    from_sql = (
        f"(SELECT row_number() OVER () + 1 AS src_line, {_blank_sql(n)} AS __blank, "
        f"{field_count} AS __fields, * FROM {read}) AS __src"
    )
    sources = {name: f"c{i}" for i, name in enumerate(positions) if name}
    sql = raw_query(kind, from_sql, sources, passthrough=("src_line", "__blank", "__fields"))
    try:
        with _poll_progress(ctx):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
        errors = con.execute(
            f"SELECT line, first(error_type ORDER BY column_idx) AS error_type, "
            f"first(csv_line ORDER BY column_idx) AS csv_line, "
            f"first(error_message ORDER BY column_idx) AS error_message "
            f"FROM {rej_table} GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        _drop(con, table, rej_table, rej_scan)
        return None
    good = _count(con, table)
    method = "duckdb"
    one_line_each = good + len(errors) + 1 == source.lines.content_lines
    if not one_line_each or source.lines.lone_carriage_returns:
        # Record numbers are not line numbers here (a quoted line break, a
        # blank line): Python counts the lines, DuckDB keeps the data. Only
        # when the two disagree on the records is the file read by Python.
        seen = None if errors else _record_starts(source, dialect, n + 1)
        fields = _scalar_sum(con, f"SELECT sum(__fields) FROM {table}")
        if seen is None or len(seen[0]) != good or seen[1] != fields:
            _drop(con, table, rej_table, rej_scan)
            return None
        starts = seen[0]
        _renumber_from_starts(con, table, starts)
        method = "duckdb+python-lines"
    rejects = [_duckdb_reject(source, n, *row) for row in errors]
    if rejects:
        _renumber_around_rejects(con, table, [int(row[0]) for row in errors])
    _drop(con, rej_table, rej_scan)
    rejects += _reject_wrong_field_counts(con, table, source, n, dialect.quote)
    rejects.sort(key=lambda r: r.line or 0)
    con.execute(f"ALTER TABLE {table} DROP COLUMN __fields")
    kept = _drop_blank_records(con, table)
    ctx.progress(1.0)
    return ReadResult(
        table=table, rows_read=kept + len(rejects), rejects=tuple(rejects), method=method
    )


def _record_starts(
    source: SourceFile, dialect: CsvDialect, cap: int
) -> tuple[array[int], int] | None:
    """The line each record after the header starts on, by Python's csv module.

    Also the total number of fields (each record's count capped at ``cap``,
    as DuckDB reads at most that many), so the caller can check that Python
    and DuckDB split the file into the same records. None when a record does
    not parse (an unterminated quote): then only the resynchronising reader
    can say what the records are. One Python step per record, no field kept.
    """
    starts: array[int] = array("q")
    fields = 0
    with source.data_path.open(encoding="utf-8-sig", newline="") as f:
        reader = dialect.reader(f)
        previous_end = 0
        header = True
        try:
            for record in reader:
                if record:
                    if header:
                        header = False
                    else:
                        starts.append(previous_end + 1)
                        fields += min(len(record), cap)
                previous_end = reader.line_num  # type: ignore[attr-defined]
        except csv.Error:
            return None
    return starts, fields


def _renumber_from_starts(con: duckdb.DuckDBPyConnection, table: str, starts: array[int]) -> None:
    """Give the k-th record (``src_line = k + 1`` so far) the line Python found for it."""
    lines = pa.table(
        {"k": pa.array(range(2, len(starts) + 2), pa.int64()), "line": pa.array(starts, pa.int64())}
    )
    con.register("__record_starts", lines)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT t.* REPLACE (s.line AS src_line) "
            f"FROM {table} AS t JOIN __record_starts AS s ON t.src_line = s.k"
        )
    finally:
        con.unregister("__record_starts")


def _reject_wrong_field_counts(
    con: duckdb.DuckDBPyConnection, table: str, source: SourceFile, n: int, quote: str
) -> list[Reject]:
    """Reject (and remove) the records whose field count is not the header's.

    Their text for the reject is read back from the file by line number:
    few lines, and the exact text the user will find there. A line with an
    odd number of quotes lost its fields to a quote that never closed (an
    unterminated quote on the last line reaches here), which is what the
    user needs to hear.
    """
    wrong = con.execute(
        f"SELECT src_line, __fields FROM {table} WHERE NOT __blank AND __fields <> {n} "
        "ORDER BY src_line"
    ).fetchall()
    if not wrong:
        return []
    con.execute(f"DELETE FROM {table} WHERE NOT __blank AND __fields <> {n}")
    texts = _line_texts(source, {int(line) for line, _ in wrong})
    out: list[Reject] = []
    for line, fields in wrong:
        text = texts.get(int(line))
        if text is not None and text.count(quote) % 2 == 1:
            out.append(
                make_reject(RejectCode.BAD_QUOTING, path=str(source.path), line=int(line), raw=text)
            )
            continue
        out.append(
            make_reject(
                RejectCode.WRONG_FIELD_COUNT,
                path=str(source.path),
                line=int(line),
                value=str(fields),
                raw=text,
                detail=str(n),
            )
        )
    return out


def _line_texts(source: SourceFile, wanted: set[int]) -> dict[int, str]:
    """The text of some physical lines of the file (the fast path has no lone CRs)."""
    out: dict[int, str] = {}
    last = max(wanted)
    with source.data_path.open("rb") as f:
        for i, raw in enumerate(f, 1):
            if i in wanted:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                out[i] = text.removeprefix("\ufeff") if i == 1 else text
            if i >= last:
                break
    return out


def _duckdb_reject(
    source: SourceFile, n: int, line: int, error_type: str, csv_line: str | None, message: str
) -> Reject:
    code = _DUCKDB_CODES.get(error_type, RejectCode.UNREADABLE_ROW)
    value = detail = None
    if code is RejectCode.WRONG_FIELD_COUNT:
        found = _FOUND.search(message or "")
        value, detail = (found.group(1) if found else None), str(n)
    elif code is RejectCode.UNREADABLE_ROW:
        detail = message
    elif code is RejectCode.UNDECODABLE_ROW:
        detail = "UTF-8"
    return make_reject(
        code, path=str(source.path), line=int(line), value=value, raw=csv_line, detail=detail
    )


def _renumber_around_rejects(
    con: duckdb.DuckDBPyConnection, table: str, reject_lines: list[int]
) -> None:
    """Turn record numbers into lines when DuckDB left some records out.

    The i-th good row (``src_line = i + 1`` so far) sits on line
    ``i + 1 + (rejected lines before it)``. With the rejected lines sorted,
    the j-th has ``line_j - j - 1`` good rows before it, so the good row i
    moves down by the greatest j whose count is below i: an ASOF join.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE __reject_lines (line BIGINT)")
    con.executemany("INSERT INTO __reject_lines VALUES (?)", [[x] for x in reject_lines])
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH r AS (
            SELECT line - j - 1 AS good_before, max(j) AS shift
            FROM (SELECT line, row_number() OVER (ORDER BY line) AS j FROM __reject_lines)
            GROUP BY ALL
        )
        SELECT t.* REPLACE (t.src_line + coalesce(r.shift, 0) AS src_line)
        FROM {table} AS t ASOF LEFT JOIN r ON t.src_line - 1 > r.good_before
        """
    )
    con.execute("DROP TABLE __reject_lines")


def _drop_blank_records(con: duckdb.DuckDBPyConnection, table: str) -> int:
    con.execute(f"DELETE FROM {table} WHERE __blank")
    con.execute(f"ALTER TABLE {table} DROP COLUMN __blank")
    return _count(con, table)


def _scalar_sum(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    return int(rows[0][0]) if rows else 0


def _drop(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for t in tables:
        con.execute(f"DROP TABLE IF EXISTS {t}")


# --------------------------------------------------------------------------
# The fallback: Python's csv module, resynchronising after a bad quote.


class _Lines:
    """The file's lines for ``csv.reader``, remembering the current record's lines.

    ``taken`` holds the lines the reader pulled for the record being read, so
    a bad record can be rejected by its first line and the rest given back.
    """

    def __init__(self, f: TextIO) -> None:
        self._f = f
        self._back: list[str] = []  # given-back lines, last one first
        self.next_line = 1
        self.taken: list[str] = []
        self.chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._back:
            line = self._back.pop()
        else:
            line = next(self._f)
            self.chars += len(line)
        self.taken.append(line)
        self.next_line += 1
        return line

    def give_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.next_line -= len(lines)


def _records(
    source: SourceFile, n: int, dialect: CsvDialect, lines: _Lines
) -> Iterator[tuple[int, list[str]] | Reject]:
    """Yield ``(line, fields)`` for each good record and a Reject for each bad one."""
    path = str(source.path)
    reader = dialect.reader(lines)
    header_seen = False
    while True:
        start = lines.next_line
        lines.taken = []
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            taken = lines.taken
            quoted = dialect.quote in "".join(taken[:1])
            code = RejectCode.BAD_QUOTING if quoted else RejectCode.UNREADABLE_ROW
            raw = taken[0].rstrip("\r\n") if taken else None
            yield make_reject(code, path=path, line=start, raw=raw, detail=str(exc))
            lines.give_back(taken[1:])
            reader = dialect.reader(lines)
            continue
        span = len(lines.taken)
        if not record:
            continue  # a blank line
        if not header_seen:
            header_seen = True
            continue
        raw_first = lines.taken[0].rstrip("\r\n")
        if len(record) != n:
            if span > 1:
                # An opening quote never closed where it should: reject its
                # line only and read on from the next one.
                yield make_reject(RejectCode.BAD_QUOTING, path=path, line=start, raw=raw_first)
                lines.give_back(lines.taken[1:])
                reader = dialect.reader(lines)
            else:
                yield make_reject(
                    RejectCode.WRONG_FIELD_COUNT,
                    path=path,
                    line=start,
                    value=str(len(record)),
                    raw=raw_first,
                    detail=str(n),
                )
            continue
        if source.bad_lines and any(x in source.bad_lines for x in range(start, start + span)):
            yield make_reject(
                RejectCode.UNDECODABLE_ROW,
                path=path,
                line=start,
                raw=raw_first,
                detail=source.encoding.upper().replace("-SIG", ""),
            )
            continue
        yield start, record


def _read_with_python(
    ctx: ReadContext,
    source: SourceFile,
    kind: Kind,
    positions: Sequence[str | None],
    dialect: CsvDialect,
) -> ReadResult:
    con, table, n = ctx.con, ctx.table, len(positions)
    schema = pa.schema([("src_line", pa.int64())] + [(f"c{i}", pa.string()) for i in range(n)])
    sources = {name: f"c{i}" for i, name in enumerate(positions) if name}
    batch_view = f"{table}__batch"
    from_sql = f"(SELECT {_blank_sql(n)} AS __blank, * FROM {batch_view}) AS __src"
    sql = raw_query(kind, from_sql, sources, passthrough=("src_line", "__blank"))

    def flush(lines_: list[int], rows: list[list[str]], create: bool) -> None:
        cols: list[pa.Array[Any]] = [pa.array(lines_, pa.int64())]
        cols += [pa.array([r[i] for r in rows], pa.string()) for i in range(n)]
        con.register(batch_view, pa.Table.from_arrays(cols, schema=schema))
        try:
            verb = f"CREATE OR REPLACE TABLE {table} AS" if create else f"INSERT INTO {table}"
            con.execute(f"{verb} {sql}")
        finally:
            con.unregister(batch_view)

    size = max(source.data_path.stat().st_size, 1)
    rejects: list[Reject] = []
    line_nos: list[int] = []
    rows: list[list[str]] = []
    flush([], [], create=True)
    with source.data_path.open(encoding="utf-8-sig", newline="") as f:
        lines = _Lines(f)
        for item in _records(source, n, dialect, lines):
            if isinstance(item, Reject):
                rejects.append(item)
                continue
            line_nos.append(item[0])
            rows.append(item[1])
            if len(rows) >= _BATCH:
                flush(line_nos, rows, create=False)
                line_nos, rows = [], []
                ctx.progress(min(lines.chars / size, 1.0))
    if rows:
        flush(line_nos, rows, create=False)
    kept = _drop_blank_records(con, table)
    ctx.progress(1.0)
    return ReadResult(
        table=table, rows_read=kept + len(rejects), rejects=tuple(rejects), method="python"
    )
