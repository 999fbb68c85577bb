"""Card numbers as real exports carry them: full PANs of known BINs with a valid Luhn digit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.simulate.cards import CREDIT_BINS, DEBIT_BINS, luhn_ok, pans


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_every_drawn_pan_passes_luhn_and_has_a_known_bin(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    credit = rng.random(n) < 0.5
    drawn = pans(rng, credit)
    bins = {True: dict(CREDIT_BINS), False: dict(DEBIT_BINS)}
    for pan, is_credit in zip(drawn, credit, strict=True):
        text = str(int(pan))
        assert luhn_ok(text), text
        assert text[0] in "456"
        assert bins[bool(is_credit)].get(text[:6]) == len(text)


@given(seed=st.integers(0, 2**32 - 1), position=st.integers(0, 15), bump=st.integers(1, 9))
def test_a_mistyped_digit_fails_luhn(seed: int, position: int, bump: int) -> None:
    pan = str(int(pans(np.random.default_rng(seed), np.array([True]))[0]))
    digits = list(pan)
    digits[position] = str((int(digits[position]) + bump) % 10)
    assert not luhn_ok("".join(digits))


def test_luhn_on_published_test_numbers() -> None:
    assert luhn_ok("4111111111111111")  # the classic Visa test card
    assert luhn_ok("6212345678901232")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("41111111111111a1")
