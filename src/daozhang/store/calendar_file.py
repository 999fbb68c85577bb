"""The workspace's calendar overrides: ``calendar.csv``.

chinesecalendar learns a year's holidays only after the State Council
announces them (usually in November) and a new release is installed. Until
then, or when the package is wrong, operations staff write the days here::

    date,kind,note
    2027-01-01,holiday,元旦
    2027-02-20,上班,春节调休

``kind`` is ``working`` or ``holiday`` (also 上班/班 and 休/休息, any case).
The file is UTF-8 (with or without BOM) or GB18030, as Excel on a Chinese
Windows saves it. A bad line is reported with file, line and field and
skipped; the good lines still count. A missing file means no overrides.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from daozhang.domain.calendar import Override

__all__ = [
    "CALENDAR_FILE",
    "CalendarFileError",
    "add_override",
    "load_overrides",
    "write_overrides",
]

CALENDAR_FILE = "calendar.csv"


class CalendarFileError(Exception):
    """The override file cannot be changed safely; the message names the file and why."""


_WORKING = frozenset({"working", "上班", "班"})
_HOLIDAY = frozenset({"holiday", "休", "休息"})

# Column names as written by us, and as a Chinese user may label them.
_HEADER_ALIASES = {
    "date": "date",
    "日期": "date",
    "kind": "kind",
    "类型": "kind",
    "note": "note",
    "备注": "note",
    "说明": "note",
}

# YYYY-MM-DD as the canonical formats write it; also 2027/1/1 and 2027年1月1日,
# which spreadsheets and notices produce and which cannot be misread.
_DATE = re.compile(r"^(\d{4})(?:-|/|年)(\d{1,2})(?:-|/|月)(\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _decode(raw: bytes) -> str:
    """Strict UTF-8 first, then GB18030 (a superset of GBK).

    Detection libraries misread short mostly-ASCII files (see
    DEPENDENCIES.md), and this file is short and mostly ASCII.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _parse_date(text: str) -> dt.date | None:
    m = _DATE.match(text) or _COMPACT_DATE.match(text)
    if m is None:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_kind(text: str) -> bool | None:
    """True for a working day, False for a holiday, None when it is neither."""
    k = text.strip().lower()
    if k in _WORKING:
        return True
    if k in _HOLIDAY:
        return False
    return None


def _kind_text(working: bool) -> str:
    return "working" if working else "holiday"


def _read_text(path: Path) -> tuple[str | None, list[str]]:
    """The file's text, or None with the reason; a missing file is no text and no problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, []
    except OSError as e:
        return None, [f"{path}: cannot read the calendar overrides: {e.strerror or e}"]
    try:
        text = _decode(raw)
    except UnicodeDecodeError:
        return None, [f"{path}: neither UTF-8 nor GB18030 text; no overrides read"]
    return text, []


def load_overrides(path: str | os.PathLike[str]) -> tuple[list[Override], list[str]]:
    """The overrides in ``path`` and the problems found, one readable line each.

    A date given twice with different kinds is reported and the later line
    wins, as the later import of a contract does; repeating a date with the
    same kind is harmless and not reported. Lines that are blank or start
    with ``#`` are skipped. Never raises for the file's content.
    """
    p = Path(path)
    text, problems = _read_text(p)
    if text is None:
        return [], problems
    reader = csv.reader(io.StringIO(text, newline=""))
    header: dict[str, int] | None = None
    by_date: dict[dt.date, tuple[Override, int]] = {}
    end = 0  # the physical line the previous record ended on
    try:
        for row in reader:
            line, end = end + 1, reader.line_num  # a quoted note may span lines
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if header is None:
                header = _read_header(cells)
                missing = [c for c in ("date", "kind") if c not in header]
                if missing:
                    problems.append(
                        f"{p}:{line}: header: missing column {', '.join(missing)} "
                        f"(expected date,kind,note); no overrides read"
                    )
                    return [], problems
                continue
            parsed = _read_row(cells, header, f"{p}:{line}")
            if isinstance(parsed, str):
                problems.append(parsed)
                continue
            earlier = by_date.get(parsed.date)
            if earlier is not None and earlier[0].working != parsed.working:
                problems.append(
                    f"{p}:{line}: date: {parsed.date.isoformat()} is "
                    f"{_kind_text(earlier[0].working)} on line {earlier[1]} and "
                    f"{_kind_text(parsed.working)} here; line {line} wins"
                )
            by_date[parsed.date] = (parsed, line)
    except csv.Error as e:
        problems.append(f"{p}:{reader.line_num}: cannot read the CSV from here on: {e}")
    overrides = [o for o, _ in sorted(by_date.values(), key=lambda pair: pair[0].date)]
    return overrides, problems


def _read_header(cells: list[str]) -> dict[str, int]:
    header: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = _HEADER_ALIASES.get(cell.lower())
        if name is not None and name not in header:
            header[name] = i
    return header


def _read_row(cells: list[str], header: dict[str, int], where: str) -> Override | str:
    """One data line as an override, or the problem with it."""

    def cell(name: str) -> str:
        i = header.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    date_text = cell("date")
    if not date_text:
        return f"{where}: date: empty"
    d = _parse_date(date_text)
    if d is None:
        return f"{where}: date: {date_text!r} is not a date (YYYY-MM-DD)"
    kind_text = cell("kind")
    working = _parse_kind(kind_text)
    if working is None:
        shown = repr(kind_text) if kind_text else "empty"
        return f"{where}: kind: {shown} is not working/holiday (上班/休)"
    note = cell("note") or None
    return Override(date=d, working=working, note=note)


def _render(overrides: Iterable[Override]) -> str:
    by_date: dict[dt.date, Override] = {}
    for o in overrides:
        by_date[o.date] = o  # the later one wins, as in BankCalendar
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", "kind", "note"])
    for d in sorted(by_date):
        o = by_date[d]
        w.writerow([d.isoformat(), _kind_text(o.working), o.note or ""])
    return buf.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash never leaves half a calendar behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file private (0600); keep the old file's mode instead.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        # With a BOM, so that Excel on a Chinese Windows opens the notes as UTF-8.
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            f.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_overrides(path: str | os.PathLike[str], overrides: Iterable[Override]) -> None:
    """Write ``overrides`` as the whole file: UTF-8 with BOM, one line a date, in date order.

    This replaces whatever the file held, including lines that did not
    parse; to add one date and keep everything else, use :func:`add_override`.
    """
    _write_atomically(Path(path), _render(overrides))


def add_override(path: str | os.PathLike[str], override: Override) -> list[str]:
    """Set one date in the file, keeping every other line as it was.

    Records for the same date are replaced by the new line; lines that do not
    parse stay untouched (they are someone's unfinished edit, not ours to
    delete). The new line follows the file's own column order. The file is
    written back as UTF-8 with BOM. Returns the problems of the file as
    :func:`load_overrides` reports them after the change; raises
    :class:`CalendarFileError`, leaving the file alone, when it cannot be
    edited safely (unreadable, not text, no header, broken CSV).
    """
    p = Path(path)
    text, problems = _read_text(p)
    if problems:
        raise CalendarFileError(problems[0])
    if text is None or not text.strip():
        _write_atomically(p, _render([override]))
        return []
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines))
    kept: list[str] = []
    header: dict[str, int] | None = None
    done = 0
    try:
        for row in reader:
            record = lines[done : reader.line_num]
            done = reader.line_num
            cells = [c.strip() for c in row]
            if header is None and any(cells) and not cells[0].startswith("#"):
                header = _read_header(cells)
            elif header is not None and _row_date(cells, header) == override.date:
                continue
            kept.extend(record)
    except csv.Error as e:
        raise CalendarFileError(f"{p}:{reader.line_num}: not valid CSV ({e}); not changed") from e
    if header is None or "date" not in header or "kind" not in header:
        raise CalendarFileError(f"{p}: no date,kind,note header; not changed")
    kept.extend(lines[done:])
    if kept and not kept[-1].endswith(("\n", "\r")):
        kept[-1] += "\n"
    kept.append(_row_for_header(override, header) + "\n")
    _write_atomically(p, "".join(kept))
    return load_overrides(p)[1]


def _row_date(cells: list[str], header: dict[str, int]) -> dt.date | None:
    i = header.get("date")
    return _parse_date(cells[i]) if i is not None and i < len(cells) else None


def _row_for_header(override: Override, header: dict[str, int]) -> str:
    """The new line laid out in the file's own column order."""
    width = max(header.values()) + 1
    cells = [""] * width
    cells[header["date"]] = override.date.isoformat()
    cells[header["kind"]] = _kind_text(override.working)
    if "note" in header:
        cells[header["note"]] = override.note or ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()
