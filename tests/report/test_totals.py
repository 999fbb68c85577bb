"""The totals a run leaves behind: the worked example of report/totals.py, for real.

The example's files are imported and reconciled as a user would; the run's
totals, the stored copy, the overview and the money trail must all say what
the docstring says.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from daozhang.domain.money import format_yuan
from daozhang.report import totals
from daozhang.service.imports import import_paths
from daozhang.service.overview import StepState, list_merchants, merchant_trail, overview
from daozhang.service.runs import ReconcileReport, reconcile_workspace
from daozhang.service.users import MerchantScope
from daozhang.store.workspace import Workspace
from tests.classify.worked_examples import WorkedExample, parse

MID = "898340153990001"


@pytest.fixture
def example() -> WorkedExample:
    return parse(totals.__doc__ or "", others=("day", "paid", "payout"))


@pytest.fixture
def reconciled(example: WorkedExample, tmp_path: Path) -> tuple[Workspace, ReconcileReport]:
    ws = Workspace.open(tmp_path / "home", env={})
    imported = import_paths(ws, example.write(tmp_path / "in"))
    assert imported.exit_code == 0, [(f.path, f.status, f.problem) for f in imported.files]
    return ws, reconcile_workspace(ws, as_of=example.as_of, actor="test")


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split() if "=" in part)


def test_monday_sales_paid_after_maintenance_retry_add_up(
    example: WorkedExample, reconciled: tuple[Workspace, ReconcileReport]
) -> None:
    ws, report = reconciled
    try:
        assert report.result.findings == ()
        (expected_day,) = example.other["day"]
        merchant, day, channel = expected_day.split()[:3]
        (paid,) = example.other["paid"]
        want = _fields(expected_day) | _fields(paid)
        (got,) = report.result.totals.days
        assert (got.merchant_id, got.day.isoformat(), got.channel) == (merchant, day, channel)
        count, sales = want["sales"].split("/")
        assert got.sales_count == int(count)
        assert format_yuan(got.sales_fen) == sales
        for name, attr in [
            ("refunds", "refunds_fen"),
            ("settled", "settled_fen"),
            ("fee", "fee_fen"),
            ("net", "net_fen"),
            ("paid_out", "paid_out_fen"),
            ("arrived", "arrived_fen"),
        ]:
            assert format_yuan(getattr(got, attr)) == want[name], name

        (expected_payout,) = example.other["payout"]
        payout_id = expected_payout.split()[0]
        want_p = _fields(expected_payout)
        (p,) = report.result.totals.payouts
        assert p.payout_id == payout_id
        assert p.n_attempts == int(want_p["attempts"])
        assert (p.outcome, p.disposition) == (want_p["outcome"], want_p["disposition"])
        assert p.credit_date == dt.date.fromisoformat(want_p["credit"])
        assert p.credit_path is not None and p.credit_path.endswith("bank_statement.csv")
        assert p.credit_line == 2
        assert [a.attempt for a in report.result.totals.attempts if a.payout_id == payout_id] in (
            [1, 2],
            [2, 1],
        )
        assert report.result.totals.merchants == ((MID, "小杨生煎"),)

        # The stored copy says the same, through the pages' functions.
        view = overview(ws, MerchantScope.everything())
        assert view.run_id == report.run_id and view.as_of == example.as_of
        assert [d.day for d in view.days] == [got.day]
        assert view.total.net_fen == got.net_fen and view.total.arrived_fen == got.arrived_fen
        assert view.at_stake == () and view.urgent == ()

        trail = merchant_trail(ws, MerchantScope.everything(), MID)
        assert trail is not None and trail.merchant_name == "小杨生煎"
        (trail_day,) = trail.days
        assert [s.state for s in trail_day.steps] == [StepState.OK] * 4
        (trail_payout,) = trail_day.payouts
        assert trail_payout.carried_fen == got.net_fen
        assert [a.status for a in sorted(trail_payout.attempts, key=lambda a: a.attempt or 0)] == [
            "failed",
            "succeeded",
        ]
        (summary,) = list_merchants(ws, MerchantScope.everything())
        assert (summary.merchant_id, summary.arrived_fen) == (MID, got.arrived_fen)
    finally:
        ws.close()


def test_another_organisations_merchant_is_invisible(
    reconciled: tuple[Workspace, ReconcileReport],
) -> None:
    ws, _ = reconciled
    try:
        other = MerchantScope.only(["898340153990002"])
        assert merchant_trail(ws, other, MID) is None
        assert list_merchants(ws, other) == []
        view = overview(ws, other)
        assert view.days == () and view.total.sales_fen == 0
    finally:
        ws.close()


def test_a_late_payout_turns_the_bank_step_late(example: WorkedExample, tmp_path: Path) -> None:
    """The same day, with the credit a week late: the trail says late and names the exception."""
    files = dict(example.files)
    files["bank_statement.csv"] = files["bank_statement.csv"].replace(
        "2026-11-04,2026-11-04", "2026-11-11,2026-11-11"
    )
    late = WorkedExample(files=files, as_of=dt.date(2026, 11, 12), finds=frozenset())
    with Workspace.open(tmp_path / "home", env={}) as ws:
        import_paths(ws, late.write(tmp_path / "in"))
        reconcile_workspace(ws, as_of=late.as_of, actor="test")
        trail = merchant_trail(ws, MerchantScope.everything(), MID)
        assert trail is not None
        (day,) = trail.days
        bank = day.steps[3]
        assert bank.state == StepState.LATE
        assert [e.type.value for e in bank.exceptions] == ["arrived_late"]
        assert day.state == StepState.LATE
        view = overview(ws, MerchantScope.everything())
        assert [e.type.value for e in view.urgent] == ["arrived_late"]
        assert [(s.type.value, s.count) for s in view.at_stake] == [("arrived_late", 1)]


def test_the_overview_changes_when_the_missing_credit_comes_in(
    example: WorkedExample, tmp_path: Path
) -> None:
    """Answers are kept between runs (service/overview.py), and a run replaces them."""
    files = {n: t for n, t in example.files.items() if n != "bank_statement.csv"}
    first = WorkedExample(files=files, as_of=example.as_of, finds=frozenset())
    with Workspace.open(tmp_path / "home", env={}) as ws:
        import_paths(ws, first.write(tmp_path / "in"))
        reconcile_workspace(ws, as_of=example.as_of, actor="test")
        before = overview(ws, MerchantScope.everything())
        assert [e.type.value for e in before.urgent] == ["settled_not_arrived"]
        assert overview(ws, MerchantScope.everything()) is before  # kept, not recomputed
        bank = tmp_path / "later" / "bank_statement.csv"
        bank.parent.mkdir()
        bank.write_text(example.files["bank_statement.csv"], encoding="utf-8")
        import_paths(ws, [bank])
        reconcile_workspace(ws, as_of=example.as_of, actor="test")
        after = overview(ws, MerchantScope.everything())
        assert after.urgent == () and after.total.arrived_fen == before.total.net_fen
