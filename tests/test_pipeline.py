"""Whole runs of the rules on small business situations, stated as records."""

from __future__ import annotations

import datetime as dt

import pytest

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.findings import ExceptionType
from daozhang.domain.records import Kind
from daozhang.errors import ConservationError
from daozhang.pipeline import reconcile, what_became_of
from daozhang.report.explain import explain
from tests.helpers.records import engine_with

M = "898340153990001"
ACCOUNT = "6222020200112233"
T = dt.datetime
D = dt.date


def _contract(**kw: object) -> dict[str, object]:
    return {
        "merchant_id": M,
        "merchant_name": "小杨生煎",
        "mcc": "5812",
        "acquirer": "银联商务",
        "settlement_account": ACCOUNT,
        "settlement_bank_code": "ICBC",
        "cycle": "T1",
        "cutoff_secs": 23 * 3600,
        "fee_wechat_ppm": 3_800,
        "effective_from": D(2026, 1, 1),
        **kw,
    }


def _settled_sale(rrn: str, amount: int, payout: str, settle: dt.date) -> dict[str, object]:
    fee = round(amount * 38 / 10_000)
    return {
        "acquirer": "银联商务",
        "merchant_id": M,
        "merchant_name": "小杨生煎",
        "mcc": "5812",
        "terminal_id": "10016919",
        "batch_no": "000001",
        "trace_no": rrn[-6:],
        "rrn": rrn,
        "txn_time": T(2026, 11, 4, 12, 0),
        "txn_type": "sale",
        "channel": "wechat",
        "amount_fen": amount,
        "fee_fen": fee,
        "net_fen": amount - fee,
        "settle_date": settle,
        "payout_id": payout,
    }


def test_payout_failed_during_bank_maintenance_then_retried() -> None:
    """ICBC is down 11-05 00:00 to 11-06 06:00; the payout fails, is retried, arrives Monday."""
    row = _settled_sale("R00000000001", 100_000, "PO1", D(2026, 11, 5))
    net = row["net_fen"]
    attempt = {
        "payout_id": "PO1",
        "acquirer": "银联商务",
        "merchant_id": M,
        "account_no": ACCOUNT,
        "bank_code": "ICBC",
        "amount_fen": net,
    }
    engine = engine_with(
        {
            Kind.CONTRACTS: [_contract()],
            Kind.SETTLEMENT: [row],
            Kind.MAINTENANCE: [
                {"bank_code": "ICBC", "starts_at": T(2026, 11, 5), "ends_at": T(2026, 11, 6, 6)}
            ],
            Kind.PAYOUTS: [
                {
                    **attempt,
                    "created_at": T(2026, 11, 5, 1),
                    "status": "failed",
                    "failure_code": "BANK_MAINTENANCE",
                    "attempt": 1,
                },
                {**attempt, "created_at": T(2026, 11, 9, 9), "status": "succeeded", "attempt": 2},
            ],
            Kind.BANK_STATEMENT: [
                {
                    "account_no": ACCOUNT,
                    "booking_date": D(2026, 11, 9),
                    "value_date": D(2026, 11, 9),
                    "amount_fen": net,
                    "counterparty_name": "银联商务股份有限公司",
                    "reference": "PO1",
                    "bank_txn_id": "B1",
                }
            ],
        }
    )
    result = reconcile(engine, as_of=D(2026, 11, 10), calendar=BankCalendar())
    assert [(f.type, f.key) for f in result.findings] == [(ExceptionType.ARRIVED_LATE, "PO1")]
    late = result.findings[0]
    assert (late.expected, late.actual) == ("2026-11-06", "2026-11-09")
    zh = explain(late.type, late.facts, "zh")
    assert "ICBC" in zh and "11-05 00:00" in zh and "11-06 06:00" in zh
    assert "11-05 00:00 to 11-06 06:00" in explain(late.type, late.facts, "en")
    assert {e.role for e in late.evidence} == {"payout", "settlement", "bank", "maintenance"}
    assert result.dispositions["payouts"] == {"arrived_late": (1, net)}


def test_payout_still_failing_in_maintenance_can_be_retried_after_the_window() -> None:
    engine = engine_with(
        {
            Kind.MAINTENANCE: [
                {"bank_code": "ICBC", "starts_at": T(2026, 11, 5), "ends_at": T(2026, 11, 6, 6)}
            ],
            Kind.PAYOUTS: [
                {
                    "payout_id": "PO2",
                    "merchant_id": M,
                    "account_no": ACCOUNT,
                    "bank_code": "ICBC",
                    "amount_fen": 99_900,
                    "created_at": T(2026, 11, 5, 10),
                    "status": "failed",
                    "failure_code": "BANK_MAINTENANCE",
                    "attempt": 1,
                }
            ],
        }
    )
    result = reconcile(engine, as_of=D(2026, 11, 5), calendar=BankCalendar())
    (finding,) = result.findings
    assert finding.type is ExceptionType.PAYOUT_FAILED_RETRYABLE
    # due: one working day after the maintenance ends (Friday 11-06 -> Monday 11-09)
    assert finding.due_date == D(2026, 11, 9)


def test_a_credit_without_reference_pays_one_payout_only() -> None:
    """Two payouts of the same amount, one credit: one arrives, the other is still owed."""
    payouts = [
        {
            "payout_id": pid,
            "merchant_id": M,
            "account_no": ACCOUNT,
            "bank_code": "ICBC",
            "amount_fen": 50_000,
            "created_at": T(2026, 11, 3, 10),
            "status": "succeeded",
            "attempt": 1,
        }
        for pid in ("PO3", "PO4")
    ]
    credit = {
        "account_no": ACCOUNT,
        "booking_date": D(2026, 11, 3),
        "value_date": D(2026, 11, 3),
        "amount_fen": 50_000,
        "counterparty_name": "银联商务股份有限公司",
        "bank_txn_id": "B2",
    }
    engine = engine_with({Kind.PAYOUTS: payouts, Kind.BANK_STATEMENT: [credit]})
    result = reconcile(engine, as_of=D(2026, 11, 6), calendar=BankCalendar())
    assert [(f.type.value, f.key) for f in result.findings] == [("settled_not_arrived", "PO4")]
    assert result.dispositions["bank_statement"] == {"matched": (1, 50_000)}


def test_resolved_exception_names_the_credit_that_arrived() -> None:
    payout = {
        "payout_id": "PO5",
        "merchant_id": M,
        "account_no": ACCOUNT,
        "amount_fen": 20_000,
        "created_at": T(2026, 11, 3, 10),
        "status": "succeeded",
        "attempt": 1,
    }
    credit = {
        "account_no": ACCOUNT,
        "booking_date": D(2026, 11, 9),
        "value_date": D(2026, 11, 9),
        "amount_fen": 20_000,
        "reference": "PO5",
        "src_path": "bank/nov.csv",
        "src_line": 17,
    }
    engine = engine_with({Kind.PAYOUTS: [payout], Kind.BANK_STATEMENT: [credit]})
    reconcile(engine, as_of=D(2026, 11, 10), calendar=BankCalendar())
    became = what_became_of(engine, [("settled_not_arrived", "PO5")], as_of=D(2026, 11, 10))
    assert became[("settled_not_arrived", "PO5")]["state"] == "arrived_late"
    assert became[("settled_not_arrived", "PO5")]["evidence"] == [
        {"role": "bank", "path": "bank/nov.csv", "line": 17}
    ]


def test_two_contracts_effective_the_same_day_do_not_count_a_sale_twice() -> None:
    """A re-imported contract with another fee must not fan the sale out into two rows."""
    sale = {
        "merchant_id": M,
        "terminal_id": "10016919",
        "rrn": "R00000000009",
        "txn_time": T(2026, 11, 2, 10),
        "txn_type": "sale",
        "channel": "wechat",
        "amount_fen": 10_000,
        "result": "approved",
    }
    engine = engine_with(
        {
            Kind.CONTRACTS: [_contract(import_id=1), _contract(import_id=2, fee_wechat_ppm=6000)],
            Kind.POS_JOURNAL: [sale],
        }
    )
    result = reconcile(engine, as_of=D(2026, 11, 6), calendar=BankCalendar())
    assert result.dispositions["pos_journal"] == {"missing_in_settlement": (1, 10_000)}


def test_a_rule_that_loses_a_record_fails_the_run() -> None:
    engine = engine_with({Kind.BANK_STATEMENT: []})
    # A broken disposition step: a record of the input is not accounted for.
    engine.con.execute(
        "CREATE OR REPLACE TABLE bank_statement AS SELECT * FROM bank_statement "
        "UNION ALL SELECT * REPLACE (CAST(1 AS BIGINT) AS row_id, CAST(5 AS BIGINT) AS amount_fen) "
        "FROM bank_statement"
    )
    engine.con.execute(
        "INSERT INTO bank_statement (row_id, import_id, src_file, src_path, src_line, row_fp, "
        "row_occ, account_no, booking_date, value_date, amount_fen, currency) VALUES "
        "(7, 1, 'x', 'b.csv', 2, 'fp', 1, 'A', DATE '2026-11-02', DATE '2026-11-02', 5, 'CNY'), "
        "(7, 1, 'x', 'b.csv', 3, 'fp', 1, 'A', DATE '2026-11-02', DATE '2026-11-02', 6, 'CNY')"
    )
    with pytest.raises(ConservationError, match="bank"):
        reconcile(engine, as_of=D(2026, 11, 6), calendar=BankCalendar())
