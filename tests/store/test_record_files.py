"""Staging an import's rows as Parquet: what is new, what is already there, the file layout."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from daozhang.domain.records import Kind, stored_columns
from daozhang.normalise.normalise import row_fp_sql
from daozhang.store.record_files import (
    FILE_NAME,
    import_id_of,
    list_record_files,
    publish,
    stage_new_records,
)


def _terminals(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, str]]) -> None:
    """A normalised terminals table: (line, terminal_id, status)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE t_raw (src_line BIGINT, terminal_id VARCHAR, "
        "merchant_id VARCHAR, status VARCHAR, status_since DATE, reason VARCHAR, note VARCHAR)"
    )
    con.executemany(
        "INSERT INTO t_raw VALUES (?, ?, 'M1', ?, NULL, NULL, NULL)", [list(r) for r in rows]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW t AS SELECT *, {row_fp_sql(Kind.TERMINALS)} AS row_fp "
        "FROM t_raw"
    )


def _stage(
    con: duckdb.DuckDBPyConnection, import_id: int, stored: list[Path], root: Path | None
) -> tuple[int, int, tuple[Path, ...]]:
    staged = stage_new_records(
        con,
        kind=Kind.TERMINALS,
        table="t",
        import_id=import_id,
        src_file="0" * 64,
        src_path="terminals.csv",
        existing=lambda _parts: stored,
        staging_root=root,
    )
    return staged.new_rows, staged.duplicate_rows, staged.files


def test_identical_rows_in_one_file_are_both_kept(tmp_path: Path) -> None:
    con = duckdb.connect()
    _terminals(con, [(2, "T1", "active"), (3, "T1", "active"), (4, "T2", "active")])
    new, dup, files = _stage(con, 1, [], tmp_path / "stage")
    assert (new, dup) == (3, 0)
    (f,) = files
    rows = con.execute(
        f"SELECT src_line, row_occ, row_id FROM '{tmp_path / 'stage' / f}' ORDER BY src_line"
    ).fetchall()
    assert rows == [(2, 1, 2**32 + 2), (3, 2, 2**32 + 3), (4, 1, 2**32 + 4)]


def test_a_reexport_adds_only_what_was_not_stored(tmp_path: Path) -> None:
    con = duckdb.connect()
    _terminals(con, [(2, "T1", "active"), (3, "T2", "active")])
    _, _, files = _stage(con, 1, [], tmp_path / "s1")
    stored = publish(tmp_path / "s1", files, tmp_path / "records")
    # The next export repeats T1, settles T2 a second time, and adds T3.
    _terminals(
        con, [(2, "T1", "active"), (3, "T2", "active"), (4, "T2", "active"), (5, "T3", "suspended")]
    )
    new, dup, files2 = _stage(con, 2, stored, tmp_path / "s2")
    assert (new, dup) == (2, 2)
    (f,) = files2
    got = con.execute(
        f"SELECT terminal_id, row_occ FROM '{tmp_path / 's2' / f}' ORDER BY src_line"
    ).fetchall()
    assert got == [("T2", 2), ("T3", 1)]


def test_a_dry_run_counts_without_writing(tmp_path: Path) -> None:
    con = duckdb.connect()
    _terminals(con, [(2, "T1", "active")])
    assert _stage(con, 0, [], None) == (1, 0, ())


def test_files_are_named_by_import_and_moved_into_records(tmp_path: Path) -> None:
    con = duckdb.connect()
    _terminals(con, [(2, "T1", "active")])
    _, _, files = _stage(con, 42, [], tmp_path / "stage")
    (moved,) = publish(tmp_path / "stage", files, tmp_path / "records")
    assert moved == tmp_path / "records" / "terminals" / "import-42-0.parquet"
    assert FILE_NAME.match(moved.name) and import_id_of(moved) == 42
    assert not (tmp_path / "stage" / files[0]).exists()
    assert list_record_files(tmp_path / "records", Kind.TERMINALS, committed={42}) == [moved]
    assert list_record_files(tmp_path / "records", Kind.TERMINALS, committed={41}) == []
    schema = pq.read_schema(moved)
    assert schema.names == [c.name for c in stored_columns(Kind.TERMINALS)]
