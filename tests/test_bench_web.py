"""The web load run of ``make bench``: its arithmetic, and one short run on a real server."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from daozhang import bench_web as bw
from daozhang.service.imports import import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.simulate import simulate
from daozhang.store.workspace import Workspace


def test_percentile_is_nearest_rank() -> None:
    ms = [float(i) for i in range(1, 101)]  # 1..100
    assert bw._percentile(ms, 50) == 50.0
    assert bw._percentile(ms, 99) == 99.0
    assert bw._percentile(ms, 100) == 100.0
    assert bw._percentile([7.0], 99) == 7.0
    assert bw._percentile([], 50) == 0.0


def test_stats_count_errors_as_requests_but_not_in_latency() -> None:
    s = bw._stats([10.0, 20.0, 30.0, 40.0], errors=1, seconds=2.0)
    assert s["requests"] == 5
    assert s["rps"] == 2.5
    assert s["errors"] == 1
    assert (s["p50_ms"], s["p99_ms"], s["max_ms"]) == (20.0, 40.0, 40.0)


@pytest.mark.parametrize(
    ("value", "size"),
    [(None, 1_000_000), ("100000", 100_000), ("1_000_000", 1_000_000), ("0", None)],
)
def test_web_size_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, size: int | None
) -> None:
    if value is None:
        monkeypatch.delenv(bw.WEB_SIZE_ENV, raising=False)
    else:
        monkeypatch.setenv(bw.WEB_SIZE_ENV, value)
    assert bw.web_size() == size


def test_requests_stay_within_the_pages_there_are() -> None:
    targets = bw.Targets(exception_pages=3, merchant_pages=2, type_pages={"fee_mismatch": 1})
    pick = bw._request_maker(targets, random.Random(1))
    seen = {pick() for _ in range(500)}
    assert {endpoint for endpoint, _, _ in seen} == set(bw.ENDPOINTS)
    paths = {path for _, path, _ in seen}
    assert "/exceptions?page=4" not in paths and "/exceptions?page=3" in paths
    assert "/exceptions?type=fee_mismatch&page=1" in paths
    assert all(is_api == path.startswith("/api/v1/") for _, path, is_api in seen)


@pytest.mark.slow
def test_a_short_load_run_on_a_real_server(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "in", merchants=4, days=14, seed=7)
    home = tmp_path / "shop"
    with Workspace.open(home, env={}) as ws:
        import_paths(ws, [p for p in summary.files if p.suffix == ".csv"])
        reconcile_workspace(ws, as_of=summary.as_of, actor="test")
    creds = bw._bench_user(home)

    with bw.serving(home, workers=1, log=tmp_path / "server.log") as server:
        pid = server.proc.pid
        web = bw.load(server, creds, clients=3, warmup=0.2, duration=1.5)
    assert server.proc.poll() is not None  # stopped, and waited for
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    assert web["overall"]["requests"] > 0
    assert web["overall"]["errors"] == 0, (web["error_kinds"], web["error_samples"])
    assert all(web["endpoints"][e]["requests"] > 0 for e in bw.ENDPOINTS)
    web.update(
        workers=1, server_peak_mb=1, loadavg_before=[], loadavg_after=[],
        target_p99_ms=bw.TARGET_P99_MS, meets_target=True, ok=True,
    )  # fmt: skip
    block = bw.format_web(web)
    assert "api_merchants" in block and "all" in block
