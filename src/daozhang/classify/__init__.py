"""Classification: every unmatched or mismatched record becomes an exception.

One module per exception type (DESIGN.md section 4), each a
:class:`~daozhang.classify.base.Classifier` whose docstring is its spec with a
worked example. :data:`CLASSIFIERS` lists them in the taxonomy's order; the
pipeline runs each in isolation, so one broken rule cannot hide the others.
"""

from __future__ import annotations

from daozhang.classify import (
    activity_on_suspended_terminal,
    amount_mismatch,
    arrived_late,
    debited_but_failed,
    duplicate_settlement,
    fee_mismatch,
    late_settlement,
    merchant_mismatch,
    misrouted_payout,
    missing_in_settlement,
    payout_failed_action_required,
    payout_failed_retryable,
    payout_total_mismatch,
    refund_exceeds_sale,
    refund_without_sale,
    settled_not_arrived,
    terminal_suspended,
    unknown_settlement,
    unmatched_credit,
)
from daozhang.classify.base import Classifier
from daozhang.domain.findings import ExceptionType

__all__ = ["CLASSIFIERS", "MODULES"]

MODULES = (
    missing_in_settlement,
    debited_but_failed,
    unknown_settlement,
    amount_mismatch,
    fee_mismatch,
    duplicate_settlement,
    merchant_mismatch,
    late_settlement,
    payout_total_mismatch,
    payout_failed_retryable,
    payout_failed_action_required,
    settled_not_arrived,
    arrived_late,
    misrouted_payout,
    unmatched_credit,
    terminal_suspended,
    activity_on_suspended_terminal,
    refund_without_sale,
    refund_exceeds_sale,
)

CLASSIFIERS: tuple[Classifier, ...] = tuple(m.CLASSIFIER for m in MODULES)

if [c.type for c in CLASSIFIERS] != list(ExceptionType):  # pragma: no cover - import-time guard
    raise AssertionError("CLASSIFIERS must cover every exception type, in taxonomy order")
