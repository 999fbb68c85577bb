"""A reconcile run, top to bottom: match, check, classify.

The one function :func:`reconcile` reads as the pipeline it is. It takes an
engine on which the input tables are already loaded (the workspace edge does
that from its Parquet files) and returns plain values; storing them, and
telling anyone, is the caller's business.

Input tables, with the stored columns of :mod:`daozhang.domain.records`:
``pos_journal``, ``settlement``, ``payouts``, ``bank_statement``,
``contracts``, ``terminals``, ``maintenance``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from daozhang.classify import CLASSIFIERS
from daozhang.classify.base import Classifier
from daozhang.classify.data import failure_codes_table, playbook
from daozhang.domain.calendar import BankCalendar
from daozhang.domain.findings import Evidence, ExceptionType, Finding
from daozhang.domain.money import format_yuan
from daozhang.errors import ClassifierError, ConservationError, EngineError
from daozhang.match import payouts, reference, transactions
from daozhang.match.calendar_table import calendar_table
from daozhang.match.checks import check_dispositions, check_findings_against_dispositions
from daozhang.match.engine import Engine
from daozhang.match.steps import Step
from daozhang.report import totals as tot

__all__ = [
    "DEFAULT_GRACE",
    "RunResult",
    "match",
    "reconcile",
    "run_totals",
    "what_became_of",
]

DEFAULT_GRACE = 1

# Which disposition (table, value, counted by) each exception of that kind mirrors.
_DISPOSITION_OF: dict[ExceptionType, tuple[str, str, str]] = {
    ExceptionType.MISSING_IN_SETTLEMENT: ("pos_disp", "missing_in_settlement", "tx_key"),
    ExceptionType.DEBITED_BUT_FAILED: ("pos_disp", "debited_but_failed", "tx_key"),
    ExceptionType.UNKNOWN_SETTLEMENT: ("stl_disp", "unknown_settlement", "tx_key"),
    ExceptionType.DUPLICATE_SETTLEMENT: ("stl_disp", "duplicate", "tx_key"),
    ExceptionType.PAYOUT_FAILED_RETRYABLE: ("payout_disp", "failed_retryable", "payout_id"),
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED: (
        "payout_disp",
        "failed_action_required",
        "payout_id",
    ),
    ExceptionType.SETTLED_NOT_ARRIVED: ("payout_disp", "settled_not_arrived", "payout_id"),
    ExceptionType.ARRIVED_LATE: ("payout_disp", "arrived_late", "payout_id"),
    ExceptionType.MISROUTED_PAYOUT: ("payout_disp", "misrouted", "payout_id"),
    ExceptionType.UNMATCHED_CREDIT: ("bank_disp", "unmatched_credit", "row_id"),
}

_SOURCE_TABLES = (
    "pos_journal",
    "settlement",
    "payouts",
    "bank_statement",
    "contracts",
    "terminals",
    "maintenance",
)


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a reconcile run found, and how every input was accounted for."""

    as_of: dt.date
    findings: tuple[Finding, ...]
    # table -> disposition -> (records, money in fen)
    dispositions: dict[str, dict[str, tuple[int, int]]]
    warnings: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
    totals: tot.RunTotals = field(default_factory=tot.RunTotals)


def reconcile(
    engine: Engine, *, as_of: dt.date, calendar: BankCalendar, grace: int = DEFAULT_GRACE
) -> RunResult:
    """Match everything loaded on ``engine`` as of ``as_of`` and classify what is wrong."""
    timings: dict[str, float] = {}
    warnings = match(engine, as_of=as_of, calendar=calendar, grace=grace, timings=timings)

    with _timed(timings, "classify"):
        rows = {c.type: _classify(engine, c) for c in CLASSIFIERS}
        evidence = _evidence(engine)
        findings: list[Finding] = []
        for classifier in CLASSIFIERS:
            findings.extend(_findings(classifier, rows[classifier.type], evidence, as_of, calendar))
        counts = [(t.value, len({r["key"] for r in found})) for t, found in rows.items()]
        violations = check_findings_against_dispositions(_expected_counts(engine), counts)
        if violations:
            raise ConservationError(violations)

    with _timed(timings, "totals"):
        totals = run_totals(engine)

    return RunResult(
        as_of=as_of,
        findings=tuple(findings),
        dispositions=_disposition_summary(engine),
        warnings=tuple(warnings),
        timings=timings,
        totals=totals,
    )


def run_totals(engine: Engine) -> tot.RunTotals:
    """The day and payout totals of a matched engine (report/totals.py), as plain values."""

    def rows(sql: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = engine.fetch(sql).to_pylist()
        return found

    return tot.RunTotals(
        merchants=tuple(
            (str(m["merchant_id"]), m["merchant_name"]) for m in rows(tot.MERCHANTS_SQL)
        ),
        days=tuple(tot.MerchantDay(**r) for r in rows(tot.MERCHANT_DAYS_SQL)),
        payout_days=tuple(tot.PayoutDay(**r) for r in rows(tot.PAYOUT_DAYS_SQL)),
        payouts=tuple(tot.PayoutOutcome(**r) for r in rows(tot.PAYOUT_OUTCOMES_SQL)),
        attempts=tuple(tot.PayoutAttempt(**r) for r in rows(tot.PAYOUT_ATTEMPTS_SQL)),
    )


def match(
    engine: Engine,
    *,
    as_of: dt.date,
    calendar: BankCalendar,
    grace: int = DEFAULT_GRACE,
    timings: dict[str, float] | None = None,
) -> list[str]:
    """Link every record and decide its disposition, then check nothing was lost.

    Leaves the match steps (``pos_s``, ``stl_s``, ``payout_v``, ``pos_disp``...)
    on the engine for the classifiers and reports; returns the run's warnings.
    """
    timings = {} if timings is None else timings
    warnings: list[str] = []
    with _timed(timings, "prepare"):
        first, last = _date_range(engine, as_of)
        engine.load_arrow("cal", calendar_table(calendar, first - dt.timedelta(days=7), last))
        engine.load_arrow(
            "params",
            pa.table({"as_of": pa.array([as_of], pa.date32()), "grace": [int(grace)]}),
        )
        engine.load_arrow("failure_codes", failure_codes_table())
        unknown = calendar.unknown_between(first, last)
        if unknown:
            warnings.append(_unknown_calendar_warning(unknown))

    with _timed(timings, "match"):
        _run(engine, reference.STEPS + transactions.STEPS + payouts.STEPS_BEFORE_FALLBACK)
        rounds = _fallback_rounds(engine, warnings)
        _run(engine, (payouts.payout_credit(rounds), *payouts.STEPS_AFTER_FALLBACK))
        warnings.extend(_contract_warnings(engine))

    with _timed(timings, "check"):
        violations = check_dispositions(engine)
        if violations:
            raise ConservationError(violations)
    return warnings


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def _run(engine: Engine, steps: tuple[Step, ...]) -> None:
    for step in steps:
        try:
            engine.create(step.name, step.sql)
        except Exception as exc:
            raise EngineError(f"step {step.name} failed: {exc}") from exc


def _fallback_rounds(engine: Engine, warnings: list[str]) -> int:
    """Run fallback rounds until one finds no new pair; return how many ran."""
    for n in range(1, payouts.FALLBACK_ROUNDS + 1):
        step = payouts.fallback_round(n)
        _run(engine, (step,))
        if engine.fetch(f"SELECT COUNT(*) AS n FROM {step.name}").column("n")[0].as_py() == 0:
            return n
    warnings.append(
        f"credits matched by account and amount needed more than {payouts.FALLBACK_ROUNDS} "
        "rounds; some credits may be left unpaired"
    )
    return payouts.FALLBACK_ROUNDS


def _date_range(engine: Engine, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last date any input or the run itself needs from the calendar."""
    row = engine.fetch(
        """
        SELECT (SELECT MIN(txn_date) FROM pos_journal) AS a1,
               (SELECT MAX(txn_date) FROM pos_journal) AS b1,
               (SELECT MIN(txn_date) FROM settlement) AS a2,
               (SELECT MAX(settle_date) FROM settlement) AS b2,
               (SELECT MIN(created_date) FROM payouts) AS a3,
               (SELECT MAX(created_date) FROM payouts) AS b3,
               (SELECT MIN(value_date) FROM bank_statement) AS a4,
               (SELECT MAX(value_date) FROM bank_statement) AS b4,
               (SELECT MAX(end_date) FROM maintenance) AS b5
        """
    ).to_pylist()[0]
    firsts = [v for k, v in row.items() if k.startswith("a") and v is not None]
    lasts = [v for k, v in row.items() if k.startswith("b") and v is not None]
    first = min([*firsts, as_of])
    last = max([*lasts, as_of])
    return first, last + dt.timedelta(days=14)


def _unknown_calendar_warning(unknown: list[dt.date]) -> str:
    years = sorted({d.year for d in unknown})
    return (
        f"the bank calendar does not know {len(unknown)} of the dates this run needs "
        f"({unknown[0]} to {unknown[-1]}, years {', '.join(map(str, years))}); Monday to Friday "
        "were assumed to be working days. Add the official holidays and make-up working days "
        "to the workspace's calendar.csv, then run reconcile again."
    )


def _contract_warnings(engine: Engine) -> list[str]:
    row = engine.fetch(
        """
        SELECT (SELECT COUNT(DISTINCT merchant_id) FROM pos_s WHERE contract_row_id IS NULL) AS p,
               (SELECT COUNT(DISTINCT merchant_id) FROM stl_s WHERE contract_row_id IS NULL) AS s
        """
    ).to_pylist()[0]
    n = max(int(row["p"] or 0), int(row["s"] or 0))
    if not n:
        return []
    return [
        f"{n} merchants have no contract in effect for some of their transactions: their fees, "
        "names and MCC were not checked and cycle T1 was assumed"
    ]


def _classify(engine: Engine, classifier: Classifier) -> list[dict[str, Any]]:
    """Run one rule: fetch its findings, keep its evidence on the engine as ``ev_<type>``."""
    name = classifier.type.value
    try:
        found: list[dict[str, Any]] = engine.fetch(classifier.findings).to_pylist()
        engine.create(
            f"ev_{name}",
            f"SELECT '{name}' AS type, e.key, e.role, e.row_id FROM ({classifier.evidence}) e",
        )
    except Exception as exc:
        raise ClassifierError(f"rule {name} failed: {exc}") from exc
    return found


def _evidence(engine: Engine) -> dict[tuple[str, str], list[Evidence]]:
    """The file and line of every record any rule cited, in one pass over the inputs."""
    cited = " UNION ALL ".join(f"SELECT * FROM ev_{c.type.value}" for c in CLASSIFIERS)
    sources = " UNION ALL ".join(
        f"SELECT row_id, src_file, src_path, src_line FROM {t} "
        f"WHERE row_id IN (SELECT row_id FROM cited)"
        for t in _SOURCE_TABLES
    )
    engine.create("cited", cited)
    rows = engine.fetch(
        f"""
        SELECT DISTINCT c.type, c.key, c.role, s.src_path, s.src_line, s.src_file
        FROM cited c JOIN ({sources}) s ON s.row_id = c.row_id
        ORDER BY c.type, c.key, s.src_path, s.src_line, s.src_file, c.role
        """
    ).to_pylist()
    out: dict[tuple[str, str], list[Evidence]] = {}
    for r in rows:
        out.setdefault((r["type"], r["key"]), []).append(
            Evidence(
                role=r["role"],
                path=r["src_path"],
                line=int(r["src_line"]),
                file_sha256=r["src_file"],
            )
        )
    return out


def _findings(
    classifier: Classifier,
    rows: list[dict[str, Any]],
    evidence: dict[tuple[str, str], list[Evidence]],
    as_of: dt.date,
    calendar: BankCalendar,
) -> list[Finding]:
    """Findings from one rule's rows: facts, expected/actual text, due date, evidence."""
    step = playbook()[classifier.type]
    findings: dict[str, Finding] = {}
    for row in rows:
        key = row["key"]
        facts = {k: _fact(v) for k, v in row.items() if v is not None}
        base = as_of
        if step.due_from == "maintenance_end" and row.get("t2") is not None:
            base = max(as_of, row["t2"].date())
        findings[key] = Finding(
            type=classifier.type,
            key=key,
            merchant_id=row["merchant_id"],
            terminal_id=row["terminal_id"],
            batch_no=row["batch_no"],
            trace_no=row["trace_no"],
            rrn=row["rrn"],
            payout_id=row["payout_id"],
            bank_txn_id=row["bank_txn_id"],
            amount_fen=int(row["amount_fen"] or 0),
            currency=row["currency"] or "CNY",
            expected=_show(classifier.expected, row),
            actual=_show(classifier.actual, row),
            due_date=calendar.add_working(base, step.due_working_days),
            facts=facts,
            evidence=tuple(_dedupe(evidence.get((classifier.type.value, key), []))),
        )
    return list(findings.values())


def _dedupe(items: list[Evidence]) -> Iterator[Evidence]:
    seen: set[Evidence] = set()
    for e in items:
        if e not in seen:
            seen.add(e)
            yield e


def _fact(value: object) -> str | int | None:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | str):
        return value
    return None if value is None else str(value)


def _show(column: str | None, row: dict[str, object]) -> str | None:
    """A fact column as the contract's expected/actual text: yuan, ISO date or the text."""
    if column is None:
        return None
    value = row.get(column)
    if value is None:
        return None
    if column.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _expected_counts(engine: Engine) -> dict[str, int]:
    parts = [
        f"SELECT '{t.value}' AS type, COUNT(DISTINCT {by}) AS n FROM {table} "
        f"WHERE disposition = '{value}'"
        for t, (table, value, by) in _DISPOSITION_OF.items()
    ]
    rows = engine.fetch(" UNION ALL ".join(parts)).to_pylist()
    return {r["type"]: int(r["n"]) for r in rows}


def _disposition_summary(engine: Engine) -> dict[str, dict[str, tuple[int, int]]]:
    rows = engine.fetch(
        """
        SELECT 'pos_journal' AS t, d.disposition, COUNT(*) AS n, SUM(ABS(p.amount_fen)) AS fen
        FROM pos_disp d JOIN pos_s p ON p.row_id = d.row_id GROUP BY d.disposition
        UNION ALL
        SELECT 'settlement', d.disposition, COUNT(*), SUM(ABS(s.amount_fen))
        FROM stl_disp d JOIN stl_s s ON s.row_id = d.row_id GROUP BY d.disposition
        UNION ALL
        SELECT 'payouts', d.disposition, COUNT(*), SUM(ABS(p.amount_fen))
        FROM payout_disp d JOIN payout_v p ON p.payout_id = d.payout_id GROUP BY d.disposition
        UNION ALL
        SELECT 'bank_statement', d.disposition, COUNT(*), SUM(ABS(b.amount_fen))
        FROM bank_disp d JOIN bank_statement b ON b.row_id = d.row_id GROUP BY d.disposition
        """
    ).to_pylist()
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for r in rows:
        out.setdefault(r["t"], {})[r["disposition"]] = (int(r["n"]), int(r["fen"] or 0))
    return out


_POS_TYPES = {
    ExceptionType.MISSING_IN_SETTLEMENT,
    ExceptionType.DEBITED_BUT_FAILED,
    ExceptionType.AMOUNT_MISMATCH,
    ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL,
    ExceptionType.REFUND_WITHOUT_SALE,
    ExceptionType.REFUND_EXCEEDS_SALE,
    ExceptionType.UNKNOWN_SETTLEMENT,
    ExceptionType.FEE_MISMATCH,
    ExceptionType.MERCHANT_MISMATCH,
    ExceptionType.LATE_SETTLEMENT,
    ExceptionType.DUPLICATE_SETTLEMENT,
}
_PAYOUT_TYPES = {
    ExceptionType.PAYOUT_TOTAL_MISMATCH,
    ExceptionType.PAYOUT_FAILED_RETRYABLE,
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED,
    ExceptionType.SETTLED_NOT_ARRIVED,
    ExceptionType.ARRIVED_LATE,
    ExceptionType.MISROUTED_PAYOUT,
}

# For each family of keys: the records that now stand for the key, their
# disposition, and the record that settled the matter (file and line).
_WHAT_BECAME_OF = {
    "transaction": """
        SELECT k.key, d.disposition AS state, s.src_path, s.src_line, 'settlement' AS role
        FROM resolve_keys k JOIN pos_s p ON p.tx_key = k.key
        JOIN pos_disp d ON d.row_id = p.row_id
        LEFT JOIN stl_s s ON s.row_id = d.stl_row_id
        UNION ALL
        SELECT k.key, d.disposition, s.src_path, s.src_line, 'settlement'
        FROM resolve_keys k JOIN stl_s s ON s.tx_key = k.key
        JOIN stl_disp d ON d.row_id = s.row_id
    """,
    "payout": """
        SELECT k.key, d.disposition AS state, c.src_path, c.src_line, 'bank' AS role
        FROM resolve_keys k JOIN payout_disp d ON d.payout_id = k.key
        LEFT JOIN credits c ON c.row_id = d.credit_row_id
    """,
    "bank": """
        SELECT k.key, d.disposition AS state, b.src_path, b.src_line, 'bank' AS role
        FROM resolve_keys k JOIN bank_statement b ON b.bank_txn_id = k.key
        JOIN bank_disp d ON d.row_id = b.row_id
    """,
    "terminal": """
        SELECT k.key, t.status AS state, t.src_path, t.src_line, 'terminal' AS role
        FROM resolve_keys k JOIN (
            SELECT v.*, r.src_path, r.src_line,
                   ROW_NUMBER() OVER (PARTITION BY v.terminal_id
                                      ORDER BY v.since DESC, v.row_id DESC) AS pick
            FROM terminal_v v CROSS JOIN params prm
            JOIN terminals r ON r.row_id = v.row_id
            WHERE v.since <= prm.as_of
        ) t ON t.terminal_id = k.key AND t.pick = 1
    """,
}


def _family(t: ExceptionType) -> str:
    if t in _POS_TYPES:
        return "transaction"
    if t in _PAYOUT_TYPES:
        return "payout"
    if t is ExceptionType.UNMATCHED_CREDIT:
        return "bank"
    return "terminal"


def what_became_of(
    engine: Engine, idents: list[tuple[str, str]], *, as_of: dt.date
) -> dict[tuple[str, str], dict[str, object]]:
    """Why exceptions that a run no longer finds are resolved, with the records that show it.

    Call after :func:`reconcile` on the same engine. Each (type, key) gets
    ``state`` (what became of its records, e.g. ``matched``, ``arrived``)
    and ``evidence`` (the settlement row or bank credit, file and line).
    """
    out: dict[tuple[str, str], dict[str, object]] = {}
    by_family: dict[str, list[tuple[str, str]]] = {}
    for t, k in idents:
        by_family.setdefault(_family(ExceptionType(t)), []).append((t, k))
    for family, items in by_family.items():
        engine.load_arrow("resolve_keys", pa.table({"key": [k for _, k in items]}))
        rows = engine.fetch(_WHAT_BECAME_OF[family]).to_pylist()
        found: dict[str, list[dict[str, object]]] = {}
        for r in rows:
            found.setdefault(r["key"], []).append(r)
        for t, k in items:
            records = found.get(k, [])
            states = sorted({str(r["state"]) for r in records})
            evidence = [
                {"role": r["role"], "path": r["src_path"], "line": r["src_line"]}
                for r in records
                if r["src_path"] is not None
            ]
            out[(t, k)] = {
                "state": ",".join(states) if states else "not_found_any_more",
                "evidence": evidence,
                "as_of": as_of.isoformat(),
            }
    return out
