"""Exceptions as users and tools see them: the JSON contract, in Chinese or English.

The CLI's ``exceptions --format json`` and the API return exactly
:func:`exception_record` (DESIGN.md section 6): one object per exception with
at least ``type, merchant_id, terminal_id, batch_no, trace_no, rrn,
payout_id, bank_txn_id, amount, expected, actual, explanation, next_action,
due_date``; fields that do not apply are null.
"""

from __future__ import annotations

from typing import Any

from daozhang.domain.money import format_yuan
from daozhang.report.explain import Lang, explain, next_action, title
from daozhang.store.findings import StoredException

__all__ = ["CONTRACT_FIELDS", "exception_record", "resolution_text"]

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
