"""The two payout-failure classifiers differ only in the failure class they take."""

from __future__ import annotations

from daozhang.classify._payout_common import DISPOSED, PAYOUT_COLUMNS, payout_evidence
from daozhang.classify.base import finding_select

# The maintenance window of the receiving bank (if any) that was on when the
# failing attempt was made: it names the cause and when to try again.
_WINDOW_AT_ATTEMPT = """
    LEFT JOIN (
        SELECT payout_id, starts_at, ends_at, row_id FROM (
            SELECT q.payout_id, m.starts_at, m.ends_at, m.row_id,
                   ROW_NUMBER() OVER (PARTITION BY q.payout_id
                                      ORDER BY m.starts_at, m.row_id) AS pick
            FROM payout_v q JOIN maintenance m
              ON m.bank_code = q.bank_code AND m.scope IN ('payouts', 'all')
             AND m.starts_at <= q.created_at AND m.ends_at >= q.created_at
        ) w WHERE pick = 1
    ) mw ON mw.payout_id = p.payout_id
"""


def failed_findings(disposition: str) -> str:
    return finding_select(
        f"{DISPOSED} {_WINDOW_AT_ATTEMPT} WHERE d.disposition = '{disposition}'",
        {
            **PAYOUT_COLUMNS,
            "exp_fen": "p.amount_fen",
            "act_date": "CAST(p.created_at AS DATE)",
            "exp_text": "p.account_no",
            "code": "p.failure_code",
            "detail": "p.failure_reason",
            "act_text": "p.bank_code",
            "n": "p.n_attempts",
            "t1": "mw.starts_at",
            "t2": "mw.ends_at",
        },
    )


def failed_evidence(disposition: str) -> str:
    where = f"d.disposition = '{disposition}'"
    return (
        payout_evidence(DISPOSED, where)
        + f"""
        UNION ALL
        SELECT p.payout_id, 'maintenance', mw.row_id {DISPOSED} {_WINDOW_AT_ATTEMPT}
        WHERE {where} AND mw.row_id IS NOT NULL
    """
    )
