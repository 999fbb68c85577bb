"""late_settlement: settled later than the contract's cycle allows.

A settlement row (not a duplicate extra) whose settle_date is after the
expected settle date: the business date (after the cutoff, the next day) moved
by the contract's cycle over the bank calendar. The shop waited for its money
longer than agreed: ask why and, under some contracts, for compensation.
Money at stake: the transaction amount.

Worked example (T1 with cutoff 23:00: a sale on Friday 11-06 at 23:30 belongs
to Saturday, so T1 pays Monday 11-09; settled Wednesday 11-11)::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-06T23:30:00,sale,wechat,100.00,0.38,99.62,2026-11-11,
    as_of: 2026-11-12
    finds: late_settlement 898340153990001|R00000000101 100.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_ROWS = """
    FROM stl_s s
    LEFT JOIN cal ce ON ce.d = s.expected_settle
    LEFT JOIN cal ca ON ca.d = s.settle_date
    WHERE s.dup_rank = 1 AND s.settle_date > s.expected_settle
"""

CLASSIFIER = Classifier(
    type=ExceptionType.LATE_SETTLEMENT,
    expected="exp_date",
    actual="act_date",
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("s"),
            "payout_id": "s.payout_id",
            "amount_fen": "ABS(s.amount_fen)",
            "currency": "s.currency",
            "exp_date": "s.expected_settle",
            "act_date": "s.settle_date",
            "ref_date": "s.txn_date",
            "extra_date": "s.bdate",
            "code": "COALESCE(s.cycle, 'T1')",
            "n": "ca.wseq - ce.wseq",
        },
    ),
    evidence=f"""
        SELECT s.tx_key AS key, 'settlement' AS role, s.row_id {_ROWS}
        UNION ALL
        SELECT s.tx_key, 'contract', s.contract_row_id {_ROWS} AND s.contract_row_id IS NOT NULL
    """,
)
