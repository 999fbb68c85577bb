"""Rows of cells from CSV text and from real .xls/.xlsx exports."""

from __future__ import annotations

import datetime as dt
import doctest
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daozhang.domain.records import Kind
from daozhang.ingest import cells as cells_module
from daozhang.ingest import rows as rows_module
from daozhang.ingest.base import FileHead, ReadContext, SourceFile
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.cells import (
    SpreadsheetError,
    cell_text,
    head_rows,
    source_rows,
    spreadsheet_kind,
    text_rows,
)
from daozhang.ingest.encoding import BINARY, LineStats
from daozhang.ingest.rows import SMALL, RowSink
from tests.helpers.samples import sample


def _head(path: Path) -> FileHead:
    data = path.read_bytes()
    return FileHead(path=path, size=len(data), head=data[:65536], text=None, encoding=None)


def _source(path: Path) -> SourceFile:
    return SourceFile(
        path=path, data_path=path, sha256="", encoding=BINARY, lines=LineStats(0, 0, 0, 0)
    )


def test_a_ccb_xls_statement_keeps_its_title_rows_and_its_amounts_as_typed() -> None:
    path = sample("cn_bank_statement/ccb_debit.xls")
    assert spreadsheet_kind(path.read_bytes()[:8]) == "xls"
    rows = head_rows(_head(path), limit=8)
    assert rows[0].line == 1 and rows[0].cells[0] == "China Construction Bank"
    assert rows[2].cells[0] == "币\u3000\u3000种："  # the wide spaces are the bank's
    header = rows[5]
    assert header.line == 6 and header.cells[3].strip() == "支出"
    assert rows[6].cells[:6] == ("20250101", "20250101", "18:53:19", "67", "0", "2176.91")


def test_the_whole_sheet_is_read_with_the_same_row_numbers() -> None:
    path = sample("cn_bank_statement/ccb_debit.xls")
    every = list(source_rows(_source(path)))
    assert every[:8] == head_rows(_head(path), limit=8)
    assert [r.line for r in every] == list(range(1, len(every) + 1))


def test_a_wechat_xlsx_export_is_a_spreadsheet_and_a_plain_zip_is_not() -> None:
    path = sample("wechat_alipay_bills/wechat_personal_export.xlsx")
    assert spreadsheet_kind(path.read_bytes()[:65536]) == "xlsx"
    assert any("交易时间" in r.cells for r in head_rows(_head(path)))
    assert spreadsheet_kind(b"PK\x03\x04" + b"\0" * 26 + b"bills.csv") is None


def test_junk_that_starts_like_a_workbook_gives_no_rows_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"xl/workbook.xml" + b"\x00" * 100)
    assert head_rows(_head(path)) == []


def test_csv_rows_carry_the_line_they_start_on() -> None:
    text = 'a,b\n"note with\na line break",2\n\nx,y\n'
    got = [(r.line, r.cells) for r in text_rows(io.StringIO(text, newline=""))]
    assert got == [(1, ("a", "b")), (2, ("note with\na line break", "2")), (4, ()), (5, ("x", "y"))]


def test_a_cut_head_leaves_out_its_last_partial_row(tmp_path: Path) -> None:
    text = "a,b\n1,2\n3,4"
    h = FileHead(path=tmp_path / "x", size=10_000, head=text.encode(), text=text, encoding="utf-8")
    assert [r.cells for r in head_rows(h)] == [("a", "b"), ("1", "2")]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (16.78, "16.78"),
        (6688.0, "6688"),
        (-0.5, "-0.5"),
        (None, ""),
        (True, "TRUE"),
        (dt.datetime(2026, 3, 1, 14, 5, 9), "2026-03-01 14:05:09"),
        (dt.date(2026, 3, 1), "2026-03-01"),
        (float("nan"), ""),
        ("`4200001234", "`4200001234"),
    ],
)
def test_spreadsheet_cells_read_as_a_person_sees_them(value: object, text: str) -> None:
    assert cell_text(value) == text


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_a_two_decimal_amount_stored_as_a_float_reads_back_exactly(value: Decimal) -> None:
    """Excel keeps ``1234.56`` as a double; the text we give back is exactly what was typed."""
    typed = f"{value:.2f}"
    assert Decimal(cell_text(float(typed))) == Decimal(typed)


def test_row_sink_masks_the_card_and_writes_in_batches() -> None:
    con = duckdb.connect()
    set_pan_key(con, b"k" * 32)
    sink = RowSink(ReadContext(con=con, table="t"), Kind.POS_JOURNAL, batch=2)
    for i in range(5):
        sink.add(i + 2, {"merchant_id": "M", "card": "6228480012345678", "amount": f"{i}.00"})
    assert sink.close() == 5
    got = con.sql("SELECT src_line, card, card_state, amount FROM t ORDER BY src_line").fetchall()
    assert [g[0] for g in got] == [2, 3, 4, 5, 6]
    assert {g[1] for g in got} == {"622848******5678"}
    with pytest.raises(KeyError):
        RowSink(ReadContext(con=con, table="u"), Kind.POS_JOURNAL).add(1, {"no_such": "x"})


def test_an_empty_sink_still_makes_its_table() -> None:
    con = duckdb.connect()
    assert RowSink(ReadContext(con=con, table="t"), Kind.TERMINALS).close() == 0
    assert con.sql("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_the_row_sink_docstring_example_runs() -> None:
    assert doctest.testmod(rows_module).failed == 0


def test_a_cut_short_xls_that_makes_calamine_panic_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """calamine 0.9 panics (a BaseException) on this truncation of a real CCB export."""
    path = tmp_path / "cut.xls"
    path.write_bytes(sample("cn_bank_statement/ccb_debit.xls").read_bytes()[:25600])
    assert head_rows(_head(path)) == []
    with pytest.raises(SpreadsheetError):
        list(source_rows(_source(path)))


def test_the_head_name_sets_docstring_example_runs() -> None:
    assert doctest.testmod(cells_module).failed == 0


def test_a_batch_without_card_numbers_stores_no_card_and_no_hash() -> None:
    """A WeChat bill has no card column: the sink leaves masking out, the table is the same."""
    con = duckdb.connect()
    set_pan_key(con, b"k" * 32)
    sink = RowSink(ReadContext(con=con, table="t"), Kind.SETTLEMENT)
    sink.add(2, {"merchant_id": "M1", "amount": "1.00"})
    sink.close()
    sink = RowSink(ReadContext(con=con, table="u"), Kind.SETTLEMENT)
    sink.add(2, {"merchant_id": "M1", "amount": "1.00", "card": "6228480012345678"})
    sink.close()
    assert con.sql("SELECT card, card_hash, card_state FROM t").fetchall() == [(None, None, None)]
    assert con.sql("DESCRIBE t").fetchall() == con.sql("DESCRIBE u").fetchall()


def test_a_sink_hands_over_a_small_file_as_arrow_rows_when_the_importer_asks() -> None:
    """``ctx.deferred``: a few rows go to the importer's batch; more get a table of their own."""
    con = duckdb.connect()
    set_pan_key(con, b"k" * 32)
    deferred: list[pa.Table] = []
    small = RowSink(ReadContext(con=con, table="small", deferred=deferred), Kind.TERMINALS)
    small.add(2, {"terminal_id": "T1", "status": "active"})
    assert small.close() == 1
    (rows,) = deferred
    assert rows.to_pylist()[0]["terminal_id"] == "T1" and rows.column_names[0] == "src_line"
    assert con.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'small'"
    ).fetchall() == [(0,)]
    big = RowSink(ReadContext(con=con, table="big", deferred=deferred), Kind.TERMINALS)
    for line in range(SMALL + 1):
        big.add(line + 2, {"terminal_id": f"T{line}", "status": "active"})
    assert big.close() == SMALL + 1
    assert len(deferred) == 1  # the big one is a table
    assert con.sql("SELECT count(*) FROM big").fetchall() == [(SMALL + 1,)]
