"""Every classifier's worked example, run for real: files written, imported, reconciled.

The example in a rule's docstring is its specification; this test holds the
rule to it (exactly those exceptions, with that money at stake, nothing
else), through the same import and reconcile a user runs.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from daozhang.classify import MODULES
from daozhang.domain.money import format_yuan
from daozhang.service.imports import import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.store.workspace import Workspace
from tests.classify.worked_examples import parse


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_worked_example(module: ModuleType, tmp_path: Path) -> None:
    example = parse(module.__doc__ or "")
    files = example.write(tmp_path / "in")
    with Workspace.open(tmp_path / "home") as ws:
        imported = import_paths(ws, files)
        assert imported.exit_code == 0, [(f.path, f.status, f.problem) for f in imported.files]
        report = reconcile_workspace(ws, as_of=example.as_of, actor="test")
    found = {(f.type.value, f.key, format_yuan(f.amount_fen)) for f in report.result.findings}
    assert found == set(example.finds)
    for f in report.result.findings:
        assert f.evidence, f"{f.type} {f.key} has no evidence"
        assert all(e.path.endswith(".csv") and e.line >= 2 for e in f.evidence)


def test_every_classifier_has_a_worked_example() -> None:
    for module in MODULES:
        assert "Worked example" in (module.__doc__ or ""), module.__name__
