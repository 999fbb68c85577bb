"""arrived_late: the money came, but after its arrival window.

The credit matched, with a value date after the nominal end of the window
(the settle date plus the grace in bank working days). The explanation names
what accounts for it: a maintenance window of the receiving bank between the
settle date and the arrival, or the holiday that fell between the due day and
the arrival. Nothing is owed; keep it on record, and ask the acquirer when it
recurs. Money at stake: the payout amount, which was late.

Worked example (ICBC maintenance 11-05 00:00 to 11-06 06:00; the first
attempt failed, the retry arrived on Monday 11-09, due by Friday 11-06)::

    maintenance.csv:
        bank_code,start,end,scope,note
        ICBC,2026-11-05T00:00:00,2026-11-06T06:00:00,payouts,核心系统升级
    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261105001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,999.00,2026-11-05T01:00:00,failed,BANK_MAINTENANCE,银行系统维护,,1
        PO20261105001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,999.00,2026-11-09T09:00:00,succeeded,,,B005,2
    bank_statement.csv:
        account_no,booking_date,value_date,amount,currency,counterparty_name,counterparty_account,reference,balance,bank_txn_id
        6222020200112233,2026-11-09,2026-11-09,999.00,CNY,银联商务股份有限公司,,PO20261105001,1999.00,T0010
    as_of: 2026-11-10
    finds: arrived_late PO20261105001 999.00
"""

from daozhang.classify._payout_common import DISPOSED, PAYOUT_COLUMNS, payout_evidence
from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

_WHERE = "d.disposition = 'arrived_late'"

# The first maintenance window of the receiving bank between settle and
# arrival, and the first named holiday between the due day and the arrival.
_CAUSES = """
    LEFT JOIN (
        SELECT payout_id, starts_at, ends_at, row_id FROM (
            SELECT dd.payout_id, m.starts_at, m.ends_at, m.row_id,
                   ROW_NUMBER() OVER (PARTITION BY dd.payout_id ORDER BY m.starts_at, m.row_id)
                       AS pick
            FROM payout_disp dd JOIN payout_v q ON q.payout_id = dd.payout_id
            JOIN maintenance m
              ON m.bank_code = q.bank_code AND m.scope IN ('payouts', 'all')
             AND m.start_date <= dd.credit_date AND m.end_date >= q.settle_date
            WHERE dd.disposition = 'arrived_late'
        ) w WHERE pick = 1
    ) mw ON mw.payout_id = p.payout_id
    LEFT JOIN (
        SELECT dd.payout_id, MIN(h.name) AS holiday, MIN(h.name_zh) AS holiday_zh
        FROM payout_disp dd JOIN payout_v q ON q.payout_id = dd.payout_id
        JOIN cal h ON h.d > q.nominal_end AND h.d <= dd.credit_date
                  AND NOT h.working AND h.name IS NOT NULL
        WHERE dd.disposition = 'arrived_late'
        GROUP BY dd.payout_id
    ) hol ON hol.payout_id = p.payout_id
"""

CLASSIFIER = Classifier(
    type=ExceptionType.ARRIVED_LATE,
    expected="exp_date",
    actual="act_date",
    findings=finding_select(
        f"{DISPOSED} {_CAUSES} WHERE {_WHERE}",
        {
            **PAYOUT_COLUMNS,
            "exp_fen": "p.amount_fen",
            "exp_date": "p.nominal_end",
            "act_date": "d.credit_date",
            "extra_date": "p.extended_end",
            "exp_text": "p.account_no",
            "act_text": "p.bank_code",
            "code": "hol.holiday",
            "detail": "hol.holiday_zh",
            "t1": "mw.starts_at",
            "t2": "mw.ends_at",
        },
    ),
    evidence=payout_evidence(DISPOSED, _WHERE)
    + f"""
        UNION ALL
        SELECT p.payout_id, 'bank', d.credit_row_id {DISPOSED} WHERE {_WHERE}
        UNION ALL
        SELECT p.payout_id, 'maintenance', mw.row_id {DISPOSED} {_CAUSES}
        WHERE {_WHERE} AND mw.row_id IS NOT NULL
    """,
)
