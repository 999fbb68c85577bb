"""Reconcile runs and exceptions in the state database: the only home for their SQL.

An exception is identified by ``(type, key)``; a run never deletes one.
Applying a run's findings:

* a finding not seen before is **opened** (its due date fixed then);
* an open exception found again is updated (``changed`` when its money,
  expected or actual moved), keeping its first run and due date;
* a resolved exception found again is **reopened**;
* an open exception the run no longer finds is **resolved**, with the
  evidence of what became of it (the settlement row now found, the credit
  that arrived), never deleted.

Every change appends a row to ``exception_events`` with the run, the actor
and the time. Times go in as UTC and come back as aware UTC datetimes on
every database (:func:`daozhang.store.db.as_utc`). Identifiers come from the
user's files and may be longer than their columns or hold NUL bytes, which
PostgreSQL refuses: they are stored as :func:`daozhang.store.db.fit_text`
makes them, the same on every database, and an exception is found again by
its stored :func:`identity`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from daozhang.domain.findings import Evidence, ExceptionType, Finding
from daozhang.store.db import as_utc, as_utc_or_none, storable
from daozhang.store.tables import exception_events, exceptions, reconcile_runs

__all__ = [
    "ApplySummary",
    "StoredException",
    "apply_findings",
    "finish_run",
    "get_exception",
    "identity",
    "list_events",
    "list_exceptions",
    "start_run",
    "stored_exception",
]


@dataclass(frozen=True, slots=True)
class ApplySummary:
    opened: int
    changed: int
    reopened: int
    resolved: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredException:
    """An exception as stored: the finding, its state and its history markers."""

    id: int
    type: ExceptionType
    key: str
    status: str
    merchant_id: str | None
    terminal_id: str | None
    batch_no: str | None
    trace_no: str | None
    rrn: str | None
    payout_id: str | None
    bank_txn_id: str | None
    amount_fen: int
    currency: str
    expected: str | None
    actual: str | None
    facts: dict[str, str | int | None]
    evidence: tuple[Evidence, ...]
    due_date: dt.date | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: dict[str, object] | None
    first_run_id: int
    last_run_id: int
    ref_date: dt.date | None = None  # the day it is about: transaction date, or settle date


def start_run(
    conn: Connection, *, as_of: dt.date, engine: str, actor: str, now: dt.datetime
) -> int:
    result = conn.execute(
        insert(reconcile_runs).values(
            storable(
                reconcile_runs,
                {
                    "as_of": as_of,
                    "engine": engine,
                    "status": "running",
                    "actor": actor,
                    "started_at": as_utc(now),
                },
            )
        )
    )
    run_id = result.inserted_primary_key
    assert run_id is not None
    return int(run_id[0])


def finish_run(
    conn: Connection,
    *,
    run_id: int,
    status: str,
    now: dt.datetime,
    stats: Mapping[str, object] | None = None,
    warnings: Sequence[str] = (),
    message: str | None = None,
) -> None:
    conn.execute(
        update(reconcile_runs)
        .where(reconcile_runs.c.id == run_id)
        .values(
            storable(
                reconcile_runs,
                {
                    "status": status,
                    "finished_at": as_utc(now),
                    "stats": json.dumps(stats or {}, ensure_ascii=False, default=str),
                    "warnings": json.dumps(list(warnings), ensure_ascii=False),
                    "message": message,
                },
            )
        )
    )


def _evidence_json(evidence: Iterable[Evidence]) -> str:
    return json.dumps(
        [
            {"role": e.role, "path": e.path, "line": e.line, "file_sha256": e.file_sha256}
            for e in evidence
        ],
        ensure_ascii=False,
    )


def identity(f: Finding) -> tuple[str, str]:
    """``(type, key)`` of the stored exception for ``f``: its key as the database keeps it."""
    return f.type.value, str(storable(exceptions, {"key": f.key})["key"])


def _values(f: Finding) -> dict[str, object]:
    """The columns of ``f`` that a run may change, as stored."""
    return storable(
        exceptions,
        {
            "merchant_id": f.merchant_id,
            "terminal_id": f.terminal_id,
            "batch_no": f.batch_no,
            "trace_no": f.trace_no,
            "rrn": f.rrn,
            "payout_id": f.payout_id,
            "bank_txn_id": f.bank_txn_id,
            "amount_fen": f.amount_fen,
            "currency": f.currency,
            "expected": f.expected,
            "actual": f.actual,
            "facts": json.dumps(f.facts, ensure_ascii=False, sort_keys=True),
            "evidence": _evidence_json(f.evidence),
            "ref_date": _ref_date(f),
        },
    )


def _ref_date(f: Finding) -> dt.date | None:
    value = f.facts.get("ref_date")
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def _event(
    conn: Connection,
    *,
    exception_id: int,
    run_id: int,
    event: str,
    actor: str,
    now: dt.datetime,
    detail: Mapping[str, object] | None = None,
) -> None:
    conn.execute(
        insert(exception_events).values(
            storable(
                exception_events,
                {
                    "exception_id": exception_id,
                    "run_id": run_id,
                    "at": as_utc(now),
                    "actor": actor,
                    "event": event,
                    "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
                },
            )
        )
    )


def apply_findings(
    conn: Connection,
    *,
    run_id: int,
    findings: Sequence[Finding],
    resolutions: Mapping[tuple[str, str], Mapping[str, object]],
    actor: str,
    now: dt.datetime,
) -> ApplySummary:
    """Bring the stored exceptions in line with what one run found (see the module doc).

    ``resolutions`` gives, for each open exception the run did not find
    again, what became of its records (from the same run).
    """
    now = as_utc(now)
    existing = {
        (row.type, row.key): row
        for row in conn.execute(
            select(
                exceptions.c.id,
                exceptions.c.type,
                exceptions.c.key,
                exceptions.c.status,
                exceptions.c.amount_fen,
                exceptions.c.expected,
                exceptions.c.actual,
            ).order_by(exceptions.c.id)
        )
    }
    opened = changed = reopened = unchanged = resolved = 0
    seen: set[tuple[str, str]] = set()
    new_rows: list[dict[str, object]] = []
    for f in findings:
        ident = identity(f)
        seen.add(ident)
        values = _values(f)
        row = existing.get(ident)
        if row is None:
            new_rows.append(
                {
                    **values,
                    "type": ident[0],
                    "key": ident[1],
                    "status": "open",
                    "due_date": f.due_date,
                    "first_run_id": run_id,
                    "last_run_id": run_id,
                    "opened_at": now,
                }
            )
            continue
        stored = (values["amount_fen"], values["expected"], values["actual"])
        moved = (row.amount_fen, row.expected, row.actual) != stored
        was_resolved = row.status == "resolved"
        conn.execute(
            update(exceptions)
            .where(exceptions.c.id == row.id)
            .values(
                **values,
                status="open",
                last_run_id=run_id,
                resolved_at=None,
                resolved_run_id=None,
                resolution=None,
            )
        )
        if was_resolved:
            reopened += 1
            _event(conn, exception_id=row.id, run_id=run_id, event="reopened", actor=actor, now=now)
        elif moved:
            changed += 1
            _event(
                conn,
                exception_id=row.id,
                run_id=run_id,
                event="changed",
                actor=actor,
                now=now,
                detail={
                    "amount_fen": [row.amount_fen, f.amount_fen],
                    "expected": [row.expected, f.expected],
                    "actual": [row.actual, f.actual],
                },
            )
        else:
            unchanged += 1
    if new_rows:
        conn.execute(insert(exceptions), new_rows)
        ids = conn.execute(
            select(exceptions.c.id)
            .where(exceptions.c.first_run_id == run_id)
            .order_by(exceptions.c.id)
        ).scalars()
        conn.execute(
            insert(exception_events),
            [
                storable(
                    exception_events,
                    {
                        "exception_id": i,
                        "run_id": run_id,
                        "at": now,
                        "actor": actor,
                        "event": "opened",
                        "detail": "{}",
                    },
                )
                for i in ids
            ],
        )
        opened = len(new_rows)
    for ident, row in existing.items():
        if row.status != "open" or ident in seen:
            continue
        resolution = dict(resolutions.get(ident, {"state": "not_found_any_more"}))
        conn.execute(
            update(exceptions)
            .where(exceptions.c.id == row.id)
            .values(
                status="resolved",
                resolved_at=now,
                resolved_run_id=run_id,
                resolution=json.dumps(resolution, ensure_ascii=False, default=str),
            )
        )
        _event(
            conn,
            exception_id=row.id,
            run_id=run_id,
            event="resolved",
            actor=actor,
            now=now,
            detail=resolution,
        )
        resolved += 1
    return ApplySummary(opened, changed, reopened, resolved, unchanged)


def open_keys(conn: Connection) -> list[tuple[str, str]]:
    """(type, key) of every open exception: what a run must explain if it no longer finds them."""
    rows = conn.execute(
        select(exceptions.c.type, exceptions.c.key).where(exceptions.c.status == "open")
    )
    return [(r.type, r.key) for r in rows]


def stored_exception(row: object) -> StoredException:
    """A row of ``exceptions`` (any select of the whole table) as a StoredException."""
    return _stored(row)


def _stored(row: object) -> StoredException:
    m = row._mapping  # type: ignore[attr-defined]
    return StoredException(
        id=m["id"],
        type=ExceptionType(m["type"]),
        key=m["key"],
        status=m["status"],
        merchant_id=m["merchant_id"],
        terminal_id=m["terminal_id"],
        batch_no=m["batch_no"],
        trace_no=m["trace_no"],
        rrn=m["rrn"],
        payout_id=m["payout_id"],
        bank_txn_id=m["bank_txn_id"],
        amount_fen=m["amount_fen"],
        currency=m["currency"],
        expected=m["expected"],
        actual=m["actual"],
        facts=json.loads(m["facts"]),
        evidence=tuple(Evidence(**e) for e in json.loads(m["evidence"])),
        due_date=m["due_date"],
        opened_at=as_utc(m["opened_at"]),
        resolved_at=as_utc_or_none(m["resolved_at"]),
        resolution=json.loads(m["resolution"]) if m["resolution"] else None,
        first_run_id=m["first_run_id"],
        last_run_id=m["last_run_id"],
        ref_date=m["ref_date"],
    )


def list_exceptions(
    conn: Connection,
    *,
    types: Sequence[str] = (),
    include_resolved: bool = False,
    merchant_ids: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[StoredException]:
    """Exceptions, most money at stake first; ``merchant_ids`` restricts to an organisation's."""
    q = select(exceptions)
    if types:
        q = q.where(exceptions.c.type.in_(list(types)))
    if not include_resolved:
        q = q.where(exceptions.c.status == "open")
    if merchant_ids is not None:
        q = q.where(exceptions.c.merchant_id.in_(list(merchant_ids)))
    q = q.order_by(
        exceptions.c.status, exceptions.c.amount_fen.desc(), exceptions.c.type, exceptions.c.key
    )
    if limit is not None:
        q = q.limit(limit).offset(offset)
    return [_stored(r) for r in conn.execute(q)]


def count_exceptions(conn: Connection, *, include_resolved: bool = False) -> int:
    q = select(func.count()).select_from(exceptions)
    if not include_resolved:
        q = q.where(exceptions.c.status == "open")
    return int(conn.execute(q).scalar_one())


def get_exception(conn: Connection, exception_id: int) -> StoredException | None:
    row = conn.execute(select(exceptions).where(exceptions.c.id == exception_id)).first()
    return _stored(row) if row is not None else None


def list_events(conn: Connection, exception_id: int) -> list[dict[str, object]]:
    """The history of an exception, oldest first (``at`` an aware UTC datetime)."""
    rows = conn.execute(
        select(exception_events)
        .where(exception_events.c.exception_id == exception_id)
        .order_by(exception_events.c.id)
    )
    return [{**r._mapping, "at": as_utc(r.at)} for r in rows]
