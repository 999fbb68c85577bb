from __future__ import annotations

import hashlib
import hmac

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.ingest.cards import (
    card_digits_sql,
    card_hash_python,
    card_sql,
    mask_card_python,
    set_pan_key,
)


def _cards(con: duckdb.DuckDBPyConnection, values: list[str | None]) -> list[tuple[object, ...]]:
    con.execute("CREATE OR REPLACE TEMP TABLE t (i INTEGER, card VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    c = card_sql("d")
    return con.execute(
        f"SELECT {c.masked}, {c.hash}, {c.state} FROM "
        f"(SELECT i, {card_digits_sql('card')} AS d FROM t) ORDER BY i"
    ).fetchall()


_CON = duckdb.connect()


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=100),
    digits=st.lists(
        st.text(alphabet="0123456789", min_size=13, max_size=19), min_size=1, max_size=8
    ),
)
def test_hmac_built_in_sql_equals_python_hmac(key: bytes, digits: list[str]) -> None:
    con = _CON
    set_pan_key(con, key)
    rows = _cards(con, list(digits))
    for d, (masked, hash_, state) in zip(digits, rows, strict=True):
        assert hash_ == hmac.new(key, d.encode(), hashlib.sha256).hexdigest()
        assert hash_ == card_hash_python(key, d)
        assert masked == mask_card_python(d)
        assert state == "full"


def test_card_arriving_full_masked_or_broken() -> None:
    con = duckdb.connect()
    key = b"k" * 32
    set_pan_key(con, key)
    rows = _cards(
        con,
        [
            "6228 4800-1234 5678",  # full, with layout
            "６２２８４８００１２３４５６７８",  # full-width digits
            "622848******5678",  # already masked by the POS
            "622848xxxxxx5678",
            "************5678",
            "12345",  # too short to be a card
            "62284800123456789012",  # 20 digits: not a card, and not shown
            None,
            "   ",
        ],
    )
    assert rows[0] == ("622848******5678", card_hash_python(key, "6228480012345678"), "full")
    assert rows[1] == rows[0]
    assert rows[2] == ("622848******5678", None, "masked")
    assert rows[3] == ("622848******5678", None, "masked")
    assert rows[4] == ("************5678", None, "masked")
    assert rows[5] == ("*****", None, "invalid")
    assert rows[6] == ("*" * 20, None, "invalid")
    assert rows[7] == (None, None, None)
    assert rows[8] == (None, None, None)


def test_same_card_same_hash_other_workspace_other_hash() -> None:
    a, b = duckdb.connect(), duckdb.connect()
    set_pan_key(a, b"a" * 32)
    set_pan_key(b, b"b" * 32)
    ha = _cards(a, ["6228480012345678", "6228480012345678"])
    hb = _cards(b, ["6228480012345678"])
    assert ha[0][1] == ha[1][1] != hb[0][1]
