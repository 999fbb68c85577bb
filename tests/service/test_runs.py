"""Reconcile runs: the same answer in memory or on disk; runs and exceptions kept in the state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

import daozhang.service.runs as runs
from daozhang.errors import EngineError, ReconcileError
from daozhang.service.imports import import_paths
from daozhang.service.report import daily_report
from daozhang.simulate import simulate
from daozhang.store import findings as repo
from daozhang.store.findings import ApplySummary
from daozhang.store.tables import reconcile_runs, workspace_meta
from daozhang.store.totals import TOTALS_RUN_KEY
from daozhang.store.workspace import Workspace
from tests.service.test_imports import POS, SETTLEMENT, WriteCsv, pos_row, settle_row


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


def _settle(trace: int) -> str:
    """The settlement row of POS sale ``trace`` of 2026-03-02, paid out in P0302."""
    return settle_row(trace, day="03").replace(
        "2026-03-01T10:00:00", f"2026-03-02T10:{trace:02d}:00"
    )


def _runs(ws: Workspace) -> list[sa.Row[Any]]:
    with ws.db.connect() as conn:
        return list(conn.execute(sa.select(reconcile_runs).order_by(reconcile_runs.c.id)))


def test_runs_are_stored_and_exceptions_kept_up_to_date_across_runs(
    any_db_workspace: Workspace, write_csv: WriteCsv
) -> None:
    """Three sales, one settled: opened; again: unchanged; a late file: one resolved, one changed.

    On PostgreSQL too: the run rows, the upserted exceptions, their events and
    the day's money at stake (a SUM that PostgreSQL returns as a Decimal).
    """
    ws = any_db_workspace
    as_of = dt.date(2026, 3, 10)
    pos = write_csv("pos.csv", POS, [pos_row(i, day="02") for i in (1, 2, 3)])
    assert import_paths(ws, [pos, write_csv("stl1.csv", SETTLEMENT, [_settle(1)])]).exit_code == 0
    first = runs.reconcile_workspace(ws, as_of=as_of, actor="li.lei")
    assert first.summary == ApplySummary(opened=3, changed=0, reopened=0, resolved=0, unchanged=0)
    again = runs.reconcile_workspace(ws, as_of=as_of, actor="li.lei")
    assert again.summary == ApplySummary(opened=0, changed=0, reopened=0, resolved=0, unchanged=3)

    late = write_csv("stl2.csv", SETTLEMENT, [_settle(2)])  # sale 2, in the same payout
    assert import_paths(ws, [late]).exit_code == 0
    third = runs.reconcile_workspace(ws, as_of=as_of, actor="li.lei")
    assert third.summary == ApplySummary(opened=0, changed=1, reopened=0, resolved=1, unchanged=1)

    with ws.db.connect() as conn:
        open_now = {(e.type.value, e.rrn or e.payout_id) for e in repo.list_exceptions(conn)}
        (settled,) = [
            e for e in repo.list_exceptions(conn, include_resolved=True) if e.status == "resolved"
        ]
        payout = next(e for e in repo.list_exceptions(conn) if e.payout_id == "P0302")
        payout_events = [ev["event"] for ev in repo.list_events(conn, payout.id)]
    assert open_now == {("missing_in_settlement", "600000000003"), ("settled_not_arrived", "P0302")}
    assert settled.rrn == "600000000002" and settled.resolved_at is not None
    assert settled.resolved_at.utcoffset() == dt.timedelta(0)
    assert settled.resolution is not None and settled.resolution["state"] == "matched"
    assert payout.amount_fen == 2 * 9950 and payout_events == ["opened", "changed"]

    stored = _runs(ws)
    assert [(r.id, r.status, r.actor, r.as_of) for r in stored] == [
        (run.run_id, "succeeded", "li.lei", as_of) for run in (first, again, third)
    ]
    assert json.loads(stored[-1].stats)["exceptions"]["resolved"] == 1
    assert all(r.finished_at >= r.started_at for r in stored)

    stored_report = daily_report(ws, date=dt.date(2026, 3, 2))
    (day,) = stored_report.merchants
    assert (day.sales_count, day.settled_fen, day.open_exceptions, day.at_stake_fen) == (
        3,
        20_000,
        1,
        10_000,
    )
    # Read from the run's stored totals, the report says what matching again says.
    with ws.db.begin() as conn:
        conn.execute(sa.delete(workspace_meta).where(workspace_meta.c.key == TOTALS_RUN_KEY))
    assert daily_report(ws, date=dt.date(2026, 3, 2)).merchants == stored_report.merchants


def test_a_run_whose_findings_cannot_be_stored_is_failed_not_left_running(
    any_db_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs storing at once: the unique (type, key) refuses the second; it says so."""

    def refused(*_args: object, **_kwargs: object) -> ApplySummary:
        raise sa.exc.IntegrityError("INSERT INTO exceptions", {}, Exception("uq_exceptions"))

    monkeypatch.setattr(repo, "apply_findings", refused)
    with pytest.raises(ReconcileError, match="storing the findings failed"):
        runs.reconcile_workspace(any_db_workspace, as_of=dt.date(2026, 3, 10), actor="t")
    (run,) = _runs(any_db_workspace)
    assert run.status == "failed" and "uq_exceptions" in run.message
    with any_db_workspace.db.connect() as conn:
        assert repo.list_exceptions(conn, include_resolved=True) == []
