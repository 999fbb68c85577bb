"""What the store does so that SQLite and PostgreSQL keep the same values (store/db.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from daozhang.store.db import NUL_STANDIN, as_utc, fit_text, storable
from daozhang.store.tables import imports

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    "given",
    [
        dt.datetime(2026, 11, 5, 9, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 5, 17, 30, tzinfo=SHANGHAI),  # PostgreSQL's answer in +08:00
        dt.datetime(2026, 11, 5, 9, 30),  # SQLite's answer: the UTC wall clock, no zone
    ],
)
def test_every_time_is_the_same_instant_in_utc(given: dt.datetime) -> None:
    got = as_utc(given)
    assert got == dt.datetime(2026, 11, 5, 9, 30, tzinfo=dt.UTC)
    assert got.tzinfo is dt.UTC


def test_text_that_fits_is_kept_as_it_is() -> None:
    assert fit_text("上海某某餐饮有限公司", 16) == "上海某某餐饮有限公司"
    assert fit_text("x" * 64, 64) == "x" * 64
    assert fit_text("a\x00b", None) == f"a{NUL_STANDIN}b"


def test_text_too_long_is_shortened_the_same_way_every_time_and_stays_distinct() -> None:
    a, b = "P" * 100 + "1", "P" * 100 + "2"
    assert fit_text(a, 64) == fit_text(a, 64)
    assert len(fit_text(a, 64)) == 64 and fit_text(a, 64).startswith("P" * 55 + "~")
    assert fit_text(a, 64) != fit_text(b, 64)
    assert len(fit_text(a, 3)) == 3  # even a column too short for the digest


def test_storable_touches_only_text_columns_that_need_it() -> None:
    row = {"actor": "a" * 200, "message": "x\x00y", "rows_read": 7, "path": "s.csv"}
    got = storable(imports, row)
    assert len(got["actor"]) == 128  # String(128)
    assert got["message"] == f"x{NUL_STANDIN}y"  # Text: any length, no NUL
    assert (got["rows_read"], got["path"]) == (7, "s.csv")
    assert row["actor"] == "a" * 200  # the caller's values are not changed
