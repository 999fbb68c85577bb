"""duplicate_settlement: one transaction settled twice (or more).

Two or more distinct settlement rows with the same transaction key. Importing
the same file twice is not this (the import recognises it); two identical
rows inside one acquirer file are. The shop may have been paid twice, or the
cardholder charged twice: tell the acquirer. Money at stake: the extra rows.

Worked example::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,approved
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,0.38,99.62,2026-11-03,
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,0.38,99.62,2026-11-03,
    as_of: 2026-11-04
    finds: duplicate_settlement 898340153990001|R00000000101 100.00
"""

from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

# One row per duplicated key: the primary row, the POS row it matched (if
# any, whose key names the finding), and the sum of the extras.
_GROUPS = """
    FROM (
        SELECT s.tx_key AS stl_key, COUNT(*) AS n_rows,
               SUM(CASE WHEN s.dup_rank > 1 THEN ABS(s.amount_fen) ELSE 0 END) AS extra_fen,
               MAX(CASE WHEN s.dup_rank = 1 THEN s.row_id END) AS primary_row_id
        FROM stl_s s GROUP BY s.tx_key HAVING COUNT(*) > 1
    ) g
    JOIN stl_s s ON s.row_id = g.primary_row_id
    LEFT JOIN pos_link l ON l.stl_row_id = s.row_id
    LEFT JOIN pos_s p ON p.row_id = l.pos_row_id
"""

CLASSIFIER = Classifier(
    type=ExceptionType.DUPLICATE_SETTLEMENT,
    expected="exp_fen",
    actual="act_fen",
    findings=finding_select(
        _GROUPS,
        {
            "key": "COALESCE(p.tx_key, s.tx_key)",
            "merchant_id": "s.merchant_id",
            "terminal_id": "s.terminal_id",
            "batch_no": "s.batch_no",
            "trace_no": "s.trace_no",
            "rrn": "s.rrn",
            "payout_id": "s.payout_id",
            "amount_fen": "g.extra_fen",
            "currency": "s.currency",
            "exp_fen": "ABS(s.amount_fen)",
            "act_fen": "g.extra_fen + ABS(s.amount_fen)",
            "act_date": "s.settle_date",
            "ref_date": "s.txn_date",
            "n": "g.n_rows",
        },
    ),
    evidence=f"""
        SELECT COALESCE(p.tx_key, s.tx_key) AS key, 'settlement' AS role, d.row_id
        {_GROUPS}
        JOIN stl_s d ON d.tx_key = g.stl_key
        UNION ALL
        SELECT p.tx_key, 'pos', p.row_id {_GROUPS} WHERE p.row_id IS NOT NULL
    """,
)
