"""settled_not_arrived: the acquirer says it paid, the bank statement says no.

The payout succeeded, is still pending, or exists only as a payout_id on
settlement rows; no bank credit matched it (by reference, or by account,
amount and date) and its arrival window, extended past any maintenance of
the receiving bank, is over. Chase the acquirer with the payout reference;
escalate past the deadline. Money at stake: the payout amount.

Worked example (settled Tuesday 11-03, due by the end of Wednesday 11-04)::

    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261103003,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,2046.18,2026-11-03T10:00:00,succeeded,,,B003,1
    bank_statement.csv:
        account_no,booking_date,value_date,amount,currency,counterparty_name,counterparty_account,reference,balance,bank_txn_id
        6222020200112233,2026-11-04,2026-11-04,-300.00,CNY,物业公司,,房租,700.00,T0009
    as_of: 2026-11-05
    finds: settled_not_arrived PO20261103003 2046.18
"""

from daozhang.classify._payout_common import DISPOSED, PAYOUT_COLUMNS, payout_evidence
from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

# The maintenance window that pushed the deadline out, if one did.
_EXTENDED_BY = """
    LEFT JOIN (
        SELECT payout_id, starts_at, ends_at FROM (
            SELECT q.payout_id, m.starts_at, m.ends_at,
                   ROW_NUMBER() OVER (PARTITION BY q.payout_id
                                      ORDER BY m.ends_at DESC, m.starts_at, m.row_id) AS pick
            FROM payout_v q JOIN maintenance m
              ON m.bank_code = q.bank_code AND m.scope IN ('payouts', 'all')
             AND m.start_date <= q.nominal_end AND m.end_date >= q.settle_date
        ) w WHERE pick = 1
    ) mw ON mw.payout_id = p.payout_id
"""
_WHERE = "d.disposition = 'settled_not_arrived'"

CLASSIFIER = Classifier(
    type=ExceptionType.SETTLED_NOT_ARRIVED,
    expected="exp_date",
    actual=None,
    findings=finding_select(
        f"{DISPOSED} {_EXTENDED_BY} WHERE {_WHERE}",
        {
            **PAYOUT_COLUMNS,
            "exp_fen": "p.amount_fen",
            "exp_date": "p.extended_end",
            "extra_date": "p.nominal_end",
            "exp_text": "p.account_no",
            "act_text": "p.bank_code",
            "code": "p.outcome",
            "detail": "CASE WHEN p.phantom THEN 'phantom' END",
            "t1": "mw.starts_at",
            "t2": "mw.ends_at",
        },
    ),
    evidence=payout_evidence(DISPOSED, _WHERE),
)
