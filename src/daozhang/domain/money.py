"""Money as integer fen (分) with a currency; rounding defined once.

Why integer fen: a float cannot hold 0.10 exactly, and a reconciliation that
is off by a fen on one row in a million is still wrong. Amounts enter as
decimal yuan strings ("1234.50"), are parsed exactly, and never become floats.

Rounding is *half up* (half away from zero, as ``decimal.ROUND_HALF_UP``) at
the fen, and it is defined only here: :func:`round_half_up_div` for Python and
:func:`round_half_up_div_sql` for the set-based rules, which are tested to
agree.

>>> parse_yuan("1234.5")
123450
>>> format_yuan(-5)
'-0.05'
>>> fee_fen(10_000, rate_ppm=3_800)          # 100.00 yuan at 0.38 %
38
>>> fee_fen(1_000_000_00, rate_ppm=5_000, cap_fen=2_000)   # capped at 20.00
2000
>>> round_yuan_text("0.00500")                # a WeChat Pay fee, five decimals
'0.01'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "CNY",
    "Money",
    "MoneyError",
    "fee_fen",
    "format_yuan",
    "parse_percent_ppm",
    "parse_yuan",
    "round_half_up_div",
    "round_half_up_div_sql",
    "round_yuan_text",
]

CNY = "CNY"

# "1234.50", "-0.05", "+12", "1,234.50" (thousand separators are accepted only
# in the 3-digit grouping form, so "1,2.3" is refused rather than guessed).
_YUAN = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_PERCENT = re.compile(r"^\d+(?:\.\d+)?%?$")


class MoneyError(ValueError):
    """A money value could not be read or combined; the message says why."""


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in integer minor units (fen) of one currency.

    Adding two currencies is refused rather than converted: no rule in a
    reconciliation may silently mix CNY and HKD.
    """

    fen: int
    currency: str = CNY

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise MoneyError(f"money must be integer fen, got {type(self.fen).__name__}")

    def __add__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # so that sum() works
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.fen + other.fen, self.currency)

    __radd__ = __add__

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.fen - other.fen, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.fen, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.fen), self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    @property
    def yuan(self) -> str:
        """The amount as a decimal yuan string, e.g. ``"1234.50"``."""
        return format_yuan(self.fen)

    @classmethod
    def parse(cls, text: str, currency: str = CNY) -> Money:
        return cls(parse_yuan(text), currency)

    def __str__(self) -> str:
        return f"{self.yuan} {self.currency}"


def parse_yuan(text: str) -> int:
    """Read a decimal yuan string exactly into fen.

    More than two decimals are refused unless the extra digits are zeros:
    a settlement file that says 12.345 has a problem we must report, not round.
    """
    s = text.strip().replace("¥", "").replace("￥", "")
    if not _YUAN.match(s):
        raise MoneyError(f"not an amount in yuan: {text!r}")
    try:
        value = Decimal(s.replace(",", "")) * 100
    except InvalidOperation as exc:  # pragma: no cover - regex guards this
        raise MoneyError(f"not an amount in yuan: {text!r}") from exc
    if value != value.to_integral_value():
        raise MoneyError(f"more than two decimals in {text!r}")
    return int(value)


def round_yuan_text(text: str) -> str:
    """A decimal yuan amount with any number of decimals, rounded half up to the fen.

    For the foreign formats that state amounts finer than the fen (WeChat
    Pay fees have five decimals, some camt.053 statements too): they are
    rounded here, once, with the product's one rule, and go on as ordinary
    two-decimal yuan text. Canonical files are never rounded (see
    :func:`parse_yuan`). Spaces, a yuan sign and thousand separators are
    accepted as in :func:`parse_yuan`.

    Raises:
        MoneyError: not an amount.
    """
    s = text.strip().replace("¥", "").replace("￥", "")
    if not _YUAN.match(s):
        raise MoneyError(f"not an amount in yuan: {text!r}")
    exact = Decimal(s.replace(",", ""))
    exponent = exact.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    whole = int(exact.scaleb(places))  # the amount in units of 10**-places yuan, exactly
    return format_yuan(round_half_up_div(whole * 100, 10**places))


def format_yuan(fen: int) -> str:
    """Fen as a yuan string with exactly two decimals (``-5`` -> ``"-0.05"``)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, in integers.

    This is the one rounding rule of the product. ``denominator`` is positive.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q = (abs(numerator) * 2 + denominator) // (denominator * 2)
    return -q if numerator < 0 else q


def round_half_up_div_sql(numerator: str, denominator: int) -> str:
    """The same rounding as :func:`round_half_up_div`, as a portable SQL expression.

    ``numerator`` is an SQL expression of integer type. The division is
    DuckDB's integer ``//`` on non-negative operands (Spark: ``DIV``, which
    SQLGlot writes), so it stays exact where a double would lose fen.
    """
    d = int(denominator)
    if d <= 0:
        raise ValueError("denominator must be positive")
    mag = f"((ABS({numerator}) * 2 + {d}) // {2 * d})"
    return f"(CASE WHEN ({numerator}) < 0 THEN -{mag} ELSE {mag} END)"


PPM = 1_000_000


def fee_fen(amount_fen: int, *, rate_ppm: int, cap_fen: int | None = None) -> int:
    """The contract fee of one transaction: amount x rate, rounded, then capped.

    ``rate_ppm`` is the rate in parts per million of the amount (0.38 % is
    3 800). A refund (negative amount) gets the same fee negated, so a fully
    refunded sale nets to zero fee; the cap applies to the magnitude.
    """
    fee = round_half_up_div(abs(amount_fen) * rate_ppm, PPM)
    if cap_fen is not None:
        fee = min(fee, cap_fen)
    return -fee if amount_fen < 0 else fee


def parse_percent_ppm(text: str) -> int:
    """A rate in percent (``"0.38"`` or ``"0.38%"``) as parts per million of the amount.

    Four decimals of a percent are the finest a contract may state (0.0001 %
    is 1 ppm); finer rates are refused, never rounded.
    """
    s = text.strip()
    if not _PERCENT.match(s):
        raise MoneyError(f"not a rate in percent: {text!r}")
    value = Decimal(s.rstrip("%")) * 10_000
    if value != value.to_integral_value():
        raise MoneyError(f"rate {text!r} has more than four decimals of a percent")
    return int(value)
