"""fee_mismatch: the acquirer charged a fee its contract does not allow.

For every settlement row (not a duplicate extra) of a merchant whose contract
has a rate for the row's channel, the contract fee is ``amount x rate``
rounded half up to the fen, capped for debit cards at the contract's cap, and
negated for refunds. A settled fee more than 1 fen away from it is a silent
rate change or a cap not applied: dispute the difference. Money at stake: the
difference.

Worked example (debit card at 0.50 % capped at 20.00: a 10 000.00 sale owes
20.00, the acquirer took 50.00)::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    settlement.csv:
        acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,amount,fee,net_amount,settle_date,payout_id
        银联商务,898340153990001,小杨生煎,5812,10016919,000001,000101,R00000000101,2026-11-02T10:15:00,sale,debit_card,10000.00,50.00,9950.00,2026-11-03,
    as_of: 2026-11-04
    finds: fee_mismatch 898340153990001|R00000000101 30.00
"""

from daozhang.classify.base import Classifier, finding_select, transaction_ids
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import PPM, round_half_up_div_sql

_FEE = round_half_up_div_sql("ABS(s.amount_fen) * s.rate_ppm", PPM)
_CAPPED = f"CASE WHEN s.cap_fen IS NOT NULL AND {_FEE} > s.cap_fen THEN s.cap_fen ELSE {_FEE} END"
_EXPECTED = f"CASE WHEN s.amount_fen < 0 THEN -({_CAPPED}) ELSE {_CAPPED} END"

_ROWS = f"""
    FROM (SELECT s.*, {_EXPECTED} AS expected_fee FROM stl_s s
          WHERE s.dup_rank = 1 AND s.rate_ppm IS NOT NULL) f
    WHERE ABS(f.fee_fen - f.expected_fee) > 1
"""

CLASSIFIER = Classifier(
    type=ExceptionType.FEE_MISMATCH,
    expected="exp_fen",
    actual="act_fen",
    findings=finding_select(
        _ROWS,
        {
            **transaction_ids("f"),
            "payout_id": "f.payout_id",
            "amount_fen": "ABS(f.fee_fen - f.expected_fee)",
            "currency": "f.currency",
            "exp_fen": "f.expected_fee",
            "act_fen": "f.fee_fen",
            "extra_fen": "f.amount_fen",
            "act_date": "f.settle_date",
            "ref_date": "f.txn_date",
            "detail": "f.channel",
            "n": "f.rate_ppm",
            "code": "CAST(f.cap_fen AS VARCHAR)",
        },
    ),
    evidence=f"""
        SELECT f.tx_key AS key, 'settlement' AS role, f.row_id {_ROWS}
        UNION ALL
        SELECT f.tx_key, 'contract', f.contract_row_id {_ROWS}
    """,
)
