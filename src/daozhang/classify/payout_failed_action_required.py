"""payout_failed_action_required: the payout failed because of the account.

The highest attempt failed (or came back) because the receiving account is
frozen, closed, does not exist, has another holder name, is invalid or over
its limit (``failure_codes.toml``; a code we do not know counts here too:
never retry blindly). Trying again changes nothing until the merchant has
fixed the account; then initiate it again, once. Money at stake: the payout
amount.

Worked example::

    payouts.csv:
        payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,created_at,status,failure_code,failure_reason,bank_ref,attempt
        PO20261103002,银联商务,898340153990001,6222020200112233,小杨生煎,ICBC,512.30,2026-11-03T10:00:00,failed,ACCOUNT_FROZEN,账户冻结,,1
    as_of: 2026-11-04
    finds: payout_failed_action_required PO20261103002 512.30
"""

from daozhang.classify._failed_common import failed_evidence, failed_findings
from daozhang.classify.base import Classifier
from daozhang.domain.findings import ExceptionType

CLASSIFIER = Classifier(
    type=ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED,
    expected=None,
    actual="code",
    findings=failed_findings("failed_action_required"),
    evidence=failed_evidence("failed_action_required"),
)
