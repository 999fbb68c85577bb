"""``make bench`` for the real formats: rows per second of each at 1M rows.

For each real format the same records are written twice: once in the real
format (camt.053, MT940, WeChat Pay and Alipay bills, an ISO 8583 hex log,
an acquirer file through its column profile) and once as canonical CSV.
Each is then imported into a fresh workspace in a process of its own (so
each peak memory is its own), and the bench prints rows per second, seconds
and peak memory, and the ratio to the canonical CSV of the same records:
what the format itself costs on top of the import.

Input files are kept under ``bench-out/formats-<rows>/`` for the next run.
Results go to ``bench-out/formats-<rows>.json``.

``python -m daozhang.bench_formats [ROWS [camt053 mt940 wechat iso allinpay]]``
(default 1,000,000 rows, every format).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["CASES", "main"]

OUT = Path("bench-out")


@dataclass(frozen=True, slots=True)
class _Case:
    """A real format and how to write ``rows`` records in it and as canonical CSV."""

    name: str
    records: str  # the kind, for the printout
    write: Callable[[Path, int], tuple[list[Path], list[Path]]]  # -> (real files, canonical)


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _bank_csv(folder: Path, rows: int) -> Path:
    """``rows`` bank entries on 200 merchant accounts over 30 days, as canonical CSV."""
    path = folder / "canonical" / "bank_statement.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"""COPY (
            SELECT '62220' || lpad(CAST(i % 200 AS VARCHAR), 14, '0') AS account_no,
                   CAST(DATE '2026-09-01' + CAST(i * 30 // {rows} AS INTEGER) AS VARCHAR)
                       AS booking_date,
                   CAST(DATE '2026-09-01' + CAST(i * 30 // {rows} AS INTEGER) AS VARCHAR)
                       AS value_date,
                   CAST(CAST(CASE WHEN i % 7 = 0 THEN -1 ELSE 1 END
                             * (100 + hash(i) % 5000000) AS DECIMAL(18, 0)) / 100
                        AS DECIMAL(18, 2)) AS amount,
                   'CNY' AS currency,
                   CASE WHEN i % 7 = 0 THEN '手续费' ELSE '通联支付网络服务股份有限公司' END
                       AS counterparty_name,
                   '1100' || lpad(CAST(i % 97 AS VARCHAR), 15, '0') AS counterparty_account,
                   'TL' || lpad(CAST(i AS VARCHAR), 12, '0') AS reference,
                   NULL AS balance,
                   'B' || lpad(CAST(i AS VARCHAR), 12, '0') AS bank_txn_id
            FROM range({rows}) t(i)
            ORDER BY account_no, booking_date, bank_txn_id
        ) TO {_sql_path(path)} (HEADER, DELIMITER ',')"""
    )
    return path


def _write_camt(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    from daozhang.simulate.export_statements import export_camt053

    canonical = _bank_csv(folder, rows)
    real = folder / "camt053.xml"
    export_camt053([canonical], real)
    return [real], [canonical]


def _write_mt940(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    from daozhang.simulate.export_statements import export_mt940

    canonical = _bank_csv(folder, rows)
    real = folder / "statement.sta"
    export_mt940([canonical], real)
    return [real], [canonical]


def _settlement_csv(folder: Path, rows: int, source: Path) -> Path:
    """``rows`` QR settlement rows (half WeChat Pay, half Alipay) from a simulated workspace."""
    path = folder / "canonical" / "settlement.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    files = sorted((source / "settlement").glob("*.csv"))
    duckdb.sql(
        f"""COPY (
            SELECT * REPLACE (
                       CASE WHEN row_number() OVER () % 2 = 0 THEN 'wechat' ELSE 'alipay' END
                           AS channel,
                       NULL AS card)
            FROM read_csv([{", ".join(_sql_path(p) for p in files)}], header = true,
                          all_varchar = true, quote = '"', delim = ',')
            WHERE txn_type IN ('sale', 'refund')
            LIMIT {rows}
        ) TO {_sql_path(path)} (HEADER, DELIMITER ',')"""
    )
    return path


def _write_bills(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    from daozhang.simulate.export_bills import export_bills

    canonical = _settlement_csv(folder, rows, _simulated(rows))
    done = export_bills([canonical], folder / "bills")
    return [*done.wechat, *done.alipay], [canonical]


_ALLINPAY_HEADER = (
    "商户号,门店名称,终端号,交易时间,交易类型,交易批次号,凭证号,参考号,卡号,卡类别,发卡行机构代码,"
    "发卡行名称,交易金额,手续费,交易日期,交易单号,订单号,商户备注,对接应用号,原始金额,结算金额,产品类型,"
    "分期贴息,交易完成时间,持卡人姓名,持卡人身份证,分期数,优惠金额,实付金额,原交易单,渠道交易类型,"
    "出金方账户名称,门店编号,交易完成日期"
)


def _write_allinpay(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    """The simulated acquirer's settlement rows in Allinpay's 34-column layout (a profile)."""
    source = _simulated(rows)
    files = sorted((source / "settlement").glob("*.csv"))
    canonical = folder / "canonical" / "settlement.csv"
    canonical.parent.mkdir(parents=True, exist_ok=True)
    read = f"""read_csv([{", ".join(_sql_path(p) for p in files)}], header = true,
                        all_varchar = true, quote = '"', delim = ',')"""
    duckdb.sql(
        f"""COPY (SELECT * REPLACE ('allinpay' AS acquirer) FROM {read}
                  WHERE txn_type IN ('sale', 'refund') LIMIT {rows})
            TO {_sql_path(canonical)} (HEADER, DELIMITER ',')"""
    )
    real = folder / "allinpay_pos.csv"
    duckdb.sql(
        f"""COPY (
            SELECT merchant_id AS 商户号, merchant_name AS 门店名称, terminal_id AS 终端号,
                   strftime(CAST(txn_time AS TIMESTAMP), '%H:%M:%S') AS 交易时间,
                   CASE txn_type WHEN 'sale' THEN '消费' ELSE '退货' END AS 交易类型,
                   batch_no AS 交易批次号, trace_no AS 凭证号, rrn AS 参考号,
                   card AS 卡号,
                   CASE channel WHEN 'debit_card' THEN '借记卡' WHEN 'credit_card' THEN '贷记卡'
                                WHEN 'wechat' THEN '微信' WHEN 'alipay' THEN '支付宝'
                                ELSE '银联二维码' END AS 卡类别,
                   '' AS 发卡行机构代码, '' AS 发卡行名称,
                   ltrim(amount, '-') AS 交易金额, ltrim(fee, '-') AS 手续费,
                   strftime(CAST(txn_time AS TIMESTAMP), '%Y-%m-%d') AS 交易日期,
                   '' AS 交易单号, '' AS 订单号, '' AS 商户备注, '' AS 对接应用号,
                   ltrim(amount, '-') AS 原始金额, ltrim(net_amount, '-') AS 结算金额,
                   '1' AS 产品类型, '0.00' AS 分期贴息,
                   strftime(CAST(txn_time AS TIMESTAMP), '%H:%M:%S') AS 交易完成时间,
                   '' AS 持卡人姓名, '' AS 持卡人身份证, '' AS 分期数, '0.00' AS 优惠金额,
                   ltrim(amount, '-') AS 实付金额, '' AS 原交易单, 'POS' AS 渠道交易类型,
                   '' AS 出金方账户名称, '' AS 门店编号, settle_date AS 交易完成日期
            FROM read_csv({_sql_path(canonical)}, header = true, all_varchar = true)
        ) TO {_sql_path(real)} (HEADER, DELIMITER ',')"""
    )
    return [real], [canonical]


def _write_iso8583(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    from daozhang.simulate.export_iso8583 import export_iso8583

    journals = sorted((_simulated(rows) / "pos").glob("*.csv"))
    real = folder / "terminals.hexlog"
    export_iso8583(journals, real)
    return [real], journals


def _simulated(rows: int) -> Path:
    """The simulated workspace of the main bench at this size (made if need be)."""
    from daozhang.bench import simulated_input

    return simulated_input(rows)


CASES: tuple[_Case, ...] = (
    _Case("camt.053", "bank_statement", _write_camt),
    _Case("MT940", "bank_statement", _write_mt940),
    _Case("WeChat Pay + Alipay bills", "settlement", _write_bills),
    _Case("ISO 8583 hex log", "pos_journal", _write_iso8583),
    _Case("Allinpay profile", "settlement", _write_allinpay),
)


def _phase_import(home: Path, files: list[str]) -> dict[str, Any]:
    import resource

    from daozhang.service.imports import import_paths
    from daozhang.store.workspace import Workspace

    ws = Workspace.open(home)
    start = time.perf_counter()
    report = import_paths(ws, [Path(f) for f in files])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows_read": sum(f.rows_read for f in report.files),
        "rows_imported": sum(f.rows_imported for f in report.files),
        "formats": sorted({str(f.format) for f in report.files}),
        "exit_code": report.exit_code,
    }


def _child_import(home: Path, files: list[Path]) -> dict[str, Any]:
    if home.exists():
        shutil.rmtree(home)
    listing = home.parent / f"{home.name}.files"
    listing.write_text("\n".join(map(str, files)), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "daozhang.bench_formats", "--phase", str(home), str(listing)],
        check=False,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(home, ignore_errors=True)
    listing.unlink(missing_ok=True)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"import of {files[0]}... failed (exit {out.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _key(case: _Case) -> str:
    """``camt053``, ``mt940``, ``wechat``, ``iso``, ``allinpay``: the case's folder and name."""
    return case.name.split()[0].lower().replace(".", "")


def _one(case: _Case, rows: int) -> dict[str, Any]:
    folder = OUT / f"formats-{rows}" / _key(case)
    manifest = folder / "files.json"
    if not manifest.exists():
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        start = time.perf_counter()
        real, canonical = case.write(folder, rows)
        manifest.write_text(
            json.dumps({"real": list(map(str, real)), "canonical": list(map(str, canonical))}),
            encoding="utf-8",
        )
        print(f"  wrote {case.name} in {time.perf_counter() - start:.1f} s")
    files = json.loads(manifest.read_text(encoding="utf-8"))
    real_run = _child_import(folder / "home-real", [Path(p) for p in files["real"]])
    base_run = _child_import(folder / "home-canonical", [Path(p) for p in files["canonical"]])
    row = {
        "format": case.name,
        "kind": case.records,
        "files": len(files["real"]),
        "bytes": sum(Path(p).stat().st_size for p in files["real"]),
        "rows_read": real_run["rows_read"],
        "rows_imported": real_run["rows_imported"],
        "recognised_as": real_run["formats"],
        "seconds": round(real_run["seconds"], 2),
        "rows_per_s": round(real_run["rows_read"] / real_run["seconds"]),
        "peak_mb": round(real_run["peak_mb"]),
        "canonical_seconds": round(base_run["seconds"], 2),
        "canonical_rows_read": base_run["rows_read"],
        "ratio_to_canonical": round(real_run["seconds"] / base_run["seconds"], 2),
    }
    print(
        f"  {case.name}: {row['rows_read']:,} rows in {row['seconds']} s "
        f"({row['rows_per_s']:,} rows/s), peak {row['peak_mb']} MB; "
        f"the same records as canonical CSV {row['canonical_seconds']} s "
        f"-> {row['ratio_to_canonical']}x"
    )
    return row


def main(argv: list[str]) -> int:
    if argv[:1] == ["--phase"]:
        home, listing = Path(argv[1]), Path(argv[2])
        files = listing.read_text(encoding="utf-8").splitlines()
        print(json.dumps(_phase_import(home, files), default=str))
        return 0
    rows = int(argv[0].replace("_", "")) if argv else 1_000_000
    only = {a.lower() for a in argv[1:]}  # e.g. "camt mt940": some formats only
    OUT.mkdir(exist_ok=True)
    print(f"real formats, {rows:,} rows each (import into a fresh workspace)")
    results = [_one(c, rows) for c in CASES if not only or _key(c) in only]
    path = OUT / f"formats-{rows}{'-' + '-'.join(sorted(only)) if only else ''}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"results in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
