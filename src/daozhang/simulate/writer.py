"""The canonical CSV files (DESIGN.md section 5), written in bulk by DuckDB.

Every file has exactly its canonical header; amounts are decimal yuan
strings, times ISO 8601 without zone (local), dates YYYY-MM-DD, empty fields
empty. Formatting happens in SQL (``yuan``, ``iso_time``) and DuckDB's COPY
writes each file from a sorted query, so ten million rows take seconds and
equal inputs give equal bytes.

Real exports are not all clean UTF-8: one bank statement is written in
GB18030 with Windows line ends, and ``contracts.csv`` carries a UTF-8 BOM,
as spreadsheet programs save it.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from daozhang.domain.records import Kind
from daozhang.simulate.period import Period
from daozhang.simulate.plan import TerminalPlan
from daozhang.simulate.traffic import RESPONSE_CODES, RESULTS, TXN_TYPES
from daozhang.simulate.world import ACQUIRERS, BANKS, CHANNELS, World

__all__ = ["HEADERS", "percent_text", "write_files"]

HEADERS: dict[Kind, tuple[str, ...]] = {
    Kind.POS_JOURNAL: (
        "merchant_id",
        "terminal_id",
        "batch_no",
        "trace_no",
        "rrn",
        "txn_time",
        "txn_type",
        "channel",
        "card",
        "amount",
        "currency",
        "result",
        "response_code",
        "auth_code",
        "orig_rrn",
    ),
    Kind.SETTLEMENT: (
        "acquirer",
        "merchant_id",
        "merchant_name",
        "mcc",
        "terminal_id",
        "batch_no",
        "trace_no",
        "rrn",
        "txn_time",
        "txn_type",
        "channel",
        "card",
        "amount",
        "fee",
        "net_amount",
        "settle_date",
        "payout_id",
    ),
    Kind.PAYOUTS: (
        "payout_id",
        "acquirer",
        "merchant_id",
        "account_no",
        "account_name",
        "bank_code",
        "amount",
        "created_at",
        "status",
        "failure_code",
        "failure_reason",
        "bank_ref",
        "attempt",
    ),
    Kind.BANK_STATEMENT: (
        "account_no",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "counterparty_name",
        "counterparty_account",
        "reference",
        "balance",
        "bank_txn_id",
    ),
    Kind.CONTRACTS: (
        "merchant_id",
        "merchant_name",
        "mcc",
        "acquirer",
        "settlement_account",
        "settlement_account_name",
        "settlement_bank_code",
        "cycle",
        "cutoff",
        "fee_debit_card",
        "cap_debit_card",
        "fee_credit_card",
        "fee_wechat",
        "fee_alipay",
        "fee_unionpay_qr",
        "effective_from",
    ),
    Kind.TERMINALS: ("terminal_id", "merchant_id", "status", "status_since", "reason", "note"),
    Kind.MAINTENANCE: ("bank_code", "start", "end", "scope", "note"),
}

_BOM = b"\xef\xbb\xbf"
_NO_HEADER = pacsv.WriteOptions(include_header=False, quoting_style="none")

_MACROS = (
    # Fen to yuan text by exact decimal arithmetic: DECIMAL(18,0) x 0.01 is a
    # DECIMAL(18,2), printed with its two decimals ("-0.05", "1234.50").
    "CREATE OR REPLACE MACRO yuan(x) AS CAST(CAST(x AS DECIMAL(18, 0)) * 0.01 AS VARCHAR)",
    """CREATE OR REPLACE MACRO iso_time(d, s) AS
       strftime(CAST(d AS TIMESTAMP) + to_seconds(s), '%Y-%m-%dT%H:%M:%S')""",
    "CREATE OR REPLACE MACRO pad(x, n) AS lpad(CAST(x AS VARCHAR), n, '0')",
    # RRNs have 12 digits but for the years ending in 0; a plain cast is cheaper than a pad.
    """CREATE OR REPLACE MACRO rrn_text(x) AS
       CASE WHEN x >= 100000000000 THEN CAST(x AS VARCHAR)
            ELSE lpad(CAST(x AS VARCHAR), 12, '0') END""",
)


def percent_text(ppm: int) -> str:
    """A rate in parts per million as the contract's percent text (3 800 -> ``"0.38"``)."""
    whole, frac = divmod(ppm, 10_000)
    digits = f"{frac:04d}".rstrip("0").ljust(2, "0")
    return f"{whole}.{digits}"


def _case(expr: str, values: Sequence[str | None]) -> str:
    whens = " ".join(
        f"WHEN {i} THEN " + ("NULL" if v is None else f"'{v}'") for i, v in enumerate(values)
    )
    return f"(CASE {expr} {whens} END)"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    """Write the result of ``sql`` (every column text) as a CSV file with a header.

    DuckDB formats, Arrow writes: Arrow's writer is several times faster than
    COPY on wide text rows. Quoting is off because no simulated value holds
    a comma, quote or line break, and Arrow refuses to write one that does,
    so a change that breaks this fails loudly instead of corrupting a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    cur = con.cursor()
    try:
        reader = cur.sql(sql).to_arrow_reader(1 << 16)
        with path.open("wb") as f:
            f.write((",".join(reader.schema.names) + "\n").encode("utf-8"))
            with pacsv.CSVWriter(f, reader.schema, write_options=_NO_HEADER) as w:
                for batch in reader:
                    w.write_batch(batch)
    finally:
        cur.close()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(f"SELECT COUNT(*) FROM ({sql})").fetchall()[0]
    return int(row[0]) if row else 0


def _pos_sql(day: dt.date) -> str:
    return f"""
        SELECT md.merchant_id, td.terminal_id, pad(p.batch, 6) AS batch_no,
               pad(p.trace, 6) AS trace_no, rrn_text(p.rrn) AS rrn,
               iso_time(p.day, p.secs) AS txn_time, {_case("p.ttype", TXN_TYPES)} AS txn_type,
               {_case("p.ch", [c.value for c in CHANNELS])} AS channel,
               CAST(p.card AS VARCHAR) AS card, yuan(p.amount) AS amount, 'CNY' AS currency,
               {_case("p.result", RESULTS)} AS result,
               {_case("p.resp", RESPONSE_CODES)} AS response_code,
               pad(p.auth, 6) AS auth_code, rrn_text(p.orig_rrn) AS orig_rrn
        FROM pos_raw p JOIN mdim md ON md.m = p.m JOIN tdim td ON td.t = p.t
        WHERE NOT p.pre AND p.day = DATE '{day}'
        ORDER BY p.secs, td.trank, p.trace
    """


def write_files(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    world: World,
    period: Period,
    terminals: TerminalPlan,
) -> tuple[dict[Kind, int], list[Path]]:
    """Write every canonical file into ``out``; the row count per kind and the files written."""
    for macro in _MACROS:
        con.execute(macro)
    counts: dict[Kind, int] = dict.fromkeys(Kind, 0)
    files: list[Path] = []

    def emit(kind: Kind, sql: str, path: Path) -> None:
        _copy(con, sql, path)
        files.append(path)

    emit(Kind.CONTRACTS, _contracts(con, world), out / "contracts.csv")
    emit(Kind.TERMINALS, _terminals(con, world, terminals), out / "terminals.csv")
    emit(
        Kind.MAINTENANCE,
        """SELECT bank_code, strftime(starts_at, '%Y-%m-%dT%H:%M:%S') AS "start",
                  strftime(ends_at, '%Y-%m-%dT%H:%M:%S') AS "end", scope, note
           FROM maint ORDER BY starts_at, bank_code""",
        out / "maintenance.csv",
    )
    for day in period.dates():
        emit(Kind.POS_JOURNAL, _pos_sql(day), out / "pos" / f"pos_journal_{day:%Y%m%d}.csv")

    for settle, code in con.execute(
        """
        SELECT DISTINCT s.settle_date, md.acq_code
        FROM (SELECT DISTINCT settle_date, m FROM stl) s JOIN mdim md ON md.m = s.m
        ORDER BY 1, 2
        """
    ).fetchall():
        emit(
            Kind.SETTLEMENT,
            f"""
            SELECT md.acquirer, md.merchant_id,
                   COALESCE(s.name, md.merchant_name) AS merchant_name,
                   COALESCE(s.mcc, md.mcc) AS mcc, td.terminal_id, pad(s.batch, 6) AS batch_no,
                   pad(s.trace, 6) AS trace_no, rrn_text(s.rrn) AS rrn,
                   iso_time(s.day, s.secs) AS txn_time, {_case("s.ttype", TXN_TYPES)} AS txn_type,
                   {_case("s.ch", [c.value for c in CHANNELS])} AS channel,
                   CAST(s.card AS VARCHAR) AS card, yuan(s.amount) AS amount, yuan(s.fee) AS fee,
                   yuan(s.amount - s.fee) AS net_amount, '{settle}' AS settle_date,
                   md.payout_prefix || '{settle:%Y%m%d}' || pad(s.m, 6) AS payout_id
            FROM stl s JOIN mdim md ON md.m = s.m JOIN tdim td ON td.t = s.t
            WHERE s.settle_date = DATE '{settle}' AND md.acq_code = '{code}'
            ORDER BY md.mrank, s.day, s.secs, td.trank, s.sid
            """,
            out / "settlement" / f"{code}_{settle:%Y%m%d}.csv",
        )

    for (month,) in con.execute(
        "SELECT DISTINCT strftime(created_at, '%Y%m') FROM attempts ORDER BY 1"
    ).fetchall():
        emit(
            Kind.PAYOUTS,
            f"""
            SELECT payout_id, acquirer, merchant_id, account_no, account_name, bank_code,
                   yuan(amount) AS amount, strftime(created_at, '%Y-%m-%dT%H:%M:%S') AS created_at,
                   status, failure_code, failure_reason, bank_ref, attempt
            FROM attempts WHERE strftime(created_at, '%Y%m') = '{month}'
            ORDER BY created_at, payout_id, attempt
            """,
            out / "payouts" / f"payouts_{month}.csv",
        )

    accounts = _write_statements(con, out / "bank")
    files += [out / "bank" / f"{a}.csv" for a in accounts]

    for kind, table in (
        (Kind.CONTRACTS, "contracts_out"),
        (Kind.TERMINALS, "terminals_out"),
        (Kind.MAINTENANCE, "maint"),
        (Kind.POS_JOURNAL, "pos_raw WHERE NOT pre"),
        (Kind.SETTLEMENT, "stl"),
        (Kind.PAYOUTS, "attempts"),
        (Kind.BANK_STATEMENT, "bank"),
    ):
        counts[kind] = _count(con, f"SELECT 1 FROM {table}")
    _add_bom(out / "contracts.csv")
    if accounts:
        _to_gb18030(out / "bank" / f"{accounts[0]}.csv")
    return counts, files


def _write_statements(con: duckdb.DuckDBPyConnection, folder: Path) -> list[str]:
    """One statement file per account, from one sorted query.

    There is a file per merchant account (thousands at scale) but few rows in
    each; one query and a CSV writer per file is much faster than a COPY per
    file. Every field is formatted in SQL; Python only writes the strings.
    """
    rows = con.execute(
        """
        SELECT account_no, CAST(booking_date AS VARCHAR), CAST(value_date AS VARCHAR),
               yuan(amount), 'CNY', counterparty_name, counterparty_account, reference,
               yuan(balance), bank_txn_id
        FROM bank ORDER BY account_no, value_date, order_secs, tiebreak
        """
    ).fetchall()
    folder.mkdir(parents=True, exist_ok=True)
    accounts: list[str] = []
    for account, group in itertools.groupby(rows, key=lambda r: str(r[0])):
        with (folder / f"{account}.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(HEADERS[Kind.BANK_STATEMENT])
            w.writerows(group)
        accounts.append(account)
    return accounts


def _contracts(con: duckdb.DuckDBPyConnection, world: World) -> str:
    rows: dict[str, list[object]] = {h: [] for h in HEADERS[Kind.CONTRACTS]}
    for m in world.merchants:
        for v in m.versions:
            values = (
                m.merchant_id,
                m.name,
                m.mcc,
                ACQUIRERS[m.acquirer].name,
                m.account,
                m.account_name,
                BANKS[m.bank].code,
                m.cycle.value,
                f"{m.cutoff_secs // 3600:02d}:{m.cutoff_secs % 3600 // 60:02d}",
                percent_text(v.debit_ppm),
                f"{v.debit_cap_fen // 100}.{v.debit_cap_fen % 100:02d}",
                percent_text(v.credit_ppm),
                percent_text(v.wechat_ppm),
                percent_text(v.alipay_ppm),
                percent_text(v.unionpay_qr_ppm),
                v.effective_from.isoformat(),
            )
            for h, x in zip(HEADERS[Kind.CONTRACTS], values, strict=True):
                rows[h].append(x)
    con.register("_contracts", pa.table(rows))
    con.execute("CREATE OR REPLACE TABLE contracts_out AS SELECT * FROM _contracts")
    con.unregister("_contracts")
    return "SELECT * FROM contracts_out ORDER BY merchant_id, effective_from"


def _terminals(con: duckdb.DuckDBPyConnection, world: World, plan: TerminalPlan) -> str:
    rows: dict[str, list[object]] = {h: [] for h in HEADERS[Kind.TERMINALS]}

    def add(t: int, status: str, since: dt.date, reason: str | None, note: str | None) -> None:
        m = world.merchants[int(world.terminal_merchant[t])]
        for h, x in zip(
            HEADERS[Kind.TERMINALS],
            (world.terminal_ids[t], m.merchant_id, status, since.isoformat(), reason, note),
            strict=True,
        ):
            rows[h].append(x)

    for t in range(world.n_terminals):
        add(t, "active", world.installed[t], None, None)
    for r in plan.rows:
        add(r.terminal, r.status, r.since, r.reason, r.note)
    con.register("_terminals", pa.table(rows))
    con.execute("CREATE OR REPLACE TABLE terminals_out AS SELECT * FROM _terminals")
    con.unregister("_terminals")
    return "SELECT * FROM terminals_out ORDER BY terminal_id, status_since"


def _add_bom(path: Path) -> None:
    data = path.read_bytes()
    if not data.startswith(_BOM):
        path.write_bytes(_BOM + data)


def _to_gb18030(path: Path) -> None:
    """Re-encode a small file as GB18030 with CRLF line ends, as Chinese bank portals export."""
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.replace("\n", "\r\n").encode("gb18030"))
