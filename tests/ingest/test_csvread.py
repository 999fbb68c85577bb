"""The CSV reader: every record gets its physical line, every bad line a reject."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.domain.records import Kind
from daozhang.ingest.base import ReadContext, ReadResult, SourceFile
from daozhang.ingest.canonical import CanonicalCsv
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import prepare_text, scan_file
from daozhang.ingest.rejects import RejectCode

HEADER = "terminal_id,merchant_id,status,status_since,reason,note"
TERMINALS = CanonicalCsv(Kind.TERMINALS)


def read_file(path: Path, workdir: Path) -> tuple[ReadResult, list[tuple[int, str | None]]]:
    """Read a terminals file; returns the result and (src_line, note) of every row."""
    scan = scan_file(path)
    prepared = prepare_text(path, scan, workdir=workdir)
    source = SourceFile(
        path=path,
        data_path=prepared.data_path,
        sha256=scan.sha256,
        encoding=prepared.encoding,
        lines=scan.lines,
        bad_lines=prepared.bad_lines,
    )
    con = duckdb.connect()
    set_pan_key(con, os.urandom(32))
    result = TERMINALS.read(ReadContext(con=con, table="raw"), source)
    rows = con.execute("SELECT src_line, note FROM raw ORDER BY src_line").fetchall()
    return result, [(int(a), b) for a, b in rows]


def write(tmp_path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> Path:
    p = tmp_path / "terminals.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + newline.join([HEADER, *lines, ""]).encode())
    return p


def good(line: int) -> str:
    return f"T{line:07d},M1,active,2026-01-01,,L{line}"


def test_a_clean_file_is_read_by_duckdb_with_lines_from_2(tmp_path: Path) -> None:
    result, rows = read_file(write(tmp_path, [good(2), good(3), good(4)]), tmp_path / "w")
    assert result.method == "duckdb"
    assert result.rows_read == 3 and not result.rejects
    assert rows == [(2, "L2"), (3, "L3"), (4, "L4")]


def test_rows_with_too_few_or_too_many_fields_are_rejected_on_their_line(tmp_path: Path) -> None:
    lines = [good(2), "T3,M1", good(4), good(5) + ",extra", good(6)]
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert result.method == "duckdb"
    assert rows == [(2, "L2"), (4, "L4"), (6, "L6")]
    assert [(r.line, r.code, r.value, r.detail) for r in result.rejects] == [
        (3, RejectCode.WRONG_FIELD_COUNT, "2", "6"),
        (5, RejectCode.WRONG_FIELD_COUNT, "7", "6"),
    ]
    assert result.rows_read == 5


def test_one_empty_field_too_many_is_rejected_not_silently_dropped(tmp_path: Path) -> None:
    # DuckDB alone accepts "a,b,c," for three columns and drops the last field.
    lines = [good(2), good(3) + ",", good(4)]
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert result.method == "duckdb"
    assert rows == [(2, "L2"), (4, "L4")]
    assert [(r.line, r.code, r.value, r.raw) for r in result.rejects] == [
        (3, RejectCode.WRONG_FIELD_COUNT, "7", good(3) + ",")
    ]


def test_a_note_with_a_line_break_inside_quotes_keeps_every_line_true(tmp_path: Path) -> None:
    lines = [good(2), 'T3,M1,active,2026-01-01,,"L3\nsecond line"', good(5)]
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert result.method == "duckdb+python-lines"  # DuckDB's data, Python's line numbers
    assert rows == [(2, "L2"), (3, "L3\nsecond line"), (5, "L5")]


def test_blank_lines_and_empty_records_are_not_rows(tmp_path: Path) -> None:
    lines = [good(2), "", good(4), ",,,,,", "  ,  ,,,,", good(7), "", ""]
    result, rows = read_file(write(tmp_path, lines, newline="\r\n"), tmp_path / "w")
    assert rows == [(2, "L2"), (4, "L4"), (7, "L7")]
    assert result.rows_read == 3 and not result.rejects


def test_an_unterminated_quote_loses_one_line_not_the_rest_of_the_file(tmp_path: Path) -> None:
    lines = [good(2), 'T3,"M1,active,2026-01-01,,L3', good(4), good(5)]
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert result.method == "python"  # only Python's resynchronising reader can say this
    assert rows == [(2, "L2"), (4, "L4"), (5, "L5")]
    assert [(r.line, r.code) for r in result.rejects] == [(3, RejectCode.BAD_QUOTING)]


def test_an_unterminated_quote_on_the_last_line_is_rejected_not_kept(tmp_path: Path) -> None:
    lines = [good(2), 'T3,M1,active,2026-01-01,,"L3']
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert rows == [(2, "L2")]
    assert [(r.line, r.code) for r in result.rejects] == [(3, RejectCode.BAD_QUOTING)]


def test_a_stray_quote_after_a_closing_quote_is_rejected(tmp_path: Path) -> None:
    lines = [good(2), 'T3,"M1"x,active,2026-01-01,,L3', good(4)]
    result, rows = read_file(write(tmp_path, lines), tmp_path / "w")
    assert rows == [(2, "L2"), (4, "L4")]
    assert [(r.line, r.code) for r in result.rejects] == [(3, RejectCode.BAD_QUOTING)]


def test_old_mac_line_ends_get_their_lines_from_python(tmp_path: Path) -> None:
    result, rows = read_file(write(tmp_path, [good(2), good(3)], newline="\r"), tmp_path / "w")
    assert result.method == "duckdb+python-lines"
    assert rows == [(2, "L2"), (3, "L3")]


def test_bom_and_crlf_from_excel(tmp_path: Path) -> None:
    result, rows = read_file(
        write(tmp_path, [good(2), good(3)], newline="\r\n", bom=True), tmp_path / "w"
    )
    assert result.method == "duckdb"
    assert rows == [(2, "L2"), (3, "L3")]


def test_reject_raw_text_never_shows_a_card_number(tmp_path: Path) -> None:
    lines = [good(2), "T3,6228480012345678"]
    result, _ = read_file(write(tmp_path, lines), tmp_path / "w")
    (reject,) = result.rejects
    assert reject.raw == "T3,622848******5678"


def test_undecodable_line_of_a_gb18030_export_is_rejected_alone(tmp_path: Path) -> None:
    body = [good(2), "T3,M1,active,2026-01-01,,上海", good(4)]
    data = "\n".join([HEADER, *body, ""]).encode("gb18030")
    data = data.replace(b"T0000004", b"T\x80000004")  # 0x80 alone is not GB18030
    p = tmp_path / "gb.csv"
    p.write_bytes(data)
    result, rows = read_file(p, tmp_path / "w")
    assert rows == [(2, "L2"), (3, "上海")]
    assert [(r.line, r.code) for r in result.rejects] == [(4, RejectCode.UNDECODABLE_ROW)]


# -- property: whatever the mix of lines, lines and rejects are exactly right --

LINE_KINDS = st.sampled_from(
    ["good", "good", "good", "short", "long", "blank", "empty", "multiline", "unterminated"]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(LINE_KINDS, max_size=25), crlf=st.booleans(), bom=st.booleans())
def test_any_mix_of_good_and_broken_lines_is_accounted_for_line_by_line(
    tmp_path_factory: pytest.TempPathFactory, kinds: list[str], crlf: bool, bom: bool
) -> None:
    tmp = tmp_path_factory.mktemp("mix")
    nl = "\r\n" if crlf else "\n"
    lines: list[str] = []
    expect_rows: list[tuple[int, str]] = []
    expect_rejects: list[tuple[int, RejectCode]] = []
    line = 2
    for kind in kinds:
        if kind == "good":
            lines.append(good(line))
            expect_rows.append((line, f"L{line}"))
        elif kind == "short":
            lines.append(f"T{line},M1,active")
            expect_rejects.append((line, RejectCode.WRONG_FIELD_COUNT))
        elif kind == "long":
            lines.append(good(line) + ",x,y")
            expect_rejects.append((line, RejectCode.WRONG_FIELD_COUNT))
        elif kind == "blank":
            lines.append("")
        elif kind == "empty":
            lines.append(",,,,,")
        elif kind == "multiline":
            lines.append(f'T{line},M1,active,2026-01-01,,"L{line}{nl}more"')
            expect_rows.append((line, f"L{line}{nl}more"))
            line += 1
        elif kind == "unterminated":
            lines.append(f'T{line},"M1,active,2026-01-01,,L{line}')
            expect_rejects.append((line, RejectCode.BAD_QUOTING))
        line += 1
    result, rows = read_file(write(tmp, lines, newline=nl, bom=bom), tmp / "w")
    assert rows == expect_rows
    assert [(r.line, r.code) for r in result.rejects] == expect_rejects
    assert result.rows_read == len(expect_rows) + len(expect_rejects)
