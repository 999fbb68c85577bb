"""Where the money of each day went: the totals a run leaves behind for pages and reports.

A reconcile run knows, for every merchant and business day, what was sold,
settled, paid out and arrived; and, for every payout, its attempts and
where it ended. Those few thousand rows are what "where is my money" pages
read, many times a second, long after the run: they are taken from the run's
tables here, once, and stored with it (store/totals.py), so no page ever
runs the match again.

The day of a total is the transactions' local date (``txn_date``), as in the
daily report: a sale, its settlement row, the payout that carried it and the
credit that brought it home all count on the day the customer paid.

Worked example (a Monday's two WeChat sales and a refund; the payout failed
in bank maintenance, was retried the same day and arrived on Wednesday;
tests/report/test_totals.py runs it)::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result,orig_rrn
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:00:00,sale,wechat,100.00,approved,
        898340153990001,10016919,000001,000102,R00000000102,2026-11-02T11:00:00,sale,wechat,50.00,approved,
        898340153990001,10016919,000001,000103,R00000000103,2026-11-02T12:00:00,refund,wechat,20.00,approved,R00000000101
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:00:00,sale,wechat,100.00,0.38,99.62,2026-11-03,PO20261103001
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000102,R00000000102,2026-11-02T11:00:00,sale,wechat,50.00,0.19,49.81,2026-11-03,PO20261103001
    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261103001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,149.43,2026-11-03T01:00:00,failed,BANK_MAINTENANCE,银行系统维护,,1
        PO20261103001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,149.43,2026-11-03T09:00:00,succeeded,,,B001,2
    bank_statement.csv:
        account_no,booking_date,value_date,amount,currency,counterparty_name,counterparty_account,reference,balance,bank_txn_id
        6222020200112233,2026-11-04,2026-11-04,149.43,CNY,银联商务股份有限公司,,PO20261103001,1149.43,T0001
    as_of: 2026-11-05
    day: 898340153990001 2026-11-02 wechat sales=2/150.00 refunds=20.00 settled=150.00 fee=0.57
    paid: net=149.43 paid_out=149.43 arrived=149.43
    payout: PO20261103001 attempts=2 outcome=succeeded disposition=arrived credit=2026-11-04
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "MERCHANTS_SQL",
    "MERCHANT_DAYS_SQL",
    "PAYOUT_ATTEMPTS_SQL",
    "PAYOUT_DAYS_SQL",
    "PAYOUT_OUTCOMES_SQL",
    "MerchantDay",
    "PayoutAttempt",
    "PayoutDay",
    "PayoutOutcome",
    "RunTotals",
]

# The merchants a run saw, with the contract's name (else the acquirer's).
MERCHANTS_SQL = """
SELECT m.merchant_id, COALESCE(MAX(c.merchant_name), MAX(m.name)) AS merchant_name
FROM (
    SELECT merchant_id, NULL AS name FROM pos_s
    UNION ALL SELECT merchant_id, merchant_name FROM stl_s
    UNION ALL SELECT merchant_id, NULL FROM payout_v
) m
LEFT JOIN contract_v c ON c.merchant_id = m.merchant_id
WHERE m.merchant_id IS NOT NULL
GROUP BY m.merchant_id
"""

# Per merchant, day and channel. Sales are approved sales and pre-auth
# completions that were not voided; settled money is the settlement rows of
# that day's transactions, signed as the acquirer sent them; paid out is the
# net of rows whose payout succeeded; arrived, of rows whose payout's credit
# was found on the bank statement.
MERCHANT_DAYS_SQL = """
WITH pos AS (
    SELECT p.merchant_id, p.txn_date AS day, COALESCE(p.channel, 'unknown') AS channel,
           SUM(CASE WHEN p.txn_type IN ('sale', 'preauth_complete')
                     AND dp.disposition <> 'voided' THEN 1 ELSE 0 END) AS sales_count,
           SUM(CASE WHEN p.txn_type IN ('sale', 'preauth_complete')
                     AND dp.disposition <> 'voided' THEN ABS(p.amount_fen) ELSE 0 END)
               AS sales_fen,
           SUM(CASE WHEN p.txn_type = 'refund' THEN ABS(p.amount_fen) ELSE 0 END) AS refunds_fen
    FROM pos_s p JOIN pos_disp dp ON dp.row_id = p.row_id
    WHERE p.result = 'approved'
    GROUP BY p.merchant_id, p.txn_date, COALESCE(p.channel, 'unknown')
),
stl AS (
    SELECT s.merchant_id, s.txn_date AS day, COALESCE(s.channel, 'unknown') AS channel,
           COUNT(*) AS settled_count,
           SUM(s.amount_fen) AS settled_fen, SUM(s.fee_fen) AS fee_fen, SUM(s.net_fen) AS net_fen,
           SUM(CASE WHEN pv.outcome = 'succeeded' THEN s.net_fen ELSE 0 END) AS paid_out_fen,
           SUM(CASE WHEN pd.disposition IN ('arrived', 'arrived_late') THEN s.net_fen ELSE 0 END)
               AS arrived_fen
    FROM stl_s s
    LEFT JOIN payout_v pv ON pv.payout_id = s.payout_id
    LEFT JOIN payout_disp pd ON pd.payout_id = s.payout_id
    WHERE s.merchant_id IS NOT NULL AND s.txn_date IS NOT NULL
    GROUP BY s.merchant_id, s.txn_date, COALESCE(s.channel, 'unknown')
)
SELECT COALESCE(pos.merchant_id, stl.merchant_id) AS merchant_id,
       COALESCE(pos.day, stl.day) AS day,
       COALESCE(pos.channel, stl.channel) AS channel,
       CAST(COALESCE(pos.sales_count, 0) AS BIGINT) AS sales_count,
       CAST(COALESCE(pos.sales_fen, 0) AS BIGINT) AS sales_fen,
       CAST(COALESCE(pos.refunds_fen, 0) AS BIGINT) AS refunds_fen,
       CAST(COALESCE(stl.settled_count, 0) AS BIGINT) AS settled_count,
       CAST(COALESCE(stl.settled_fen, 0) AS BIGINT) AS settled_fen,
       CAST(COALESCE(stl.fee_fen, 0) AS BIGINT) AS fee_fen,
       CAST(COALESCE(stl.net_fen, 0) AS BIGINT) AS net_fen,
       CAST(COALESCE(stl.paid_out_fen, 0) AS BIGINT) AS paid_out_fen,
       CAST(COALESCE(stl.arrived_fen, 0) AS BIGINT) AS arrived_fen
FROM pos FULL OUTER JOIN stl
  ON stl.merchant_id = pos.merchant_id AND stl.day = pos.day AND stl.channel = pos.channel
"""

# Which payouts carried which day's money: the settlement rows of a
# merchant's day, by payout.
PAYOUT_DAYS_SQL = """
SELECT merchant_id, txn_date AS day, payout_id, COUNT(*) AS n_rows,
       CAST(SUM(net_fen) AS BIGINT) AS net_fen
FROM stl_s
WHERE payout_id IS NOT NULL AND merchant_id IS NOT NULL AND txn_date IS NOT NULL
GROUP BY merchant_id, txn_date, payout_id
"""

# Where each payout ended: its outcome, the arrival window, what became of
# it (payout_disp) and the bank credit that matched it, with file and line.
PAYOUT_OUTCOMES_SQL = """
SELECT p.payout_id, p.merchant_id, p.settle_date, CAST(p.amount_fen AS BIGINT) AS amount_fen,
       p.currency, p.outcome,
       p.n_attempts, p.failure_code, p.failure_reason, p.account_no, p.bank_code,
       p.nominal_end, p.extended_end, d.disposition, d.credit_date,
       b.bank_txn_id, b.src_path AS credit_path, b.src_line AS credit_line
FROM payout_v p
JOIN payout_disp d ON d.payout_id = p.payout_id
LEFT JOIN bank_statement b ON b.row_id = d.credit_row_id
"""

# Every attempt of every payout, as the acquirer reported it.
PAYOUT_ATTEMPTS_SQL = """
SELECT payout_id, attempt, status, failure_code, failure_reason, amount_fen, created_at,
       src_path, src_line
FROM payouts
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantDay:
    merchant_id: str
    day: dt.date
    channel: str
    sales_count: int
    sales_fen: int
    refunds_fen: int
    settled_count: int
    settled_fen: int
    fee_fen: int
    net_fen: int
    paid_out_fen: int
    arrived_fen: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutDay:
    merchant_id: str
    day: dt.date
    payout_id: str
    n_rows: int
    net_fen: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutOutcome:
    payout_id: str
    merchant_id: str | None
    settle_date: dt.date | None
    amount_fen: int
    currency: str | None
    outcome: str
    n_attempts: int
    failure_code: str | None
    failure_reason: str | None
    account_no: str | None
    bank_code: str | None
    nominal_end: dt.date | None
    extended_end: dt.date | None
    disposition: str
    credit_date: dt.date | None
    bank_txn_id: str | None
    credit_path: str | None
    credit_line: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutAttempt:
    payout_id: str
    attempt: int | None
    status: str
    failure_code: str | None
    failure_reason: str | None
    amount_fen: int
    created_at: dt.datetime | None
    src_path: str
    src_line: int


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Everything of the above for one run; empty for a run on an empty workspace."""

    merchants: tuple[tuple[str, str | None], ...] = ()
    days: tuple[MerchantDay, ...] = ()
    payout_days: tuple[PayoutDay, ...] = ()
    payouts: tuple[PayoutOutcome, ...] = ()
    attempts: tuple[PayoutAttempt, ...] = ()
