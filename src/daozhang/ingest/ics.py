"""Bank maintenance notices as an iCalendar file (.ics): one window per event.

Banks and payment providers publish their maintenance nights as notices,
and operations teams keep them in a shared calendar; exporting that
calendar gives an .ics file. Each VEVENT is a maintenance window:

* **start, end**: DTSTART, and DTEND or DTSTART + DURATION. Times with a
  zone are converted to China time; times without one (floating, or a TZID
  the file does not define) are read as China time, because that is what
  a notice from a Chinese bank means. An all-day event runs from 00:00 of
  its first day to 00:00 after its last.
* **bank_code**: an ``X-BANK-CODE`` property when the calendar has one;
  otherwise the bank named in the event's SUMMARY, LOCATION or CATEGORIES
  or the calendar's name (``中国工商银行系统维护`` -> ``ICBC``), longest
  name first so that ``中国银行`` is not found inside a longer name. An
  event that names no bank is set aside with that reason: a window that
  blocks no known bank would only mislead.
* **scope**: ``X-SCOPE`` (``payouts`` or ``all``) when present; ``all``
  when the text says every service stops (``全部业务``, ``所有业务``,
  ``all services``); otherwise ``payouts``, the part that matters here.
* **note**: the SUMMARY (and DESCRIPTION), for people.

A repeating event (RRULE, with EXDATE) becomes one window per occurrence,
expanded by dateutil for at most :data:`MAX_OCCURRENCES` occurrences and
:data:`HORIZON` after its start, so that an open-ended rule ends.

``src_line`` is the line of the event's ``BEGIN:VEVENT``.

Worked example::

    BEGIN:VCALENDAR
    BEGIN:VEVENT
    DTSTART;TZID=Asia/Shanghai:20260922T060000
    DTEND;TZID=Asia/Shanghai:20260923T200000
    SUMMARY:中国银行核心系统升级，暂停入账
    END:VEVENT
    END:VCALENDAR

gives ``BOC, 2026-09-22T06:00:00, 2026-09-23T20:00:00, payouts,
中国银行核心系统升级，暂停入账``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from daozhang.domain.records import Kind
from daozhang.ingest.base import FileHead, Identification, ReadContext, ReadResult, SourceFile
from daozhang.ingest.rejects import Reject, RejectCode, make_reject
from daozhang.ingest.rows import RowSink

__all__ = ["BANK_NAMES", "HORIZON", "ICS_FORMAT", "MAX_OCCURRENCES", "IcsMaintenance"]

CHINA = ZoneInfo("Asia/Shanghai")
MAX_OCCURRENCES = 366
HORIZON = dt.timedelta(days=2 * 366)
_MAX_BYTES = 64 << 20  # a calendar of maintenance notices is small; refuse a monster

# Bank names as notices write them -> the bank codes payouts and contracts use.
BANK_NAMES: dict[str, str] = {
    "中国工商银行": "ICBC",
    "工商银行": "ICBC",
    "工行": "ICBC",
    "中国建设银行": "CCB",
    "建设银行": "CCB",
    "建行": "CCB",
    "中国农业银行": "ABC",
    "农业银行": "ABC",
    "农行": "ABC",
    "中国银行": "BOC",
    "中行": "BOC",
    "招商银行": "CMB",
    "招行": "CMB",
    "交通银行": "BOCOM",
    "交行": "BOCOM",
    "中国邮政储蓄银行": "PSBC",
    "邮储银行": "PSBC",
    "上海浦东发展银行": "SPDB",
    "浦发银行": "SPDB",
    "中信银行": "CITIC",
    "广发银行": "CGB",
    "中国民生银行": "CMBC",
    "民生银行": "CMBC",
    "兴业银行": "CIB",
    "平安银行": "PAB",
    "中国光大银行": "CEB",
    "光大银行": "CEB",
    "华夏银行": "HXB",
}
_CODES = frozenset(BANK_NAMES.values())
_BANK_PATTERN = re.compile(
    "|".join(re.escape(n) for n in sorted(BANK_NAMES, key=len, reverse=True))
    + r"|\b(?:"
    + "|".join(sorted(_CODES, key=len, reverse=True))
    + r")\b"
)
_ALL_SERVICES = re.compile(r"全部业务|所有业务|全部服务|所有服务|暂停所有|all services", re.I)
_BEGIN_EVENT = re.compile(r"^BEGIN:VEVENT\s*$", re.M | re.I)


def bank_in(text: str) -> str | None:
    """The bank code of the first bank named in ``text``, or None."""
    m = _BANK_PATTERN.search(text)
    if m is None:
        return None
    return BANK_NAMES.get(m.group(0), m.group(0))


def _local(value: dt.date | dt.datetime) -> dt.datetime:
    """China local time, naive (as the canonical ``start``/``end`` are)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(CHINA).replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def _text(event: icalendar.cal.Component, name: str) -> str:
    value = event.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if hasattr(value, "cats"):  # CATEGORIES
        return " ".join(str(c) for c in value.cats)
    return str(value)


@dataclass(frozen=True, slots=True)
class _Window:
    start: dt.datetime
    end: dt.datetime


class _EventError(Exception):
    """One event cannot be read; ``field`` and ``value`` say where."""

    def __init__(
        self,
        code: RejectCode,
        field: str | None,
        value: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(field)
        self.code, self.field, self.value, self.detail = code, field, value, detail


def _windows(event: icalendar.cal.Component) -> Iterator[_Window]:
    errors = {name.upper(): why for name, why in getattr(event, "errors", [])}
    if "DTSTART" in errors or event.get("DTSTART") is None:
        raise _EventError(RejectCode.BAD_TIMESTAMP, "start", str(event.get("DTSTART", "")))
    raw_start = event.decoded("DTSTART")
    if not isinstance(raw_start, dt.date):
        raise _EventError(RejectCode.BAD_TIMESTAMP, "start", str(raw_start))
    if event.get("DTEND") is not None and "DTEND" not in errors:
        raw_end = event.decoded("DTEND")
        if not isinstance(raw_end, dt.date):
            raise _EventError(RejectCode.BAD_TIMESTAMP, "end", str(raw_end))
        length = _local(raw_end) - _local(raw_start)
    elif event.get("DURATION") is not None and "DURATION" not in errors:
        duration = event.decoded("DURATION")
        if not isinstance(duration, dt.timedelta):
            raise _EventError(RejectCode.BAD_TIMESTAMP, "end", str(duration))
        length = duration
    elif not isinstance(raw_start, dt.datetime):
        length = dt.timedelta(days=1)  # an all-day event without an end is that day
    else:
        raise _EventError(RejectCode.REQUIRED, "end")
    if length <= dt.timedelta(0):
        end_text = (_local(raw_start) + length).isoformat()
        raise _EventError(RejectCode.END_BEFORE_START, "end", end_text)
    start = _local(raw_start)
    rule = event.get("RRULE")
    if rule is None:
        yield _Window(start, start + length)
        return
    try:
        rrule = rrulestr(rule.to_ical().decode(), dtstart=start, ignoretz=True)
    except (ValueError, TypeError) as exc:
        raise _EventError(RejectCode.UNREADABLE_ROW, None, detail=f"RRULE: {exc}") from exc
    excluded = _excluded(event)
    limit = start + HORIZON
    for n, occurrence in enumerate(rrule):
        if n >= MAX_OCCURRENCES or occurrence > limit:
            break
        if occurrence not in excluded:
            yield _Window(occurrence, occurrence + length)


def _excluded(event: icalendar.cal.Component) -> set[dt.datetime]:
    out: set[dt.datetime] = set()
    value = event.get("EXDATE")
    for item in value if isinstance(value, list) else [value] if value is not None else []:
        for d in getattr(item, "dts", []):
            if isinstance(d.dt, dt.date):
                out.add(_local(d.dt))
    return out


@dataclass(frozen=True, slots=True)
class IcsMaintenance:
    """Maintenance windows from an iCalendar file; see the module docstring."""

    @property
    def name(self) -> str:
        return "ics.maintenance"

    @property
    def kind(self) -> Kind:
        return Kind.MAINTENANCE

    def identify(self, head: FileHead) -> Identification:
        text = (head.text or "").lstrip("\ufeff \t\r\n")
        if text[:15].upper() == "BEGIN:VCALENDAR":
            return Identification(format=self.name, kind=self.kind, confidence=0.95, closeness=1.0)
        near = "BEGIN:VEVENT" in text.upper()
        return Identification(
            format=self.name,
            kind=self.kind,
            confidence=0.0,
            missing=("BEGIN:VCALENDAR",),
            closeness=0.5 if near else 0.0,
        )

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        path = str(source.path)
        sink = RowSink(ctx, self.kind)
        if source.data_path.stat().st_size > _MAX_BYTES:
            sink.close()
            why = make_reject(RejectCode.UNREADABLE_FILE, path=path, detail="over 64 MiB")
            return ReadResult(table=ctx.table, rows_read=0, rejects=(why,), method="python")
        text = source.data_path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except (ValueError, IndexError, KeyError) as exc:
            sink.close()
            why = make_reject(RejectCode.UNREADABLE_FILE, path=path, detail=f"iCalendar: {exc}")
            return ReadResult(table=ctx.table, rows_read=0, rejects=(why,), method="python")
        begins = [text.count("\n", 0, m.start()) + 1 for m in _BEGIN_EVENT.finditer(text)]
        events = list(calendar.walk("VEVENT"))
        lines = begins if len(begins) == len(events) else list(range(1, len(events) + 1))
        calendar_name = str(calendar.get("X-WR-CALNAME", ""))
        rejects: list[Reject] = []
        for line, event in zip(lines, events, strict=True):
            summary = " ".join(
                t for t in (_text(event, "SUMMARY"), _text(event, "DESCRIPTION")) if t
            )
            raw = summary or None
            bank = _text(event, "X-BANK-CODE").strip() or bank_in(
                " ".join(
                    (
                        summary,
                        _text(event, "LOCATION"),
                        _text(event, "CATEGORIES"),
                        calendar_name,
                    )
                )
            )
            if not bank:
                rejects.append(
                    make_reject(
                        RejectCode.REQUIRED, path=path, line=line, field="bank_code", raw=raw
                    )
                )
                continue
            scope = _text(event, "X-SCOPE").strip().lower() or (
                "all" if _ALL_SERVICES.search(summary) else "payouts"
            )
            try:
                windows = list(_windows(event))
            except _EventError as err:
                rejects.append(
                    make_reject(
                        err.code,
                        path=path,
                        line=line,
                        field=err.field,
                        value=err.value,
                        detail=err.detail,
                        raw=raw,
                    )
                )
                continue
            for w in windows:
                sink.add(
                    line,
                    {
                        "bank_code": bank,
                        "start": w.start.isoformat(),
                        "end": w.end.isoformat(),
                        "scope": scope,
                        "note": summary or None,
                    },
                )
        rows = sink.close()
        return ReadResult(
            table=ctx.table, rows_read=rows + len(rejects), rejects=tuple(rejects), method="python"
        )


ICS_FORMAT = IcsMaintenance()
