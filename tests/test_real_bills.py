"""The same shops reconciled from canonical settlement files and from WeChat/Alipay bills.

A simulated workspace is imported twice through the command line: once as
the simulator wrote it, once with its ``wechat``/``alipay`` settlement rows
delivered as WeChat Pay trade bills and Alipay 业务明细 files instead (see
:mod:`daozhang.simulate.export_bills`). The bills carry what a platform's
bill really carries, so the reconcile cannot know three things the
acquirer's canonical file told it, and the answers differ exactly there:

* ``payout_id``: a platform bill does not name the acquirer's payout. The
  QR rows then belong to no payout, so every payout whose money included QR
  rows no longer adds up to its settlement rows (``payout_total_mismatch``
  on it; ``settled_not_arrived`` states only the card rows' net), and
  transaction-level exceptions on QR rows name no payout.
* ``settle_date``: a trade bill lists the trades of its day; the row's own
  date stands for the settle date, so a QR trade the acquirer settled late
  (``late_settlement``) cannot be seen from the bill.
* merchant name and MCC: a bill has neither, so ``merchant_mismatch`` (跳码)
  on a QR row cannot be seen.

Everything else must be identical: the same exceptions (type and key) with
the same money at stake.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from daozhang.simulate import simulate
from daozhang.simulate.export_bills import export_bills
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.slow

QR = ("wechat", "alipay")
SEEN_ONLY_IN_CANONICAL = {"late_settlement", "merchant_mismatch"}


def _exceptions(home: Path, folder: Path, as_of: str) -> dict[tuple[str, str], dict[str, object]]:
    imported = run_cli(home, "import", str(folder))
    # simulation.json and truth.jsonl are not inputs: exit 1 for them only
    assert imported.returncode in (0, 1), imported.stdout + imported.stderr
    assert "拒收 0" in imported.stdout, imported.stdout
    run = run_cli(home, "reconcile", "--as-of", as_of)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = run_cli(home, "exceptions", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    return {(str(r["type"]), str(r["key"])): r for r in records}


def test_bills_instead_of_canonical_settlement_give_the_same_exceptions(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "in", merchants=6, days=21, seed=7)
    as_of = summary.as_of.isoformat()
    canonical_in = tmp_path / "in"
    bills_in = tmp_path / "bills_in"
    for path in canonical_in.rglob("*"):
        if path.is_file() and "settlement" not in path.relative_to(canonical_in).parts:
            dest = bills_in / path.relative_to(canonical_in)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)
    settlement = sorted((canonical_in / "settlement").glob("*.csv"))
    done = export_bills(settlement, bills_in / "bills", rest=bills_in / "settlement" / "other.csv")
    assert done.wechat and done.alipay

    qr_rows: set[tuple[str, str]] = set()
    qr_payouts: set[str] = set()
    for path in settlement:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                if row["channel"] in QR:
                    qr_rows.add((row["merchant_id"], row["rrn"]))
                    qr_payouts.add(row["payout_id"])
    assert done.bill_rows >= len(qr_rows) > 0

    base = _exceptions(tmp_path / "home_canonical", canonical_in, as_of)
    bills = _exceptions(tmp_path / "home_bills", bills_in, as_of)

    def on_qr_row(e: dict[str, object]) -> bool:
        return (str(e["merchant_id"]), str(e["rrn"])) in qr_rows

    def payout_with_qr(e: dict[str, object]) -> bool:
        return e["payout_id"] in qr_payouts and e["rrn"] is None

    # What the bills cannot show is gone, and nothing else.
    gone = set(base.keys() - bills.keys())
    assert gone == {k for k, e in base.items() if k[0] in SEEN_ONLY_IN_CANONICAL and on_qr_row(e)}
    assert gone, "the simulation plants late/merchant_mismatch on QR rows; the test must see them"
    # What appears is a payout total that no longer includes its QR rows.
    new = bills.keys() - base.keys()
    assert new and all(k[0] == "payout_total_mismatch" and k[1] in qr_payouts for k in new)

    for k in base.keys() & bills.keys():
        b, q = base[k], bills[k]
        if payout_with_qr(b) and k[0] in ("payout_total_mismatch", "settled_not_arrived"):
            continue  # the money stated is the card rows' net only: see the module docstring
        assert q["amount"] == b["amount"], k
        for name in ("merchant_id", "terminal_id", "rrn", "bank_txn_id"):
            assert q[name] == b[name], (k, name)
        assert q["payout_id"] == (None if on_qr_row(b) else b["payout_id"]), k


_SAME = (
    "type",
    "key",
    "merchant_id",
    "terminal_id",
    "rrn",
    "payout_id",
    "bank_txn_id",
    "amount",
    "expected",
    "actual",
    "explanation",
    "next_action",
    "due_date",
)


def test_the_same_settlement_data_as_bills_or_as_canonical_csv_gives_identical_answers(
    tmp_path: Path,
) -> None:
    """Bills against the canonical CSV of exactly what the bills say: nothing may differ."""
    summary = simulate(tmp_path / "in", merchants=6, days=21, seed=11)
    as_of = summary.as_of.isoformat()
    canonical_in = tmp_path / "in"
    bills_in, twin_in = tmp_path / "bills_in", tmp_path / "twin_in"
    for path in canonical_in.rglob("*"):
        if path.is_file() and "settlement" not in path.relative_to(canonical_in).parts:
            for root in (bills_in, twin_in):
                dest = root / path.relative_to(canonical_in)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest)
    settlement = sorted((canonical_in / "settlement").glob("*.csv"))
    done = export_bills(
        settlement,
        bills_in / "bills",
        rest=bills_in / "settlement" / "other.csv",
        twin=twin_in / "settlement" / "qr.csv",
    )
    assert done.bill_rows > 0
    shutil.copy(bills_in / "settlement" / "other.csv", twin_in / "settlement" / "other.csv")

    from_bills = _exceptions(tmp_path / "home_bills", bills_in, as_of)
    from_twin = _exceptions(tmp_path / "home_twin", twin_in, as_of)
    assert from_bills.keys() == from_twin.keys()
    assert any(e["rrn"] and e["payout_id"] is None for e in from_bills.values())
    for k, e in from_bills.items():
        assert {f: e[f] for f in _SAME} == {f: from_twin[k][f] for f in _SAME}, k
