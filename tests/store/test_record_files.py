"""Staging an import's rows as Parquet: what is new, what is already there, the file layout."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.domain.records import Kind, stored_columns
from daozhang.normalise.normalise import row_fp_sql
from daozhang.store.record_files import (
    FILE_NAME,
    BatchFile,
    import_id_of,
    list_record_files,
    publish,
    stage_batch,
)


def _terminals(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, str]]) -> None:
    """A normalised terminals table: (line, terminal_id, status)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE t_raw (src_line BIGINT, terminal_id VARCHAR, "
        "merchant_id VARCHAR, status VARCHAR, status_since DATE, reason VARCHAR, note VARCHAR)"
    )
    if rows:
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
    """Stage table ``t`` as one file alone: a batch of one."""
    con.execute("CREATE OR REPLACE TEMP VIEW t1 AS SELECT 0 AS __file, * FROM t")
    staged = stage_batch(
        con,
        kind=Kind.TERMINALS,
        table="t1",
        files=[BatchFile(0, import_id, "0" * 64, "terminals.csv")],
        existing=lambda _parts: stored,
        staging_root=root,
    )
    return staged.new_rows[0], staged.duplicate_rows[0], staged.files


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


def _stage_batch(
    con: duckdb.DuckDBPyConnection, files: list[list[str]], stored: list[Path], root: Path
) -> tuple[list[tuple[int, int]], tuple[Path, ...]]:
    """Stage terminal files (each a list of terminal ids) as one batch, imports 10, 11, ..."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE b_raw (__file INTEGER, src_line BIGINT, "
        "terminal_id VARCHAR, merchant_id VARCHAR, status VARCHAR, status_since DATE, "
        "reason VARCHAR, note VARCHAR)"
    )
    rows = [[n, line, t] for n, ids in enumerate(files) for line, t in enumerate(ids, 2)]
    if rows:
        con.executemany(
            "INSERT INTO b_raw VALUES (?, ?, ?, 'M1', 'active', NULL, NULL, NULL)", rows
        )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW b AS SELECT *, {row_fp_sql(Kind.TERMINALS)} AS row_fp "
        "FROM b_raw"
    )
    staged = stage_batch(
        con,
        kind=Kind.TERMINALS,
        table="b",
        files=[BatchFile(n, 10 + n, f"{n:064d}", f"f{n}.csv") for n in range(len(files))],
        existing=lambda _parts: stored,
        staging_root=root,
    )
    counts = [(staged.new_rows[n], staged.duplicate_rows[n]) for n in range(len(files))]
    return counts, staged.files


def test_a_batch_counts_each_file_as_if_imported_one_after_the_other(tmp_path: Path) -> None:
    """T1 stored once; then a file settles T1 twice, the next three times, the last once."""
    con = duckdb.connect()
    _terminals(con, [(2, "T1", "active")])
    _, _, first = _stage(con, 1, [], tmp_path / "s1")
    stored = publish(tmp_path / "s1", first, tmp_path / "records")
    counts, files = _stage_batch(
        con, [["T1", "T1"], ["T1", "T2", "T1", "T1"], ["T1"]], stored, tmp_path / "s2"
    )
    assert counts == [(1, 1), (2, 2), (0, 1)]
    (f,) = files
    assert f.name == "import-10-0.parquet"  # named after the batch's first import
    got = con.execute(
        f"SELECT import_id, src_line, terminal_id, row_occ, row_id, src_path "
        f"FROM '{tmp_path / 's2' / f}' ORDER BY import_id, src_line"
    ).fetchall()
    assert got == [
        (10, 3, "T1", 2, 10 * 2**32 + 3, "f0.csv"),
        (11, 3, "T2", 1, 11 * 2**32 + 3, "f1.csv"),
        (11, 5, "T1", 3, 11 * 2**32 + 5, "f1.csv"),
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["T1", "T2", "T3"]), max_size=5), min_size=1, max_size=4),
    st.lists(st.sampled_from(["T1", "T2"]), max_size=3),
)
def test_a_batch_stores_exactly_what_files_one_by_one_would(
    files: list[list[str]], stored_ids: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        con = duckdb.connect()
        stored: list[Path] = []
        if stored_ids:
            _terminals(con, [(i, t, "active") for i, t in enumerate(stored_ids, 2)])
            _, _, first = _stage(con, 1, [], root / "s0")
            stored = publish(root / "s0", first, root / "records")
        batch_counts, _ = _stage_batch(con, files, stored, root / "batch")

        one_by_one: list[tuple[int, int]] = []
        for n, ids in enumerate(files):
            _terminals(con, [(line, t, "active") for line, t in enumerate(ids, 2)])
            new, dup, written = _stage(con, 10 + n, stored, root / f"s{n + 1}")
            stored = stored + publish(root / f"s{n + 1}", written, root / "records")
            one_by_one.append((new, dup))
        assert batch_counts == one_by_one
