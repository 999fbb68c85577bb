"""misrouted_payout: the payout went to an account that is not the contract's.

The payout (succeeded or pending) names an account other than the settlement
account of the merchant's contract: a wrong account configured on the
terminal or at the acquirer, or worse. Stop further payouts to it, ask the
acquirer to recall this one. Money at stake: the payout amount.

Worked example::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261103004,银联商务,898340153990001,6217000010099887,王某,CCB,3000.00,2026-11-03T10:00:00,succeeded,,,B004,1
    as_of: 2026-11-04
    finds: misrouted_payout PO20261103004 3000.00
"""

from daozhang.classify._payout_common import DISPOSED, PAYOUT_COLUMNS, payout_evidence
from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

_WHERE = "d.disposition = 'misrouted'"

CLASSIFIER = Classifier(
    type=ExceptionType.MISROUTED_PAYOUT,
    expected="exp_text",
    actual="act_text",
    findings=finding_select(
        f"{DISPOSED} WHERE {_WHERE}",
        {
            **PAYOUT_COLUMNS,
            "exp_fen": "p.amount_fen",
            "exp_text": "p.contract_account",
            "act_text": "p.account_no",
            "code": "p.outcome",
            "detail": "p.bank_code",
        },
    ),
    evidence=payout_evidence(DISPOSED, _WHERE)
    + f"""
        UNION ALL
        SELECT p.payout_id, 'contract', c.row_id {DISPOSED}
        JOIN contract_v c ON c.merchant_id = p.merchant_id
         AND c.effective_from <= p.settle_date
         AND (c.effective_to IS NULL OR p.settle_date < c.effective_to)
        WHERE {_WHERE}
    """,
)
