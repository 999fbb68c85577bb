"""The SQL that reads a million amounts agrees with domain/money.py on every string."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daozhang.domain.money import MoneyError, parse_percent_ppm, parse_yuan
from daozhang.ingest.rejects import RejectCode
from daozhang.normalise.normalise import parse_values
from daozhang.normalise.rules import WHITESPACE, Money, Percent

CON = duckdb.connect()
AMOUNT = Money("amount", False, "amount_fen")
RATE = Percent("rate", False, "rate_ppm")
MAX_FEN = 10**18  # 16 digits of yuan: what BIGINT fen can hold with room to spare

# Everything an amount column of a Chinese export has been seen to hold, and junk.
YUAN_CHARS = "0123456789" * 3 + "０１２３４５６７８９.,+-¥￥ \t\n\u3000\xa0a%e_"
yuan_text = st.text(alphabet=YUAN_CHARS, max_size=16)
well_formed = st.builds(
    lambda d, sign, grouped: sign + (f"{d:,.2f}" if grouped else f"{d:.2f}"),
    st.decimals(min_value=0, max_value=Decimal("99999999999.99"), places=2),
    st.sampled_from(["", "-", "+"]),
    st.booleans(),
)


def python_yuan(text: str) -> tuple[int | None, RejectCode | None]:
    if not text.strip():
        return None, None  # an empty cell: no value, no error (the field is optional here)
    try:
        fen = parse_yuan(text)
    except MoneyError as exc:
        decimals = "more than two decimals" in str(exc)
        return None, RejectCode.AMOUNT_DECIMALS if decimals else RejectCode.BAD_AMOUNT
    if abs(fen) >= MAX_FEN:
        return None, RejectCode.AMOUNT_OUT_OF_RANGE
    return fen, None


def python_percent(text: str) -> tuple[int | None, RejectCode | None]:
    if not text.strip():
        return None, None
    try:
        ppm = parse_percent_ppm(text)
    except MoneyError as exc:
        finer = "more than four decimals" in str(exc)
        return None, RejectCode.PERCENT_DECIMALS if finer else RejectCode.BAD_PERCENT
    if ppm >= 10**16:
        return None, RejectCode.BAD_PERCENT
    return ppm, None


def sql(rule: Money | Percent, texts: list[str]) -> list[tuple[int | None, str | None]]:
    out = parse_values(CON, rule, texts)
    col = rule.out
    return [(values[col], code) for values, code in out]  # type: ignore[misc]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(yuan_text, well_formed), min_size=1, max_size=40))
@example(["12\n¥", "¥12.50", "1,234.5", "1,2.3", "１２.５０", "-0.00", "+0", "12.500", "12.505"])
@example(["0000000000000000012.30", "99999999999999999.99", "9999999999999999.99", ""])
@example([" \u3000 12.00\t", "\xa012", "12\n", "12\n\n¥", "1e3", "1_000", ".5", "5.", "--1"])
def test_sql_reads_yuan_exactly_as_python_does(texts: list[str]) -> None:
    assert sql(AMOUNT, texts) == [python_yuan(t) for t in texts]


PERCENT_CHARS = "0123456789" * 3 + "０１２３.%%+- \t\n\u3000,"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=PERCENT_CHARS, max_size=12), min_size=1, max_size=40))
@example(["0.38", "0.38%", "0.3800", "0.00001", "1%%", "%", "12\n%", "０.６", " 0.6 "])
def test_sql_reads_percent_rates_exactly_as_python_does(texts: list[str]) -> None:
    assert sql(RATE, texts) == [python_percent(t) for t in texts]


def test_the_sql_trims_the_same_whitespace_as_python() -> None:
    assert set(WHITESPACE) == {c for c in map(chr, range(0x3001)) if c.isspace()}
    texts = [f"{c}12.50{c}" for c in WHITESPACE]
    assert sql(AMOUNT, texts) == [(1250, None)] * len(texts)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12.50", 1250), ("-12.5", -1250), ("+12.50", 1250), ("1,234.50", 123450), ("¥8", 800)],
)
def test_fast_and_exact_paths_give_the_same_fen(text: str, fen: int) -> None:
    assert sql(AMOUNT, [text]) == [(fen, None)]
