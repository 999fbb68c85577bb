"""amount_mismatch: the acquirer settled a different amount than the terminal took.

Matched, but the settled amount differs from the POS amount (compared as
magnitudes: refunds are positive on a slip and negative in a settlement
file). Dispute the difference with the RRN and the slip. Money at stake: the
difference.

Worked example::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,approved
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,10.00,0.04,9.96,2026-11-03,
    as_of: 2026-11-04
    finds: amount_mismatch 898340153990001|R00000000101 90.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

# The pairs that differ are found on the amounts alone, then joined back for
# the rest: a join carries every column its rows need, and nearly every
# linked pair agrees.
_FROM = """
    FROM (
        SELECT l.pos_row_id, l.stl_row_id
        FROM pos_link l
        JOIN (SELECT row_id, amount_fen FROM pos_s) pa ON pa.row_id = l.pos_row_id
        JOIN (SELECT row_id, amount_fen FROM stl_s) sa ON sa.row_id = l.stl_row_id
        WHERE ABS(pa.amount_fen) <> ABS(sa.amount_fen)
    ) m
    JOIN pos_s p ON p.row_id = m.pos_row_id
    JOIN stl_s s ON s.row_id = m.stl_row_id
"""

CLASSIFIER = Classifier(
    type=ExceptionType.AMOUNT_MISMATCH,
    expected="exp_fen",
    actual="act_fen",
    findings=finding_select(
        _FROM,
        {
            **transaction_ids("p"),
            "payout_id": "s.payout_id",
            "amount_fen": "ABS(ABS(p.amount_fen) - ABS(s.amount_fen))",
            "currency": "s.currency",
            "exp_fen": "ABS(p.amount_fen)",
            "act_fen": "ABS(s.amount_fen)",
            "act_date": "s.settle_date",
            "ref_date": "p.txn_date",
            "code": "p.txn_type",
        },
    ),
    evidence=f"""
        SELECT p.tx_key AS key, 'pos' AS role, p.row_id {_FROM}
        UNION ALL
        SELECT p.tx_key, 'settlement', s.row_id {_FROM}
    """,
)
