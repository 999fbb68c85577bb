"""The rules on Spark find exactly what they find on DuckDB.

One small workspace in which every one of the 19 exception types happens at
least once (the situations of the worked examples in ``daozhang/classify``,
plus the edges where engines tend to disagree: a sale at the cutoff second,
wall-clock timestamps near midnight, a contract version change, a refund with
a negative fee, a payout matched only in the second fallback round, a holiday
in the arrival window, a credit without a bank_txn_id). Its records are
written as Parquet the way the workspace stores them (DuckDB ``COPY`` with
Hive partitions) and reconciled on both engines over the same files.

One Spark session serves the whole module; starting one takes seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

pytest.importorskip("pyspark")  # the optional "spark" extra

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.findings import ExceptionType, Finding
from daozhang.domain.records import PARTITION_COLUMN, Kind, stored_columns
from daozhang.errors import EngineError
from daozhang.match.engine import DuckDBEngine, Engine
from daozhang.match.spark_engine import (
    SparkEngine,
    _by_partition_base,
    local_spark_session,
    to_spark_sql,
)
from daozhang.pipeline import RunResult, reconcile, what_became_of

pytestmark = pytest.mark.spark

D = dt.date
T = dt.datetime
AS_OF = D(2026, 11, 12)

M1 = "898340153990001"  # 小杨生煎, contract T1, cutoff 23:00
M2 = "822290054110002"  # no contract: T1, the local date
T1, T2, T3, T4, T9 = "10016919", "10016920", "20020001", "10016921", "30030001"
A1 = "6222020200112233"  # M1's settlement account at ICBC
UMS = "银联商务"
UMS_LEGAL = "银联商务股份有限公司"

ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}


# --------------------------------------------------------------------------
# The workspace: one list of records per kind, each list one import.


def _pos(rrn: str | None, trace: str, when: T, fen: int, **kw: Any) -> dict[str, Any]:
    return {
        "merchant_id": M1,
        "terminal_id": T1,
        "batch_no": "000001",
        "trace_no": trace,
        "rrn": rrn,
        "txn_time": when,
        "txn_type": "sale",
        "channel": "wechat",
        "amount_fen": fen,
        "result": "approved",
        **kw,
    }


def _stl(rrn: str, trace: str, when: T, fen: int, fee: int, settle: D, **kw: Any) -> dict[str, Any]:
    return {
        "acquirer": UMS,
        "merchant_id": M1,
        "merchant_name": "小杨生煎",
        "mcc": "5812",
        "terminal_id": T1,
        "batch_no": "000001",
        "trace_no": trace,
        "rrn": rrn,
        "txn_time": when,
        "txn_type": "sale",
        "channel": "wechat",
        "amount_fen": fen,
        "fee_fen": fee,
        "net_fen": fen - fee,
        "settle_date": settle,
        "payout_id": None,
        **kw,
    }


def _payout(pid: str, when: T, fen: int, status: str = "succeeded", **kw: Any) -> dict[str, Any]:
    return {
        "payout_id": pid,
        "acquirer": UMS,
        "merchant_id": M1,
        "account_no": A1,
        "account_name": "小杨生煎",
        "bank_code": "ICBC",
        "amount_fen": fen,
        "created_at": when,
        "status": status,
        "attempt": 1,
        **kw,
    }


def _credit(value: D, fen: int, ref: str | None, txn_id: str | None, **kw: Any) -> dict[str, Any]:
    return {
        "account_no": A1,
        "booking_date": value,
        "value_date": value,
        "amount_fen": fen,
        "counterparty_name": UMS_LEGAL,
        "reference": ref,
        "bank_txn_id": txn_id,
        **kw,
    }


PO1, PO2, PO3, PO4, PO5 = (f"PO2026110300{i}" for i in range(1, 6))
PO6, PO7, PO8, PO9, PO10 = "PO20261105006", "PO20261103007", "PO8PHANTOM", "PO9", "PO10"
PO11, PO12, PO13, PO14 = "PO11", "PO20260928012", "PO13", "PO14"

IMPORTS: list[tuple[Kind, str, list[dict[str, Any]]]] = [
    (
        Kind.CONTRACTS,
        "contracts/2026.csv",
        [
            {
                "merchant_id": M1,
                "merchant_name": "小杨生煎",
                "mcc": "5812",
                "acquirer": UMS,
                "settlement_account": A1,
                "settlement_account_name": "小杨生煎",
                "settlement_bank_code": "ICBC",
                "cycle": "T1",
                "cutoff_secs": 23 * 3600,
                "fee_debit_card_ppm": 5000,
                "cap_debit_card_fen": 2000,
                "fee_credit_card_ppm": 6000,
                "fee_wechat_ppm": 3800,
                "fee_alipay_ppm": 3800,
                "fee_unionpay_qr_ppm": 3800,
                "effective_from": D(2026, 1, 1),
            },
            # a new WeChat rate from 11-10, first as 0.50 %...
            {
                "merchant_id": M1,
                "merchant_name": "小杨生煎",
                "mcc": "5812",
                "acquirer": UMS,
                "settlement_account": A1,
                "settlement_bank_code": "ICBC",
                "cycle": "T1",
                "cutoff_secs": 23 * 3600,
                "fee_wechat_ppm": 5000,
                "effective_from": D(2026, 11, 10),
            },
        ],
    ),
    (
        Kind.CONTRACTS,
        "contracts/2026-amended.csv",
        [
            # ...then corrected to 0.60 % by a later import, which wins.
            {
                "merchant_id": M1,
                "merchant_name": "小杨生煎",
                "mcc": "5812",
                "acquirer": UMS,
                "settlement_account": A1,
                "settlement_bank_code": "ICBC",
                "cycle": "T1",
                "cutoff_secs": 23 * 3600,
                "fee_wechat_ppm": 6000,
                "effective_from": D(2026, 11, 10),
            },
        ],
    ),
    (
        Kind.TERMINALS,
        "terminals.csv",
        [
            {
                "terminal_id": T1,
                "merchant_id": M1,
                "status": "active",
                "status_since": D(2026, 1, 1),
            },
            {
                "terminal_id": T2,
                "merchant_id": M1,
                "status": "active",
                "status_since": D(2026, 1, 1),
            },
            {
                "terminal_id": T2,
                "merchant_id": M1,
                "status": "suspended",
                "status_since": D(2026, 11, 5),
                "reason": "risk_review",
                "note": "风险核查",
            },
            {"terminal_id": T3, "merchant_id": M2, "status": "active", "status_since": None},
            {
                "terminal_id": T4,
                "merchant_id": M1,
                "status": "suspended",
                "status_since": D(2026, 11, 1),
                "reason": "unpaid_fee",
                "note": "年费未缴",
            },
            # reactivated only after the as-of date: still suspended on it
            {
                "terminal_id": T4,
                "merchant_id": M1,
                "status": "active",
                "status_since": D(2026, 11, 20),
            },
        ],
    ),
    (
        Kind.MAINTENANCE,
        "maintenance.csv",
        [
            {
                "bank_code": "ICBC",
                "starts_at": T(2026, 11, 5, 0, 0),
                "ends_at": T(2026, 11, 6, 6, 0),
                "scope": "payouts",
                "note": "核心系统升级",
            },
            {
                "bank_code": "CCB",
                "starts_at": T(2026, 11, 7, 22, 0),
                "ends_at": T(2026, 11, 8, 6, 0),
                "scope": "all",
                "note": None,
            },
        ],
    ),
    (
        Kind.POS_JOURNAL,
        "pos/10016919.csv",
        [
            _pos("R101", "000101", T(2026, 11, 2, 10, 15), 10000),
            _pos("R102", "000102", T(2026, 11, 2, 10, 20), 2500),  # missing
            _pos("R103", "000103", T(2026, 11, 11, 15, 0), 4200),  # not yet due
            _pos(
                None,
                "000104",
                T(2026, 11, 2, 11, 0),
                5800,
                channel="debit_card",
                result="timeout",
                response_code="98",
            ),
            _pos(
                "R105",
                "000105",
                T(2026, 11, 2, 11, 30),
                9900,
                channel="credit_card",
                result="declined",
                response_code="51",
            ),
            _pos("R106", "000106", T(2026, 11, 2, 13, 0), 10000),  # settled as 10.00
            _pos("R107", "000107", T(2026, 11, 2, 14, 0), 1000000, channel="debit_card"),
            _pos("R110", "000110", T(2026, 11, 3, 10, 0), 10000),  # settled twice
            _pos("R111", "000111", T(2026, 11, 3, 11, 0), 10000),  # settled under another name
            _pos("R112", "000112", T(2026, 11, 6, 23, 30), 10000),  # after cutoff: Saturday's
            _pos("R113", "000113", T(2026, 11, 6, 23, 0, 0), 10000),  # at the cutoff: Friday's
            _pos("R116", "000116", T(2026, 11, 3, 15, 0), 6000, txn_type="refund", orig_rrn="R777"),
            _pos("R117", "000117", T(2026, 11, 3, 10, 0), 10000),
            _pos("R118", "000118", T(2026, 11, 3, 11, 0), 6000, txn_type="refund", orig_rrn="R117"),
            _pos("R119", "000119", T(2026, 11, 3, 12, 0), 5000, txn_type="refund", orig_rrn="R117"),
            _pos("R120", "000120", T(2026, 11, 4, 9, 0), 8800),  # voided
            _pos("R121", "000121", T(2026, 11, 4, 9, 5), 8800, txn_type="void", orig_rrn="R120"),
            _pos("R122", "000122", T(2026, 11, 10, 10, 0), 10000),  # under the new rate
            _pos("R123", "000123", T(2026, 11, 4, 10, 0), 5000),
            _pos("R124", "000124", T(2026, 11, 4, 15, 0), 3000, txn_type="refund", orig_rrn="R101"),
            _pos("R108", "000108", T(2026, 11, 4, 11, 0), 1250),  # fee 4.75 fen: rounds to 5
        ],
    ),
    (
        Kind.POS_JOURNAL,
        "pos/other.csv",
        [
            _pos("R114", "000201", T(2026, 11, 4, 10, 0), 2000, terminal_id=T2, channel="alipay"),
            _pos("R115", "000202", T(2026, 11, 6, 10, 0), 3000, terminal_id=T2, channel="alipay"),
            _pos(
                "R201", "000301", T(2026, 11, 6, 23, 59, 30), 2000, merchant_id=M2, terminal_id=T3
            ),
        ],
    ),
    (
        Kind.SETTLEMENT,
        "acquirer/UMS_20261103.csv",
        [
            _stl(
                "R101", "000101", T(2026, 11, 2, 10, 15), 10000, 38, D(2026, 11, 3), payout_id=PO1
            ),
            _stl(
                "R104",
                "000104",
                T(2026, 11, 2, 11, 0),
                5800,
                29,
                D(2026, 11, 3),
                channel="debit_card",
                payout_id=PO1,
            ),
            _stl("R106", "000106", T(2026, 11, 2, 13, 0), 1000, 4, D(2026, 11, 3), payout_id=PO1),
            _stl(
                "R107",
                "000107",
                T(2026, 11, 2, 14, 0),
                1000000,
                5000,
                D(2026, 11, 3),
                channel="debit_card",
                payout_id=PO2,
            ),
            _stl("R199", "000150", T(2026, 11, 2, 12, 30), 7700, 29, D(2026, 11, 3)),
            _stl("R900", "000900", T(2026, 11, 2, 10, 0), 5000, 19, D(2026, 11, 3), terminal_id=T9),
            _stl("R110", "000110", T(2026, 11, 3, 10, 0), 10000, 38, D(2026, 11, 4)),
            _stl("R110", "000110", T(2026, 11, 3, 10, 0), 10000, 38, D(2026, 11, 4)),
            _stl(
                "R111",
                "000111",
                T(2026, 11, 3, 11, 0),
                10000,
                38,
                D(2026, 11, 4),
                merchant_name="某某超市",
                mcc="5411",
            ),
            _stl("R117", "000117", T(2026, 11, 3, 10, 0), 10000, 38, D(2026, 11, 4)),
            _stl(
                "R114",
                "000201",
                T(2026, 11, 4, 10, 0),
                2000,
                8,
                D(2026, 11, 5),
                terminal_id=T2,
                channel="alipay",
            ),
            _stl("R123", "000123", T(2026, 11, 4, 10, 0), 5000, 19, D(2026, 11, 5), payout_id=PO8),
            _stl("R108", "000108", T(2026, 11, 4, 11, 0), 1250, 5, D(2026, 11, 5)),
            _stl(
                "R124",
                "000124",
                T(2026, 11, 4, 15, 0),
                -3000,
                -11,
                D(2026, 11, 5),
                txn_type="refund",
            ),
        ],
    ),
    (
        # A later import of the same kind: more files in the same partition folders.
        Kind.SETTLEMENT,
        "acquirer/UMS_20261111.csv",
        [
            _stl("R112", "000112", T(2026, 11, 6, 23, 30), 10000, 38, D(2026, 11, 11)),
            _stl("R113", "000113", T(2026, 11, 6, 23, 0), 10000, 38, D(2026, 11, 9)),
            _stl(
                "R115",
                "000202",
                T(2026, 11, 6, 10, 0),
                3000,
                11,
                D(2026, 11, 9),
                terminal_id=T2,
                channel="alipay",
            ),
            _stl("R122", "000122", T(2026, 11, 10, 10, 0), 10000, 38, D(2026, 11, 11)),
            _stl(
                "R201",
                "000301",
                T(2026, 11, 6, 23, 59, 30),
                2000,
                8,
                D(2026, 11, 9),
                acquirer="拉卡拉",
                merchant_id=M2,
                merchant_name="老王烟酒",
                terminal_id=T3,
            ),
        ],
    ),
    (
        Kind.PAYOUTS,
        "payouts.csv",
        [
            _payout(PO1, T(2026, 11, 3, 10, 0), 9962 + 5771 + 996),
            _payout(PO2, T(2026, 11, 3, 11, 0), 995000 - 1000, bank_ref="B002"),
            _payout(
                PO3,
                T(2026, 11, 5, 10, 0),
                99900,
                "failed",
                failure_code="BANK_MAINTENANCE",
                failure_reason="银行系统维护",
            ),
            _payout(
                PO4,
                T(2026, 11, 3, 10, 0),
                51230,
                "failed",
                failure_code="ACCOUNT_FROZEN",
                failure_reason="账户冻结",
            ),
            _payout(PO5, T(2026, 11, 3, 10, 0), 204618, bank_ref="B003"),
            _payout(PO6, T(2026, 11, 5, 1, 0), 88800, "failed", failure_code="BANK_MAINTENANCE"),
            _payout(PO6, T(2026, 11, 9, 9, 0), 88800, bank_ref="B005", attempt=2),
            _payout(
                PO7,
                T(2026, 11, 3, 10, 0),
                300000,
                account_no="6217000010099887",
                account_name="王某",
                bank_code="CCB",
                bank_ref="B004",
            ),
            _payout(PO9, T(2026, 11, 11, 10, 0), 12300),  # still in transit
            _payout(PO10, T(2026, 11, 4, 9, 0), 45600),  # matched in the 2nd fallback round
            _payout(PO11, T(2026, 11, 5, 9, 0), 45600),
            _payout(PO12, T(2026, 9, 28, 10, 0), 77700, bank_ref="B012"),  # over National Day
            _payout(PO13, T(2026, 11, 4, 10, 0), 11100, "returned", failure_code="XYZ_UNKNOWN"),
            _payout(PO14, T(2026, 11, 4, 15, 0), 66600, "failed", failure_code="SYSTEM_BUSY"),
        ],
    ),
    (
        Kind.BANK_STATEMENT,
        "bank/icbc_2026-11.csv",
        [
            _credit(D(2026, 11, 3), 9962 + 5771 + 996, PO1, "T0001"),
            _credit(D(2026, 11, 3), 994000, "B002", "T0002"),
            _credit(D(2026, 11, 9), 88800, PO6, "T0003"),
            _credit(D(2026, 11, 5), 45600, None, "T0020"),
            _credit(D(2026, 11, 5), 45600, None, "T0021"),
            _credit(D(2026, 10, 8), 77700, "B012", "T0012"),
            _credit(D(2026, 11, 5), 66600, PO14, "T0014"),  # the "failed" payout arrived
            _credit(D(2026, 11, 4), 32100, None, "T0011"),  # from the acquirer, for nothing
            _credit(D(2026, 11, 4), 5000, "转账", "T0013", counterparty_name="张三"),
            _credit(D(2026, 11, 4), -30000, "房租", "T0009", counterparty_name="物业公司"),
            _credit(D(2026, 11, 6), 1234, None, None),  # no bank_txn_id: a composite key
        ],
    ),
]

# Every finding the workspace must produce, by type and key.
EXPECTED: set[tuple[str, str]] = {
    ("missing_in_settlement", f"{M1}|R102"),
    ("debited_but_failed", f"{M1}|{T1}|000001|000104"),
    ("unknown_settlement", f"{M1}|R199"),
    ("amount_mismatch", f"{M1}|R106"),
    ("fee_mismatch", f"{M1}|R107"),
    ("fee_mismatch", f"{M1}|R122"),
    ("duplicate_settlement", f"{M1}|R110"),
    ("merchant_mismatch", f"{M1}|R111"),
    ("late_settlement", f"{M1}|R112"),
    ("payout_total_mismatch", PO2),
    ("payout_failed_retryable", PO3),
    ("payout_failed_action_required", PO4),
    ("payout_failed_action_required", PO13),
    ("settled_not_arrived", PO5),
    ("settled_not_arrived", PO8),
    ("arrived_late", PO6),
    ("arrived_late", PO12),
    ("misrouted_payout", PO7),
    ("unmatched_credit", "T0011"),
    ("unmatched_credit", f"{A1}|2026-11-06|1234|12"),
    ("terminal_suspended", T2),
    ("terminal_suspended", T4),
    ("activity_on_suspended_terminal", f"{M1}|R115"),
    ("refund_without_sale", f"{M1}|R116"),
    ("refund_exceeds_sale", f"{M1}|R119"),
}


def _arrow(kind: Kind, rows: list[dict[str, Any]], import_id: int, path: str) -> pa.Table:
    """Rows as a table with exactly the stored columns, derived columns filled in."""
    cols = stored_columns(kind)
    out: dict[str, list[Any]] = {c.name: [] for c in cols}
    for line, given in enumerate(rows, start=2):  # line 1: the header
        r: dict[str, Any] = {
            "row_id": import_id * 2**32 + line,
            "import_id": import_id,
            "src_file": f"{import_id:064x}",
            "src_path": path,
            "src_line": line,
            "row_fp": f"{import_id}-{line}",
            "row_occ": 1,
            "currency": "CNY",
            **given,
        }
        for stamp, day, secs in (
            ("txn_time", "txn_date", "txn_secs"),
            ("created_at", "created_date", None),
            ("starts_at", "start_date", None),
            ("ends_at", "end_date", None),
        ):
            if stamp in r:
                r[day] = r[stamp].date()
                if secs is not None:
                    t = r[stamp]
                    r[secs] = t.hour * 3600 + t.minute * 60 + t.second
        for c in cols:
            out[c.name].append(r.get(c.name))
    return pa.table({c.name: pa.array(out[c.name], ARROW_TYPES[c.sql_type]) for c in cols})


def write_records(root: Path) -> dict[Kind, list[Path]]:
    """Each import as Parquet the way the workspace stores it (``store/record_files.py``).

    ``root/<kind>/<column>=<value>/import-<id>-<n>.parquet``, zstd, the
    partition column in the folder name only; reference data unpartitioned.
    """
    con = duckdb.connect()
    try:
        for import_id, (kind, path, rows) in enumerate(IMPORTS, start=1):
            con.register("batch", _arrow(kind, rows, import_id, path))
            folder = root / kind.value
            folder.mkdir(parents=True, exist_ok=True)
            partition = PARTITION_COLUMN[kind]
            if partition is None:
                target = folder / f"import-{import_id}-0.parquet"
                con.execute(f"COPY batch TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
            else:
                con.execute(
                    f"COPY batch TO '{folder}' (FORMAT parquet, COMPRESSION zstd, "
                    f"PARTITION_BY ({partition}), OVERWRITE_OR_IGNORE, "
                    f"FILENAME_PATTERN 'import-{import_id}-{{i}}')"
                )
            con.unregister("batch")
    finally:
        con.close()
    return {k: sorted((root / k.value).rglob("*.parquet")) for k in Kind}


def load(engine: Engine, files: dict[Kind, list[Path]]) -> None:
    for kind in Kind:
        engine.load_parquet(kind.value, files[kind], stored_columns(kind), PARTITION_COLUMN[kind])


def by_identity(findings: tuple[Finding, ...]) -> dict[tuple[str, str], Finding]:
    out = {(f.type.value, f.key): f for f in findings}
    assert len(out) == len(findings), "two findings share a type and key"
    return out


# --------------------------------------------------------------------------
# Fixtures: one Spark session, one workspace, one run on each engine.


@pytest.fixture(scope="module")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    started = time.perf_counter()
    session = local_spark_session(
        tmp_path_factory.mktemp("spark"), master="local[2]", shuffle_partitions=1
    )
    print(f"\nSpark session started in {time.perf_counter() - started:.1f} s")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[Kind, list[Path]]:
    return write_records(tmp_path_factory.mktemp("records"))


@pytest.fixture(scope="module")
def duckdb_run(records: dict[Kind, list[Path]]) -> Iterator[tuple[DuckDBEngine, RunResult]]:
    engine = DuckDBEngine()
    load(engine, records)
    result = reconcile(engine, as_of=AS_OF, calendar=BankCalendar())
    yield engine, result
    engine.close()


@pytest.fixture(scope="module")
def spark_run(
    spark_session: Any, records: dict[Kind, list[Path]]
) -> Iterator[tuple[SparkEngine, RunResult]]:
    engine = SparkEngine(spark=spark_session, shuffle_partitions=1)
    load(engine, records)
    started = time.perf_counter()
    result = reconcile(engine, as_of=AS_OF, calendar=BankCalendar())
    print(f"\nSpark reconcile took {time.perf_counter() - started:.1f} s: {result.timings}")
    yield engine, result
    engine.close()


# --------------------------------------------------------------------------
# The tests.


def test_the_workspace_has_every_exception_type(
    duckdb_run: tuple[DuckDBEngine, RunResult],
) -> None:
    _, result = duckdb_run
    found = {(f.type.value, f.key) for f in result.findings}
    assert found == EXPECTED
    assert {f.type for f in result.findings} == set(ExceptionType)


def test_spark_finds_exactly_what_duckdb_finds(
    duckdb_run: tuple[DuckDBEngine, RunResult], spark_run: tuple[SparkEngine, RunResult]
) -> None:
    _, reference = duckdb_run
    _, spark = spark_run
    expected = by_identity(reference.findings)
    got = by_identity(spark.findings)
    assert sorted(got) == sorted(expected)
    for ident, finding in expected.items():
        # every field: amount, expected, actual, due date, facts, evidence (in order)
        assert got[ident] == finding, ident
    assert {f.type for f in spark.findings} == set(ExceptionType)


def test_spark_accounts_for_every_record_as_duckdb_does(
    duckdb_run: tuple[DuckDBEngine, RunResult], spark_run: tuple[SparkEngine, RunResult]
) -> None:
    _, reference = duckdb_run
    _, spark = spark_run
    assert spark.dispositions == reference.dispositions
    assert spark.warnings == reference.warnings
    assert reference.warnings  # M2 has no contract: the run says so on both


def test_wall_clock_times_survive_the_trip_through_spark(
    duckdb_run: tuple[DuckDBEngine, RunResult], spark_run: tuple[SparkEngine, RunResult]
) -> None:
    """The maintenance window that caused a retryable failure, to the minute, as written."""
    _, spark = spark_run
    failed = by_identity(spark.findings)[("payout_failed_retryable", PO3)]
    assert failed.facts["t1"] == "2026-11-05 00:00"
    assert failed.facts["t2"] == "2026-11-06 06:00"
    late = by_identity(spark.findings)[("arrived_late", PO12)]
    assert late.facts["code"] == "National Day"


def test_what_became_of_resolved_exceptions_is_the_same(
    duckdb_run: tuple[DuckDBEngine, RunResult], spark_run: tuple[SparkEngine, RunResult]
) -> None:
    """Answers over a small table loaded again and again (``resolve_keys``)."""
    idents = [
        ("missing_in_settlement", f"{M1}|R101"),
        ("duplicate_settlement", f"{M1}|R110"),
        ("settled_not_arrived", PO1),
        ("settled_not_arrived", PO10),
        ("unmatched_credit", "T0013"),
        ("terminal_suspended", T1),
        ("terminal_suspended", "99999999"),
    ]

    def answers(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
        """The answers, with each key's evidence in one order (fetched in none)."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for ident, answer in what_became_of(engine, idents, as_of=AS_OF).items():
            evidence = answer["evidence"]
            assert isinstance(evidence, list)
            out[ident] = {**answer, "evidence": sorted(map(str, evidence))}
        return out

    reference = answers(duckdb_run[0])
    assert answers(spark_run[0]) == reference
    assert reference[("duplicate_settlement", f"{M1}|R110")]["state"] == "duplicate,matched"


def test_fetch_returns_the_column_types_duckdb_returns(
    duckdb_run: tuple[DuckDBEngine, RunResult], spark_run: tuple[SparkEngine, RunResult]
) -> None:
    """Every stored column of every kind, read from the same Parquet files, value for value."""
    for kind in Kind:
        sql = f"SELECT * FROM {kind.value} ORDER BY row_id"
        reference = duckdb_run[0].fetch(sql)
        got = spark_run[0].fetch(sql)
        assert got.schema == reference.schema, kind
        assert got.to_pylist() == reference.to_pylist(), kind


def test_a_replaced_step_an_empty_kind_and_nothing_left_behind(spark_session: Any) -> None:
    def kept_blocks() -> int:
        return len(spark_session.sparkContext._jsc.sc().getRDDStorageInfo())

    before = kept_blocks()
    engine = SparkEngine(spark=spark_session, shuffle_partitions=1)
    try:
        engine.load_parquet("pos_journal", [], stored_columns(Kind.POS_JOURNAL), "txn_date")
        empty = engine.fetch("SELECT * FROM pos_journal")
        assert empty.num_rows == 0
        assert empty.schema.names == [c.name for c in stored_columns(Kind.POS_JOURNAL)]
        assert empty.schema.field("txn_time").type == pa.timestamp("us")

        engine.create("step", "SELECT 1 AS n")
        engine.create("step", "SELECT n + 1 AS n FROM step")  # reads the table it replaces
        assert engine.fetch("SELECT n FROM step").to_pylist() == [{"n": 2}]
        assert kept_blocks() == before + 1  # the replaced step was let go
        assert engine.spark.catalog.tableExists("step")
    finally:
        engine.close()
    assert not engine.spark.catalog.tableExists("step")
    assert not engine.spark.catalog.tableExists("pos_journal")
    assert kept_blocks() == before


def test_only_one_statement_is_a_rule() -> None:
    with pytest.raises(EngineError, match="one statement"):
        to_spark_sql("SELECT 1; SELECT 2")


def test_partition_folders_are_found_under_each_base() -> None:
    """Files of one kind from two stores (an archive and the live records) are read together."""
    live = Path("/ws/records/settlement")
    archive = Path("/archive/2025/settlement")
    files = [
        live / "settle_date=2026-11-03" / "import-7-0.parquet",
        archive / "settle_date=2025-12-31" / "import-2-0.parquet",
        live / "settle_date=2026-11-04" / "import-7-0.parquet",
        Path("/loose/settlement.parquet"),  # holds settle_date itself
    ]
    assert _by_partition_base(files, "settle_date") == {
        live: [files[0], files[2]],
        archive: [files[1]],
        None: [files[3]],
    }
    assert _by_partition_base(files[:1], None) == {None: files[:1]}
