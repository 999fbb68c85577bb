"""Money: exact yuan parsing, one rounding rule, fees with caps, SQL agreeing with Python."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daozhang.domain.money import (
    PPM,
    Money,
    MoneyError,
    fee_fen,
    format_yuan,
    parse_percent_ppm,
    parse_yuan,
    round_half_up_div,
    round_half_up_div_sql,
    round_yuan_text,
)

fen = st.integers(min_value=-(10**15), max_value=10**15)


@given(fen)
def test_format_then_parse_gives_the_same_fen(value: int) -> None:
    assert parse_yuan(format_yuan(value)) == value


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**7))
def test_rounding_is_half_away_from_zero_like_decimal(numerator: int, denominator: int) -> None:
    expected = int(
        (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )
    assert round_half_up_div(numerator, denominator) == expected


@given(st.lists(st.tuples(st.integers(-(10**15), 10**15), st.integers(1, 10**7)), max_size=50))
def test_sql_rounding_agrees_with_python_on_duckdb(cases: list[tuple[int, int]]) -> None:
    con = duckdb.connect()
    for numerator, denominator in cases:
        sql = round_half_up_div_sql(f"CAST({numerator} AS BIGINT)", denominator)
        assert con.execute(f"SELECT {sql}").fetchone()[0] == round_half_up_div(  # type: ignore[index]
            numerator, denominator
        )


@given(st.integers(0, 10**10), st.integers(0, 100_000), st.one_of(st.none(), st.integers(0, 10**6)))
def test_fee_is_never_above_the_cap_and_refund_fee_mirrors_sale_fee(
    amount: int, rate: int, cap: int | None
) -> None:
    sale = fee_fen(amount, rate_ppm=rate, cap_fen=cap)
    refund = fee_fen(-amount, rate_ppm=rate, cap_fen=cap)
    assert refund == -sale
    assert sale >= 0
    if cap is not None:
        assert sale <= cap
    assert sale == min(round_half_up_div(amount * rate, PPM), cap if cap is not None else sale)


def test_debit_card_fee_is_capped_at_the_contract_cap() -> None:
    # 10 000.00 yuan at 0.50 % is 50.00, capped at 20.00
    assert fee_fen(1_000_000, rate_ppm=5_000, cap_fen=2_000) == 2_000


def test_fee_of_half_a_fen_rounds_up() -> None:
    # 1.25 yuan at 0.38 % = 0.475 fen -> 0 fen; 131.58 yuan at 0.38 % = 50.0004 -> 50
    assert fee_fen(125, rate_ppm=3_800) == 0
    # 25.00 yuan at 0.02 % = 0.5 fen: half up -> 1 fen
    assert fee_fen(2_500, rate_ppm=200) == 1


@pytest.mark.parametrize(
    ("text", "fen_value"),
    [("1234.50", 123450), ("-0.05", -5), ("+12", 1200), ("1,234.5", 123450), ("¥8.80", 880)],
)
def test_yuan_strings_parse_exactly(text: str, fen_value: int) -> None:
    assert parse_yuan(text) == fen_value


@pytest.mark.parametrize("text", ["12.345", "abc", "", "1,2.3", "1e3", "12.3.4", "NaN", "--1"])
def test_bad_yuan_strings_are_refused_not_rounded(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(text)


def test_rates_read_as_parts_per_million() -> None:
    assert parse_percent_ppm("0.38") == 3_800
    assert parse_percent_ppm("0.6%") == 6_000
    with pytest.raises(MoneyError):
        parse_percent_ppm("0.000001")


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(MoneyError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        _ = Money(100, "CNY") + Money(100, "HKD")
    assert sum([Money(100), Money(250)]) == Money(350)
    assert str(Money(-5)) == "-0.05 CNY"


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=5, allow_nan=False))
def test_five_decimal_amounts_round_half_up_like_decimal(value: Decimal) -> None:
    """A WeChat Pay fee such as ``0.00500`` is rounded once, half away from zero."""
    text = f"{value:.5f}"
    expected = Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert round_yuan_text(text) == format_yuan(int(expected * 100))


def test_wechat_fee_of_half_a_fen_rounds_up_and_a_refund_fee_rounds_down() -> None:
    assert round_yuan_text("0.00500") == "0.01"
    assert round_yuan_text("-0.00500") == "-0.01"
    assert round_yuan_text("¥1,234.5") == "1234.50"
    with pytest.raises(MoneyError):
        round_yuan_text("1e5")
