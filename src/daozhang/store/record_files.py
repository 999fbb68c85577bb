"""The records as Parquet files: where they live, how an import adds to them, how they are read.

Layout, Hive style so that a new day's import only adds files::

    records/pos_journal/txn_date=2026-03-01/import-12-0.parquet
    records/contracts/import-3-0.parquet            (reference data: unpartitioned)

A file's name carries the id of the import that wrote it; a file counts only
when that import is committed in the database, so a half-finished import is
invisible even before it is cleaned up. Types are those Spark reads as they
are: BIGINT, INTEGER, VARCHAR, DATE, TIMESTAMP (microseconds); the partition
column lives in the directory name only.

**Nothing counted twice.** A row identical in every canonical field to one
already stored (an acquirer's overlapping re-export) is the same row; but
two identical rows in one file are two rows (an acquirer can settle a
transaction twice). Both hold with the pair ``(row_fp, row_occ)``: the k-th
occurrence of a fingerprint in a new file is new only if fewer than k rows
with that fingerprint are stored already, and it is stored as occurrence k.
One anti-join against the partitions the new file touches (an identical row
has the same partition value, so no other partition can hold it); no Python
loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb

from daozhang.domain.records import PARTITION_COLUMN, SCHEMAS, Kind, stored_columns
from daozhang.ingest.base import ident

__all__ = [
    "FILE_NAME",
    "RecordSource",
    "StagedRecords",
    "empty_select",
    "files_of_import",
    "import_id_of",
    "list_record_files",
    "publish",
    "register_record_views",
    "stage_new_records",
]

FILE_NAME = re.compile(r"^import-(\d+)-\d+\.parquet$")
ROW_ID_SHIFT = 2**32


def import_id_of(path: Path) -> int | None:
    """The import that wrote a record file, from its name (None: not a record file)."""
    m = FILE_NAME.match(path.name)
    return int(m.group(1)) if m else None


def _walk(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def list_record_files(
    records_dir: Path,
    kind: Kind,
    *,
    committed: set[int],
    partitions: Iterable[str] | None = None,
) -> list[Path]:
    """The record files of ``kind`` written by committed imports, in a stable order.

    Args:
        records_dir: the workspace's ``records`` folder.
        kind: the record kind.
        committed: the ids of committed imports.
        partitions: only these partition values (``2026-03-01``), for a
            partitioned kind; None for all.
    """
    root = records_dir / kind.value
    col = PARTITION_COLUMN[kind]
    if partitions is not None and col is not None:
        roots = [root / f"{col}={p}" for p in sorted(set(partitions))]
    else:
        roots = [root]
    out: list[Path] = []
    for r in roots:
        for p in _walk(r):
            i = import_id_of(p)
            if i is not None and i in committed:
                out.append(p)
    return out


def files_of_import(records_dir: Path, import_id: int) -> list[Path]:
    """Every record file an import wrote, of any kind, committed or not."""
    return [p for p in _walk(records_dir) if import_id_of(p) == import_id]


class RecordSource(Protocol):
    def record_files(self, kind: Kind) -> list[Path]: ...


def empty_select(kind: Kind) -> str:
    """A SELECT with ``kind``'s stored columns and no rows."""
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {ident(c.name)}" for c in stored_columns(kind))
    return f"SELECT {cols} WHERE 1 = 0"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_parquet(kind: Kind, files: Sequence[Path]) -> str:
    listing = ", ".join(_sql_str(str(f)) for f in files)
    col = PARTITION_COLUMN[kind]
    if col is None:
        return f"read_parquet([{listing}], hive_partitioning = false)"
    ptype = next(c.sql_type for c in SCHEMAS[kind] if c.name == col)
    return f"read_parquet([{listing}], hive_partitioning = true, hive_types = {{'{col}': {ptype}}})"


def register_record_views(
    con: duckdb.DuckDBPyConnection, source: RecordSource, kinds: Iterable[Kind] = tuple(Kind)
) -> None:
    """One view per kind, named after it, with exactly its stored columns.

    A kind with no committed files gets an empty view of the right types, so
    a query over a young workspace still runs. The partition column's type is
    stated, not guessed from directory names.
    """
    for kind in kinds:
        files = source.record_files(kind)
        if not files:
            con.execute(f"CREATE OR REPLACE VIEW {kind.value} AS {empty_select(kind)}")
            continue
        cols = ", ".join(
            f"CAST({ident(c.name)} AS {c.sql_type}) AS {ident(c.name)}"
            for c in stored_columns(kind)
        )
        scan = _read_parquet(kind, files)
        con.execute(f"CREATE OR REPLACE VIEW {kind.value} AS SELECT {cols} FROM {scan}")


@dataclass(frozen=True, slots=True)
class StagedRecords:
    """An import's new rows, written to staging: not yet visible."""

    new_rows: int
    duplicate_rows: int
    files: tuple[Path, ...]  # relative to the staging root


def stage_new_records(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: Kind,
    table: str,
    import_id: int,
    src_file: str,
    src_path: str,
    existing: Callable[[list[str] | None], list[Path]],
    staging_root: Path | None,
) -> StagedRecords:
    """Write the rows of ``table`` that are not stored yet as Parquet under ``staging_root``.

    Args:
        con: the connection holding ``table`` (normalised rows and ``row_fp``).
        kind: the record kind.
        table: ``src_line``, the kind's schema columns and ``row_fp``.
        import_id: this import's id (file names, ``row_id``).
        src_file: the file's SHA-256.
        src_path: the file as the user named it.
        existing: given the partition values the new rows touch (None for an
            unpartitioned kind), the committed files to compare against.
        staging_root: where to write (``<root>/<kind>/...``); None only counts
            (a dry run).
    """
    col = PARTITION_COLUMN[kind]
    touched: list[str] | None = None
    if col is not None:
        touched = [
            str(r[0])
            for r in con.execute(f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {table}").fetchall()
        ]
    files = existing(touched)
    if files:
        listing = ", ".join(_sql_str(str(f)) for f in files)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __stored_fp AS SELECT row_fp, count(*) AS n "
            f"FROM read_parquet([{listing}], hive_partitioning = false) GROUP BY row_fp"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE __stored_fp (row_fp VARCHAR, n BIGINT)")
    # Which rows are new is decided on a narrow table (line, fingerprint):
    # numbering occurrences there is cheap, and the wide rows are joined
    # back only for the rows that go into the files, one partition at a time.
    part = f"n.{col}" if col is not None else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __new_lines AS
        SELECT n.src_line, n.row_fp, CAST(n.occ AS INTEGER) AS row_occ, n.part
        FROM (
            SELECT src_line, row_fp, {part} AS part,
                   row_number() OVER (PARTITION BY row_fp ORDER BY src_line) AS occ
            FROM {table} AS n
        ) AS n LEFT JOIN __stored_fp AS s USING (row_fp)
        WHERE n.occ > coalesce(s.n, 0)
        """
    )
    total = _scalar(con, f"SELECT count(*) FROM {table}")
    new = _scalar(con, "SELECT count(*) FROM __new_lines")
    written: list[Path] = []
    if staging_root is not None and new:
        written = _write(
            con,
            kind,
            table,
            import_id=import_id,
            src_file=src_file,
            src_path=src_path,
            staging_root=staging_root,
        )
    con.execute("DROP TABLE __stored_fp")
    con.execute("DROP TABLE __new_lines")
    return StagedRecords(new, total - new, tuple(written))


def _write(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    table: str,
    *,
    import_id: int,
    src_file: str,
    src_path: str,
    staging_root: Path,
) -> list[Path]:
    """Write the new rows (``__new_lines`` joined to ``table``) as Parquet, one file per partition.

    A day's file touches a day or two, a big file has many rows a day: one
    COPY per partition then, which costs half the CPU of DuckDB's
    ``PARTITION_BY`` on a million rows. A file spread thinly over many days (a
    month's statement, a backfill) is written with ``PARTITION_BY`` in one
    statement rather than with dozens of small ones.
    The partition column lives in the directory name, not in the file.
    """
    col = PARTITION_COLUMN[kind]
    root = staging_root / kind.value
    root.mkdir(parents=True, exist_ok=True)
    schema_cols = ", ".join(
        f"CAST(n.{ident(c.name)} AS {c.sql_type}) AS {ident(c.name)}" for c in SCHEMAS[kind]
    )
    # row_id's ordinal is the source line: unique within a file (each record
    # starts on its own line), stable, and free (no sort to number rows).
    select = f"""
        SELECT
            CAST({import_id} AS BIGINT) * {ROW_ID_SHIFT} + n.src_line AS row_id,
            CAST({import_id} AS BIGINT) AS import_id,
            {_sql_str(src_file)} AS src_file,
            {_sql_str(src_path)} AS src_path,
            CAST(n.src_line AS BIGINT) AS src_line,
            k.row_fp,
            k.row_occ,
            {schema_cols}
        FROM {table} AS n JOIN __new_lines AS k USING (src_line)
    """
    stored = [ident(c.name) for c in stored_columns(kind)]
    name = f"import-{import_id}-0.parquet"
    if col is None:
        _copy(con, f"SELECT {', '.join(stored)} FROM ({select})", root / name)
        return [(root / name).relative_to(staging_root)]
    counts = con.execute(
        "SELECT part, count(*) FROM __new_lines GROUP BY part ORDER BY part"
    ).fetchall()
    values = [v for v, _ in counts]
    many_small = len(values) > _COPIES_PER_FILE and sum(n for _, n in counts) < (
        _ROWS_PER_COPY * len(values)
    )
    if many_small:
        con.execute(
            f"COPY (SELECT {', '.join(stored)} FROM ({select})) TO {_sql_str(str(root))} "
            f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({ident(col)}), "
            f"FILENAME_PATTERN 'import-{import_id}-{{i}}')"
        )
        return [p.relative_to(staging_root) for p in _walk(root)]
    in_file = ", ".join(c for c in stored if c != ident(col))
    files: list[Path] = []
    for value in values:
        literal = f"CAST({_sql_str(str(value))} AS {_type_of(kind, col)})"
        where = f" WHERE k.part = {literal} AND n.{ident(col)} = {literal}"
        folder = root / f"{col}={value}"
        folder.mkdir(parents=True, exist_ok=True)
        _copy(con, f"SELECT {in_file} FROM ({select}{where})", folder / name)
        files.append(folder / name)
    return [p.relative_to(staging_root) for p in files]


_COPIES_PER_FILE = 4
_ROWS_PER_COPY = 50_000  # below this per partition, one PARTITION_BY beats many COPYs


def _type_of(kind: Kind, column: str) -> str:
    return next(c.sql_type for c in SCHEMAS[kind] if c.name == column)


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> None:
    con.execute(f"COPY ({select}) TO {_sql_str(str(target))} (FORMAT parquet, COMPRESSION zstd)")


def publish(staging_root: Path, files: Iterable[Path], records_dir: Path) -> list[Path]:
    """Move staged files into ``records_dir``, durably; returns their new paths.

    Each file is flushed to disk before it is moved and each directory after,
    so that once the import commits in the database its files survive a
    power cut. A rename within one file system is atomic: a reader sees a
    file whole or not at all (and ignores it until the import commits).
    """
    moved: list[Path] = []
    dirs: set[Path] = set()
    for rel in files:
        src = staging_root / rel
        dst = records_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        _fsync_file(src)
        src.replace(dst)
        moved.append(dst)
        dirs.add(dst.parent)
    for d in sorted(dirs | {d.parent for d in dirs}):
        _fsync_dir(d)
    return moved


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory to flush it
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()  # fetched to the end: DuckDB 2.0 needs it
    return int(rows[0][0]) if rows else 0
