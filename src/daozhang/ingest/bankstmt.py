"""What the bank statement formats (camt.05x, MT940/MT942) share.

Both formats describe the same thing, a statement of one account with an
opening balance, booked entries and a closing balance, so the rules that
turn one entry into a canonical ``bank_statement`` record are written once:

* :func:`txn_id` gives an entry its ``bank_txn_id``: the bank's own
  reference when it gives one, else an id derived from the statement's
  identity and the entry's position in it. Importing the same file twice
  therefore yields the same ids (the rows are recognised as duplicates) and
  two entries of one statement never share one. Ids fit the 64 characters
  the store keeps.
* :func:`clean_text` trims a narrative to one line of sensible length.
* :class:`BalanceCheck` adds up the entries of a statement and says, in a
  language-neutral detail, when opening + entries != closing.

>>> txn_id(None, "253EURNL26VAYB8060476890", 1)
'253EURNL26VAYB8060476890#1'
>>> clean_text("  GIRO  428428\\nKPN  ")
'GIRO 428428 KPN'
>>> check = BalanceCheck(opening=Decimal("18.15"), currency="EUR")
>>> check.add(Decimal("8.85"), "EUR")
>>> check.mismatch(Decimal("27.00"), "EUR") is None
True
>>> check.mismatch(Decimal("-27.00"), "EUR")
'opening 18.15 + entries 8.85 = 27.00 EUR, closing -27.00 EUR'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["MAX_ID", "MAX_TEXT", "BalanceCheck", "clean_text", "txn_id", "unique_txn_id"]

MAX_ID = 64  # the store's bank_txn_id column
MAX_TEXT = 200  # a reference or a name longer than this is a narrative, not an id

_SPACES = re.compile(r"\s+")


def clean_text(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """``text`` on one line, runs of white space as one space, at most ``limit`` characters.

    None or nothing but spaces gives None, so an absent narrative stays
    absent rather than becoming an empty string.
    """
    if text is None:
        return None
    out = _SPACES.sub(" ", text).strip()
    return out[:limit].rstrip() or None


def txn_id(bank_ref: str | None, statement: str, position: int) -> str:
    """The entry's ``bank_txn_id``: the bank's reference, or one derived from its place.

    Args:
        bank_ref: the reference the bank gave the entry (None or empty: none).
        statement: the statement's identity (camt ``Stmt/Id``; MT940 account,
            ``:20:``, ``:28C:`` and date), unique per statement.
        position: the entry's 1-based position within the statement.

    A derived id longer than :data:`MAX_ID` is shortened to a hash of the
    statement's identity, which keeps it stable and unique.
    """
    ref = clean_text(bank_ref, limit=1_000)
    if ref:
        if len(ref) <= MAX_ID:
            return ref
        return "ref-" + hashlib.sha256(ref.encode()).hexdigest()[:40]
    derived = f"{statement}#{position}"
    if len(derived) <= MAX_ID:
        return derived
    digest = hashlib.sha256(statement.encode()).hexdigest()[:40]
    return f"stmt-{digest}#{position}"


def unique_txn_id(bank_ref: str | None, statement: str, position: int, seen: set[str]) -> str:
    """:func:`txn_id`, made unique within a statement (``seen`` holds the ids given so far).

    Some banks repeat one reference on several entries of a statement; the
    second and later ones get their position appended (``55555#3``), so two
    entries never share an id and a re-import still gives the same ids.

    >>> seen: set[str] = set()
    >>> [unique_txn_id("55555", "S", n, seen) for n in (1, 2)]
    ['55555', '55555#2']
    """
    out = txn_id(bank_ref, statement, position)
    if out in seen:
        out = txn_id(None, out, position)
    seen.add(out)
    return out


@dataclass
class BalanceCheck:
    """Opening balance + entries, to compare with the closing balance.

    ``unknown`` is set when an entry's amount could not be read: the sum is
    then not the statement's, and no mismatch is claimed (the unreadable
    entry is already reported on its own line).
    """

    opening: Decimal
    currency: str | None
    total: Decimal = Decimal(0)
    currencies: set[str] = field(default_factory=set)
    unknown: bool = False

    def add(self, amount: Decimal | None, currency: str | None) -> None:
        """One booked entry's signed amount (None: it could not be read)."""
        if amount is None:
            self.unknown = True
            return
        self.total += amount
        if currency:
            self.currencies.add(currency)

    def mismatch(self, closing: Decimal, currency: str | None) -> str | None:
        """None when opening + entries = closing; else the detail for the reject."""
        if self.unknown:
            return None
        currencies = {c for c in (self.currency, currency) if c} | self.currencies
        expected = self.opening + self.total
        if len(currencies) <= 1 and expected == closing:
            return None
        cur = "/".join(sorted(currencies))
        if len(currencies) > 1:
            return (
                f"opening {_num(self.opening)} {self.currency or ''}, closing {_num(closing)} "
                f"{currency or ''}: currencies differ ({cur})"
            ).replace("  ", " ")
        return (
            f"opening {_num(self.opening)} + entries {_num(self.total)} = {_num(expected)} {cur}, "
            f"closing {_num(closing)} {cur}"
        )


def _num(d: Decimal) -> str:
    """A decimal as plain text with at least two decimals (``18.15``, ``-27.00``)."""
    exponent = d.as_tuple().exponent
    q = d if isinstance(exponent, int) and exponent <= -2 else d.quantize(Decimal("0.01"))
    return format(q, "f")
