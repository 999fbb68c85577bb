"""debited_but_failed: the POS said the payment failed, yet the acquirer settled it.

The terminal showed declined, timed out or reversed (the automatic reversal
冲正 may never have reached the host), or an ISO 8583 log shows a reversal
sent and never acknowledged (``reversal_unconfirmed``), but a settlement row for the same
transaction exists: the cardholder was charged while the shop was told the
payment failed. Refund the customer or confirm the reversal, keep the
evidence. Money at stake: the settled amount.

Worked example (a timeout has no RRN; it is matched on terminal, batch and
trace)::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result,response_code
        898340153990001,10016919,000001,000102,,2026-11-02T11:00:00,sale,debit_card,58.00,timeout,98
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000102,R00000000102,2026-11-02T11:00:00,sale,debit_card,58.00,0.29,57.71,2026-11-03,
    as_of: 2026-11-05
    finds: debited_but_failed 898340153990001|10016919|000001|000102 58.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_FROM = (
    "FROM pos_disp d JOIN pos_s p ON p.row_id = d.row_id "
    "JOIN stl_s s ON s.row_id = d.stl_row_id "
    "WHERE d.disposition = 'debited_but_failed'"
)

CLASSIFIER = Classifier(
    type=ExceptionType.DEBITED_BUT_FAILED,
    expected="code",
    actual="act_date",
    findings=finding_select(
        _FROM,
        {
            **transaction_ids("p"),
            "rrn": "COALESCE(p.rrn, s.rrn)",
            "amount_fen": "ABS(s.amount_fen)",
            "currency": "s.currency",
            "exp_fen": "p.amount_fen",
            "act_fen": "s.amount_fen",
            "act_date": "s.settle_date",
            "ref_date": "p.txn_date",
            "code": "p.result",
            "detail": "p.response_code",
        },
    ),
    evidence=f"""
        SELECT p.tx_key AS key, 'pos' AS role, p.row_id {_FROM}
        UNION ALL
        SELECT p.tx_key, 'settlement', s.row_id {_FROM}
    """,
)
