"""payout_total_mismatch: the payout is not the sum of what it pays for.

A payout's amount differs from the sum of net_amount of the settlement rows
that carry its payout_id: a deduction nobody explained, or rows paid twice or
not at all. Ask the acquirer for the payout detail. Money at stake: the
difference.

Worked example (two rows netting 199.24, paid 189.24)::

    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,0.38,99.62,2026-11-03,PO20261103001
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000102,R00000000102,2026-11-02T10:20:00,sale,wechat,100.00,0.38,99.62,2026-11-03,PO20261103001
    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261103001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,189.24,2026-11-03T10:00:00,succeeded,,,B001,1
    bank_statement.csv:
        account_no,booking_date,value_date,amount,currency,counterparty_name,counterparty_account,reference,balance,bank_txn_id
        6222020200112233,2026-11-03,2026-11-03,189.24,CNY,银联商务股份有限公司,,PO20261103001,1189.24,T0001
    as_of: 2026-11-05
    finds: payout_total_mismatch PO20261103001 10.00
"""

from daozhang.classify._payout_common import PAYOUT_COLUMNS, payout_evidence
from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

_WHERE = "NOT p.phantom AND p.n_rows > 0 AND p.amount_fen <> p.rows_net_fen"

CLASSIFIER = Classifier(
    type=ExceptionType.PAYOUT_TOTAL_MISMATCH,
    expected="exp_fen",
    actual="act_fen",
    findings=finding_select(
        f"FROM payout_v p WHERE {_WHERE}",
        {
            **PAYOUT_COLUMNS,
            "amount_fen": "ABS(p.amount_fen - p.rows_net_fen)",
            "exp_fen": "p.rows_net_fen",
            "act_fen": "p.amount_fen",
            "n": "p.n_rows",
        },
    ),
    evidence=payout_evidence("FROM payout_v p", _WHERE),
)
