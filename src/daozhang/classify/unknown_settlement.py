"""unknown_settlement: the acquirer settled something the terminal never did.

A settlement row for a terminal the POS journal covers, on a day the journal
covers, with no POS record: a transaction routed to this merchant by mistake,
or a journal that is incomplete. Ask the acquirer for the transaction detail.
Money at stake: the settled amount.

Worked example (the journal covers terminal 10016919 on 11-02, and has no
R00000000199)::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,approved
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,0.38,99.62,2026-11-03,
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000150,R00000000199,2026-11-02T12:30:00,sale,wechat,77.00,0.29,76.71,2026-11-03,
    as_of: 2026-11-04
    finds: unknown_settlement 898340153990001|R00000000199 77.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_FROM = (
    "FROM stl_disp d JOIN stl_s s ON s.row_id = d.row_id WHERE d.disposition = 'unknown_settlement'"
)

CLASSIFIER = Classifier(
    type=ExceptionType.UNKNOWN_SETTLEMENT,
    expected=None,
    actual="act_date",
    findings=finding_select(
        _FROM,
        {
            **transaction_ids("s"),
            "payout_id": "s.payout_id",
            "amount_fen": "ABS(s.amount_fen)",
            "currency": "s.currency",
            "act_fen": "s.amount_fen",
            "act_date": "s.settle_date",
            "ref_date": "s.txn_date",
            "code": "s.txn_type",
            "detail": "s.channel",
        },
    ),
    evidence=f"SELECT s.tx_key AS key, 'settlement' AS role, s.row_id {_FROM}",
)
