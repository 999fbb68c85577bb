"""The same bank statements as canonical CSV, camt.053 and MT940 give the same exceptions.

A simulated workspace is imported three times through the command line a
user runs: with its canonical bank statement CSVs, with the same statements
converted to one camt.053 document, and converted to one MT940 file. What
the reconciliation finds must not depend on the bank's file format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daozhang.service.exceptions import CONTRACT_FIELDS
from daozhang.simulate import simulate
from daozhang.simulate.export_statements import export_camt053, export_mt940
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.slow

# Where the evidence lives (file, line, hash) differs by design; everything else must not.
_COMPARED = (*CONTRACT_FIELDS, "key", "title", "currency", "status")


def _exceptions(home: Path, files: list[Path], as_of: str) -> list[dict[str, object]]:
    imported = run_cli(home, "import", *map(str, files))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    run = run_cli(home, "reconcile", "--as-of", as_of)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = run_cli(home, "exceptions", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    return sorted(
        ({k: r.get(k) for k in _COMPARED} for r in records),
        key=lambda r: (str(r["type"]), str(r["key"])),
    )


def test_csv_camt053_and_mt940_statements_give_identical_exceptions(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "in", merchants=6, days=21, seed=7)
    as_of = summary.as_of.isoformat()
    bank = [p for p in summary.files if p.parent.name == "bank"]
    others = [p for p in summary.files if p.parent.name != "bank"]
    assert bank and others
    camt = tmp_path / "statements.xml"
    mt940 = tmp_path / "statements.sta"
    assert export_camt053(bank, camt) == export_mt940(bank, mt940) > 0

    from_csv = _exceptions(tmp_path / "home-csv", [*others, *bank], as_of)
    from_camt = _exceptions(tmp_path / "home-camt", [*others, camt], as_of)
    from_mt940 = _exceptions(tmp_path / "home-mt940", [*others, mt940], as_of)

    assert from_csv, "the simulation plants exceptions"
    assert from_camt == from_csv
    assert from_mt940 == from_csv
