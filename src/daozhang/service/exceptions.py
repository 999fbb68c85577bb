"""Exceptions as users and tools see them: the JSON contract, in Chinese or English.

The CLI's ``exceptions --format json`` and the API return exactly
:func:`exception_record` (DESIGN.md section 6): one object per exception with
at least ``type, merchant_id, terminal_id, batch_no, trace_no, rrn,
payout_id, bank_txn_id, amount, expected, actual, explanation, next_action,
due_date``; fields that do not apply are null.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from daozhang.domain.money import format_yuan
from daozhang.report.explain import Lang, explain, next_action, title
from daozhang.service.cache import cached
from daozhang.service.users import MerchantScope, StateDatabase
from daozhang.store import exception_query as query_repo
from daozhang.store import findings as findings_repo
from daozhang.store.exception_query import ExceptionPage, ExceptionQuery
from daozhang.store.findings import StoredException

__all__ = [
    "CONTRACT_FIELDS",
    "EXPORT_LIMIT",
    "exception_detail_record",
    "exception_events",
    "exception_record",
    "export_exceptions",
    "find_exceptions",
    "history_records",
    "resolution_text",
    "scoped_exception",
]

CONTRACT_FIELDS = (
    "type",
    "merchant_id",
    "terminal_id",
    "batch_no",
    "trace_no",
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

_STATE_WORDS = {
    "matched": ("已在结算文件中找到并核对一致", "found in a settlement file and matched"),
    "arrived": ("资金已到账", "the money arrived"),
    "arrived_late": ("资金已到账（晚于预期）", "the money arrived, late"),
    "in_transit": ("仍在到账期内", "still inside its arrival window"),
    "not_yet_due": ("尚未到结算期限", "not due yet"),
    "active": ("终端已恢复正常", "the terminal is active again"),
    "closed": ("终端已注销", "the terminal is closed"),
    "not_found_any_more": ("本次对账不再发现该问题", "this run no longer finds the problem"),
}


def resolution_text(resolution: dict[str, Any] | None, lang: Lang) -> str | None:
    """Why an exception is resolved, with the records that show it, in words."""
    if not resolution:
        return None
    states = str(resolution.get("state", "not_found_any_more")).split(",")
    words = [_STATE_WORDS.get(s, (s, s))[0 if lang == "zh" else 1] for s in states]
    where = [f"{e['path']}:{e['line']}" for e in resolution.get("evidence", [])]
    if lang == "zh":
        text = "；".join(words)
        return text + (f"（依据：{'，'.join(where)}）" if where else "")
    text = "; ".join(words)
    return text + (f" (see {', '.join(where)})" if where else "")


def exception_record(e: StoredException, lang: Lang) -> dict[str, Any]:
    """One exception as the JSON contract and the tables show it."""
    return {
        "type": e.type.value,
        "merchant_id": e.merchant_id,
        "terminal_id": e.terminal_id,
        "batch_no": e.batch_no,
        "trace_no": e.trace_no,
        "rrn": e.rrn,
        "payout_id": e.payout_id,
        "bank_txn_id": e.bank_txn_id,
        "amount": format_yuan(e.amount_fen),
        "expected": e.expected,
        "actual": e.actual,
        "explanation": explain(e.type, e.facts, lang),
        "next_action": next_action(e.type, lang),
        "due_date": e.due_date.isoformat() if e.due_date else None,
        # beyond the contract's minimum
        "id": e.id,
        "key": e.key,
        "title": title(e.type, lang),
        "status": e.status,
        "currency": e.currency,
        "evidence": [
            {"role": v.role, "path": v.path, "line": v.line, "file_sha256": v.file_sha256}
            for v in e.evidence
        ],
        "opened_at": e.opened_at.isoformat(),
        "resolved_at": e.resolved_at.isoformat() if e.resolved_at else None,
        "resolution": resolution_text(e.resolution, lang),
    }


# -- scoped queries: the web pages, the API and the exports ---------------------------

EXPORT_LIMIT = 100_000
"""Rows in one export at most: more than a spreadsheet user can read, few enough to build."""


def find_exceptions(
    ws: StateDatabase,
    scope: MerchantScope,
    query: ExceptionQuery,
    *,
    page: int = 1,
    per_page: int = 50,
) -> ExceptionPage:
    """One page of the exceptions ``query`` asks for, among those ``scope`` may see.

    Kept until the next run or exception change (service/cache.py).
    """

    def compute() -> ExceptionPage:
        with ws.db.connect() as conn:
            return query_repo.page_of_exceptions(
                conn, query, merchant_ids=scope.merchant_id_list(), page=page, per_page=per_page
            )

    return cached(ws, ("exceptions", scope, query, page, per_page), compute)


def export_exceptions(
    ws: StateDatabase, scope: MerchantScope, query: ExceptionQuery, *, limit: int = EXPORT_LIMIT
) -> Iterator[StoredException]:
    """All of them (up to ``limit``), in the query's order, for a CSV or Excel file."""
    with ws.db.connect() as conn:
        yield from query_repo.iter_exceptions(
            conn, query, merchant_ids=scope.merchant_id_list(), limit=limit
        )


def scoped_exception(
    ws: StateDatabase, scope: MerchantScope, exception_id: int
) -> StoredException | None:
    """The exception if ``scope`` may see it; None alike when it does not exist or may not."""
    with ws.db.connect() as conn:
        return query_repo.get_scoped(conn, exception_id, merchant_ids=scope.merchant_id_list())


def exception_events(ws: StateDatabase, exception_id: int) -> list[dict[str, object]]:
    """The history of an exception (check the scope first: see :func:`scoped_exception`)."""
    with ws.db.connect() as conn:
        return findings_repo.list_events(conn, exception_id)


def history_records(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """Events as JSON: ``at`` in ISO 8601, ``detail`` an object (stored as JSON text)."""
    out = []
    for ev in events:
        at, detail = ev["at"], ev["detail"]
        out.append(
            {
                "at": at.isoformat() if isinstance(at, dt.datetime) else at,
                "event": ev["event"],
                "actor": ev["actor"],
                "run_id": ev["run_id"],
                "detail": json.loads(detail) if isinstance(detail, str) and detail else detail,
            }
        )
    return out


def exception_detail_record(
    e: StoredException, events: list[dict[str, object]], lang: Lang
) -> dict[str, Any]:
    """One exception with its history: :func:`exception_record` plus ``history``."""
    rec = exception_record(e, lang)
    rec["history"] = history_records(events)
    return rec
