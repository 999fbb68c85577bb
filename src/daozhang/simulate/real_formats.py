"""Deliver part of a simulated workspace in the formats banks and terminals really export.

``daozhang demo`` uses this so that its import shows the real formats being
recognised beside the canonical files, and the reconcile still finds exactly
the planted exceptions: each conversion here is one whose import is proven
to give the same records (tests/test_real_statements.py for camt.053 and
MT940, tests/simulate/test_export_ics.py for the calendar,
tests/simulate/test_export_iso8583.py for the message log).

* the first bank account's statement as camt.053 (``bank/<account>.xml``);
* the second one's as MT940 (``bank/<account>.sta``);
* the maintenance notices as an iCalendar file (``maintenance.ics``);
* the first day's POS journal as an ISO 8583 hex log of the terminals'
  messages (``pos/pos_journal_<day>.log``).

WeChat Pay and Alipay bills are not among them: a bill does not carry the
acquirer's payout number, so the answers would differ where the bill knows
less (tests/test_real_bills.py says exactly where).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from daozhang.simulate.export_ics import maintenance_to_ics
from daozhang.simulate.export_iso8583 import export_iso8583
from daozhang.simulate.export_statements import export_camt053, export_mt940
from daozhang.simulate.simulator import SimulationSummary

__all__ = ["deliver_in_real_formats"]


def deliver_in_real_formats(summary: SimulationSummary) -> SimulationSummary:
    """``summary`` with some of its canonical files replaced by real-format ones (see above)."""
    files = list(summary.files)
    banks = sorted(p for p in files if p.parent.name == "bank" and p.suffix == ".csv")
    journals = sorted(p for p in files if p.parent.name == "pos" and p.suffix == ".csv")
    maintenance = [p for p in files if p.name == "maintenance.csv"]
    replaced: dict[Path, Path] = {}
    if banks:
        target = banks[0].with_suffix(".xml")
        export_camt053([banks[0]], target, msg_id=f"DZ-{banks[0].stem}")
        replaced[banks[0]] = target
    if len(banks) > 1:
        target = banks[1].with_suffix(".sta")
        export_mt940([banks[1]], target)
        replaced[banks[1]] = target
    if maintenance:
        target = maintenance[0].with_suffix(".ics")
        maintenance_to_ics(maintenance[0], target)
        replaced[maintenance[0]] = target
    if journals:
        target = journals[0].with_suffix(".log")
        export_iso8583([journals[0]], target)
        replaced[journals[0]] = target
    for old in replaced:
        old.unlink()
    return dataclasses.replace(summary, files=tuple(replaced.get(p, p) for p in files))
