"""The data the classifiers lean on: failure codes and the playbook, read from TOML.

Kept as data beside the rules (``failure_codes.toml``, ``playbook.toml``) so
that operations can read and amend them; loaded once per process.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa

from daozhang.domain.findings import ExceptionType

__all__ = [
    "FailureCode",
    "PlaybookStep",
    "failure_codes",
    "failure_codes_table",
    "playbook",
]


@dataclass(frozen=True, slots=True)
class FailureCode:
    code: str
    failure_class: str  # retryable | action_required
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class PlaybookStep:
    """What to do about one exception type, in both languages, and how long there is."""

    type: ExceptionType
    due_working_days: int
    due_from: str  # detected | maintenance_end
    contact: dict[str, str]
    send: dict[str, str]
    action: dict[str, str]


def _read(name: str) -> dict[str, object]:
    text = resources.files("daozhang.classify").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def failure_codes() -> dict[str, FailureCode]:
    """Every known payout failure code; a code not here is action required."""
    data = _read("failure_codes.toml")
    out: dict[str, FailureCode] = {}
    for failure_class in ("retryable", "action_required"):
        section = data[failure_class]
        assert isinstance(section, dict)
        for code, texts in section.items():
            out[code] = FailureCode(code, failure_class, texts["zh"], texts["en"])
    return out


def failure_codes_table() -> pa.Table:
    """The failure codes as the ``failure_codes`` table the payout rules join."""
    codes = failure_codes().values()
    return pa.table(
        {
            "code": [c.code for c in codes],
            "failure_class": [c.failure_class for c in codes],
        }
    )


@cache
def playbook() -> dict[ExceptionType, PlaybookStep]:
    """The next action for every exception type (each type must have one)."""
    data = _read("playbook.toml")
    steps: dict[ExceptionType, PlaybookStep] = {}
    for t in ExceptionType:
        entry = data[t.value]
        assert isinstance(entry, dict)
        steps[t] = PlaybookStep(
            type=t,
            due_working_days=int(entry["due_working_days"]),
            due_from=str(entry.get("due_from", "detected")),
            contact=dict(entry["contact"]),
            send=dict(entry["send"]),
            action=dict(entry["action"]),
        )
    return steps
