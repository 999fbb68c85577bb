"""refund_without_sale: money refunded for a sale that nobody can find.

An approved POS refund whose orig_rrn names no approved sale of the same
merchant, neither in the POS journal nor in the settlement files (or names
none at all). Money left the shop for nothing it sold, as far as the records
show: check who did it and why. Money at stake: the refund amount.

Worked example::

    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result,orig_rrn
        898340153990001,10016919,000001,000101,R00000000101,2026-11-02T10:00:00,sale,wechat,100.00,approved,
        898340153990001,10016919,000001,000102,R00000000102,2026-11-02T11:00:00,refund,wechat,60.00,approved,R00000000777
    as_of: 2026-11-02
    finds: refund_without_sale 898340153990001|R00000000102 60.00
"""

from daozhang.classify._refunds_common import REFUNDS, SALES
from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_ROWS = f"""
    FROM ({REFUNDS}) r
    LEFT JOIN ({SALES}) s ON s.merchant_id = r.merchant_id AND s.rrn = r.orig_rrn
    WHERE s.rrn IS NULL
"""

CLASSIFIER = Classifier(
    type=ExceptionType.REFUND_WITHOUT_SALE,
    expected="code",
    actual=None,
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("r"),
            "amount_fen": "ABS(r.amount_fen)",
            "currency": "r.currency",
            "act_fen": "ABS(r.amount_fen)",
            "ref_date": "r.txn_date",
            "code": "r.orig_rrn",
        },
    ),
    evidence=f"SELECT r.tx_key AS key, 'pos' AS role, r.row_id {_ROWS}",
)
