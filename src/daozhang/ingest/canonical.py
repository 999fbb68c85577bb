"""The seven canonical CSV formats of DESIGN.md section 5, declared as data.

Each is recognised by its header alone: every required field of its kind
must be a column (case, surrounding spaces and a BOM do not matter). Columns
that are not fields of the kind are ignored; an optional field with no column
is read as empty. The order of the columns does not matter.

When two kinds could claim a header, the one whose fields cover more of the
header (and whose header is covered more by its fields) is more confident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from daozhang.domain.records import Kind
from daozhang.ingest.base import FileHead, Identification, ReadContext, ReadResult, SourceFile
from daozhang.ingest.csvread import CsvDialect, parse_header, read_csv_table
from daozhang.ingest.encoding import HEAD_BYTES, decode_head
from daozhang.ingest.fields import INPUT_FIELDS
from daozhang.ingest.rejects import RejectCode, make_reject

__all__ = ["CANONICAL_FORMATS", "CanonicalCsv", "header_key"]


def header_key(name: str) -> str:
    """How a header cell is compared: no surrounding spaces or BOM, lower case.

    ``str.strip()`` removes every Unicode space, the full-width U+3000 that
    Chinese spreadsheets pad with included; the BOM is not a space and goes
    separately.
    """
    return name.strip().strip("\ufeff").strip().lower()


@dataclass(frozen=True, slots=True)
class CanonicalCsv:
    """A canonical CSV format: the input fields of ``kind`` as header columns."""

    kind: Kind
    dialect: CsvDialect = field(default_factory=CsvDialect)

    @property
    def name(self) -> str:
        return f"canonical.{self.kind}"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in INPUT_FIELDS[self.kind])

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in INPUT_FIELDS[self.kind] if f.required)

    def identify(self, head: FileHead) -> Identification:
        header = parse_header(head.text, self.dialect) if head.text is not None else None
        if not header:
            return Identification(
                format=self.name, kind=self.kind, confidence=0.0, missing=self.required
            )
        names = [header_key(h) for h in header]
        present = set(names) & set(self.fields)
        missing = tuple(r for r in self.required if r not in present)
        # How alike the header and this format are (Jaccard): a settlement
        # file without its fee columns is still closer to settlement than to
        # a POS journal that shares half its columns.
        closeness = len(present) / len(set(names) | set(self.fields))
        if missing:
            return Identification(
                format=self.name,
                kind=self.kind,
                confidence=0.0,
                missing=missing,
                closeness=closeness,
            )
        of_format = len(present) / len(self.fields)
        of_file = sum(1 for n in names if n in present) / len(names)
        return Identification(
            format=self.name,
            kind=self.kind,
            confidence=0.5 + 0.25 * of_format + 0.25 * of_file,
            closeness=1.0,
        )

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        with source.data_path.open("rb") as f:
            decoded = decode_head(f.read(HEAD_BYTES), utf8_valid=True)
        header = parse_header(decoded[0], self.dialect) if decoded else None
        if not header:
            # identify() saw a header; only a file changed since can get here.
            reject = make_reject(RejectCode.EMPTY_FILE, path=str(source.path))
            return ReadResult(table=ctx.table, rows_read=0, rejects=(reject,))
        names = [header_key(h) for h in header]
        known = set(self.fields)
        seen: set[str] = set()
        for n in names:
            if n in known and n in seen:
                reject = make_reject(RejectCode.DUPLICATE_HEADER, path=str(source.path), value=n)
                return ReadResult(table=ctx.table, rows_read=0, rejects=(reject,))
            seen.add(n)
        positions = [n if n in known else None for n in names]
        return read_csv_table(
            ctx, source, kind=self.kind, positions=positions, dialect=self.dialect
        )


CANONICAL_FORMATS: tuple[CanonicalCsv, ...] = tuple(CanonicalCsv(k) for k in Kind)
