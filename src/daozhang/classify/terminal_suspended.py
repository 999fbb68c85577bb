"""terminal_suspended: the terminal registry says this terminal is stopped (停机).

The terminal's latest status row on or before the as-of date says suspended:
for unpaid fees, an agreement violation, a risk review, a system fault. The
shop cannot take card payments on it. What to do depends on the reason: pay
the arrears, or appeal with evidence, and follow it up. Money at stake: none
directly (the lost sales are not known).

Worked example::

    terminals.csv:
        terminal_id,merchant_id,status,status_since,reason,note
        10016919,898340153990001,suspended,2026-11-02,unpaid_fee,年费未缴
        10016920,898340153990001,active,2026-01-01,,
    as_of: 2026-11-04
    finds: terminal_suspended 10016919 0.00
"""

from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

# The status in force on the as-of date.
_CURRENT = """
    FROM (
        SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.terminal_id
                                       ORDER BY t.since DESC, t.row_id DESC) AS pick
        FROM terminal_v t CROSS JOIN params prm
        WHERE t.since <= prm.as_of
    ) t
    WHERE t.pick = 1 AND t.status = 'suspended'
"""

CLASSIFIER = Classifier(
    type=ExceptionType.TERMINAL_SUSPENDED,
    expected=None,
    actual="code",
    findings=finding_select(
        _CURRENT,
        {
            "key": "t.terminal_id",
            "merchant_id": "t.merchant_id",
            "terminal_id": "t.terminal_id",
            "amount_fen": "0",
            "currency": "'CNY'",
            "ref_date": "CASE WHEN t.since > DATE '1900-01-01' THEN t.since END",
            "code": "COALESCE(t.reason, 'other')",
            "detail": "t.note",
        },
    ),
    evidence=f"SELECT t.terminal_id AS key, 'terminal' AS role, t.row_id {_CURRENT}",
)
