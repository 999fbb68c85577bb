"""ISO 8583 message logs read into POS journal records: a terminal's day, the rules, junk."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import format_yuan
from daozhang.ingest import iso8583_log
from daozhang.ingest.base import FileHead, ReadContext, SourceFile
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import BINARY, scan_file
from daozhang.ingest.iso8583_log import (
    Iso8583Log,
    MessageLogResult,
    format_from_spec_file,
    message_view_sql,
    parse_line,
    txn_time_sql,
)
from daozhang.ingest.iso8583_specs import CUP_POS, CUP_POS_BINARY
from daozhang.ingest.registry import FORMATS, Detected, detect
from daozhang.ingest.rejects import RejectCode
from daozhang.report.explain import explain
from daozhang.service.imports import import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.store.workspace import Workspace
from tests.helpers import iso8583_day
from tests.helpers.golden import TEST_PAN_KEY, check_golden, read_file
from tests.helpers.samples import sample

TODAY = dt.date(2026, 11, 5)
HEX = Iso8583Log(CUP_POS, today=lambda: TODAY)
BIN = Iso8583Log(CUP_POS_BINARY, today=lambda: TODAY)
VFWZ = sample("iso8583/cup_pos_vfwz/decoded_values.json").parent


def _head(path: Path) -> FileHead:
    data = path.read_bytes()[: 1 << 16]
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return FileHead(path=path, size=path.stat().st_size, head=data, text=text, encoding=None)


def _read(path: Path, fmt: Iso8583Log) -> tuple[duckdb.DuckDBPyConnection, MessageLogResult]:
    scan = scan_file(path)
    source = SourceFile(
        path=path, data_path=path, sha256=scan.sha256, encoding=BINARY, lines=scan.lines
    )
    con = duckdb.connect()
    set_pan_key(con, TEST_PAN_KEY)
    result = fmt.read(ReadContext(con=con, table="raw"), source)
    assert isinstance(result, MessageLogResult)
    return con, result


# -- a terminal's day ---------------------------------------------------------


def test_the_fixtures_are_what_the_helper_writes() -> None:
    assert iso8583_day.HEX_LOG.read_text(encoding="utf-8") == iso8583_day.hex_log_text()
    assert iso8583_day.BINARY_LOG.read_bytes() == iso8583_day.binary_log_bytes()


@pytest.mark.parametrize("path", [iso8583_day.HEX_LOG, iso8583_day.BINARY_LOG], ids=["hex", "bin"])
def test_a_terminals_day_reads_as_its_golden_journal(path: Path) -> None:
    read = read_file(path, [HEX, BIN])
    check_golden(path, read)
    results = {r["trace_no"]: (r["txn_type"], r["result"]) for r in read.records}
    assert results == {
        "000101": ("sale", "approved"),
        "000102": ("sale", "approved"),
        "000103": ("sale", "declined"),
        "000104": ("sale", "timeout"),
        "000105": ("sale", "reversed"),
        "000106": ("sale", "reversal_unconfirmed"),
        "000107": ("void", "approved"),
        "000108": ("refund", "approved"),
        "000110": ("preauth_complete", "approved"),
        "000112": ("sale", "approved"),
        "000113": ("sale", "approved"),
    }
    assert read.rows_read == len(read.records) + len({r.line for r in read.rejects})


def test_the_registry_recognises_both_framings_and_nothing_else_claims_them() -> None:
    for path, name in ((iso8583_day.HEX_LOG, "iso8583.cup_pos"),
                       (iso8583_day.BINARY_LOG, "iso8583.cup_pos_binary")):  # fmt: skip
        found = detect(_head(path), FORMATS)
        assert isinstance(found, Detected) and found.format.name == name
    for name in ("pay_request", "signin_response", "sign_img_request"):
        found = detect(_head(VFWZ / f"{name}.hex"), FORMATS)
        assert isinstance(found, Detected) and found.format.name == "iso8583.cup_pos"


def test_a_csv_journal_is_not_taken_for_a_message_log(tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("merchant_id,terminal_id,txn_time\n898340153990001,10016919,x\n")
    assert HEX.identify(_head(path)).confidence == 0
    assert BIN.identify(_head(path)).confidence == 0


def test_the_real_vfwz_sale_and_its_response_give_one_approved_sale(tmp_path: Path) -> None:
    order = ["signin_request", "signin_response", "download_request", "download_response",
             "pay_request", "pay_response", "sign_img_request", "sign_img_response"]  # fmt: skip
    log = tmp_path / "vfwz.log"
    log.write_text("".join((VFWZ / f"{n}.hex").read_text().strip() + "\n" for n in order))
    con, result = _read(log, Iso8583Log(CUP_POS, today=lambda: dt.date(2026, 9, 1)))
    rows = con.sql("SELECT * EXCLUDE (card_hash) FROM raw").fetchall()
    assert rows == [
        (5, "84329004582000B", "10016919", "000727", "000079", "X00004002761",
         "2026-08-24T14:15:54", "sale", "debit_card", "622424******0069", "full", "11.11",
         "CNY", "approved", "00", "650852", None),
    ]  # fmt: skip
    assert result.rejects == ()
    assert dict(result.categories) == {"admin": 2, "journal": 1, "network": 4, "response": 1}


def test_pre_auths_balance_inquiries_and_sign_in_are_counted_not_recorded() -> None:
    _, result = _read(iso8583_day.HEX_LOG, HEX)
    assert dict(result.categories) == {
        "balance_inquiry": 1,
        "journal": 11,
        "network": 2,
        "orphan": 1,
        "preauth": 1,
        "response": 10,
        "reversal": 5,
    }
    assert result.messages == 32  # 31 decoded + the half message


def test_no_card_number_track_pin_or_chip_data_is_left_in_any_table() -> None:
    for path, fmt in ((iso8583_day.HEX_LOG, HEX), (iso8583_day.BINARY_LOG, BIN)):
        con, _ = _read(path, fmt)
        for (table,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall():
            text = str(con.sql(f"SELECT * FROM {table}").fetchall())
            assert iso8583_day.PAN not in text and "0123456789ABCDEF" not in text
            assert "9F2608" not in text


def test_a_layout_from_a_spec_file_reads_the_same_journal(tmp_path: Path) -> None:
    spec = tmp_path / "link.yaml"
    spec.write_text("name: my_link\nframing: length_prefixed\n", encoding="utf-8")
    fmt = format_from_spec_file(spec)
    assert fmt.name == "iso8583.my_link"
    ours = read_file(iso8583_day.BINARY_LOG, [fmt])
    builtin = read_file(iso8583_day.BINARY_LOG, [BIN])
    assert [r["trace_no"] for r in ours.records] == [r["trace_no"] for r in builtin.records]


def test_a_qr_wallet_can_be_named_by_an_acquirers_private_field(tmp_path: Path) -> None:
    spec = tmp_path / "wallet.yaml"
    spec.write_text(
        'name: wallet\nchannels:\n  - {field: "22", at: 0, equals: "03", channel: wechat}\n',
        encoding="utf-8",
    )
    read = read_file(iso8583_day.HEX_LOG, [format_from_spec_file(spec)])
    assert {r["channel"] for r in read.records if r["trace_no"] == "000112"} == {"wechat"}


# -- the rules' worked examples -----------------------------------------------


def _example(doc: str | None) -> tuple[list[str], list[list[str | None]], str | None]:
    """The table of a docstring's worked example: header, rows ('-' = NULL), the 'gives' line."""
    assert doc is not None
    block = doc.split("Worked example::", 1)[1] if "Worked example::" in doc else doc
    block = block.split("::", 1)[1] if "::" in block.split("\n\n")[0] else block
    lines = [ln.split() for ln in block.strip().splitlines() if ln.strip()]
    header, rows, gives = lines[0], [], None
    for ln in lines[1:]:
        if ln[0] == "gives":
            gives = " ".join(ln[1:])
            continue
        row: list[str | None] = [None if v == "-" else v for v in ln]
        rows.append(row + [None] * (len(header) - len(row)))
    return header, rows, gives


def _values(con: duckdb.DuckDBPyConnection, header: list[str], rows: list[list[str | None]]) -> str:
    con.execute(f"CREATE OR REPLACE TABLE ex ({', '.join(f'{h} VARCHAR' for h in header)})")
    con.executemany(f"INSERT INTO ex VALUES ({', '.join('?' for _ in header)})", rows)
    return "ex"


def test_pairing_worked_example() -> None:
    header, rows, gives = _example(iso8583_log.link_sql.__doc__)
    con = duckdb.connect()
    _values(con, header, rows)
    con.execute(
        "CREATE TABLE msgs AS SELECT CAST(pos AS BIGINT) AS pos, mti, tid AS f41, stan AS f11, "
        "f39 FROM ex"
    )
    con.execute(f"CREATE VIEW m AS {message_view_sql('msgs')}")
    got = con.sql(f"SELECT pos, txn_pos FROM ({iso8583_log.link_sql('m')}) ORDER BY pos")
    text = " ".join(f"{p}->{t if t is not None else 'none'}" for p, t in got.fetchall())
    assert text == gives


def test_classification_worked_example() -> None:
    header, rows, _ = _example(iso8583_log.category_sql.__doc__)
    con = duckdb.connect()
    _values(con, header, rows)
    sql = iso8583_log.category_sql("mti", "f3", "f60")
    got = con.sql(f"SELECT {sql}, gives FROM ex").fetchall()
    assert all(a == b for a, b in got), got


def test_result_worked_example() -> None:
    header, rows, _ = _example(iso8583_log.result_sql.__doc__)
    con = duckdb.connect()
    _values(con, header, rows)
    sql = iso8583_log.result_sql(
        "resp_f39", "CAST(has_resp AS BOOLEAN)", "CAST(rev_sent AS BOOLEAN)",
        "CAST(rev_done AS BOOLEAN)",
    )  # fmt: skip
    got = con.sql(f"SELECT {sql}, gives FROM ex").fetchall()
    assert all(a == b for a, b in got), got


def test_year_inference_worked_example() -> None:
    header, rows, _ = _example(txn_time_sql.__doc__)
    con = duckdb.connect()
    _values(con, header, rows)
    sql = txn_time_sql("mmdd", "hhmmss", "CAST(line_ts AS TIMESTAMP)", "CAST(anchor AS TIMESTAMP)")
    got = con.sql(f"SELECT strftime({sql}, '%Y-%m-%dT%H:%M:%S'), gives FROM ex").fetchall()
    assert all(a == b for a, b in got), got


@settings(max_examples=60, deadline=None)
@given(
    moments=st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2098, 12, 31)),
            st.integers(min_value=-36 * 3600, max_value=36 * 3600),  # clock skew, seconds
            st.booleans(),  # the line has a timestamp
        ),
        min_size=1,
        max_size=20,
    )
)
def test_year_inference_finds_the_real_moment_across_year_ends(
    moments: list[tuple[dt.datetime, int, bool]],
) -> None:
    """Whatever the day (Dec/Jan and Feb 29 included): with a line timestamp within 36 h
    of the message, or with only the import day after it (within a year), the year is right."""
    con = duckdb.connect()
    rows = []
    for true, skew, stamped in moments:
        true = true.replace(microsecond=0)
        line_ts = true + dt.timedelta(seconds=skew) if stamped else None
        anchor = line_ts if stamped else true + dt.timedelta(seconds=abs(skew) * 200)
        rows.append((true.strftime("%m%d"), true.strftime("%H%M%S"), line_ts, anchor, true))
    con.execute(
        "CREATE TABLE c (mmdd VARCHAR, hms VARCHAR, ts TIMESTAMP, a TIMESTAMP, t TIMESTAMP)"
    )
    con.executemany("INSERT INTO c VALUES (?, ?, ?, ?, ?)", rows)
    got = con.sql(f"SELECT {txn_time_sql('mmdd', 'hms', 'ts', 'a')}, t FROM c").fetchall()
    assert all(a == b for a, b in got), got


# -- junk never crashes ---------------------------------------------------------


def _check_consistent(con: duckdb.DuckDBPyConnection, result: MessageLogResult) -> None:
    rows = con.sql("SELECT count(*) FROM raw").fetchall()[0][0]
    assert result.rows_read == rows + len({r.line for r in result.rejects})
    assert all(r.line is not None and r.line >= 1 for r in result.rejects)
    assert all(iso8583_day.PAN not in (r.detail or "") for r in result.rejects)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_junk_and_truncated_hex_logs_give_rejects_never_an_exception(
    tmp_path: Path, data: st.DataObject
) -> None:
    lines = iso8583_day.HEX_LOG.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        what = data.draw(st.sampled_from(["cut", "flip", "junk", "drop"]))
        if what == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        elif what == "flip":
            j = data.draw(st.integers(0, max(len(lines[i]) - 1, 0)))
            lines[i] = lines[i][:j] + data.draw(st.sampled_from("0F9Az ")) + lines[i][j + 1 :]
        elif what == "junk":
            lines[i] = data.draw(st.text(max_size=60))
        else:
            del lines[i]
            if not lines:
                lines = ["00"]
    path = tmp_path / "junk.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    con, result = _read(path, HEX)
    _check_consistent(con, result)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(0, 2821),
    flips=st.lists(st.tuples(st.integers(0, 2821), st.integers(0, 255)), max_size=3),
)
def test_junk_and_truncated_binary_logs_give_rejects_never_an_exception(
    tmp_path: Path, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(iso8583_day.BINARY_LOG.read_bytes())
    for at, value in flips:
        data[at % len(data)] = value
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(data[:cut]))
    con, result = _read(path, BIN)
    _check_consistent(con, result)
    if not flips:  # a cut inside a frame is named; at a frame boundary nothing is wrong
        starts, at = {0}, 0
        while at < len(data):
            at += 2 + int.from_bytes(data[at : at + 2], "big")
            starts.add(at)
        truncated = [r for r in result.rejects if "truncated" in (r.detail or "")]
        assert len(truncated) == (0 if cut in starts else 1)


def test_a_cut_binary_log_names_the_offset_of_the_cut_message(tmp_path: Path) -> None:
    data = iso8583_day.BINARY_LOG.read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(data[:100])
    con, result = _read(path, BIN)
    assert [(r.line, r.code) for r in result.rejects] == [(2, RejectCode.BAD_MESSAGE)]
    assert re.match(
        r"offset \d+: truncated: \d+ bytes declared, \d+ left", result.rejects[0].detail or ""
    )
    assert con.sql("SELECT count(*) FROM raw").fetchall()[0][0] == 0


def test_line_prefixes_real_logs_have() -> None:
    assert parse_line("2026-03-01T14:05:09 >> 0102") == ("2026-03-01T14:05:09", b"\x01\x02")
    assert parse_line("[2026/03/01 14:05:09.123456] [RECV]: 01 02") == (
        "2026/03/01 14:05:09.123456",
        b"\x01\x02",
    )
    assert parse_line("2026-03-01 14:05:09 接收：0102") == ("2026-03-01 14:05:09", b"\x01\x02")
    assert parse_line("0102") == (None, b"\x01\x02")
    assert parse_line("ERROR socket closed") is None
    assert parse_line("010") is None


# -- end to end ---------------------------------------------------------------


def test_timeout_and_unconfirmed_reversal_that_settled_are_debited_but_failed(
    tmp_path: Path,
) -> None:
    """The terminal timed out on 000104 and its reversal of 000106 was never acknowledged;
    the acquirer settled both: the customer paid, the shop thinks not."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "terminal_day.log").write_text(iso8583_day.hex_log_text(), encoding="utf-8")
    header = (
        "acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,"
        "txn_type,channel,amount,fee,net_amount,settle_date,payout_id\n"
    )
    rows = [
        "银联商务,898340153990001,小杨生煎,5812,10016919,000001,000104,R00000000104,"
        "2026-11-02T11:00:00,sale,debit_card,88.00,0.44,87.56,2026-11-03,",
        "银联商务,898340153990001,小杨生煎,5812,10016919,000001,000106,R00000000106,"
        "2026-11-02T12:00:00,sale,debit_card,66.00,0.33,65.67,2026-11-03,",
    ]
    (inp / "settlement.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "home") as ws:
        imported = import_paths(ws, [inp / "terminal_day.log", inp / "settlement.csv"])
        assert [f.format for f in imported.files] == ["iso8583.cup_pos", "canonical.settlement"]
        report = reconcile_workspace(ws, as_of=dt.date(2026, 11, 5), actor="test")
    found = {
        (f.type, f.key, format_yuan(f.amount_fen))
        for f in report.result.findings
        if f.type is ExceptionType.DEBITED_BUT_FAILED
    }
    assert found == {
        (ExceptionType.DEBITED_BUT_FAILED, "898340153990001|10016919|000001|000104", "88.00"),
        (ExceptionType.DEBITED_BUT_FAILED, "898340153990001|10016919|000001|000106", "66.00"),
    }
    by_trace = {f.key[-6:]: f for f in report.result.findings if f.type in {t for t, _, _ in found}}
    unconfirmed = by_trace["000106"]
    zh = explain(unconfirmed.type, unconfirmed.facts, "zh")
    en = explain(unconfirmed.type, unconfirmed.facts, "en")
    assert "冲正" in zh and "98：交换中心收不到发卡行应答" in zh
    assert "reversal" in en and "never got it acknowledged" in en
    timeout = by_trace["000104"]
    assert "got no answer" in explain(timeout.type, timeout.facts, "en")
