"""The records as Parquet files: where they live, how an import adds to them, how they are read.

Layout, Hive style so that a new day's import only adds files::

    records/pos_journal/txn_date=2026-03-01/import-12-0.parquet
    records/contracts/import-3-0.parquet            (reference data: unpartitioned)

A file's name carries the id of the import that wrote it (for files stored
as a batch, the batch's first import; the batch's imports commit together);
a file counts only when that import is committed in the database, so a
half-finished import is invisible even before it is cleaned up. Types are those Spark reads as they
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
from daozhang.normalise.normalise import FILE_COLUMN

__all__ = [
    "FILE_NAME",
    "BatchFile",
    "RecordSource",
    "StagedBatch",
    "empty_select",
    "files_of_import",
    "files_of_imports",
    "import_id_of",
    "list_record_files",
    "publish",
    "register_record_views",
    "stage_batch",
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
    return files_of_imports(records_dir, {import_id})


def files_of_imports(records_dir: Path, import_ids: set[int]) -> list[Path]:
    """Every record file named after one of ``import_ids``, of any kind, committed or not.

    A batch's files are named after its first import, so rolling back every
    import of a batch removes them.
    """
    return [p for p in _walk(records_dir) if import_id_of(p) in import_ids]


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
class BatchFile:
    """One file of a batch staged together: its number in the batch and its source."""

    file: int  # the value of FILE_COLUMN for its rows
    import_id: int
    src_file: str  # SHA-256
    src_path: str


@dataclass(frozen=True, slots=True)
class StagedBatch:
    """A batch's new rows, written to staging: not yet visible. Counts are per file."""

    new_rows: dict[int, int]
    duplicate_rows: dict[int, int]
    files: tuple[Path, ...]  # relative to the staging root


def stage_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: Kind,
    table: str,
    files: Sequence[BatchFile],
    existing: Callable[[list[str] | None], list[Path]],
    staging_root: Path | None,
) -> StagedBatch:
    """Write the rows of ``table`` that are not stored yet as Parquet under ``staging_root``.

    The files of a batch count as if imported one after the other in the
    order of their numbers: the k-th occurrence of a fingerprint in file j
    is new only if neither the stored rows nor any earlier file of the batch
    hold k of them already. The Parquet files are named after the batch's
    first import, so the batch becomes visible when its imports commit
    together (in one transaction).

    Args:
        con: the connection holding ``table``.
        kind: the record kind.
        table: FILE_COLUMN, ``src_line``, the kind's schema columns and ``row_fp``.
        files: every file of the batch (at least one).
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
    stored = existing(touched)
    if stored:
        listing = ", ".join(_sql_str(str(f)) for f in stored)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __stored_fp AS SELECT row_fp, count(*) AS n "
            f"FROM read_parquet([{listing}], hive_partitioning = false) GROUP BY row_fp"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE __stored_fp (row_fp VARCHAR, n BIGINT)")
    # Which rows are new is decided on a narrow table (file, line,
    # fingerprint): numbering occurrences there is cheap, and the wide rows
    # are joined back only for the rows that go into the files.
    part = f"n.{col}" if col is not None else "NULL"
    f = FILE_COLUMN
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __new_lines AS
        WITH keyed AS (
            SELECT {f}, src_line, row_fp, {part} AS part,
                   row_number() OVER (PARTITION BY {f}, row_fp ORDER BY src_line) AS occ
            FROM {table} AS n
        ), per_file AS (
            SELECT row_fp, {f}, count(*) AS c FROM keyed GROUP BY row_fp, {f}
        ), prior AS (
            SELECT p.row_fp, p.{f}, greatest(
                coalesce(s.n, 0),
                coalesce(max(p.c) OVER (PARTITION BY p.row_fp ORDER BY p.{f}
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            ) AS before
            FROM per_file AS p LEFT JOIN __stored_fp AS s USING (row_fp)
        )
        SELECT k.{f}, k.src_line, k.row_fp, CAST(k.occ AS INTEGER) AS row_occ, k.part
        FROM keyed AS k JOIN prior AS p USING (row_fp, {f})
        WHERE k.occ > p.before
        """
    )
    totals = dict(con.execute(f"SELECT {f}, count(*) FROM {table} GROUP BY {f}").fetchall())
    new = dict(con.execute(f"SELECT {f}, count(*) FROM __new_lines GROUP BY {f}").fetchall())
    written: list[Path] = []
    if staging_root is not None and new:
        written = _write(con, kind, table, files=files, staging_root=staging_root)
    con.execute("DROP TABLE __stored_fp")
    con.execute("DROP TABLE __new_lines")
    return StagedBatch(
        new_rows={b.file: int(new.get(b.file, 0)) for b in files},
        duplicate_rows={
            b.file: int(totals.get(b.file, 0)) - int(new.get(b.file, 0)) for b in files
        },
        files=tuple(written),
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    table: str,
    *,
    files: Sequence[BatchFile],
    staging_root: Path,
) -> list[Path]:
    """Write the new rows (``__new_lines`` joined to ``table``) as Parquet, one file per partition.

    A batch that touches a day or two, with many rows a day, is written
    with one COPY per partition (the new rows gathered once into a table
    first), which costs half the CPU of DuckDB's ``PARTITION_BY``; a batch
    spread thinly over many days (a month's statement, a backfill) is
    written with ``PARTITION_BY`` in one statement rather than with dozens
    of small ones. The partition column lives in the directory name, not in
    the file.
    """
    col = PARTITION_COLUMN[kind]
    root = staging_root / kind.value
    root.mkdir(parents=True, exist_ok=True)
    name_id = min(b.import_id for b in files)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __batch_files "
        "(file INTEGER, import_id BIGINT, src_file VARCHAR, src_path VARCHAR)"
    )
    con.executemany(
        "INSERT INTO __batch_files VALUES (?, ?, ?, ?)",
        [[b.file, b.import_id, b.src_file, b.src_path] for b in files],
    )
    schema_cols = ", ".join(
        f"CAST(n.{ident(c.name)} AS {c.sql_type}) AS {ident(c.name)}" for c in SCHEMAS[kind]
    )
    stored = [ident(c.name) for c in stored_columns(kind)]
    # row_id's ordinal is the source line: unique within a file (each record
    # starts on its own line), stable, and free (no sort to number rows).
    new_rows = f"""
        SELECT {", ".join(stored)} FROM (
            SELECT
                b.import_id * {ROW_ID_SHIFT} + n.src_line AS row_id,
                b.import_id,
                b.src_file,
                b.src_path,
                CAST(n.src_line AS BIGINT) AS src_line,
                k.row_fp,
                k.row_occ,
                {schema_cols}
            FROM {table} AS n
            JOIN __new_lines AS k USING ({FILE_COLUMN}, src_line)
            JOIN __batch_files AS b ON b.file = n.{FILE_COLUMN}
        )
    """
    name = f"import-{name_id}-0.parquet"
    try:
        if col is None:
            _copy(con, new_rows, root / name)
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
                f"COPY ({new_rows}) TO {_sql_str(str(root))} "
                f"({_PARQUET}, PARTITION_BY ({ident(col)}), "
                f"FILENAME_PATTERN 'import-{name_id}-{{i}}')"
            )
            return [p.relative_to(staging_root) for p in _walk(root)]
        # One COPY per partition reads the new rows again each time: gather them once.
        con.execute(f"CREATE OR REPLACE TEMP TABLE __new_rows AS {new_rows}")
        in_file = ", ".join(c for c in stored if c != ident(col))
        written: list[Path] = []
        for value in values:
            literal = f"CAST({_sql_str(str(value))} AS {_type_of(kind, col)})"
            folder = root / f"{col}={value}"
            folder.mkdir(parents=True, exist_ok=True)
            _copy(
                con,
                f"SELECT {in_file} FROM __new_rows WHERE {ident(col)} = {literal}",
                folder / name,
            )
            written.append(folder / name)
        return [p.relative_to(staging_root) for p in written]
    finally:
        con.execute("DROP TABLE IF EXISTS __new_rows")
        con.execute("DROP TABLE IF EXISTS __batch_files")


_COPIES_PER_FILE = 4
_ROWS_PER_COPY = 50_000  # below this per partition, one PARTITION_BY beats many COPYs


def _type_of(kind: Kind, column: str) -> str:
    return next(c.sql_type for c in SCHEMAS[kind] if c.name == column)


# zstd at its fastest level: files barely larger than at the default level 3,
# written in two thirds of the time; Spark and any Parquet reader read them.
_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> None:
    con.execute(f"COPY ({select}) TO {_sql_str(str(target))} ({_PARQUET})")


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
