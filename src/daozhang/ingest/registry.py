"""The formats daozhang reads, and how a file is matched to one.

Every format is listed in :data:`FORMATS`; detection asks each one how sure
it is and needs no other change when a format is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daozhang.ingest.base import Candidate, FileHead, Format, Identification
from daozhang.ingest.bills import BILL_FORMATS
from daozhang.ingest.camt import CAMT
from daozhang.ingest.canonical import CANONICAL_FORMATS
from daozhang.ingest.ics import ICS_FORMAT
from daozhang.ingest.iso8583_log import ISO8583_FORMATS
from daozhang.ingest.mapped import BUILTIN_PROFILE_FORMATS
from daozhang.ingest.swift_mt940 import MT940

__all__ = ["FORMATS", "Detected", "Unrecognised", "detect", "format_named"]

FORMATS: tuple[Format, ...] = (
    *CANONICAL_FORMATS,
    *BILL_FORMATS,
    ICS_FORMAT,
    *ISO8583_FORMATS,
    *BUILTIN_PROFILE_FORMATS,
    CAMT,
    MT940,
)

_CLOSEST = 3


@dataclass(frozen=True, slots=True)
class Detected:
    format: Format
    identification: Identification


@dataclass(frozen=True, slots=True)
class Unrecognised:
    """No format claimed the file; ``candidates`` are the nearest misses, closest first."""

    candidates: tuple[Candidate, ...]

    def describe(self) -> str:
        """``settlement: fee, net_amount; payouts: ...`` (or ``none``): a reject's detail."""
        return "; ".join(c.describe() for c in self.candidates) or "none"


def detect(head: FileHead, formats: Sequence[Format] = FORMATS) -> Detected | Unrecognised:
    """The most confident format for ``head``; ties go to the earlier format in the list."""
    answers = [(f, f.identify(head)) for f in formats]
    best: tuple[Format, Identification] | None = None
    for fmt, ident in answers:
        if ident.confidence > 0 and (best is None or ident.confidence > best[1].confidence):
            best = (fmt, ident)
    if best is not None:
        return Detected(best[0], best[1])
    # One format asked for by name (``import --profile``) is always the
    # candidate to explain, however unlike the file it is.
    near = sorted(
        (a for a in answers if a[1].closeness > 0 or len(answers) == 1),
        key=lambda a: (-a[1].closeness, len(a[1].missing)),
    )
    return Unrecognised(tuple(Candidate(i.format, i.kind, i.missing) for _, i in near[:_CLOSEST]))


def format_named(name: str, formats: Sequence[Format] = FORMATS) -> Format:
    """The format called ``name`` (as stored with an import)."""
    for f in formats:
        if f.name == name:
            return f
    raise KeyError(name)
