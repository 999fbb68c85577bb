"""refund_exceeds_sale: more refunded than the sale was worth.

Approved POS refunds of one original sale (by orig_rrn) add up, in time
order, to more than the sale: the refund that crosses the line is the
exception. Someone refunded twice, or refunded the wrong amount. Money at
stake: how much more than the sale has been refunded by then.

Worked example (a 100.00 sale, refunds of 60.00 and 50.00)::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result,orig_rrn
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:00:00,sale,wechat,100.00,approved,
        898340153990001,10016919,000001,000102,R00000000102,2026-11-02T11:00:00,refund,wechat,60.00,approved,R00000000101
        898340153990001,10016919,000001,000103,R00000000103,2026-11-02T12:00:00,refund,wechat,50.00,approved,R00000000101
    as_of: 2026-11-02
    finds: refund_exceeds_sale 898340153990001|R00000000103 10.00
"""

from daozhang.classify._refunds_common import REFUNDS, SALES
from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_ROWS = f"""
    FROM (
        SELECT r.*, s.amount_fen AS sale_fen, s.row_id AS sale_row_id,
               SUM(ABS(r.amount_fen)) OVER (
                   PARTITION BY r.merchant_id, r.orig_rrn ORDER BY r.txn_time, r.row_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS refunded_fen
        FROM ({REFUNDS}) r
        JOIN ({SALES}) s ON s.merchant_id = r.merchant_id AND s.rrn = r.orig_rrn
    ) x
    WHERE x.refunded_fen > x.sale_fen AND x.refunded_fen - ABS(x.amount_fen) <= x.sale_fen
"""

CLASSIFIER = Classifier(
    type=ExceptionType.REFUND_EXCEEDS_SALE,
    expected="exp_fen",
    actual="act_fen",
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("x"),
            "amount_fen": "x.refunded_fen - x.sale_fen",
            "currency": "x.currency",
            "exp_fen": "x.sale_fen",
            "act_fen": "x.refunded_fen",
            "ref_date": "x.txn_date",
            "code": "x.orig_rrn",
        },
    ),
    evidence=f"""
        SELECT x.tx_key AS key, 'pos' AS role, x.row_id {_ROWS}
        UNION ALL
        SELECT x.tx_key, 'sale', x.sale_row_id {_ROWS}
    """,
)
