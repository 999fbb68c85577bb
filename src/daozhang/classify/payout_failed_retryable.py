"""payout_failed_retryable: the payout failed for a passing cause and was not paid since.

The highest attempt failed (or came back) with a temporary cause — the
receiving bank's maintenance window, system busy, a timeout, a channel error
(``failure_codes.toml``) — and no attempt succeeded. The money is safe with
the acquirer: initiate the payout again once the window is over, exactly once.
Money at stake: the payout amount.

Worked example (ICBC is in maintenance 11-05 00:00 to 11-06 06:00)::

    maintenance.csv:
        bank_code,start,end,scope,note
        ICBC,2026-11-05T00:00:00,2026-11-06T06:00:00,payouts,核心系统升级
    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261105001,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,999.00,2026-11-05T10:00:00,failed,BANK_MAINTENANCE,银行系统维护,,1
    as_of: 2026-11-05
    finds: payout_failed_retryable PO20261105001 999.00
"""

from daozhang.classify._failed_common import failed_evidence, failed_findings
from daozhang.classify.base import Classifier
from daozhang.domain.findings import ExceptionType

CLASSIFIER = Classifier(
    type=ExceptionType.PAYOUT_FAILED_RETRYABLE,
    expected=None,
    actual="code",
    findings=failed_findings("failed_retryable"),
    evidence=failed_evidence("failed_retryable"),
)
