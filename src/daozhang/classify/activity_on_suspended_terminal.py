"""activity_on_suspended_terminal: approved payments on a terminal that is stopped.

An approved transaction on a terminal whose status on that day (its latest
status row on or before the transaction date) is suspended. Either the
registry is wrong or someone is using the terminal who should not: alert at
once. Money at stake: the transaction amount.

Worked example::

    terminals.csv:
        terminal_id,merchant_id,status,status_since,reason,note
        10016919,898340153990001,suspended,2026-11-02,risk_review,风险核查
    pos_journal.csv:
        merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,result
        898340153990001,10016919,000001,000100,R00000000100,2026-11-01T10:00:00,sale,wechat,10.00,approved
        898340153990001,10016919,000001,000101,R00000000101,2026-11-03T10:00:00,sale,wechat,88.00,approved
    as_of: 2026-11-03
    finds: terminal_suspended 10016919 0.00
    finds: activity_on_suspended_terminal 898340153990001|R00000000101 88.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

# Each status row holds from its date until the terminal's next status row
# (terminal_v has one row per terminal and date). Joining the transactions to
# the suspended spans only, rather than numbering every transaction's status
# rows, keeps the work proportional to what is suspended.
_ROWS = """
    FROM (
        SELECT p.*, t.status AS term_status, t.since, t.reason, t.row_id AS term_row_id
        FROM pos_s p JOIN (
            SELECT * FROM (
                SELECT terminal_id, status, since, reason, row_id,
                       LEAD(since) OVER (PARTITION BY terminal_id ORDER BY since) AS until
                FROM terminal_v
            ) spans WHERE status = 'suspended'
        ) t ON t.terminal_id = p.terminal_id AND t.since <= p.txn_date
           AND (t.until IS NULL OR p.txn_date < t.until)
        WHERE p.result = 'approved'
    ) a
"""

CLASSIFIER = Classifier(
    type=ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL,
    expected=None,
    actual="act_fen",
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("a"),
            "amount_fen": "ABS(a.amount_fen)",
            "currency": "a.currency",
            "act_fen": "a.amount_fen",
            "ref_date": "a.txn_date",
            "extra_date": "CASE WHEN a.since > DATE '1900-01-01' THEN a.since END",
            "code": "COALESCE(a.reason, 'other')",
            "detail": "a.txn_type",
        },
    ),
    evidence=f"""
        SELECT a.tx_key AS key, 'pos' AS role, a.row_id {_ROWS}
        UNION ALL
        SELECT a.tx_key, 'terminal', a.term_row_id {_ROWS}
    """,
)
