"""The ingest protocol: one module per input format, all behind :class:`Format`.

A format does two things:

* ``identify(head)``: look at the start of a file (its bytes and, when it is
  text, its decoded text; never its name) and say how sure it is that the file
  is its kind (0 = not mine, 1 = certain) and, when it is unsure, which of its
  required columns or markers are missing. The registry
  (:mod:`daozhang.ingest.registry`) asks every format and takes the most
  confident; a file nobody recognises is reported with the closest candidates.
* ``read(ctx, source)``: read the file into a DuckDB table named
  ``ctx.table`` whose columns are the canonical input fields of its kind
  (:mod:`daozhang.ingest.fields`), all VARCHAR, plus ``src_line`` BIGINT (the
  physical line, or the position the format defines), and return the rows it
  had to set aside as :class:`Reject` values. A problem in the data is never
  raised; only a broken machine is.

Every format builds its table through :func:`raw_query`, which masks the
card number in the same SELECT that reads the data, so no format can keep a
full card number by forgetting to mask it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from daozhang.domain.records import Kind
from daozhang.ingest.cards import card_digits_sql, card_sql
from daozhang.ingest.encoding import LineStats
from daozhang.ingest.fields import CARD_FIELD, field_names
from daozhang.ingest.rejects import Reject

__all__ = [
    "Candidate",
    "FileHead",
    "Format",
    "Identification",
    "ReadContext",
    "ReadResult",
    "SourceFile",
    "ident",
    "raw_columns",
    "raw_query",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileHead:
    """What a format may look at to recognise a file.

    Attributes:
        path: for messages only; formats must not decide by the file name.
        size: the file's size in bytes.
        head: the first bytes (64 KiB or the whole file).
        text: ``head`` decoded, when it is UTF-8 or GB18030 text; else None.
        encoding: the encoding ``text`` was decoded with.
    """

    path: Path
    size: int
    head: bytes
    text: str | None
    encoding: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Identification:
    """A format's answer to "is this file yours?".

    ``confidence`` is 0 when the format cannot read the file; ``missing``
    lists what it would need (column names, markers) so that an unrecognised
    file can be explained ("looks most like settlement: missing fee").
    ``closeness`` (0..1) ranks near misses: how alike the file and the
    format are, for the message about an unrecognised file.

    ``reads_text`` says how the format will read this file: as text (it
    gets a UTF-8 copy when the file is GB18030, same lines) or as the
    original bytes (a spreadsheet, an XML document that declares its own
    encoding, a binary message log).
    """

    format: str
    kind: Kind
    confidence: float
    missing: tuple[str, ...] = ()
    closeness: float = 0.0
    reads_text: bool = True


@dataclass(frozen=True, slots=True)
class Candidate:
    """A format that nearly recognised a file, and what it missed."""

    format: str
    kind: Kind
    missing: tuple[str, ...]

    def describe(self) -> str:
        """``settlement: fee, net_amount``: language-neutral, for a reject's detail."""
        return f"{self.kind}: {', '.join(self.missing)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """A file ready to be read.

    Attributes:
        path: the file as the user named it (for ``src_path`` and rejects).
        data_path: what to read: the UTF-8 text (``path`` itself or a
            transcoded copy), or ``path`` for a format that reads bytes.
        sha256: the original file's SHA-256, hex.
        encoding: the original's encoding (``utf-8``, ``utf-8-sig``,
            ``gb18030``), or ``binary`` for a file read as bytes.
        lines: the original's newline counts (a transcoded copy has the same lines).
        bad_lines: physical lines that did not decode; their rows are rejected.
    """

    path: Path
    data_path: Path
    sha256: str
    encoding: str
    lines: LineStats
    bad_lines: frozenset[int] = frozenset()


@dataclass(kw_only=True)
class ReadContext:
    """Where and how a format reads.

    Attributes:
        con: the DuckDB connection to create the table on (its PAN key is set).
        table: the name of the table to create: a table of the database, not
            a TEMP one, because files are read side by side on cursors of one
            database and the table is used from another cursor. A format's
            own helper tables may be TEMP (they stay with its cursor).
        progress: called with the fraction (0..1) of this file read so far.
        deferred: when given (by the importer), a format whose few records
            were made in Python may append them here as one Arrow table
            instead of creating ``table`` (see :class:`~daozhang.ingest.rows.RowSink`):
            the importer then stores them with the other files of their batch
            in one statement, card numbers masked there. A table costs DuckDB
            milliseconds to create, join and drop whatever its size, which is
            most of what a daily bill of 40 rows costs.
    """

    con: duckdb.DuckDBPyConnection
    table: str
    progress: Callable[[float], None] = field(default=lambda _f: None)
    deferred: list[pa.Table] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadResult:
    """What a format read: ``rows_read`` records, of which ``rejects`` name the bad ones.

    ``rows_read`` counts every record of the file (good and rejected),
    excluding the header and blank lines. ``method`` says how the lines were
    numbered (``duckdb`` or ``python``), for diagnostics and tests.
    """

    table: str
    rows_read: int
    rejects: tuple[Reject, ...]
    method: str = ""


class Format(Protocol):
    """One input format. See the module docstring for the contract."""

    @property
    def name(self) -> str:
        """A stable name, stored with each import (``canonical.pos_journal``)."""

    @property
    def kind(self) -> Kind:
        """The kind of record the format yields."""

    def identify(self, head: FileHead) -> Identification: ...

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult: ...


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: field names like ``end`` are SQL words."""
    return '"' + name.replace('"', '""') + '"'


def raw_columns(kind: Kind) -> tuple[str, ...]:
    """The columns of a format's table for ``kind``, in order.

    The input fields, with the card field followed by ``card_hash`` and
    ``card_state`` (see :mod:`daozhang.ingest.cards`).
    """
    out: list[str] = ["src_line"]
    for name in field_names(kind):
        out.append(name)
        if name == CARD_FIELD:
            out += ["card_hash", "card_state"]
    return tuple(out)


def raw_query(
    kind: Kind,
    from_sql: str,
    sources: Mapping[str, str],
    *,
    passthrough: Sequence[str] = ("src_line",),
) -> str:
    """The SELECT that turns a format's source into its raw table, card masked.

    Args:
        kind: the record kind; its input fields become the columns.
        from_sql: what to select from (a ``read_csv(...)`` call, a registered
            Arrow batch), as SQL.
        sources: for each input field the format has, the SQL expression over
            ``from_sql`` that gives its text; absent fields become NULL.
        passthrough: columns of ``from_sql`` kept as they are (``src_line``...).
    """
    inner: list[str] = [*passthrough]
    for name in field_names(kind):
        expr = sources.get(name)
        q = ident(name)
        inner.append(f"CAST({expr} AS VARCHAR) AS {q}" if expr else f"NULL::VARCHAR AS {q}")
    outer: list[str] = [*passthrough]
    for name in field_names(kind):
        if name == CARD_FIELD and sources.get(name) is None:
            # No card column: nothing to mask (and masking costs the
            # statement several milliseconds to plan, a small file's whole read).
            outer += [f"NULL::VARCHAR AS {name}", "NULL::VARCHAR AS card_hash"]
            outer.append("NULL::VARCHAR AS card_state")
        elif name == CARD_FIELD:
            inner.append(f"{card_digits_sql(sources.get(name) or 'NULL')} AS __card_digits")
            c = card_sql("__card_digits")
            outer += [f"{c.masked} AS {name}", f"{c.hash} AS card_hash", f"{c.state} AS card_state"]
        else:
            outer.append(ident(name))
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {from_sql}) AS __raw"
