"""Reconcile runs: the engine's tables in memory or on disk give the same answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import daozhang.service.runs as runs
from daozhang.errors import EngineError
from daozhang.service.imports import import_paths
from daozhang.simulate import simulate
from daozhang.store.workspace import Workspace


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small simulated shop, imported: (home, as-of date)."""
    root = tmp_path_factory.mktemp("runs")
    summary = simulate(root / "in", merchants=4, days=14, seed=5)
    ws = Workspace.open(root / "home", env={})
    assert import_paths(ws, list(summary.files)).exit_code == 0
    ws.close()
    return root / "home", summary.as_of.isoformat()


def _answer(report: runs.ReconcileReport) -> set[tuple[str, str, int]]:
    return {(f.type.value, f.key, f.amount_fen) for f in report.result.findings}


def test_a_big_workspace_reconciles_on_disk_with_the_same_answer(
    simulated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, as_of = simulated
    ws = Workspace.open(home, env={})
    in_memory = runs.reconcile_workspace(ws, as_of=dt.date.fromisoformat(as_of), actor="t")
    monkeypatch.setattr(runs, "IN_MEMORY_RECORD_BYTES", 0)  # every workspace is "big"
    on_disk = runs.reconcile_workspace(ws, as_of=dt.date.fromisoformat(as_of), actor="t")
    assert _answer(on_disk) == _answer(in_memory) != set()
    assert on_disk.result.dispositions == in_memory.result.dispositions
    assert list((home / "tmp" / "duckdb").glob("engine-*")) == []  # the file goes with the run
    ws.close()


def test_running_out_of_memory_in_memory_runs_again_on_disk(
    simulated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, as_of = simulated
    ws = Workspace.open(home, env={})
    real_run = runs._run
    modes: list[bool] = []

    def run_that_runs_out_in_memory(*args: object, on_disk: bool) -> object:
        modes.append(on_disk)
        if not on_disk:
            try:
                raise duckdb.OutOfMemoryException("failed to pin block")
            except duckdb.OutOfMemoryException as exc:
                raise EngineError("step pos_disp failed") from exc
        return real_run(*args, on_disk=on_disk)  # type: ignore[arg-type]

    monkeypatch.setattr(runs, "_run", run_that_runs_out_in_memory)
    report = runs.reconcile_workspace(ws, as_of=dt.date.fromisoformat(as_of), actor="t")
    assert modes == [False, True]
    assert report.result.findings
    ws.close()
