"""Card numbers as real exports carry them: full PANs with a valid Luhn digit.

The simulator writes full card numbers into POS journals and settlement
files on purpose, because real files have them and the ingest must mask them
on the way in (DESIGN.md: a full PAN is never stored). They are drawn
vectorised as unsigned 64-bit integers (19 digits fit) from a few real-looking
BINs: UnionPay debit cards (62, mostly 19 digits) and credit cards of
UnionPay, Visa and Mastercard (62, 4, 5; 16 digits).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CREDIT_BINS", "DEBIT_BINS", "luhn_ok", "pans"]

# (BIN, length): issuer BINs of the big banks' cards.
DEBIT_BINS: tuple[tuple[str, int], ...] = (
    ("622202", 19),  # ICBC
    ("621700", 19),  # CCB
    ("622848", 19),  # ABC
    ("621661", 19),  # BOC
    ("621483", 16),  # CMB
    ("622262", 19),  # BOCOM
)
CREDIT_BINS: tuple[tuple[str, int], ...] = (
    ("625906", 16),  # UnionPay credit
    ("622588", 16),
    ("438088", 16),  # Visa
    ("427020", 16),
    ("524047", 16),  # Mastercard
    ("552534", 16),
)


def _draw(rng: np.random.Generator, n: int, bin_: str, length: int) -> np.ndarray:
    """``n`` PANs of one BIN and length, as uint64."""
    body_len = length - len(bin_) - 1
    digits = np.empty((n, length - 1), dtype=np.int64)
    digits[:, : len(bin_)] = np.array([int(c) for c in bin_], dtype=np.int64)
    digits[:, len(bin_) :] = rng.integers(0, 10, size=(n, body_len))
    # Luhn: from the right of the payload, every other digit (starting with
    # the rightmost, which the check digit will follow) is doubled.
    doubled = digits[:, ::-1].copy()
    doubled[:, 0::2] *= 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    powers = np.array([10 ** (length - 1 - i) for i in range(length - 1)], dtype=np.uint64)
    numbers: np.ndarray = (digits.astype(np.uint64) * powers).sum(axis=1, dtype=np.uint64)
    numbers += check.astype(np.uint64)
    return numbers


def pans(rng: np.random.Generator, credit: np.ndarray) -> np.ndarray:
    """One PAN per element of the boolean array ``credit`` (debit where False), as uint64."""
    n = len(credit)
    out = np.zeros(n, dtype=np.uint64)
    for is_credit, bins in ((False, DEBIT_BINS), (True, CREDIT_BINS)):
        idx = np.flatnonzero(credit == is_credit)
        if idx.size == 0:
            continue
        which = rng.integers(0, len(bins), size=idx.size)
        for b, (bin_, length) in enumerate(bins):
            sel = idx[which == b]
            if sel.size:
                out[sel] = _draw(rng, sel.size, bin_, length)
    return out


def luhn_ok(pan: str) -> bool:
    """Whether a card number's last digit is its Luhn check digit."""
    if not pan.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(pan)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
