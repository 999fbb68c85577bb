"""The truth file: every exception the simulation planted, keyed exactly as RULES.md keys them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from daozhang.domain.findings import ExceptionType

__all__ = ["TruthEntry", "tx_key", "write_truth"]


def tx_key(
    merchant_id: str,
    rrn: str | None,
    terminal_id: str | None = None,
    batch_no: str | None = None,
    trace_no: str | None = None,
) -> str:
    """The transaction key of RULES.md: ``M|rrn``, or ``M|T|batch|trace`` without an RRN."""
    if rrn is not None:
        return f"{merchant_id}|{rrn}"
    return f"{merchant_id}|{terminal_id or ''}|{batch_no or ''}|{trace_no or ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TruthEntry:
    """One expected exception and the one line that says how it was planted."""

    type: ExceptionType
    key: str
    amount_fen: int
    merchant_id: str | None = None
    rrn: str | None = None
    payout_id: str | None = None
    terminal_id: str | None = None
    description: str

    def record(self) -> dict[str, str | int | None]:
        """The truth.jsonl object (the description goes to simulation.json)."""
        return {
            "type": self.type.value,
            "key": self.key,
            "amount_fen": self.amount_fen,
            "merchant_id": self.merchant_id,
            "rrn": self.rrn,
            "payout_id": self.payout_id,
            "terminal_id": self.terminal_id,
        }

    def sort_key(self) -> tuple[int, str]:
        return (list(ExceptionType).index(self.type), self.key)


def write_truth(path: Path, entries: list[TruthEntry]) -> None:
    """One JSON object per line, in taxonomy order then key, so that equal runs give equal bytes."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for e in sorted(entries, key=TruthEntry.sort_key):
            f.write(json.dumps(e.record(), ensure_ascii=False, sort_keys=False) + "\n")
