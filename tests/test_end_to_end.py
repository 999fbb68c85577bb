"""Simulated workspaces with known answers, through the command line a user runs.

The simulator plants every exception type and writes the answer
(``truth.jsonl``); a reconcile must find exactly that: nothing missed,
nothing false, with the same money at stake, on several seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daozhang.domain.findings import ExceptionType
from daozhang.service.exceptions import CONTRACT_FIELDS
from daozhang.simulate import simulate
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.slow


def _truth(path: Path) -> dict[tuple[str, str], int]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            t = json.loads(line)
            out[(t["type"], t["key"])] = int(t["amount_fen"])
    return out


@pytest.mark.parametrize("seed", [7, 11, 2026])
def test_reconcile_finds_exactly_the_planted_exceptions(tmp_path: Path, seed: int) -> None:
    summary = simulate(tmp_path / "in", merchants=6, days=21, seed=seed)
    home = tmp_path / "home"
    imported = run_cli(home, "import", *map(str, summary.files))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    run = run_cli(home, "reconcile", "--as-of", summary.as_of.isoformat())
    assert run.returncode == 0, run.stdout + run.stderr
    listed = run_cli(home, "exceptions", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    for r in records:
        assert set(CONTRACT_FIELDS) <= set(r)
        assert r["explanation"] and r["next_action"] and r["due_date"]
    found = {(r["type"], r["key"]): r["amount"] for r in records}
    truth = _truth(summary.truth)
    assert set(found) - set(truth) == set(), "false exceptions"
    assert set(truth) - set(found) == set(), "missed exceptions"
    for ident, fen in truth.items():
        assert found[ident] == f"{fen // 100}.{fen % 100:02d}", ident
    assert {t for t, _ in truth} == {t.value for t in ExceptionType}


def test_running_twice_and_importing_again_changes_nothing(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "in", merchants=5, days=14, seed=3)
    home = tmp_path / "home"
    files = list(map(str, summary.files))
    assert run_cli(home, "import", *files).returncode == 0
    as_of = summary.as_of.isoformat()
    first = run_cli(home, "reconcile", "--as-of", as_of)
    again = run_cli(home, "import", *files)
    assert again.returncode == 0
    second = run_cli(home, "reconcile", "--as-of", as_of)
    assert first.returncode == second.returncode == 0
    before = run_cli(home, "exceptions", "--format", "json").stdout
    assert "新增 0，变化 0，重新打开 0，已解决 0" in second.stdout
    assert run_cli(home, "exceptions", "--format", "json").stdout == before
