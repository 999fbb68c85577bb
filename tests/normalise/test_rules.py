"""Field rules: timestamps, dates, cutoffs, enums, currencies, counters."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.domain.records import RECORD_TYPES, SCHEMAS, Kind
from daozhang.ingest.fields import INPUT_FIELDS
from daozhang.ingest.rejects import RejectCode
from daozhang.normalise.normalise import parse_values
from daozhang.normalise.rules import (
    RULES,
    WHITESPACE,
    Const,
    Currency,
    Cutoff,
    Date,
    Enum,
    Int,
    Timestamp,
    clean_sql,
    outputs_of,
)

CON = duckdb.connect()
TXN_TIME = Timestamp("txn_time", True, "txn_time", "txn_date", "txn_secs")


def one(rule: object, text: str | None) -> tuple[dict[str, object], str | None]:
    (out,) = parse_values(CON, rule, [text])  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("2026-03-01T14:05:09", dt.datetime(2026, 3, 1, 14, 5, 9)),
        ("2026-03-01 14:05:09", dt.datetime(2026, 3, 1, 14, 5, 9)),
        ("2026-03-01T14:05", dt.datetime(2026, 3, 1, 14, 5)),
        ("2026-03-01T14:05:09.123", dt.datetime(2026, 3, 1, 14, 5, 9, 123000)),
        ("2026-03-01T14:05:09.1234567", dt.datetime(2026, 3, 1, 14, 5, 9, 123456)),
        ("2026-03-01T14:05:09+08:00", dt.datetime(2026, 3, 1, 14, 5, 9)),
        ("2026-03-01T06:05:09Z", dt.datetime(2026, 3, 1, 14, 5, 9)),
        ("2026-03-01T23:30:00+0000", dt.datetime(2026, 3, 2, 7, 30)),
        ("2026-03-01T00:30:00-05:00", dt.datetime(2026, 3, 1, 13, 30)),
        ("２０２６-０３-０１T14:05:09", dt.datetime(2026, 3, 1, 14, 5, 9)),
    ],
)
def test_iso_times_become_shanghai_local_time(text: str, local: dt.datetime) -> None:
    values, code = one(TXN_TIME, text)
    assert code is None
    assert values["txn_time"] == local
    assert values["txn_date"] == local.date()
    assert values["txn_secs"] == local.hour * 3600 + local.minute * 60 + local.second


def test_a_utc_late_evening_sale_is_next_morning_in_shanghai() -> None:
    values, _ = one(TXN_TIME, "2026-03-01T20:00:00Z")
    assert values["txn_date"] == dt.date(2026, 3, 2) and values["txn_secs"] == 4 * 3600


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01 24:00:00",
        "2026-02-29T10:00:00",
        "2026-13-01T10:00:00",
        "2026-03-01T10:60:00",
        "2026-03-01T10:00:60",
        "2026-03-01",
        "2026/03/01 10:00:00",
        "2026-3-1T10:00:00",
        "2026-03-01T10:00:00+25:00",
        "yesterday",
    ],
)
def test_impossible_or_unreadable_times_are_rejected(text: str) -> None:
    values, code = one(TXN_TIME, text)
    assert code == RejectCode.BAD_TIMESTAMP and values["txn_time"] is None


def test_a_missing_required_time_says_required() -> None:
    assert one(TXN_TIME, "  ")[1] == RejectCode.REQUIRED


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-03-01", dt.date(2026, 3, 1)), ("2028-02-29", dt.date(2028, 2, 29))],
)
def test_dates(text: str, expected: dt.date) -> None:
    assert one(Date("settle_date", True), text) == ({"settle_date": expected}, None)


@pytest.mark.parametrize("text", ["2026-02-29", "2026-3-1", "20260301", "2026-03-01T00:00:00"])
def test_bad_dates(text: str) -> None:
    assert one(Date("settle_date", True), text)[1] == RejectCode.BAD_DATE


@pytest.mark.parametrize(
    ("text", "secs"),
    [("23:00", 82800), ("9:30", 34200), ("23:59:59", 86399), ("00:00", 0), ("24:00", 86400)],
)
def test_contract_cutoffs(text: str, secs: int) -> None:
    assert one(Cutoff("cutoff", True, "cutoff_secs"), text) == ({"cutoff_secs": secs}, None)


@pytest.mark.parametrize("text", ["24:01", "23:60", "2300", "11pm", "23:00:60"])
def test_bad_cutoffs(text: str) -> None:
    assert one(Cutoff("cutoff", True, "cutoff_secs"), text)[1] == RejectCode.BAD_TIME


def test_enums_ignore_case_and_keep_the_canonical_spelling() -> None:
    rule = next(r for r in RULES[Kind.CONTRACTS] if r.field == "cycle")
    assert one(rule, "t1") == ({"cycle": "T1"}, None)
    values, code = one(rule, "T+1")
    assert code == RejectCode.BAD_ENUM and values["cycle"] is None
    assert isinstance(rule, Enum) and rule.detail == "T1|D1|D0|T0"


def test_currency_defaults_to_cny_and_is_upper_cased() -> None:
    rule = Currency("currency")
    assert one(rule, None) == ({"currency": "CNY"}, None)
    assert one(rule, " hkd ") == ({"currency": "HKD"}, None)
    assert one(rule, "RMB元")[1] == RejectCode.BAD_CURRENCY


@pytest.mark.parametrize(
    ("text", "code"), [("1", None), ("03", None), ("0", "bad"), ("-1", "bad"), ("1.0", "bad")]
)
def test_attempt_counters(text: str, code: str | None) -> None:
    got = one(Int("attempt", True), text)[1]
    assert (got is None) if code is None else (got == RejectCode.BAD_INTEGER)


@pytest.mark.parametrize("kind", list(Kind))
def test_rules_produce_exactly_the_stored_columns_and_read_every_input_field(kind: Kind) -> None:
    assert list(outputs_of(kind)) == [c.name for c in SCHEMAS[kind]]
    read = {r.field for r in RULES[kind] if not isinstance(r, Const)}
    assert read == {f.name for f in INPUT_FIELDS[kind]}
    assert kind in RECORD_TYPES


@pytest.mark.parametrize("kind", list(Kind))
def test_a_stored_column_that_must_be_present_is_never_optional_in_the_rules(kind: Kind) -> None:
    required_inputs = {r.field for r in RULES[kind] if r.required}
    header_required = {f.name for f in INPUT_FIELDS[kind] if f.required}
    assert required_inputs == header_required


_EDGES = st.sampled_from(["", " ", "\t", "\u3000", "\u00a0", "\u2028", "\r\n", " \u3000 "])


@settings(max_examples=200, deadline=None)
@given(_EDGES, st.text(max_size=6), _EDGES)
def test_text_is_trimmed_of_unicode_whitespace_exactly_as_python_strips_it(
    before: str, middle: str, after: str
) -> None:
    """A merchant name pasted with a full-width space around it is the same name."""
    value = before + middle + after
    (got,) = CON.execute(f"SELECT {clean_sql('$1')}", [value]).fetchone() or (None,)
    assert got == (value.strip(WHITESPACE) or None)
