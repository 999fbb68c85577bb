"""unmatched_credit: money from an acquirer that pays no payout we know.

A bank credit whose counterparty names a known acquirer (one of the acquirers
in the contracts, settlement files or payout records) but that matched no
payout, by reference or by account, amount and date. It may belong to another
merchant, to a payout file not imported yet, or be a payout arriving outside
its window. Ask the acquirer what it pays. Money at stake: the credit.

Worked example::

    contracts.csv:
        merchant_id,merchant_name,mcc,acquirer,settlement_account,settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from
        898340153990001,小杨生煎,5812,银联商务,6222020200112233,小杨生煎,ICBC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01
    bank_statement.csv:
        account_no,booking_date,value_date,amount,currency,counterparty_name,counterparty_account,reference,balance,bank_txn_id
        6222020200112233,2026-11-04,2026-11-04,321.00,CNY,银联商务股份有限公司,,,1321.00,T0011
        6222020200112233,2026-11-04,2026-11-04,50.00,CNY,张三,,转账,1371.00,T0012
    as_of: 2026-11-05
    finds: unmatched_credit T0011 321.00
"""

from daozhang.classify.base import Classifier, finding_select
from daozhang.domain.findings import ExceptionType

_FROM = (
    "FROM bank_disp d JOIN bank_statement b ON b.row_id = d.row_id "
    "WHERE d.disposition = 'unmatched_credit'"
)
_KEY = (
    "COALESCE(b.bank_txn_id, b.account_no || '|' || CAST(b.value_date AS VARCHAR) || '|' "
    "|| CAST(b.amount_fen AS VARCHAR) || '|' || CAST(b.src_line AS VARCHAR))"
)

CLASSIFIER = Classifier(
    type=ExceptionType.UNMATCHED_CREDIT,
    expected=None,
    actual="act_fen",
    findings=finding_select(
        _FROM,
        {
            "key": _KEY,
            "bank_txn_id": "b.bank_txn_id",
            "amount_fen": "ABS(b.amount_fen)",
            "currency": "b.currency",
            "act_fen": "b.amount_fen",
            "act_date": "b.value_date",
            "exp_text": "b.account_no",
            "act_text": "b.counterparty_name",
            "code": "b.reference",
        },
    ),
    evidence=f"SELECT {_KEY} AS key, 'bank' AS role, b.row_id {_FROM}",
)
