"""``make bench``: how fast and how lean import and reconcile are, against bare DuckDB.

For each size (POS transactions) it simulates a workspace's input files once
(kept under ``bench-out/`` for the next run), then in separate processes, so
that each peak memory is its own:

1. ``import`` of every file into a fresh workspace;
2. ``reconcile`` of that workspace;
3. a *bare* DuckDB pass over the same files: read them and do the core joins
   (POS to settlement, settlement to payout, payout to bank credit), nothing
   else — the floor any reconciliation on this machine stands on.

It prints rows per second, seconds and peak memory per million transactions,
and the ratio of daozhang's time to the bare pass, and writes them to
``bench-out/results.json``.

For the web size (``BENCH_WEB_SIZE``, default 1,000,000; ``0`` for none) the
reconciled workspace is kept a little longer for a load run of the web
server: 20 clients on loopback against the overview, the exceptions list
and the API, with p50/p99 per endpoint (:mod:`daozhang.bench_web`), under
``"web"`` in that size's entry. A load run with more than 0.1% errors makes
the bench exit 1.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "simulated_input"]

OUT = Path("bench-out")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase_import(input_dir: Path, home: Path) -> dict[str, Any]:
    from daozhang.service.imports import import_paths
    from daozhang.store.workspace import Workspace

    ws = Workspace.open(home)
    start = time.perf_counter()
    report = import_paths(ws, sorted(input_dir.rglob("*.csv")))  # not truth.jsonl
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "rows": sum(f.rows_read for f in report.files),
        "exit_code": report.exit_code,
    }


def _phase_reconcile(home: Path, as_of: str) -> dict[str, Any]:
    import datetime as dt

    from daozhang.service.runs import reconcile_workspace
    from daozhang.store.workspace import Workspace

    ws = Workspace.open(home)
    start = time.perf_counter()
    rep = reconcile_workspace(ws, as_of=dt.date.fromisoformat(as_of))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "exceptions": len(rep.result.findings),
        "timings": rep.result.timings,
    }


def _utf8_copy(path: Path, tmp: Path) -> str:
    """DuckDB reads no GB18030: the bare pass transcodes such files as we do."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            while f.read(1 << 20):
                pass
        return str(path)
    except UnicodeDecodeError:
        target = tmp / (path.stem + ".utf8.csv")
        with (
            path.open(encoding="gb18030", newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        return str(target)


def _phase_bare(input_dir: Path) -> dict[str, Any]:
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")
    with tempfile.TemporaryDirectory() as tmp:

        def files(pattern: str) -> str:
            found = sorted(input_dir.glob(pattern))
            return "[" + ", ".join(f"'{_utf8_copy(p, Path(tmp))}'" for p in found) + "]"

        opts = "header = true, all_varchar = true, union_by_name = true"
        for name, pattern in (
            ("pos", "pos/*.csv"),
            ("stl", "settlement/*.csv"),
            ("pay", "payouts/*.csv"),
            ("bank", "bank/*.csv"),
        ):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv({files(pattern)}, {opts})")
        n = con.execute(
            """
            SELECT COUNT(*) FROM pos p
            LEFT JOIN stl s ON s.merchant_id = p.merchant_id AND s.rrn = p.rrn
            LEFT JOIN (SELECT DISTINCT payout_id, account_no, amount FROM pay) y
                   ON y.payout_id = s.payout_id
            LEFT JOIN bank b ON b.reference = y.payout_id
            """
        ).fetchone()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_mb(), "joined": n[0] if n else 0}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "daozhang.bench", "--phase", *args],
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"bench phase {args[0]} failed (exit {out.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _simulate(size: int) -> tuple[Path, str]:
    from daozhang.simulate import simulate_transactions

    folder = OUT / f"input-{size}"
    manifest = folder / "simulation.json"
    if not manifest.exists():
        if folder.exists():
            shutil.rmtree(folder)
        start = time.perf_counter()
        simulate_transactions(folder, transactions=size, seed=1)
        print(f"  simulated {size:,} transactions in {time.perf_counter() - start:.1f} s")
    as_of = json.loads(manifest.read_text(encoding="utf-8"))["as_of"]
    return folder, str(as_of)


def simulated_input(size: int) -> Path:
    """The simulated input files for ``size`` POS transactions (made once, then kept)."""
    return _simulate(size)[0]


def _one(size: int, *, web: bool = False) -> dict[str, Any]:
    print(f"{size:,} POS transactions")
    folder, as_of = _simulate(size)
    home = OUT / f"home-{size}"
    if home.exists():
        shutil.rmtree(home)
    imp = _child(["import", str(folder), str(home)])
    rec = _child(["reconcile", str(home), as_of])
    web_result = None
    if web:
        from daozhang.bench_web import run as run_web

        web_result = run_web(home, log=OUT / f"web-server-{size}.log")
    bare = _child(["bare", str(folder)])
    total = imp["seconds"] + rec["seconds"]
    per_m = 1_000_000 / size
    row = {
        "transactions": size,
        "rows_imported": imp["rows"],
        "import_s": round(imp["seconds"], 2),
        "reconcile_s": round(rec["seconds"], 2),
        "total_s": round(total, 2),
        "rows_per_s": round(imp["rows"] / total),
        "s_per_million": round(total * per_m, 2),
        "import_peak_mb": round(imp["peak_mb"]),
        "reconcile_peak_mb": round(rec["peak_mb"]),
        "bare_duckdb_s": round(bare["seconds"], 2),
        "bare_peak_mb": round(bare["peak_mb"]),
        "ratio_to_bare": round(total / bare["seconds"], 2),
        "exceptions": rec["exceptions"],
        "reconcile_stages_s": rec["timings"],
    }
    if web_result is not None:
        row["web"] = web_result
    print(
        f"  import {row['import_s']} s, reconcile {row['reconcile_s']} s "
        f"({row['rows_per_s']:,} rows/s, {row['s_per_million']} s per 1M); "
        f"peak {row['import_peak_mb']} / {row['reconcile_peak_mb']} MB; "
        f"bare DuckDB {row['bare_duckdb_s']} s -> {row['ratio_to_bare']}x"
    )
    if web_result is not None:
        from daozhang.bench_web import format_web

        print(format_web(web_result))
    shutil.rmtree(home, ignore_errors=True)
    return row


def main(argv: list[str]) -> int:
    if argv[:1] == ["--phase"]:
        phase, *rest = argv[1:]
        if phase == "import":
            result = _phase_import(Path(rest[0]), Path(rest[1]))
        elif phase == "reconcile":
            result = _phase_reconcile(Path(rest[0]), rest[1])
        else:
            result = _phase_bare(Path(rest[0]))
        print(json.dumps(result, default=str))
        return 0
    sizes = [int(a.replace("_", "")) for a in argv] or [100_000, 1_000_000, 10_000_000]
    OUT.mkdir(exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    from daozhang.bench_web import WEB_SIZE_ENV, web_size

    web_at = web_size()
    if web_at is not None and web_at not in sizes:
        print(
            f"(no web load run: its size, {web_at:,} transactions, is not among these; "
            f"{WEB_SIZE_ENV}=N chooses it, 0 for none)"
        )
    rows = [_one(n, web=n == web_at) for n in sizes]
    (OUT / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(f"results in {OUT / 'results.json'}")
    return 0 if all(r.get("web", {}).get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
