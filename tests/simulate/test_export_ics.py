"""The simulated maintenance notices, delivered as a calendar, read back as the same windows."""

from __future__ import annotations

from pathlib import Path

from daozhang.simulate import simulate
from daozhang.simulate.export_ics import maintenance_to_ics
from tests.helpers.golden import read_file

_FIELDS = ("bank_code", "start", "end", "scope", "note")


def test_the_calendar_gives_exactly_the_windows_of_the_csv(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "sim", merchants=4, days=14, seed=5)
    (csv_path,) = [p for p in summary.files if p.name == "maintenance.csv"]
    ics_path = tmp_path / "notices.ics"
    assert maintenance_to_ics(csv_path, ics_path) >= 1
    from_csv = read_file(csv_path)
    from_ics = read_file(ics_path)
    assert from_ics.format == "ics.maintenance" and from_ics.rejects == ()
    assert [tuple(r[f] for f in _FIELDS) for r in from_ics.records] == [
        tuple(r[f] for f in _FIELDS) for r in from_csv.records
    ]
