"""``import_paths``: what a shop gets when it imports its exports."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.domain.records import PARTITION_COLUMN, Kind, stored_columns
from daozhang.ingest.base import FileHead, Identification, ReadContext, ReadResult, SourceFile
from daozhang.ingest.fields import field_names
from daozhang.ingest.rejects import RejectCode
from daozhang.ingest.rows import SMALL, RowSink
from daozhang.service.imports import FileStatus, ImportReport, import_paths
from daozhang.store import repo
from daozhang.store.record_files import register_record_views
from daozhang.store.tables import metadata
from daozhang.store.workspace import Workspace
from tests.helpers.samples import SAMPLES

WriteCsv = Callable[..., Path]  # the write_csv fixture (tests/conftest.py)

POS = ",".join(field_names(Kind.POS_JOURNAL))
SETTLEMENT = ",".join(field_names(Kind.SETTLEMENT))
BANK = ",".join(field_names(Kind.BANK_STATEMENT))
PAN_A, PAN_B, PAN_C = "6228480012345678", "6217000011112222333", "4111111111111111"


def pos_row(trace: int, amount: str = "100.00", card: str = "", day: str = "01") -> str:
    return (
        f"102100000000001,T0000001,000001,{trace:06d},60000000{trace:04d},"
        f"2026-03-{day}T10:{trace % 60:02d}:00,sale,debit_card,{card},{amount},,approved,00,A1,"
    )


def settle_row(trace: int, day: str = "02") -> str:
    return (
        f"银联商务,102100000000001,上海某某餐饮有限公司,5812,T0000001,000001,{trace:06d},"
        f"60000000{trace:04d},2026-03-01T10:00:00,sale,debit_card,,100.00,0.50,99.50,"
        f"2026-03-{day},P0302"
    )


def rows_in(ws: Workspace, kind: Kind) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    register_record_views(con, ws, [kind])
    return con.execute(
        f"SELECT src_path, src_line, row_occ FROM {kind.value} ORDER BY src_path, src_line"
    ).fetchall()


def everything_in_the_database(ws: Workspace) -> bytes:
    """Every value of every row of every state table, as text."""
    with ws.db.connect() as conn:
        rows = [r for t in metadata.sorted_tables for r in conn.execute(sa.select(t))]
    assert rows  # the imports at least
    return "\n".join(repr(tuple(r)) for r in rows).encode()


def one(report: ImportReport) -> object:
    (f,) = report.files
    return f


def test_a_days_pos_journal_goes_in_whole(any_db_workspace: Workspace, write_csv: WriteCsv) -> None:
    workspace = any_db_workspace
    path = write_csv("pos_20260301.csv", POS, [pos_row(i) for i in range(1, 6)])
    report = import_paths(workspace, [path])
    (f,) = report.files
    assert f.status is FileStatus.IMPORTED and f.kind is Kind.POS_JOURNAL
    assert (f.rows_read, f.rows_imported, f.rows_duplicate, f.rows_rejected) == (5, 5, 0, 0)
    assert f.encoding == "utf-8" and f.format == "canonical.pos_journal"
    assert report.exit_code == 0
    assert [r[1] for r in rows_in(workspace, Kind.POS_JOURNAL)] == [2, 3, 4, 5, 6]
    with workspace.db.connect() as conn:
        (imp,) = repo.list_imports(conn)
    assert imp.status == "committed" and imp.actor == report.actor


def test_same_settlement_file_imported_twice_changes_nothing_and_says_so(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    workspace = any_db_workspace
    path = write_csv("settlement.csv", SETTLEMENT, [settle_row(i) for i in range(3)])
    first = one(import_paths(workspace, [path]))
    again = import_paths(workspace, [path])
    f = again.files[0]
    assert f.status is FileStatus.ALREADY_IMPORTED
    assert f.duplicate_of == first.import_id  # type: ignore[attr-defined]
    assert again.exit_code == 0
    assert len(rows_in(workspace, Kind.SETTLEMENT)) == 3
    with workspace.db.connect() as conn:
        statuses = [i.status for i in repo.list_imports(conn)]
    assert statuses == ["duplicate_file", "committed"]


def test_acquirer_reexport_overlapping_yesterday_is_counted_once(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    monday = write_csv("settle_mon.csv", SETTLEMENT, [settle_row(i) for i in (1, 2, 3)])
    # Tuesday's export repeats two of Monday's rows (re-formatted) and adds one.
    tuesday_rows = [settle_row(2).replace("100.00", "100.0"), settle_row(3), settle_row(4)]
    tuesday = write_csv("settle_tue.csv", SETTLEMENT, tuesday_rows)
    import_paths(workspace, [monday])
    f = one(import_paths(workspace, [tuesday]))
    assert (f.rows_read, f.rows_imported, f.rows_duplicate) == (3, 1, 2)  # type: ignore[attr-defined]
    assert len(rows_in(workspace, Kind.SETTLEMENT)) == 4


def test_acquirer_settling_a_transaction_twice_in_one_file_keeps_both_rows(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv("settle.csv", SETTLEMENT, [settle_row(7), settle_row(7), settle_row(8)])
    f = one(import_paths(workspace, [path]))
    assert (f.rows_imported, f.rows_duplicate) == (3, 0)  # type: ignore[attr-defined]
    assert [r[2] for r in rows_in(workspace, Kind.SETTLEMENT)] == [1, 2, 1]
    # Re-exported with the transaction still settled twice, plus once more: one new row.
    again = write_csv("settle2.csv", SETTLEMENT, [settle_row(7)] * 3)
    f2 = one(import_paths(workspace, [again]))
    assert (f2.rows_imported, f2.rows_duplicate) == (1, 2)  # type: ignore[attr-defined]


def test_monday_tuesday_and_a_copy_of_monday_in_one_folder_count_each_row_once(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    """One import command: the files are stored as one batch, with the same result."""
    workspace = any_db_workspace
    rows = [settle_row(i) for i in (1, 2, 3)]
    monday = write_csv("a_settle_mon.csv", SETTLEMENT, rows)
    tuesday = write_csv("b_settle_tue.csv", SETTLEMENT, [settle_row(3), settle_row(4)])
    copy = write_csv("c_settle_mon_copy.csv", SETTLEMENT, rows)
    report = import_paths(workspace, [monday, tuesday, copy])
    mon, tue, dup = report.files
    assert (mon.rows_imported, mon.rows_duplicate) == (3, 0)
    assert (tue.rows_imported, tue.rows_duplicate) == (1, 1)
    assert dup.status is FileStatus.ALREADY_IMPORTED and dup.duplicate_of == mon.import_id
    assert report.exit_code == 0
    assert [r[0] for r in rows_in(workspace, Kind.SETTLEMENT)] == [str(monday)] * 3 + [str(tuesday)]
    with workspace.db.connect() as conn:
        statuses = {i.path: i.status for i in repo.list_imports(conn)}
    assert statuses == {
        str(monday): "committed",
        str(tuesday): "committed",
        str(copy): "duplicate_file",
    }


@pytest.mark.parametrize("batch_files", [1, 2, 200])
def test_a_day_of_many_small_files_gives_the_same_answer_in_batches_of_any_size(
    workspace: Workspace, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch, batch_files: int
) -> None:
    """A provider imports hundreds of small files; they are stored a batch at a time.

    Copies of a file are recognised whether the original is still waiting in
    its batch or was stored in an earlier one, and name the original's import.
    """
    monkeypatch.setattr("daozhang.service.imports.BATCH_FILES", batch_files)
    mon = write_csv("a_mon.csv", SETTLEMENT, [settle_row(i) for i in (1, 2, 3)])
    mon_copy = write_csv("b_mon_copy.csv", SETTLEMENT, [settle_row(i) for i in (1, 2, 3)])
    tue = write_csv("c_tue.csv", SETTLEMENT, [settle_row(3), settle_row(4)])
    wed = write_csv("d_wed.csv", SETTLEMENT, [settle_row(5)])
    mon_again = write_csv("e_mon_again.csv", SETTLEMENT, [settle_row(i) for i in (1, 2, 3)])

    report = import_paths(workspace, [mon, mon_copy, tue, wed, mon_again])

    a, b, c, d, e = report.files
    assert [f.rows_imported for f in (a, c, d)] == [3, 1, 1]
    assert c.rows_duplicate == 1
    assert b.status is e.status is FileStatus.ALREADY_IMPORTED
    assert b.duplicate_of == e.duplicate_of == a.import_id is not None
    with workspace.db.connect() as conn:
        statuses = sorted((i.path, i.status) for i in repo.list_imports(conn))
    expected = [
        (str(mon), "committed"),
        (str(mon_copy), "duplicate_file"),
        (str(tue), "committed"),
        (str(wed), "committed"),
        (str(mon_again), "duplicate_file"),
    ]
    assert statuses == sorted(expected)
    assert len(rows_in(workspace, Kind.SETTLEMENT)) == 5


def test_a_utf16_export_imports_and_a_big5_file_says_to_resave_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Excel's "Unicode text" is UTF-16; a Hong Kong bank's Big5 is named, not guessed at."""
    row = "6222000011112222,2026-03-03,2026-03-03,1228.33,CNY,银联商务有限公司,,P0302,9000.00,B1"
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes(f"{BANK}\r\n{row}\r\n".encode("utf-16"))
    f = one(import_paths(workspace, [utf16]))
    assert f.status is FileStatus.IMPORTED and f.encoding == "utf-16"  # type: ignore[attr-defined]
    big5 = tmp_path / "hk.csv"
    big5.write_bytes(
        ("帳號,記賬日期,金額,對方戶名\n6222,2026-03-03,12.00,銀聯商務\n" * 5).encode("big5")
    )
    f = one(import_paths(workspace, [big5]))
    assert f.status is FileStatus.NOT_RECOGNISED  # type: ignore[attr-defined]
    problem = f.problem  # type: ignore[attr-defined]
    assert problem.code == RejectCode.UNSUPPORTED_ENCODING and problem.detail == "big5"
    assert "另存为 UTF-8 或 GB18030" in problem.messages()[0]


def test_gb18030_bank_statement_from_chinese_excel_imports(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    rows = [
        '6222000011112222,2026-03-03,2026-03-03,"1,228.33",CNY,银联商务有限公司,,P0302,9000.00,B1',
        "6222000011112222,2026-03-03,2026-03-03,-50.00,,手续费,,,8950.00,B2",
    ]
    path = write_csv("工行流水.csv", BANK, rows, encoding="gb18030", newline="\r\n")
    f = one(import_paths(workspace, [path]))
    assert f.status is FileStatus.IMPORTED and f.encoding == "gb18030"  # type: ignore[attr-defined]
    con = duckdb.connect()
    register_record_views(con, workspace, [Kind.BANK_STATEMENT])
    got = con.execute(
        "SELECT counterparty_name, amount_fen, currency FROM bank_statement ORDER BY src_line"
    ).fetchall()
    assert got == [("银联商务有限公司", 122833, "CNY"), ("手续费", -5000, "CNY")]
    assert list(workspace.staging_dir.iterdir()) == []  # the UTF-8 copy is gone


def test_a_month_of_bank_statement_lands_in_one_file_per_value_date(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    rows = [
        f"6222000011112222,2026-03-{d:02d},2026-03-{d:02d},10.00,,银联商务,,,,B{d}"
        for d in range(1, 7)
    ]
    path = write_csv("statement_march.csv", BANK, [*rows, rows[0].replace("B1", "B1b")])
    f = one(import_paths(workspace, [path]))
    assert f.rows_imported == 7  # type: ignore[attr-defined]
    files = workspace.record_files(Kind.BANK_STATEMENT)
    assert [(p.parent.name, p.name) for p in files] == [
        (f"value_date=2026-03-{d:02d}", f"import-{f.import_id}-0.parquet")  # type: ignore[attr-defined]
        for d in range(1, 7)
    ]
    assert "value_date" not in pq.read_schema(files[0]).names
    con = duckdb.connect()
    register_record_views(con, workspace, [Kind.BANK_STATEMENT])
    got = con.execute(
        "SELECT value_date, count(*) FROM bank_statement GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(d.day, n) for d, n in got] == [(1, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)]


def test_utf8_with_bom_and_shouting_headers(workspace: Workspace, write_csv: WriteCsv) -> None:
    path = write_csv("pos.csv", POS.upper(), [pos_row(1)], bom=True)
    f = one(import_paths(workspace, [path]))
    assert f.status is FileStatus.IMPORTED and f.encoding == "utf-8-sig"  # type: ignore[attr-defined]


def test_bad_rows_are_set_aside_with_line_field_and_reason_and_the_rest_goes_in(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    workspace = any_db_workspace
    rows = [
        pos_row(1),
        pos_row(2, amount="12.345"),
        pos_row(3) + ",extra",
        pos_row(4, amount="abc").replace(",sale,", ",buy,"),
        pos_row(5),
    ]
    path = write_csv("pos.csv", POS, rows)
    report = import_paths(workspace, [path])
    f = report.files[0]
    assert report.exit_code == 1
    assert (f.rows_read, f.rows_imported, f.rows_rejected) == (5, 2, 3)
    assert [(r.line, r.field, r.code) for r in f.rejects] == [
        (3, "amount", RejectCode.AMOUNT_DECIMALS),
        (4, None, RejectCode.WRONG_FIELD_COUNT),
        (5, "amount", RejectCode.BAD_AMOUNT),
        (5, "txn_type", RejectCode.BAD_ENUM),
    ]
    with workspace.db.connect() as conn:
        stored = repo.list_rejects(conn)
    assert [(r.line, r.field) for r in stored] == [(r.line, r.field) for r in f.rejects]
    zh, en = stored[0].messages()
    assert zh.startswith("amount 的小数超过两位") and en.startswith("amount: more than two")
    assert [r[1] for r in rows_in(workspace, Kind.POS_JOURNAL)] == [2, 6]


def test_a_folder_is_walked_in_order_skipping_hidden_files_and_the_workspace(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    write_csv("b/pos_b.csv", POS, [pos_row(2)])
    write_csv("a/pos_a.csv", POS, [pos_row(1)])
    write_csv(".hidden.csv", POS, [pos_row(3)])
    write_csv(".git/config.csv", POS, [pos_row(4)])
    exports = tmp_path / "exports"
    ws = Workspace.open(exports / "workspace-inside", env={})  # a workspace inside the folder
    report = import_paths(ws, [exports, exports / "a" / "pos_a.csv"])
    assert [f.path.relative_to(exports).as_posix() for f in report.files] == [
        "a/pos_a.csv",
        "b/pos_b.csv",
    ]
    assert report.exit_code == 0


def test_a_readme_in_the_folder_is_reported_not_imported(
    workspace: Workspace, write_csv: WriteCsv, tmp_path: Path
) -> None:
    write_csv("pos.csv", POS, [pos_row(1)])
    (tmp_path / "exports" / "README.txt").write_text("daily exports from the portal\n")
    report = import_paths(workspace, [tmp_path / "exports"])
    by_name = {f.path.name: f for f in report.files}
    assert by_name["pos.csv"].status is FileStatus.IMPORTED
    readme = by_name["README.txt"]
    assert readme.status is FileStatus.NOT_RECOGNISED
    assert readme.problem is not None and readme.problem.code is RejectCode.UNRECOGNISED_FORMAT
    assert report.exit_code == 1


def test_a_settlement_file_missing_its_fee_columns_says_what_it_looks_like(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    header = ",".join(c for c in field_names(Kind.SETTLEMENT) if c not in ("fee", "net_amount"))
    path = write_csv("settle.csv", header, ["x"])
    report = import_paths(workspace, [path])
    f = report.files[0]
    assert report.exit_code == 2
    assert f.problem is not None and f.problem.detail is not None
    assert f.problem.detail.startswith("settlement: fee, net_amount")
    zh, _ = f.problem.messages()
    assert "最接近" in zh
    with workspace.db.connect() as conn:
        (r,) = repo.list_rejects(conn)
    assert r.line is None and r.code == "unrecognised_format"


def test_nothing_usable_is_exit_code_2(workspace: Workspace, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    report = import_paths(workspace, [empty, tmp_path / "no-such-file.csv"])
    assert [f.status for f in report.files] == [FileStatus.NOT_RECOGNISED, FileStatus.NOT_FOUND]
    assert report.exit_code == 2
    assert import_paths(workspace, []).exit_code == 2


def test_a_header_only_file_is_imported_with_no_rows(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    f = one(import_paths(workspace, [write_csv("pos.csv", POS)]))
    assert f.status is FileStatus.IMPORTED and f.rows_read == 0  # type: ignore[attr-defined]


def test_a_header_naming_a_column_twice_is_refused(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    f = one(import_paths(workspace, [write_csv("pos.csv", POS + ",amount", [pos_row(1) + ",1"])]))
    assert f.status is FileStatus.FAILED  # type: ignore[attr-defined]
    assert f.problem.code is RejectCode.DUPLICATE_HEADER  # type: ignore[attr-defined]
    assert rows_in(workspace, Kind.POS_JOURNAL) == []


def test_a_dry_run_tells_everything_and_writes_nothing(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv("pos.csv", POS, [pos_row(1), pos_row(2, amount="x")])
    report = import_paths(workspace, [path], dry_run=True)
    f = report.files[0]
    assert f.status is FileStatus.CHECKED and report.dry_run
    assert (f.rows_imported, f.rows_rejected) == (1, 1)
    assert [r.field for r in f.rejects] == ["amount"]
    assert report.exit_code == 1
    with workspace.db.connect() as conn:
        assert repo.list_imports(conn) == []
    assert not any(workspace.records_dir.rglob("*.parquet"))


def test_progress_goes_up_to_the_total_bytes(workspace: Workspace, write_csv: WriteCsv) -> None:
    a = write_csv("a.csv", POS, [pos_row(i) for i in range(1, 50)])
    b = write_csv("b.csv", SETTLEMENT, [settle_row(i) for i in range(20)])
    seen: list[tuple[int, int]] = []
    import_paths(workspace, [a, b], progress=lambda done, total: seen.append((done, total)))
    total = a.stat().st_size + b.stat().st_size
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


KIND_ROWS: dict[Kind, list[str]] = {
    Kind.POS_JOURNAL: [pos_row(1)],
    Kind.SETTLEMENT: [settle_row(1)],
    Kind.PAYOUTS: [
        "P0302,银联商务,102100000000001,6222000011112222,某某餐饮,ICBC,99.50,2026-03-02T09:00:00,"
        "succeeded,,,B9,1"
    ],
    Kind.BANK_STATEMENT: ["6222000011112222,2026-03-03,2026-03-03,99.50,CNY,银联商务,,P0302,,B1"],
    Kind.CONTRACTS: [
        "102100000000001,某某餐饮,5812,银联商务,6222000011112222,某某餐饮,ICBC,T1,23:00,"
        "0.50,20,0.60,0.38,0.38,0.38,2026-01-01"
    ],
    Kind.TERMINALS: ["T0000001,102100000000001,active,,,"],
    Kind.MAINTENANCE: ["ICBC,2026-03-07T22:00:00,2026-03-08T06:00:00,payouts,"],
}

SPARK_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}


def test_every_kind_is_stored_in_types_spark_reads_as_they_are(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    paths = [
        write_csv(f"{kind}.csv", ",".join(field_names(kind)), rows)
        for kind, rows in KIND_ROWS.items()
    ]
    report = import_paths(workspace, paths)
    assert report.exit_code == 0, [(f.path.name, f.problem, f.rejects) for f in report.files]
    for kind in Kind:
        (path,) = workspace.record_files(kind)
        col = PARTITION_COLUMN[kind]
        if col is not None:
            assert path.parent.name.startswith(f"{col}=")
        schema = pq.read_schema(path)
        expected = [
            (c.name, SPARK_TYPES[c.sql_type]) for c in stored_columns(kind) if c.name != col
        ]
        assert [(f.name, f.type) for f in schema] == expected, kind
    con = duckdb.connect()
    register_record_views(con, workspace)
    for kind in Kind:
        assert con.execute(f"SELECT count(*) FROM {kind.value}").fetchone() == (1,)


def test_full_card_numbers_never_reach_any_byte_of_the_workspace(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    workspace = any_db_workspace
    spaced = "6228 4800 1234 5678"
    files = [
        write_csv(
            "pos.csv",
            POS,
            [
                pos_row(1, card=PAN_A),
                pos_row(2, card=PAN_B, amount="bad"),  # rejected row with a card
                pos_row(3, card=PAN_C) + ",extra",  # wrong field count, card in the raw text
                pos_row(4, card=spaced),
                pos_row(5, card=PAN_C).replace("approved", '"approved'),  # broken quote
            ],
        ),
        write_csv("pos_gb.csv", POS, [pos_row(6, card=PAN_B)], encoding="gb18030", bom=False),
        write_csv("junk.csv", "card", [PAN_A, PAN_B]),  # not a format: whole file rejected
    ]
    (files[1]).write_bytes(files[1].read_bytes().replace(b"approved", "已批准".encode("gb18030")))
    report = import_paths(workspace, files)
    assert report.files[0].rows_imported == 2  # type: ignore[attr-defined]
    everything = b"".join(p.read_bytes() for p in workspace.home.rglob("*") if p.is_file())
    everything += everything_in_the_database(workspace)  # on PostgreSQL, not in the folder
    for pan in (PAN_A, PAN_B, PAN_C):
        assert pan.encode() not in everything
    assert spaced.encode() not in everything
    shown = repr(report)
    for pan in (PAN_A, PAN_B, PAN_C):
        assert pan not in shown
    con = duckdb.connect()
    register_record_views(con, workspace, [Kind.POS_JOURNAL])
    masked = con.execute("SELECT card_masked FROM pos_journal ORDER BY src_line").fetchall()
    assert masked == [("622848******5678",), ("622848******5678",)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.one_of(
                st.just(pos_row(1)),
                st.text(alphabet=',"\r\n ab1.-¥', max_size=40),
                st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
            ),
            max_size=8,
        ).map(lambda rows: "\n".join([POS, *rows]).encode("utf-8", errors="replace")),
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_junk_never_raises_and_never_leaves_a_half_written_import(
    tmp_path_factory: object, body: bytes, cut: int
) -> None:
    tmp = tmp_path_factory.mktemp("junk")  # type: ignore[attr-defined]
    ws = Workspace.open(tmp / "ws", env={})
    path = tmp / "input.csv"
    path.write_bytes(body[: max(cut, len(body) // 2)])  # sometimes truncated mid-row
    report = import_paths(ws, [path])
    (f,) = report.files
    assert report.exit_code in (0, 1, 2)
    with ws.db.connect() as conn:
        imports = repo.list_imports(conn)
        committed = repo.committed_import_ids(conn)
    assert all(i.status in ("committed", "failed") for i in imports)
    on_disk = {int(p.name.split("-")[1]) for p in ws.records_dir.rglob("*.parquet")}
    assert on_disk <= committed
    assert list(ws.staging_dir.iterdir()) == []
    if f.status is FileStatus.IMPORTED:
        c = f.counts
        assert c.rows_read == c.rows_imported + c.rows_duplicate + c.rows_rejected
    ws.close()


def test_a_full_disk_fails_that_file_cleanly_and_the_next_file_still_goes_in(
    any_db_workspace: Workspace, write_csv: WriteCsv, monkeypatch: object
) -> None:
    """The two files are stored as one batch; the disk is full for it and for ``a``.

    The batch is rolled back and its files tried one at a time: ``a`` fails
    on its own, ``b`` goes in on its own.
    """
    import daozhang.service.imports as service

    workspace = any_db_workspace

    a = write_csv("a.csv", POS, [pos_row(1)])
    b = write_csv("b.csv", POS, [pos_row(2)])
    real_publish = service.publish
    calls: list[int] = []

    def publish_fails_twice(*args: object, **kwargs: object) -> list[Path]:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError(28, "No space left on device")
        return real_publish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "publish", publish_fails_twice)  # type: ignore[attr-defined]
    report = import_paths(workspace, [a, b])
    assert len(calls) == 3  # the batch, a alone, b alone
    first, second = report.files
    assert first.status is FileStatus.FAILED and second.status is FileStatus.IMPORTED
    assert first.problem is not None and "No space left" in (first.problem.detail or "")
    assert report.exit_code == 1
    assert [r[0] for r in rows_in(workspace, Kind.POS_JOURNAL)] == [str(b)]
    with workspace.db.connect() as conn:
        statuses = {i.path: i.status for i in repo.list_imports(conn)}
        assert statuses == {str(a): "failed", str(b): "committed"}
        (why,) = repo.list_rejects(conn, path=str(a))
    assert why.code == "unreadable_file"
    assert list(workspace.staging_dir.iterdir()) == []


def test_every_real_sample_file_gets_a_status_and_a_reason_never_a_traceback(
    workspace: Workspace,
) -> None:
    report = import_paths(workspace, [SAMPLES], dry_run=True)
    assert len(report.files) >= 80
    for f in report.files:
        assert f.status in FileStatus
        if not f.usable:
            assert f.problem is not None, f.path
            zh, en = f.problem.messages()
            assert zh and en


def test_a_row_with_nul_bytes_is_set_aside_and_the_rest_goes_in(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    """Exports do hold NUL bytes; PostgreSQL refuses them in text, so they must not fail a file."""
    workspace = any_db_workspace
    path = write_csv("pos.csv", POS, [pos_row(1), pos_row(2, amount="1\x002"), "a\x00b,c"])
    report = import_paths(workspace, [path])
    (f,) = report.files
    assert f.status is FileStatus.IMPORTED
    assert (f.rows_imported, f.rows_rejected) == (1, 2)
    with workspace.db.connect() as conn:
        stored = repo.list_rejects(conn)
    assert [(r.line, r.value) for r in stored] == [(3, "1\u24002"), (4, "2")]
    assert stored[1].raw == "a\u2400b,c"


def test_one_file_imported_by_two_workspaces_sharing_a_database_at_once_goes_in_once(
    tmp_path: Path, any_db_url: str, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two importers (two servers on one PostgreSQL) both see the file as new, then both commit.

    Only the unique SHA-256 stands between them: one commits, the other is
    refused, rolls its record files back and says why.
    """
    path = write_csv("settlement.csv", SETTLEMENT, [settle_row(i) for i in range(3)])
    homes = [tmp_path / "one", tmp_path / "two"]
    spaces = [Workspace.open(h, database_url=any_db_url, env={}) for h in homes]
    both_looked = threading.Barrier(2, timeout=30)
    real_find = repo.find_committed

    def find_then_wait(conn: sa.Connection, *, file_sha256: str) -> repo.ImportRow | None:
        found = real_find(conn, file_sha256=file_sha256)
        both_looked.wait()  # each has seen the file as new before either commits
        return found

    monkeypatch.setattr(repo, "find_committed", find_then_wait)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda ws: import_paths(ws, [path]), spaces))
    statuses = sorted(one(r).status.value for r in reports)  # type: ignore[attr-defined]
    assert statuses == sorted([FileStatus.IMPORTED.value, FileStatus.FAILED.value])
    loser = next(r for r in reports if one(r).status is FileStatus.FAILED)  # type: ignore[attr-defined]
    problem = one(loser).problem  # type: ignore[attr-defined]
    assert "another import committed" in (problem.detail or "")
    with spaces[0].db.connect() as conn:
        assert sorted(i.status for i in repo.list_imports(conn)) == ["committed", "failed"]
    assert sorted(len(rows_in(ws, Kind.SETTLEMENT)) for ws in spaces) == [0, 3]
    assert sorted(len(list(h.rglob("*.parquet"))) for h in homes) == [0, 1]
    for ws in spaces:
        ws.close()


def test_a_shop_cannot_import_another_shops_rows(workspace: Workspace, write_csv: WriteCsv) -> None:
    """A shop user's upload: its own rows go in, a neighbour's are set aside, with the reason."""
    contracts = write_csv(
        "contracts.csv",
        ",".join(field_names(Kind.CONTRACTS)),
        [
            "102100000000001,上海某某餐饮有限公司,5812,银联商务,6222000000000001,上海某某餐饮,ICBC,"
            "T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01",
            "102100000000002,隔壁面馆,5812,银联商务,6222000000000002,隔壁面馆,ICBC,"
            "T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01",
        ],
    )
    assert import_paths(workspace, [contracts]).exit_code == 0  # by the provider, unrestricted
    neighbour = pos_row(2).replace("102100000000001", "102100000000002", 1)
    pos = write_csv("pos.csv", POS, [pos_row(1), neighbour])
    bank = write_csv(
        "bank.csv",
        BANK,
        [
            "6222000000000001,2026-03-02,2026-03-02,99.50,CNY,银联商务股份有限公司,,P0302,99.50,B1",
            "6222000000000002,2026-03-02,2026-03-02,88.00,CNY,银联商务股份有限公司,,P0303,88.00,B2",
        ],
    )
    report = import_paths(
        workspace, [pos, bank], actor="web:li.hong", allowed_merchants=["102100000000001"]
    )
    assert report.exit_code == 1
    assert [(f.rows_imported, f.rows_rejected) for f in report.files] == [(1, 1), (1, 1)]
    with workspace.db.connect() as conn:
        rejected = repo.list_rejects(conn, code=RejectCode.NOT_IN_ORGANISATION.value)
        actors = {i.actor for i in repo.list_imports(conn)}
    assert sorted((r.field, r.value, r.line) for r in rejected) == [
        ("account_no", "622200******0002", 3),  # masked like a card number
        ("merchant_id", "102100*****0002", 3),  # any long digit run is masked in a reject
    ]
    assert "web:li.hong" in actors


class _PythonPos:
    """A POS journal format read row by row in Python, as bills and statements are."""

    name = "test.python_pos"
    kind = Kind.POS_JOURNAL

    def identify(self, head: FileHead) -> Identification:
        return Identification(format=self.name, kind=self.kind, confidence=1.0, closeness=1.0)

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        sink = RowSink(ctx, self.kind)
        lines = source.data_path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines[1:], start=2):
            sink.add(n, dict(zip(field_names(self.kind), line.split(","), strict=True)))
        return ReadResult(table=ctx.table, rows_read=sink.close(), rejects=())


def test_small_files_read_in_python_are_stored_together_with_their_cards_masked(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    """A day's few rows travel as Arrow rows to their batch; a big file has its own table.

    Either way the card is masked in the statement that stores it, and the
    answers are the same.
    """
    small = write_csv("a_small.csv", POS, [pos_row(1, card=PAN_A), pos_row(2, card=PAN_B)])
    big = write_csv(
        "b_big.csv", POS, [pos_row(i, card=PAN_C) for i in range(3, SMALL + 4)]
    )  # one more row than a sink hands over as Arrow

    report = import_paths(workspace, [small, big], formats=(_PythonPos(),))

    assert [f.rows_imported for f in report.files] == [2, SMALL + 1]
    everything = b"".join(p.read_bytes() for p in workspace.home.rglob("*") if p.is_file())
    for pan in (PAN_A, PAN_B, PAN_C):
        assert pan.encode() not in everything
    con = duckdb.connect()
    register_record_views(con, workspace, [Kind.POS_JOURNAL])
    got = con.execute(
        "SELECT src_path, card_masked, count(*), count(card_hash) FROM pos_journal "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert got == [
        (str(small), "621700*********2333", 1, 1),
        (str(small), "622848******5678", 1, 1),
        (str(big), "411111******1111", SMALL + 1, SMALL + 1),
    ]
