"""merchant_mismatch: sales settled under another merchant name or MCC (跳码).

A settlement row (not a duplicate extra) whose merchant name or MCC differs
from the merchant's contract: the transaction was routed under another
merchant or category, usually to a cheaper MCC, which the card schemes treat
as abuse and which exposes the shop. Report it with the evidence. Money at
stake: the transaction amount.

Worked example (contract MCC 5812 restaurants, settled as 5411 supermarket)::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,某某超市,5411,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,wechat,100.00,0.38,99.62,2026-11-03,
    as_of: 2026-11-04
    finds: merchant_mismatch 898340153990001|R00000000101 100.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType

_ROWS = """
    FROM stl_s s
    WHERE s.dup_rank = 1 AND s.contract_row_id IS NOT NULL
      AND ((s.merchant_name IS NOT NULL AND TRIM(s.merchant_name) <> TRIM(s.contract_name))
        OR (s.mcc IS NOT NULL AND s.contract_mcc IS NOT NULL AND s.mcc <> s.contract_mcc))
"""

CLASSIFIER = Classifier(
    type=ExceptionType.MERCHANT_MISMATCH,
    expected="exp_text",
    actual="act_text",
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("s"),
            "payout_id": "s.payout_id",
            "amount_fen": "ABS(s.amount_fen)",
            "currency": "s.currency",
            "exp_text": "TRIM(s.contract_name) || ' / MCC ' || COALESCE(s.contract_mcc, '-')",
            "act_text": "TRIM(s.merchant_name) || ' / MCC ' || COALESCE(s.mcc, '-')",
            "act_date": "s.settle_date",
            "ref_date": "s.txn_date",
        },
    ),
    evidence=f"""
        SELECT s.tx_key AS key, 'settlement' AS role, s.row_id {_ROWS}
        UNION ALL
        SELECT s.tx_key, 'contract', s.contract_row_id {_ROWS}
    """,
)
