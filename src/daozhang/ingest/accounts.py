"""Bank exports that do not say whose account they are.

Several Chinese banks' exports (ABC, CMB debit cards, BOCOM, a BOC export
without its card column) and WeChat Pay's fund-flow bill list entries
without the account number. Their records carry a placeholder, never an
invented number: ``未知账号-<bank>`` from the built-in profiles (a user's own
profile may write the same), and :data:`~daozhang.ingest.bills.WECHAT_FUNDFLOW_ACCOUNT`
for the fund-flow bill. ``daozhang import --account NUMBER`` replaces the
placeholder, or an empty account, by the number the user knows, as the file
is read; an account the file names itself is never changed.

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('未知账号-农业银行'), "
...                 "('6228480012345678901'), (NULL)) v(account_no)")
>>> unknown_accounts(con, "t")
2
>>> fill_account(con, "t", "6228480099990000111")
2
>>> sorted(r[0] for r in con.execute("SELECT account_no FROM t").fetchall())
['6228480012345678901', '6228480099990000111', '6228480099990000111']
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from daozhang.ingest.bills import WECHAT_FUNDFLOW_ACCOUNT

__all__ = [
    "UNKNOWN_ACCOUNT_PREFIX",
    "AccountError",
    "check_account",
    "fill_account",
    "fill_account_rows",
    "unknown_accounts",
]

UNKNOWN_ACCOUNT_PREFIX = "未知账号-"
_MAX = 40
_ACCOUNT = re.compile(r"^[0-9A-Za-z\-]+$")


class AccountError(ValueError):
    """An account number given by the user that cannot be one."""


def check_account(text: str) -> str:
    """``text`` as an account number: spaces gone, digits, letters and dashes only.

    >>> check_account(" 6228 4800 9999 0000 111 ")
    '6228480099990000111'

    Raises:
        AccountError: empty, too long, or other characters.
    """
    account = re.sub(r"\s+", "", text)
    if not account or len(account) > _MAX or not _ACCOUNT.match(account):
        raise AccountError(text)
    return account


_UNKNOWN = """account_no IS NULL OR trim(account_no) = ''
               OR starts_with(account_no, $prefix) OR account_no = $wechat"""


def _params() -> dict[str, str]:
    return {"prefix": UNKNOWN_ACCOUNT_PREFIX, "wechat": WECHAT_FUNDFLOW_ACCOUNT}


def fill_account(con: duckdb.DuckDBPyConnection, table: str, account: str) -> int:
    """Give ``account`` to the rows of ``table`` (raw bank entries) that have none; how many."""
    rows = con.execute(
        f"UPDATE {table} SET account_no = $account WHERE {_UNKNOWN}",
        {"account": account, **_params()},
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def unknown_accounts(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many rows of ``table`` (raw bank entries) name no account of their own."""
    rows = con.execute(f"SELECT count(*) FROM {table} WHERE {_UNKNOWN}", _params()).fetchall()
    return int(rows[0][0]) if rows else 0


def fill_account_rows(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, account: str | None
) -> tuple[pa.Table, int]:
    """:func:`fill_account` (or, without ``account``, :func:`unknown_accounts`) on Arrow rows.

    For a file read as Arrow rows rather than into a table (see
    ``ReadContext.deferred``): the rows, the account given to those that
    had none, and how many had none.
    """
    view = f"__accounts_{id(rows)}"
    con.register(view, rows)
    try:
        n = unknown_accounts(con, view)
        if account is None or n == 0:
            return rows, n
        filled = con.sql(
            f"SELECT * REPLACE (CASE WHEN {_UNKNOWN} THEN $account ELSE account_no END "
            f"AS account_no) FROM {view}",
            params={"account": account, **_params()},
        ).to_arrow_table()
    finally:
        con.unregister(view)
    return filled.cast(rows.schema), n
