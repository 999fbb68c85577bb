"""Exceptions (findings): the contract names, their keys, and one found exception.

"Exception" here is the reconciliation word (a payment that did not arrive or
arrived wrong), not a Python exception; in code we call one a *finding* to
keep the two apart. The type names are a contract (DESIGN.md section 4): the
JSON output uses exactly these strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DISPOSITION_TYPES",
    "LEVELS",
    "Evidence",
    "ExceptionType",
    "Finding",
    "Level",
]


class ExceptionType(StrEnum):
    # transaction level: key merchant_id + rrn (or + terminal, batch, trace)
    MISSING_IN_SETTLEMENT = "missing_in_settlement"
    DEBITED_BUT_FAILED = "debited_but_failed"
    UNKNOWN_SETTLEMENT = "unknown_settlement"
    AMOUNT_MISMATCH = "amount_mismatch"
    FEE_MISMATCH = "fee_mismatch"
    DUPLICATE_SETTLEMENT = "duplicate_settlement"
    MERCHANT_MISMATCH = "merchant_mismatch"
    LATE_SETTLEMENT = "late_settlement"
    # payout level: key payout_id
    PAYOUT_TOTAL_MISMATCH = "payout_total_mismatch"
    PAYOUT_FAILED_RETRYABLE = "payout_failed_retryable"
    PAYOUT_FAILED_ACTION_REQUIRED = "payout_failed_action_required"
    SETTLED_NOT_ARRIVED = "settled_not_arrived"
    ARRIVED_LATE = "arrived_late"
    MISROUTED_PAYOUT = "misrouted_payout"
    # other
    UNMATCHED_CREDIT = "unmatched_credit"
    TERMINAL_SUSPENDED = "terminal_suspended"
    ACTIVITY_ON_SUSPENDED_TERMINAL = "activity_on_suspended_terminal"
    REFUND_WITHOUT_SALE = "refund_without_sale"
    REFUND_EXCEEDS_SALE = "refund_exceeds_sale"


class Level(StrEnum):
    TRANSACTION = "transaction"
    PAYOUT = "payout"
    OTHER = "other"


LEVELS: dict[ExceptionType, Level] = {
    **dict.fromkeys(list(ExceptionType)[:8], Level.TRANSACTION),
    **dict.fromkeys(list(ExceptionType)[8:14], Level.PAYOUT),
    **dict.fromkeys(list(ExceptionType)[14:], Level.OTHER),
}

# The types that decide what became of a record (its disposition). A record
# is in at most one of these; the others annotate a record that is otherwise
# accounted for (a matched sale can also have a fee mismatch).
DISPOSITION_TYPES: frozenset[ExceptionType] = frozenset(
    {
        ExceptionType.MISSING_IN_SETTLEMENT,
        ExceptionType.DEBITED_BUT_FAILED,
        ExceptionType.UNKNOWN_SETTLEMENT,
        ExceptionType.DUPLICATE_SETTLEMENT,
        ExceptionType.PAYOUT_FAILED_RETRYABLE,
        ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED,
        ExceptionType.SETTLED_NOT_ARRIVED,
        ExceptionType.ARRIVED_LATE,
        ExceptionType.MISROUTED_PAYOUT,
        ExceptionType.UNMATCHED_CREDIT,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """A source record that an exception rests on, and its role in it."""

    role: str  # pos, settlement, payout, bank, contract, terminal, maintenance
    path: str
    line: int
    file_sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One exception found by a reconcile run, before it is stored or rendered.

    ``facts`` holds the typed values the explanation is written from (dates as
    ISO strings, money as fen); rendering to Chinese or English happens at the
    edge, from these facts and the playbook.
    """

    type: ExceptionType
    key: str
    merchant_id: str | None = None
    terminal_id: str | None = None
    batch_no: str | None = None
    trace_no: str | None = None
    rrn: str | None = None
    payout_id: str | None = None
    bank_txn_id: str | None = None
    amount_fen: int = 0  # the money at stake, never negative
    currency: str = "CNY"
    expected: str | None = None
    actual: str | None = None
    due_date: dt.date | None = None
    facts: dict[str, str | int | None] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
