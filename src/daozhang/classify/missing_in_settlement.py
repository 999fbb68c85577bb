"""missing_in_settlement: an approved sale the acquirer never settled.

The terminal approved it and printed a slip, it was not voided, and no
settlement row carries it although the expected settle date plus one bank
working day has passed by the as-of date. The shop claims it with the RRN and
the POS slip. Money at stake: the sale amount.

Worked example (no contract: T1; sold Monday, due Tuesday, deadline
Wednesday; on Thursday it is missing)::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,approved
    as_of: 2026-11-05
    finds: missing_in_settlement 898340153990001|R00000000101 100.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

CLASSIFIER = Classifier(
    type=ExceptionType.MISSING_IN_SETTLEMENT,
    expected="exp_date",
    actual=None,
    findings=finding_select(
        "FROM pos_disp d JOIN pos_s p ON p.row_id = d.row_id "
        "WHERE d.disposition = 'missing_in_settlement'",
        {
            **transaction_ids("p"),
            "amount_fen": "ABS(p.amount_fen)",
            "currency": "p.currency",
            "exp_fen": "p.amount_fen",
            "exp_date": "p.expected_settle",
            "ref_date": "p.txn_date",
            "extra_date": "d.deadline",
            "code": "p.txn_type",
            "detail": "p.channel",
        },
    ),
    evidence="""
        SELECT p.tx_key AS key, 'pos' AS role, p.row_id FROM pos_disp d
        JOIN pos_s p ON p.row_id = d.row_id WHERE d.disposition = 'missing_in_settlement'
        UNION ALL
        SELECT p.tx_key, 'contract', p.contract_row_id FROM pos_disp d
        JOIN pos_s p ON p.row_id = d.row_id
        WHERE d.disposition = 'missing_in_settlement' AND p.contract_row_id IS NOT NULL
    """,
)
