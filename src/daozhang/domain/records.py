"""Canonical records: what every input format is turned into.

One frozen dataclass per kind of record (DESIGN.md section 5). Each carries
its :class:`SourceRef`, so every exception can point back at the file and line
it came from. Bulk data never travels as these objects (a million Python
objects is too slow); it travels as columnar tables whose columns are exactly
the dataclass fields, described by :data:`SCHEMAS`. The dataclasses are the
readable definition and the type used for small data, tests and the API.

Conventions shared by all kinds:

* money is integer fen (``*_fen``) with a ``currency``;
* local times are naive ``datetime`` values meaning Asia/Shanghai; the rules
  only use the derived ``*_date`` (DATE) and ``*_secs`` (seconds since local
  midnight) columns, which mean the same on every engine;
* a card number is kept only as ``card_masked`` (first 6, last 4) and
  ``card_hash`` (keyed HMAC-SHA256, hex), never in full;
* an empty optional field is ``None``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from enum import StrEnum

__all__ = [
    "SCHEMAS",
    "BankEntry",
    "Channel",
    "Column",
    "Contract",
    "Cycle",
    "Kind",
    "MaintenanceWindow",
    "PayoutAttempt",
    "PayoutStatus",
    "PosResult",
    "PosTxn",
    "SettlementRow",
    "SourceRef",
    "Terminal",
    "TerminalReason",
    "TerminalStatus",
    "TxnType",
]

MerchantId = str
TerminalId = str
PayoutId = str


class Kind(StrEnum):
    """The kinds of canonical record; also the names of the canonical CSV formats."""

    POS_JOURNAL = "pos_journal"
    SETTLEMENT = "settlement"
    PAYOUTS = "payouts"
    BANK_STATEMENT = "bank_statement"
    CONTRACTS = "contracts"
    TERMINALS = "terminals"
    MAINTENANCE = "maintenance"


class TxnType(StrEnum):
    SALE = "sale"
    REFUND = "refund"
    VOID = "void"
    PREAUTH_COMPLETE = "preauth_complete"


class Channel(StrEnum):
    DEBIT_CARD = "debit_card"
    CREDIT_CARD = "credit_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY_QR = "unionpay_qr"


class PosResult(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    TIMEOUT = "timeout"
    REVERSED = "reversed"
    # An automatic reversal (冲正) was sent and never acknowledged: the
    # cardholder may still have been debited (read from ISO 8583 logs).
    REVERSAL_UNCONFIRMED = "reversal_unconfirmed"


class PayoutStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    RETURNED = "returned"


class Cycle(StrEnum):
    """Settlement cycles exactly as DESIGN.md section 3 defines them."""

    T1 = "T1"  # the next bank working day after the txn date
    D1 = "D1"  # the next calendar day
    D0 = "D0"  # the same day
    T0 = "T0"  # the same day if a bank working day, else the next one


class TerminalStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class TerminalReason(StrEnum):
    UNPAID_FEE = "unpaid_fee"
    AGREEMENT_VIOLATION = "agreement_violation"
    RISK_REVIEW = "risk_review"
    SYSTEM_FAULT = "system_fault"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """Where a record came from: the file's SHA-256, its path, and the line.

    ``line`` is the physical line of a text file (1 = the header), or the
    position a format defines for itself (message number, XML entry number).
    """

    file_sha256: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PosTxn:
    """One terminal transaction attempt from a POS journal."""

    source: SourceRef
    merchant_id: MerchantId
    terminal_id: TerminalId
    batch_no: str | None
    trace_no: str | None
    rrn: str | None
    txn_time: dt.datetime
    txn_type: TxnType
    channel: Channel
    card_masked: str | None
    card_hash: str | None
    amount_fen: int
    currency: str
    result: PosResult
    response_code: str | None
    auth_code: str | None
    orig_rrn: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementRow:
    """One cleared transaction in an acquirer's settlement file."""

    source: SourceRef
    acquirer: str
    merchant_id: MerchantId
    merchant_name: str | None
    mcc: str | None
    terminal_id: TerminalId | None
    batch_no: str | None
    trace_no: str | None
    rrn: str | None
    txn_time: dt.datetime
    txn_type: TxnType
    channel: Channel
    card_masked: str | None
    card_hash: str | None
    amount_fen: int
    fee_fen: int
    net_fen: int
    currency: str
    settle_date: dt.date
    payout_id: PayoutId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutAttempt:
    """One attempt to pay a merchant; retries share ``payout_id`` with a higher ``attempt``."""

    source: SourceRef
    payout_id: PayoutId
    acquirer: str | None
    merchant_id: MerchantId
    account_no: str
    account_name: str | None
    bank_code: str | None
    amount_fen: int
    currency: str
    created_at: dt.datetime
    status: PayoutStatus
    failure_code: str | None
    failure_reason: str | None
    bank_ref: str | None
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BankEntry:
    """One entry of a bank account statement; credits are positive."""

    source: SourceRef
    account_no: str
    booking_date: dt.date
    value_date: dt.date
    amount_fen: int
    currency: str
    counterparty_name: str | None
    counterparty_account: str | None
    reference: str | None
    balance_fen: int | None
    bank_txn_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """A merchant's acquiring contract from ``effective_from`` on.

    Rates are parts per million of the amount (0.38 % = 3 800); a channel whose
    rate is ``None`` has no agreed rate and its fees are not checked.
    """

    source: SourceRef
    merchant_id: MerchantId
    merchant_name: str
    mcc: str | None
    acquirer: str | None
    settlement_account: str | None
    settlement_account_name: str | None
    settlement_bank_code: str | None
    cycle: Cycle
    cutoff_secs: int  # seconds after local midnight; after it, the next day's business
    fee_debit_card_ppm: int | None
    cap_debit_card_fen: int | None
    fee_credit_card_ppm: int | None
    fee_wechat_ppm: int | None
    fee_alipay_ppm: int | None
    fee_unionpay_qr_ppm: int | None
    effective_from: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminal:
    """A terminal's status from ``status_since`` on (the latest such row wins)."""

    source: SourceRef
    terminal_id: TerminalId
    merchant_id: MerchantId | None
    status: TerminalStatus
    status_since: dt.date | None
    reason: TerminalReason | None
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceWindow:
    """A period in which a bank does not process payouts (``scope`` payouts) or anything (all)."""

    source: SourceRef
    bank_code: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    scope: str
    note: str | None


# --------------------------------------------------------------------------
# Stored columns. Every kind is stored with these columns, in this order, as
# Parquet (and as DuckDB/Spark tables during a run). Types are SQL types that
# DuckDB writes and Spark reads without conversion. The source columns come
# first and are the same for every kind.


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str  # VARCHAR, BIGINT, INTEGER, DATE, TIMESTAMP, BOOLEAN
    required: bool = False


SOURCE_COLUMNS: tuple[Column, ...] = (
    Column("row_id", "BIGINT", True),  # import_id * 2**32 + ordinal: unique in the workspace
    Column("import_id", "BIGINT", True),
    Column("src_file", "VARCHAR", True),  # SHA-256 of the file, hex
    Column("src_path", "VARCHAR", True),
    Column("src_line", "BIGINT", True),
    Column("row_fp", "VARCHAR", True),  # fingerprint of every canonical field (md5 hex)
    Column("row_occ", "INTEGER", True),  # n-th identical row in the workspace (1, 2, ...)
)

_T = "TIMESTAMP"
_D = "DATE"
_S = "VARCHAR"
_I = "BIGINT"

SCHEMAS: dict[Kind, tuple[Column, ...]] = {
    Kind.POS_JOURNAL: (
        Column("merchant_id", _S, True),
        Column("terminal_id", _S, True),
        Column("batch_no", _S),
        Column("trace_no", _S),
        Column("rrn", _S),
        Column("txn_time", _T, True),
        Column("txn_date", _D, True),  # local calendar date of txn_time
        Column("txn_secs", "INTEGER", True),  # seconds since local midnight
        Column("txn_type", _S, True),
        Column("channel", _S, True),
        Column("card_masked", _S),
        Column("card_hash", _S),
        Column("amount_fen", _I, True),
        Column("currency", _S, True),
        Column("result", _S, True),
        Column("response_code", _S),
        Column("auth_code", _S),
        Column("orig_rrn", _S),
    ),
    Kind.SETTLEMENT: (
        Column("acquirer", _S, True),
        Column("merchant_id", _S, True),
        Column("merchant_name", _S),
        Column("mcc", _S),
        Column("terminal_id", _S),
        Column("batch_no", _S),
        Column("trace_no", _S),
        Column("rrn", _S),
        Column("txn_time", _T, True),
        Column("txn_date", _D, True),
        Column("txn_secs", "INTEGER", True),
        Column("txn_type", _S, True),
        Column("channel", _S, True),
        Column("card_masked", _S),
        Column("card_hash", _S),
        Column("amount_fen", _I, True),
        Column("fee_fen", _I, True),
        Column("net_fen", _I, True),
        Column("currency", _S, True),
        Column("settle_date", _D, True),
        Column("payout_id", _S),
    ),
    Kind.PAYOUTS: (
        Column("payout_id", _S, True),
        Column("acquirer", _S),
        Column("merchant_id", _S, True),
        Column("account_no", _S, True),
        Column("account_name", _S),
        Column("bank_code", _S),
        Column("amount_fen", _I, True),
        Column("currency", _S, True),
        Column("created_at", _T, True),
        Column("created_date", _D, True),
        Column("status", _S, True),
        Column("failure_code", _S),
        Column("failure_reason", _S),
        Column("bank_ref", _S),
        Column("attempt", "INTEGER", True),
    ),
    Kind.BANK_STATEMENT: (
        Column("account_no", _S, True),
        Column("booking_date", _D, True),
        Column("value_date", _D, True),
        Column("amount_fen", _I, True),
        Column("currency", _S, True),
        Column("counterparty_name", _S),
        Column("counterparty_account", _S),
        Column("reference", _S),
        Column("balance_fen", _I),
        Column("bank_txn_id", _S),
    ),
    Kind.CONTRACTS: (
        Column("merchant_id", _S, True),
        Column("merchant_name", _S, True),
        Column("mcc", _S),
        Column("acquirer", _S),
        Column("settlement_account", _S),
        Column("settlement_account_name", _S),
        Column("settlement_bank_code", _S),
        Column("cycle", _S, True),
        Column("cutoff_secs", "INTEGER", True),
        Column("fee_debit_card_ppm", _I),
        Column("cap_debit_card_fen", _I),
        Column("fee_credit_card_ppm", _I),
        Column("fee_wechat_ppm", _I),
        Column("fee_alipay_ppm", _I),
        Column("fee_unionpay_qr_ppm", _I),
        Column("effective_from", _D, True),
    ),
    Kind.TERMINALS: (
        Column("terminal_id", _S, True),
        Column("merchant_id", _S),
        Column("status", _S, True),
        Column("status_since", _D),
        Column("reason", _S),
        Column("note", _S),
    ),
    Kind.MAINTENANCE: (
        Column("bank_code", _S, True),
        Column("starts_at", _T, True),
        Column("ends_at", _T, True),
        Column("start_date", _D, True),  # local dates of the two ends, for date-only rules
        Column("end_date", _D, True),
        Column("scope", _S, True),
        Column("note", _S),
    ),
}

RECORD_TYPES: dict[Kind, type] = {
    Kind.POS_JOURNAL: PosTxn,
    Kind.SETTLEMENT: SettlementRow,
    Kind.PAYOUTS: PayoutAttempt,
    Kind.BANK_STATEMENT: BankEntry,
    Kind.CONTRACTS: Contract,
    Kind.TERMINALS: Terminal,
    Kind.MAINTENANCE: MaintenanceWindow,
}

# The column a kind's Parquet files are partitioned by (Hive style), so that a
# new day's import only adds files. Reference data is small and unpartitioned.
PARTITION_COLUMN: dict[Kind, str | None] = {
    Kind.POS_JOURNAL: "txn_date",
    Kind.SETTLEMENT: "settle_date",
    Kind.PAYOUTS: "created_date",
    Kind.BANK_STATEMENT: "value_date",
    Kind.CONTRACTS: None,
    Kind.TERMINALS: None,
    Kind.MAINTENANCE: None,
}


def stored_columns(kind: Kind) -> tuple[Column, ...]:
    """All stored columns of ``kind``: the source columns, then the record's own."""
    return SOURCE_COLUMNS + SCHEMAS[kind]


def _check_schemas_match_dataclasses() -> None:
    """The stored columns and the dataclass fields must describe the same record.

    Derived columns (dates and seconds computed from a timestamp) are stored
    for the engines but are not dataclass fields.
    """
    derived = {"txn_date", "txn_secs", "created_date", "start_date", "end_date"}
    for kind, cls in RECORD_TYPES.items():
        names = {f.name for f in fields(cls)} - {"source"}
        cols = {c.name for c in SCHEMAS[kind]} - derived
        if names != cols:  # pragma: no cover - guarded by tests
            raise AssertionError(f"{kind}: dataclass and schema differ: {names ^ cols}")


_check_schemas_match_dataclasses()
