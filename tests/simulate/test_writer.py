"""Formatting in SQL agrees with the domain's money functions; headers are the contract's."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.domain.money import fee_fen, format_yuan, parse_percent_ppm
from daozhang.domain.records import Kind
from daozhang.simulate.settlement import fee_sql
from daozhang.simulate.writer import _MACROS, HEADERS, percent_text

# DESIGN.md section 5, copied by hand: the writer must not be its own reference.
CANONICAL = {
    Kind.POS_JOURNAL: "merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,"
    "card,amount,currency,result,response_code,auth_code,orig_rrn",
    Kind.SETTLEMENT: "acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,"
    "txn_time,txn_type,channel,card,amount,fee,net_amount,settle_date,payout_id",
    Kind.PAYOUTS: "payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,"
    "created_at,status,failure_code,failure_reason,bank_ref,attempt",
    Kind.BANK_STATEMENT: "account_no,booking_date,value_date,amount,currency,counterparty_name,"
    "counterparty_account,reference,balance,bank_txn_id",
    Kind.CONTRACTS: "merchant_id,merchant_name,mcc,acquirer,settlement_account,"
    "settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,"
    "fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from",
    Kind.TERMINALS: "terminal_id,merchant_id,status,status_since,reason,note",
    Kind.MAINTENANCE: "bank_code,start,end,scope,note",
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for macro in _MACROS:
        c.execute(macro)
    return c


def test_headers_are_the_canonical_formats() -> None:
    assert {k: ",".join(v) for k, v in HEADERS.items()} == CANONICAL


@settings(deadline=None)  # a DuckDB query per example: no timing assumptions
@given(fen=st.integers(-(10**15), 10**15))
def test_yuan_in_sql_is_format_yuan(con: duckdb.DuckDBPyConnection, fen: int) -> None:
    assert con.execute("SELECT yuan(CAST(? AS BIGINT))", [fen]).fetchall()[0][0] == format_yuan(fen)


@settings(deadline=None)
@given(rrn=st.integers(0, 10**12 - 1))
def test_rrn_text_is_twelve_digits(con: duckdb.DuckDBPyConnection, rrn: int) -> None:
    assert con.execute("SELECT rrn_text(CAST(? AS BIGINT))", [rrn]).fetchall()[0][0] == (
        f"{rrn:012d}"
    )


@given(ppm=st.integers(0, 1_000_000))
def test_percent_text_reads_back_as_the_same_rate(ppm: int) -> None:
    text = percent_text(ppm)
    assert parse_percent_ppm(text) == ppm
    assert len(text.split(".")[1]) >= 2


def test_percent_text_examples() -> None:
    assert [percent_text(p) for p in (3_800, 5_000, 6_000, 2_500, 10_000, 1)] == [
        "0.38",
        "0.50",
        "0.60",
        "0.25",
        "1.00",
        "0.0001",
    ]


@settings(deadline=None)
@given(
    amount=st.integers(-(10**9), 10**9),
    rate=st.integers(0, 100_000),
    cap=st.none() | st.integers(0, 100_000),
)
def test_fee_in_sql_is_fee_fen(
    con: duckdb.DuckDBPyConnection, amount: int, rate: int, cap: int | None
) -> None:
    # fee_sql repeats its arguments, so they are bound through a one-row table.
    con.execute("CREATE OR REPLACE TABLE one (amount BIGINT, rate BIGINT, cap BIGINT)")
    con.execute("INSERT INTO one VALUES (?, ?, ?)", [amount, rate, cap])
    got = con.execute(f"SELECT {fee_sql('amount', 'rate', 'cap')} FROM one").fetchall()[0][0]
    assert got == fee_fen(amount, rate_ppm=rate, cap_fen=cap)
