"""Reading bank and acquirer exports through column-mapping profiles.

Golden files beside each sample hold the records and rejects read by eye;
the other tests are the situations a bookkeeper meets: a layout that is a
near twin of another, a GB18030 download, a row that does not parse, a
missing row that the running balance gives away, and junk.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.ingest.base import FileHead, ReadContext, SourceFile
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import (
    BINARY,
    UndecodableFileError,
    prepare_text,
    scan_file,
)
from daozhang.ingest.mapped import BUILTIN_PROFILE_FORMATS, MappedFormat
from daozhang.ingest.profiles import parse_profile
from daozhang.ingest.registry import FORMATS, Detected, detect
from daozhang.ingest.rejects import Reject, RejectCode
from daozhang.ingest.sources import file_head
from tests.helpers.golden import TEST_PAN_KEY, check_golden, read_file
from tests.helpers.samples import sample

CN = sorted(
    p.name
    for p in sample("cn_bank_statement/abc_debit.csv").parent.iterdir()
    if p.suffix in (".csv", ".xls")
)
DERIVED = Path(__file__).parents[1] / "fixtures" / "derived"
ALLINPAY = DERIVED / "allinpay" / "allinpay_pos_statement.csv"


def _head(path: Path) -> FileHead:
    return file_head(path, scan_file(path))


def _read_with(
    fmt: MappedFormat, path: Path
) -> tuple[int, list[tuple[object, ...]], tuple[Reject, ...]]:
    """Read ``path`` with ``fmt`` whether or not it claims it, as the importer would."""
    scan = scan_file(path)
    ident = fmt.identify(_head(path))
    with tempfile.TemporaryDirectory() as tmp:
        if ident.reads_text and scan.utf8_valid is not None:
            try:
                prepared = prepare_text(path, scan, workdir=Path(tmp))
                data, enc, bad = prepared.data_path, prepared.encoding, prepared.bad_lines
            except UndecodableFileError:  # junk the importer stops before reading
                return 0, [], ()
        else:
            data, enc, bad = path, BINARY, frozenset()
        source = SourceFile(
            path=path,
            data_path=data,
            sha256=scan.sha256,
            encoding=enc,
            lines=scan.lines,
            bad_lines=bad,
        )
        con = duckdb.connect()
        try:
            set_pan_key(con, TEST_PAN_KEY)
            result = fmt.read(ReadContext(con=con, table="t"), source)
            exists = con.sql(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'"
            ).fetchall()
            rows = con.sql("SELECT * FROM t ORDER BY src_line").fetchall() if exists[0][0] else []
        finally:
            con.close()
    return result.rows_read, rows, result.rejects


def _fmt(name: str) -> MappedFormat:
    (f,) = [f for f in BUILTIN_PROFILE_FORMATS if f.profile.name == name]
    return f


@pytest.mark.parametrize("name", CN)
def test_every_chinese_bank_sample_reads_as_its_golden_file(name: str) -> None:
    path = sample(f"cn_bank_statement/{name}")
    read = read_file(path)
    assert read.format == "profile." + name.rsplit(".", 1)[0]
    check_golden(path, read)


def test_the_derived_allinpay_statement_reads_as_its_golden_file() -> None:
    read = read_file(ALLINPAY)
    assert read.format == "profile.allinpay_pos"
    check_golden(ALLINPAY, read)


def test_allinpay_refunds_are_negative_and_the_full_test_card_is_masked() -> None:
    read = read_file(ALLINPAY)
    by_line = {r["src_line"]: r for r in read.records}
    assert (by_line[4]["amount"], by_line[4]["fee"], by_line[4]["net_amount"]) == (
        "-50.00",
        "-0.30",
        "-49.70",
    )
    assert by_line[3]["card"] == "622424******0069"
    assert all("6224242300000069" not in str(v) for r in read.records for v in r.values())
    codes = {(r.line, r.code) for r in read.rejects}
    assert codes == {
        (8, RejectCode.BAD_DATE_FORMAT),
        (9, RejectCode.BAD_DIRECTION),
    }


def test_icbc_new_layout_wins_over_the_old_one_on_its_own_file_and_not_on_the_old() -> None:
    v2 = detect(_head(sample("cn_bank_statement/icbc_debit_v2.csv")))
    v1 = detect(_head(sample("cn_bank_statement/icbc_debit_v1.csv")))
    assert isinstance(v2, Detected) and v2.format.name == "profile.icbc_debit_v2"
    assert isinstance(v1, Detected) and v1.format.name == "profile.icbc_debit_v1"
    old_on_new = _fmt("icbc_debit_v1").identify(
        _head(sample("cn_bank_statement/icbc_debit_v2.csv"))
    )
    assert 0 < old_on_new.confidence < v2.identification.confidence


def test_a_canonical_csv_is_never_claimed_by_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "account_no,booking_date,value_date,amount,currency,counterparty_name,"
        "counterparty_account,reference,balance,bank_txn_id\n"
        "6222000011112222,2026-03-02,2026-03-02,99.62,CNY,Allinpay,,银联入账,1000.00,X1\n",
        encoding="utf-8",
    )
    head = _head(path)
    assert all(f.identify(head).confidence == 0 for f in BUILTIN_PROFILE_FORMATS)
    found = detect(head, FORMATS)
    assert isinstance(found, Detected) and found.format.name == "canonical.bank_statement"


def test_a_gb18030_download_reads_like_the_utf8_one(tmp_path: Path) -> None:
    original = sample("cn_bank_statement/icbc_debit_v2.csv")
    gbk = tmp_path / "icbc.csv"
    gbk.write_bytes(original.read_text(encoding="utf-8").encode("gb18030"))
    a, b = read_file(original), read_file(gbk)
    assert a.format == b.format
    assert a.records == b.records


def test_a_missing_row_shows_as_a_balance_break_and_the_row_still_goes_in() -> None:
    read = read_file(sample("cn_bank_statement/ccb_debit.xls"))
    (brk,) = read.rejects
    assert (brk.line, brk.code, brk.value, brk.detail) == (
        10,
        RejectCode.BALANCE_BREAK,
        "1579.11",
        "1625.11",
    )
    assert 10 in {r["src_line"] for r in read.records}
    zh, en = brk.messages()
    assert "余额不连续" in zh and "1625.11" in zh and "imported" in en


def test_a_statement_whose_balances_follow_newest_first_has_no_break() -> None:
    read = read_file(sample("cn_bank_statement/boc_debit.csv"))
    assert read.rejects == ()


PROFILE = """
name: shop_bank
kind: bank_statement
header: [日期, 收入, 支出, 余额, 方向]
stop: '^合计'
fields:
  account_no: {constant: '6222'}
  booking_date: {column: 日期, formats: ['%Y%m%d']}
  value_date: {column: 日期, formats: ['%Y%m%d']}
  amount: {income: 收入, expense: 支出}
  balance: {column: 余额}
  reference: {column: 方向}
"""


def _csv(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "shop.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["某银行账户明细"])
        w.writerow(["日期", "收入", "支出", "余额", "方向"])
        w.writerows(rows)
    return path


def test_rows_that_do_not_parse_are_set_aside_with_line_field_and_reason(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        [
            ["20260301", "100.00", "", "100.00", "a"],
            ["20260302", "abc", "", "100.00", "b"],
            ["20260230", "", "5.00", "95.00", "c"],
            ["20260303", "1.00", "2.00", "94.00", "d"],
            ["20260304", "¥1,000.00", "-", "1,094.00", "e 6224242300000069"],
            ["", "", "", "", ""],
            ["合计", "1101", "7", "", ""],
        ],
    )
    rows_read, rows, rejects = _read_with(MappedFormat(parse_profile(PROFILE)), path)
    assert rows_read == 5
    assert [r[0] for r in rows] == [3, 7]
    got = {(r.line, r.field, r.code) for r in rejects}
    assert (4, "amount", RejectCode.BAD_AMOUNT) in got
    assert (5, "booking_date", RejectCode.BAD_DATE_FORMAT) in got
    assert (6, "amount", RejectCode.BOTH_AMOUNTS) in got
    assert all(r.line is not None for r in rejects)
    good = dict(
        zip(
            ("src_line", "account_no", "booking_date", "value_date", "amount"),
            rows[1][:5],
            strict=True,
        )
    )
    assert good["amount"] == "1000.00" and good["booking_date"] == "2026-03-04"
    assert "6224242300000069" not in str(rows) and "622424******0069" in str(rows)


def test_a_file_without_the_profile_header_is_rejected_whole_with_the_columns_expected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    _, rows, rejects = _read_with(MappedFormat(parse_profile(PROFILE)), path)
    (r,) = rejects
    assert r.line is None and r.code is RejectCode.HEADER_NOT_FOUND
    assert "日期" in (r.detail or "")
    assert rows == []


def test_a_bank_that_prints_direction_in_its_own_column_gets_signed_amounts() -> None:
    read = read_file(sample("cn_bank_statement/bocom_debit.csv"))
    amounts = [r["amount"] for r in read.records]
    assert amounts[:2] == ["1.23", "-3.21"]


def test_a_credit_card_bill_without_years_takes_the_statement_month() -> None:
    read = read_file(sample("cn_bank_statement/cmb_credit.csv"))
    dates = [r["booking_date"] for r in read.records]
    assert dates[0] == "2023-12-29" and dates[-1] == "2024-01-07"


SAMPLES = [sample(f"cn_bank_statement/{n}") for n in CN] + [ALLINPAY]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.integers(0, len(SAMPLES) - 1), cut=st.floats(0, 1), junk=st.binary(max_size=64))
def test_junk_and_truncated_exports_give_rejects_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, which: int, cut: float, junk: bytes
) -> None:
    original = SAMPLES[which]
    data = original.read_bytes()
    at = int(len(data) * cut)
    path = tmp_path_factory.mktemp("junk") / original.name
    path.write_bytes(data[:at] + junk + data[at + len(junk) // 2 :])
    fmt = _fmt(original.name.rsplit(".", 1)[0] if original != ALLINPAY else "allinpay_pos")
    rows_read, rows, rejects = _read_with(fmt, path)
    assert len(rows) <= rows_read
    assert all(isinstance(r, Reject) for r in rejects)
