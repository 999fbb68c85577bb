"""Card numbers: masked as they are read, with a keyed hash for matching.

A full card number (PAN) must never be stored, logged or shown, so it is
replaced in the very SELECT that reads the file: no table, spill file or
Parquet file ever holds it. What is kept:

* ``card``: first 6 + last 4 digits, the middle as ``*`` (``622848******1234``);
  a number that arrives already masked keeps its mask (``x`` and ``•`` become ``*``);
* ``card_hash``: HMAC-SHA256 of the digits under the workspace key, hex, so the
  same card matches across files without being readable; NULL when the file
  only had a mask;
* ``card_state``: ``full``, ``masked`` or ``invalid`` (the normaliser rejects
  invalid ones; their digits are all starred here so the reject shows none).

DuckDB has ``sha256()`` but no ``hmac()``, so HMAC is spelled out (RFC 2104):
``H((K ^ opad) || H((K ^ ipad) || m))`` with the key's pads computed once in
Python and handed to DuckDB as session variables, never as SQL text.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb

__all__ = [
    "CardSql",
    "card_digits_sql",
    "card_hash_python",
    "card_sql",
    "mask_card_python",
    "set_pan_key",
]

_BLOCK = 64  # SHA-256 block size in bytes
_IPAD_VAR = "daozhang_pan_ipad"
_OPAD_VAR = "daozhang_pan_opad"

# Whitespace, spaces and dashes inside a card number are layout, not content.
_FULLWIDTH = "０１２３４５６７８９"
_ASCII = "0123456789"


def set_pan_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Give ``con`` the workspace key's HMAC pads, for :func:`card_sql`.

    Keys longer than the block are hashed first, as RFC 2104 says, so any
    key length works; the workspace uses 32 random bytes.
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    k = key.ljust(_BLOCK, b"\0")
    con.execute(f"SET VARIABLE {_IPAD_VAR} = ?", [bytes(b ^ 0x36 for b in k)])
    con.execute(f"SET VARIABLE {_OPAD_VAR} = ?", [bytes(b ^ 0x5C for b in k)])


class CardSql:
    """The three SQL expressions that replace a raw card column."""

    def __init__(self, masked: str, hash_: str, state: str) -> None:
        self.masked = masked
        self.hash = hash_
        self.state = state


def card_digits_sql(raw: str) -> str:
    """SQL for the card text without layout: spaces and dashes gone, full-width digits ASCII.

    Computed once in an inner SELECT; :func:`card_sql` then reads it several times.
    """
    text = f"CAST({raw} AS VARCHAR)"
    return (
        f"(CASE WHEN {text} IS NULL THEN NULL "
        f"WHEN regexp_matches({text}, '^[0-9*]+$') THEN {text} "
        f"ELSE regexp_replace(translate({text}, '{_FULLWIDTH}', '{_ASCII}'), "
        r"'[\s\-]', '', 'g') END)"
    )


def card_sql(digits: str) -> CardSql:
    """SQL for the masked card, its keyed hash and its state.

    ``digits`` is a column holding :func:`card_digits_sql` of the raw text.
    The connection must have had :func:`set_pan_key` called on it.
    """
    state = (
        f"(CASE WHEN {digits} IS NULL OR {digits} = '' THEN NULL "
        f"WHEN regexp_matches({digits}, '^[0-9]{{13,19}}$') THEN 'full' "
        f"WHEN regexp_matches({digits}, '^[0-9]{{0,6}}[*xX•]{{2,}}[0-9]{{0,4}}$') THEN 'masked' "
        "ELSE 'invalid' END)"
    )
    masked = (
        f"(CASE {state} "
        f"WHEN 'full' THEN left({digits}, 6) || repeat('*', length({digits}) - 10) "
        f"|| right({digits}, 4) "
        f"WHEN 'masked' THEN regexp_replace({digits}, '[xX•]', '*', 'g') "
        f"WHEN 'invalid' THEN regexp_replace({digits}, '[0-9]', '*', 'g') END)"
    )
    inner = f"unhex(sha256(getvariable('{_IPAD_VAR}') || encode({digits})))"
    hash_ = f"(CASE WHEN {state} = 'full' THEN sha256(getvariable('{_OPAD_VAR}') || {inner}) END)"
    return CardSql(masked, hash_, state)


def card_hash_python(key: bytes, digits: str) -> str:
    """The same keyed hash in Python (for tests and small lookups)."""
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()


def mask_card_python(digits: str) -> str:
    """First 6 + last 4 of a full card number, the middle starred."""
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
