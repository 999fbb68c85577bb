"""Whole rows: every kind normalised, every failing field named, the fingerprint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from daozhang.domain.records import SCHEMAS, Kind
from daozhang.ingest.base import ReadContext, SourceFile
from daozhang.ingest.canonical import CanonicalCsv
from daozhang.ingest.cards import card_hash_python, set_pan_key
from daozhang.ingest.encoding import prepare_text, scan_file
from daozhang.ingest.rejects import RejectCode
from daozhang.normalise.normalise import iter_rejects, normalise

KEY = b"\x01" * 32

# One realistic row of every kind, and what it must become.
SAMPLES: dict[Kind, tuple[str, str, dict[str, object]]] = {
    Kind.POS_JOURNAL: (
        "merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,card,"
        "amount,currency,result,response_code,auth_code,orig_rrn",
        "102100000000001,T0000001,000012,000345,600000000345,2026-03-01T21:14:05,sale,"
        "debit_card,6228480012345678,1234.50,,approved,00,123456,",
        {
            "txn_time": dt.datetime(2026, 3, 1, 21, 14, 5),
            "txn_date": dt.date(2026, 3, 1),
            "txn_secs": 76445,
            "card_masked": "622848******5678",
            "card_hash": card_hash_python(KEY, "6228480012345678"),
            "amount_fen": 123450,
            "currency": "CNY",
            "batch_no": "000012",
            "orig_rrn": None,
        },
    ),
    Kind.SETTLEMENT: (
        "acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,"
        "txn_type,channel,card,amount,fee,net_amount,settle_date,payout_id",
        "银联商务,102100000000001,上海某某餐饮有限公司,5812,T0000001,000012,000345,600000000345,"
        "2026-03-01T21:14:05,sale,debit_card,622848******5678,1234.50,6.17,1228.33,2026-03-02,"
        "P20260302001",
        {
            "merchant_name": "上海某某餐饮有限公司",
            "fee_fen": 617,
            "net_fen": 122833,
            "currency": "CNY",
            "settle_date": dt.date(2026, 3, 2),
            "card_masked": "622848******5678",
            "card_hash": None,
        },
    ),
    Kind.PAYOUTS: (
        "payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,"
        "status,failure_code,failure_reason,bank_ref,attempt",
        "P20260302001,银联商务,102100000000001,6222000011112222,上海某某餐饮有限公司,ICBC,"
        "1228.33,2026-03-02T09:00:00,FAILED,BANK_MAINTENANCE,银行系统维护,,2",
        {
            "amount_fen": 122833,
            "created_date": dt.date(2026, 3, 2),
            "status": "failed",
            "attempt": 2,
            "bank_ref": None,
        },
    ),
    Kind.BANK_STATEMENT: (
        "account_no,booking_date,value_date,amount,currency,counterparty_name,"
        "counterparty_account,reference,balance,bank_txn_id",
        '6222000011112222,2026-03-03,2026-03-03,"1,228.33",CNY,银联商务,,P20260302001,-50.00,B0001',
        {"amount_fen": 122833, "balance_fen": -5000, "value_date": dt.date(2026, 3, 3)},
    ),
    Kind.CONTRACTS: (
        "merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,"
        "settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,"
        "fee_wechat,fee_alipay,fee_unionpay_qr,effective_from",
        "102100000000001,上海某某餐饮有限公司,5812,银联商务,6222000011112222,上海某某餐饮有限公司,"
        "ICBC,t1,23:00,0.50,20,0.60%,0.38,0.38,,2026-01-01",
        {
            "cycle": "T1",
            "cutoff_secs": 82800,
            "fee_debit_card_ppm": 5000,
            "cap_debit_card_fen": 2000,
            "fee_credit_card_ppm": 6000,
            "fee_unionpay_qr_ppm": None,
            "effective_from": dt.date(2026, 1, 1),
        },
    ),
    Kind.TERMINALS: (
        "terminal_id,merchant_id,status,status_since,reason,note",
        "T0000001,102100000000001,Suspended,2026-03-05,unpaid_fee,欠费停机",
        {"status": "suspended", "reason": "unpaid_fee", "status_since": dt.date(2026, 3, 5)},
    ),
    Kind.MAINTENANCE: (
        "bank_code,start,end,scope,note",
        "ICBC,2026-03-07T22:00:00,2026-03-08T06:00:00+08:00,payouts,系统升级",
        {
            "starts_at": dt.datetime(2026, 3, 7, 22),
            "ends_at": dt.datetime(2026, 3, 8, 6),
            "start_date": dt.date(2026, 3, 7),
            "end_date": dt.date(2026, 3, 8),
        },
    ),
}


def run(tmp_path: Path, kind: Kind, header: str, rows: list[str]) -> duckdb.DuckDBPyConnection:
    path = tmp_path / f"{kind}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    scan = scan_file(path)
    prepared = prepare_text(path, scan, workdir=tmp_path / "w")
    source = SourceFile(
        path=path,
        data_path=prepared.data_path,
        sha256=scan.sha256,
        encoding=prepared.encoding,
        lines=scan.lines,
    )
    con = duckdb.connect()
    set_pan_key(con, KEY)
    CanonicalCsv(kind).read(ReadContext(con=con, table="raw"), source)
    normalise(con, kind, "raw", out_table="good", rejects_table="bad")
    return con


def rows_of(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    cur = con.execute("SELECT * FROM good ORDER BY src_line")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.mark.parametrize("kind", list(Kind))
def test_a_realistic_row_of_every_kind_is_stored_as_the_contract_says(
    tmp_path: Path, kind: Kind
) -> None:
    header, row, expected = SAMPLES[kind]
    con = run(tmp_path, kind, header, [row])
    assert list(iter_rejects(con, "bad", path="x")) == []
    (got,) = rows_of(con)
    assert list(got) == ["src_line", *(c.name for c in SCHEMAS[kind]), "row_fp"]
    for column, value in expected.items():
        assert got[column] == value, column
    assert got["src_line"] == 2


def test_every_failing_field_of_a_row_is_named_and_the_row_is_not_kept(tmp_path: Path) -> None:
    header, row, _ = SAMPLES[Kind.POS_JOURNAL]
    bad = row.replace("2026-03-01T21:14:05", "2026-02-30T21:14:05").replace("1234.50", "12.3.4")
    bad = bad.replace(",sale,", ",purchase,")
    con = run(tmp_path, Kind.POS_JOURNAL, header, [row, bad])
    rejects = list(iter_rejects(con, "bad", path="pos.csv"))
    assert [(r.line, r.field, r.code) for r in rejects] == [
        (3, "amount", RejectCode.BAD_AMOUNT),
        (3, "txn_time", RejectCode.BAD_TIMESTAMP),
        (3, "txn_type", RejectCode.BAD_ENUM),
    ]
    assert rejects[2].detail == "sale|refund|void|preauth_complete"
    assert all(r.raw and "6228480012345678" not in r.raw for r in rejects)
    assert [r["src_line"] for r in rows_of(con)] == [2]


def test_a_maintenance_window_that_ends_before_it_starts_is_rejected(tmp_path: Path) -> None:
    header = "bank_code,start,end,scope,note"
    con = run(tmp_path, Kind.MAINTENANCE, header, ["ICBC,2026-03-08T06:00,2026-03-07T22:00,all,"])
    (reject,) = iter_rejects(con, "bad", path="m.csv")
    assert (reject.field, reject.code) == ("end", RejectCode.END_BEFORE_START)
    assert rows_of(con) == []


def test_a_negative_fee_cap_is_rejected(tmp_path: Path) -> None:
    header, row, _ = SAMPLES[Kind.CONTRACTS]
    con = run(tmp_path, Kind.CONTRACTS, header, [row.replace(",20,", ",-20,")])
    (reject,) = iter_rejects(con, "bad", path="c.csv")
    assert (reject.field, reject.code) == ("cap_debit_card", RejectCode.NEGATIVE_AMOUNT)


def test_row_fingerprint_sees_every_field_and_nothing_else(tmp_path: Path) -> None:
    header = "terminal_id,merchant_id,status,status_since,reason,note"
    rows = [
        "T1,M1,active,2026-01-01,,a",
        " T1 ,M1,ACTIVE,2026-01-01,,a",  # the same once normalised
        "T1,M1,active,2026-01-01,,b",  # one field differs
        "T1,M1,active,2026-01-01,,",  # note empty (NULL)
        "T1,M,1active,2026-01-01,,a",  # not a shifted copy of the first
        "T1,M1,active,,,a",  # a date missing
    ]
    con = run(tmp_path, Kind.TERMINALS, header, rows)
    fps = {r["src_line"]: r["row_fp"] for r in rows_of(con)}
    assert fps[2] == fps[3]
    assert len({fps[2], fps[4], fps[5], fps[7]}) == 4
    assert 6 not in fps  # '1active' is no status
