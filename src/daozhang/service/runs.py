"""Reconcile a workspace: load its records on an engine, run the pipeline, keep the result.

The CLI and the API call these functions; they hold no business rule. A run
is recorded as ``running`` first and committed on its own, so a run that
fails (a conservation check, a broken rule, the machine) stays visible as
``failed`` with its reason, and the exceptions are only touched when the
whole run succeeded, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import sqlalchemy as sa

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.records import PARTITION_COLUMN, Kind, stored_columns
from daozhang.errors import DaozhangError, ReconcileError
from daozhang.match.engine import DuckDBEngine, Engine
from daozhang.pipeline import DEFAULT_GRACE, RunResult, reconcile, what_became_of
from daozhang.store import findings as repo
from daozhang.store.calendar_file import CALENDAR_FILE, load_overrides
from daozhang.store.totals import replace_totals

__all__ = ["ENGINES", "ReconcileReport", "RecordSource", "open_engine", "reconcile_workspace"]

ENGINES = ("duckdb", "spark")


class RecordSource(Protocol):
    """What a run needs of a workspace: its folder, its database and its committed files."""

    @property
    def home(self) -> Path: ...

    @property
    def db(self) -> sa.Engine: ...

    def record_files(self, kind: Kind) -> list[Path]: ...


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    run_id: int
    result: RunResult
    summary: repo.ApplySummary
    calendar_problems: tuple[str, ...]


def load_calendar(home: Path) -> tuple[BankCalendar, list[str]]:
    """The bank calendar with the workspace's overrides, and any problems reading them."""
    overrides, problems = load_overrides(home / CALENDAR_FILE)
    return BankCalendar(overrides), problems


IN_MEMORY_RECORD_BYTES = 128 << 20
"""Up to this much Parquet, DuckDB keeps a run's tables in memory (see DuckDBEngine)."""

ENGINE_MEMORY = "600MB"
ENGINE_MEMORY_ON_DISK = "1GB"
"""DuckDB's bound when the tables are on disk (ten million transactions and more).

Its joins and groupings over ten million rows then spill less. Measured on
10M transactions (2-core machine, other work running): 600 MB took 335 s,
1 GB 206 s with a peak of 1.6 GB for the whole process, inside the 2 GB the
benchmark allows for 10M.
"""


def _records_bytes(ws: RecordSource) -> int:
    return sum(p.stat().st_size for kind in Kind for p in ws.record_files(kind))


@contextmanager
def open_engine(
    ws: RecordSource, name: str = "duckdb", *, on_disk: bool | None = None
) -> Iterator[Engine]:
    """An engine with every kind of record of ``ws`` loaded under its kind's name.

    ``on_disk``: DuckDB keeps the steps' tables in a file rather than in
    memory; None decides by the size of the workspace's records.
    """
    engine: Engine
    if on_disk is None:
        on_disk = _records_bytes(ws) > IN_MEMORY_RECORD_BYTES
    if name == "duckdb":
        engine = DuckDBEngine(
            temp_directory=ws.home / "tmp" / "duckdb",
            on_disk=on_disk,
            memory_limit=ENGINE_MEMORY_ON_DISK if on_disk else ENGINE_MEMORY,
        )
    elif name == "spark":
        from daozhang.match.spark_engine import SparkEngine  # heavy: only when asked for

        engine = SparkEngine(temp_directory=ws.home / "tmp" / "spark")
    else:
        raise DaozhangError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    try:
        for kind in Kind:
            engine.load_parquet(
                kind.value, ws.record_files(kind), stored_columns(kind), PARTITION_COLUMN[kind]
            )
        yield engine
    finally:
        engine.close()


def reconcile_workspace(
    ws: RecordSource,
    *,
    as_of: dt.date,
    engine_name: str = "duckdb",
    grace: int = DEFAULT_GRACE,
    actor: str | None = None,
) -> ReconcileReport:
    """Run a reconcile as of ``as_of`` and bring the stored exceptions up to date."""
    who = actor or getpass.getuser()
    calendar, problems = load_calendar(ws.home)
    with ws.db.begin() as conn:
        run_id = repo.start_run(conn, as_of=as_of, engine=engine_name, actor=who, now=_now())
    on_disk = _records_bytes(ws) > IN_MEMORY_RECORD_BYTES
    try:
        try:
            result, resolutions = _run(ws, engine_name, as_of, calendar, grace, on_disk=on_disk)
        except Exception as exc:
            if engine_name != "duckdb" or on_disk or not _out_of_memory(exc):
                raise
            # Bigger than it looked: the same run again, its tables on disk.
            result, resolutions = _run(ws, engine_name, as_of, calendar, grace, on_disk=True)
    except DaozhangError as exc:
        _fail(ws, run_id, str(exc))
        raise
    except Exception as exc:
        _fail(ws, run_id, f"{type(exc).__name__}: {exc}")
        raise ReconcileError(f"reconcile run {run_id} failed: {exc}") from exc
    warnings = [*problems, *result.warnings]
    try:
        summary = _store(ws, run_id, result, resolutions, warnings, who)
    except sa.exc.SQLAlchemyError as exc:
        # Nothing of the findings was stored (one transaction), and the run must
        # not stay "running" for ever. Two runs storing at once can end here on
        # PostgreSQL: the unique (type, key) refuses the second one's copy of an
        # exception both opened. Running again then updates it.
        message = f"storing the findings failed: {type(exc).__name__}: {exc}"
        _fail(ws, run_id, message)
        raise ReconcileError(f"reconcile run {run_id} failed: {message}") from exc
    return ReconcileReport(run_id, result, summary, tuple(problems))


def _store(
    ws: RecordSource,
    run_id: int,
    result: RunResult,
    resolutions: dict[tuple[str, str], dict[str, object]],
    warnings: list[str],
    who: str,
) -> repo.ApplySummary:
    """Bring the exceptions in line with the run and mark it succeeded, in one transaction."""
    with ws.db.begin() as conn:
        summary = repo.apply_findings(
            conn,
            run_id=run_id,
            findings=result.findings,
            resolutions=resolutions,
            actor=who,
            now=_now(),
        )
        replace_totals(conn, run_id=run_id, totals=result.totals)
        repo.finish_run(
            conn,
            run_id=run_id,
            status="succeeded",
            now=_now(),
            stats={
                "dispositions": result.dispositions,
                "timings": result.timings,
                "exceptions": {
                    "found": len(result.findings),
                    "opened": summary.opened,
                    "changed": summary.changed,
                    "reopened": summary.reopened,
                    "resolved": summary.resolved,
                },
            },
            warnings=warnings,
        )
    return summary


def _run(
    ws: RecordSource,
    engine_name: str,
    as_of: dt.date,
    calendar: BankCalendar,
    grace: int,
    *,
    on_disk: bool,
) -> tuple[RunResult, dict[tuple[str, str], dict[str, object]]]:
    with open_engine(ws, engine_name, on_disk=on_disk) as engine:
        result = reconcile(engine, as_of=as_of, calendar=calendar, grace=grace)
        found = {repo.identity(f) for f in result.findings}
        with ws.db.connect() as conn:
            stale = [k for k in repo.open_keys(conn) if k not in found]
        resolutions = what_became_of(engine, stale, as_of=as_of) if stale else {}
    return result, resolutions


def _out_of_memory(exc: BaseException) -> bool:
    """True when DuckDB ran out of memory somewhere in the chain of causes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, duckdb.OutOfMemoryException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _fail(ws: RecordSource, run_id: int, message: str) -> None:
    with ws.db.begin() as conn:
        repo.finish_run(conn, run_id=run_id, status="failed", now=_now(), message=message)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
