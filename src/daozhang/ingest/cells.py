"""Rows of cells, whatever the file: CSV text, Excel .xls (BIFF) or .xlsx.

The exports people download (bank statements, WeChat Pay and Alipay bills,
acquirer reports) are tables with title rows above the header and summary
rows below it, as CSV text or as a spreadsheet. The formats that read them
want the same thing from each: the rows in order, every cell as the text a
person sees, and where each row is (its physical line in a text file, its
row number in a sheet), so that a bad row can be named.

Spreadsheets are read with python-calamine (one library for .xls and
.xlsx). Its numeric cells come back as floats; they are turned back into
the shortest text that round-trips (``16.78``, not ``16.780000000000001``;
``6688``, not ``6688.0``). A number the spreadsheet had already stored as a
number has lost any leading zeros; nothing can restore them, which is why
the formats read identifiers as text and the profiles say so.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from python_calamine import CalamineWorkbook

from daozhang.ingest.base import FileHead, SourceFile

__all__ = [
    "CellRow",
    "Spreadsheet",
    "SpreadsheetError",
    "cell_text",
    "head_names",
    "head_rows",
    "parsed_head",
    "source_rows",
    "spreadsheet_kind",
    "text_rows",
]

Spreadsheet = Literal["xls", "xlsx"]

_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # .xls (BIFF in an OLE2 container)
_ZIP = b"PK\x03\x04"
HEAD_ROWS = 60


@dataclass(frozen=True, slots=True)
class CellRow:
    """One row: ``line`` is the physical line (text) or row number (sheet), 1-based."""

    line: int
    cells: tuple[str, ...]

    def get(self, i: int) -> str:
        """Cell ``i``, or ``""`` past the end of a short row."""
        return self.cells[i] if i < len(self.cells) else ""

    def is_blank(self) -> bool:
        return not any(c.strip() for c in self.cells)


def spreadsheet_kind(head: bytes) -> Spreadsheet | None:
    """Whether the bytes start an .xls or .xlsx workbook (by content, not name).

    An .xlsx is a ZIP whose entries include ``xl/``; a plain ZIP of CSV files
    (an Alipay bill download) is not a spreadsheet.
    """
    if head.startswith(_OLE2):
        return "xls"
    if head.startswith(_ZIP) and b"xl/" in head[:65536]:
        return "xlsx"
    return None


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def text_rows(text: Iterable[str], *, delimiter: str = ",") -> Iterator[CellRow]:
    """CSV records with the physical line each starts on.

    Lenient on purpose: bank exports put quotes where they please
    (``"1,234.00"`` in one column, a bare ``"`` in a note in another), and
    a row that then parses oddly is caught by the format's own checks
    (wrong number of cells, a bad amount), with its line.
    """
    reader = csv.reader(text, delimiter=delimiter)
    start = 1
    for cells in reader:
        yield CellRow(start, tuple(cells))
        start = reader.line_num + 1


class SpreadsheetError(Exception):
    """A workbook that cannot be read: damaged, cut short, encrypted.

    calamine reports such files with several exception types, and on some
    truncated .xls files with a Rust panic, which Python raises as a
    ``BaseException`` that an ``except Exception`` would let through; all of
    them become this, so that a user's broken file is a reject, never a crash.
    """


def _sheet_rows(path: Path, limit: int | None = None) -> Iterator[CellRow]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic is a BaseException
        raise SpreadsheetError(f"{type(exc).__name__}: {exc}") from exc
    try:
        if not workbook.sheet_names:
            return
        sheet = workbook.get_sheet_by_index(0)
        first = sheet.start[0] if sheet.start else 0
        rows = sheet.iter_rows()
        i = 0
        while limit is None or i < limit:
            try:
                row = next(rows)
            except StopIteration:
                return
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # see SpreadsheetError
                raise SpreadsheetError(f"{type(exc).__name__}: {exc}") from exc
            yield CellRow(first + i + 1, tuple(cell_text(v) for v in row))
            i += 1
    finally:
        workbook.close()


def head_rows(head: FileHead, *, delimiter: str = ",", limit: int = HEAD_ROWS) -> list[CellRow]:
    """The first rows of a file, for recognising it; ``[]`` when it has none to give.

    A text file's rows come from its decoded head (the last, maybe cut, row
    is left out unless the head is the whole file); a spreadsheet is opened
    and its first sheet's first rows read. Anything unreadable gives ``[]``:
    a format that sees no rows simply does not claim the file.
    """
    sheet = spreadsheet_kind(head.head)
    if sheet is not None:
        try:
            return list(_sheet_rows(head.path, limit))
        except (SpreadsheetError, OSError):
            return []
    if head.text is None:
        return []
    text = head.text
    whole = head.size <= len(head.head)
    if not whole:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else ""
    try:
        rows = list(text_rows(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return []
    return rows[:limit]


@functools.lru_cache(maxsize=16)
def parsed_head(head: FileHead, delimiter: str = ",") -> tuple[CellRow, ...]:
    """:func:`head_rows`, parsed once per file for every format that asks.

    Recognising a file asks every format in turn, and the bills and the
    column profiles all look for their header among the same first rows: a
    workbook is opened and a CSV head split once, not once per format.
    """
    return tuple(head_rows(head, delimiter=delimiter))


@functools.lru_cache(maxsize=64)
def head_names(
    head: FileHead, delimiter: str, normalise: Callable[[str], str]
) -> tuple[frozenset[str], ...]:
    """Each of the head's rows as the set of its cells, ``normalise``-d: header candidates.

    A format that recognises its header by column names compares sets;
    computing them once per file (and way of normalising) rather than once
    per format is most of what recognising a small file costs.

    >>> from pathlib import Path
    >>> text = "Title\\n 日期 ,金额\\n"
    >>> data = text.encode()
    >>> head = FileHead(path=Path("x"), size=len(data), head=data, text=text, encoding="utf-8")
    >>> [sorted(n) for n in head_names(head, ",", str.strip)]
    [['Title'], ['日期', '金额']]
    """
    return tuple(frozenset(map(normalise, row.cells)) for row in parsed_head(head, delimiter))


def source_rows(source: SourceFile, *, delimiter: str = ",") -> Iterator[CellRow]:
    """Every row of a file being read: its first sheet, or its CSV records.

    A text file is read from ``source.data_path`` (UTF-8, transcoded if the
    original was GB18030), so its lines are the original's lines.

    Raises:
        csv.Error: a text file the CSV reader cannot split (a NUL byte, a
            field over the size limit): the caller rejects the file.
        SpreadsheetError: a spreadsheet that cannot be read.
    """
    with source.data_path.open("rb") as probe:
        first = probe.read(4096)
    if spreadsheet_kind(first) is not None:
        yield from _sheet_rows(source.data_path)
        return
    with source.data_path.open(encoding="utf-8-sig", newline="") as f:
        yield from text_rows(f, delimiter=delimiter)
