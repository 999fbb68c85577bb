"""The canonical input fields of each kind: what every format must deliver.

A format (canonical CSV today; MT940, camt.053, bills, Excel profiles later)
reads a file into a table of VARCHAR columns with exactly these names, one
row per record, plus ``src_line``. Normalisation then gives them types. The
names are those of DESIGN.md section 5, so a canonical CSV header is this list.

``required`` means a format cannot deliver the kind without the field: a
canonical CSV file whose header lacks it is not that kind. Whether a value
may be empty is the normaliser's business (it mirrors the stored schema).
"""

from __future__ import annotations

from dataclasses import dataclass

from daozhang.domain.records import Kind

__all__ = ["CARD_FIELD", "INPUT_FIELDS", "InputField", "field_names"]

# The one input field that may hold a full card number (PAN). It is masked
# as the file is read, before anything is kept (see ingest/cards.py).
CARD_FIELD = "card"


@dataclass(frozen=True, slots=True)
class InputField:
    name: str
    required: bool = False


def _f(spec: str) -> tuple[InputField, ...]:
    """``"a* b c*"`` -> fields a (required), b, c (required): the lists stay readable."""
    return tuple(InputField(n.rstrip("*"), n.endswith("*")) for n in spec.split())


INPUT_FIELDS: dict[Kind, tuple[InputField, ...]] = {
    Kind.POS_JOURNAL: _f(
        "merchant_id* terminal_id* batch_no trace_no rrn txn_time* txn_type* channel* card "
        "amount* currency result* response_code auth_code orig_rrn"
    ),
    Kind.SETTLEMENT: _f(
        "acquirer* merchant_id* merchant_name mcc terminal_id batch_no trace_no rrn txn_time* "
        "txn_type* channel* card amount* fee* net_amount* settle_date* payout_id"
    ),
    Kind.PAYOUTS: _f(
        "payout_id* acquirer merchant_id* account_no* account_name bank_code amount* "
        "created_at* status* failure_code failure_reason bank_ref attempt*"
    ),
    Kind.BANK_STATEMENT: _f(
        "account_no* booking_date* value_date* amount* currency counterparty_name "
        "counterparty_account reference balance bank_txn_id"
    ),
    Kind.CONTRACTS: _f(
        "merchant_id* merchant_name* mcc acquirer settlement_account settlement_account_name "
        "settlement_bank_code cycle* cutoff* fee_debit_card cap_debit_card fee_credit_card "
        "fee_wechat fee_alipay fee_unionpay_qr effective_from*"
    ),
    Kind.TERMINALS: _f("terminal_id* merchant_id status* status_since reason note"),
    Kind.MAINTENANCE: _f("bank_code* start* end* scope* note"),
}


def field_names(kind: Kind) -> tuple[str, ...]:
    """The input field names of ``kind``, in contract order."""
    return tuple(f.name for f in INPUT_FIELDS[kind])
