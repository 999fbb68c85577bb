"""Conservation: every input row is matched, in exactly one exception, or explained.

A reconcile that silently drops a row, or counts one twice, would tell a shop
its money is fine when it is not. These checks run at the end of every run,
over the engine's own tables, and a violation fails the run loudly. They
catch the real ways set-based rules go wrong: a join that fans out (two
contract rows effective on one day), a filter that loses rows, a finding key
that merges two records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from daozhang.match.engine import Engine

__all__ = ["DISPOSITION_TABLES", "check_dispositions", "check_findings_against_dispositions"]

# input table, its id column, the disposition step, the id column there
DISPOSITION_TABLES: tuple[tuple[str, str, str, str], ...] = (
    ("pos_journal", "row_id", "pos_disp", "row_id"),
    ("settlement", "row_id", "stl_disp", "row_id"),
    ("bank_statement", "row_id", "bank_disp", "row_id"),
    (
        "(SELECT payout_id FROM payouts UNION "
        "SELECT payout_id FROM settlement WHERE payout_id IS NOT NULL)",
        "payout_id",
        "payout_disp",
        "payout_id",
    ),
)


def check_dispositions(engine: Engine) -> list[str]:
    """Each input row appears exactly once in its disposition table."""
    violations: list[str] = []
    for source, sid, disp, did in DISPOSITION_TABLES:
        row = engine.fetch(
            f"""
            SELECT (SELECT COUNT(DISTINCT {sid}) FROM {source} s) AS inputs,
                   (SELECT COUNT(*) FROM {disp}) AS disposed,
                   (SELECT COUNT(DISTINCT {did}) FROM {disp}) AS distinct_disposed,
                   (SELECT COUNT(*) FROM {disp} WHERE disposition IS NULL) AS undecided
            """
        ).to_pylist()[0]
        name = disp.removesuffix("_disp")
        if row["disposed"] != row["distinct_disposed"]:
            violations.append(
                f"{name}: {row['disposed'] - row['distinct_disposed']} records "
                "have two dispositions"
            )
        if row["distinct_disposed"] != row["inputs"]:
            violations.append(
                f"{name}: {row['inputs']} inputs but {row['distinct_disposed']} accounted for"
            )
        if row["undecided"]:
            violations.append(f"{name}: {row['undecided']} records without a disposition")
    return violations


def check_findings_against_dispositions(
    expected_counts: Mapping[str, int], found: Iterable[tuple[str, int]]
) -> list[str]:
    """Each disposition that is an exception produced exactly as many findings as records.

    ``expected_counts`` maps a finding type to the number of records (or
    transaction keys) whose disposition calls for it; ``found`` gives the
    number of findings each classifier produced.
    """
    violations = []
    found_counts = dict(found)
    for type_name, expected in expected_counts.items():
        got = found_counts.get(type_name, 0)
        if got != expected:
            violations.append(
                f"{type_name}: {expected} records call for it but {got} exceptions were found"
            )
    return violations
