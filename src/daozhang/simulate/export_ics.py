"""A canonical ``maintenance.csv`` written as the calendar an operations team keeps.

The simulator's maintenance windows become VEVENTs in China time (with the
VTIMEZONE a calendar program writes), each naming its bank by code
(``X-BANK-CODE``) and its scope (``X-SCOPE``), so that importing the .ics
gives exactly the windows of the CSV: the demo and the tests deliver the
notices this way.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import icalendar

__all__ = ["maintenance_to_ics"]

_TZ = "Asia/Shanghai"


def _timezone() -> icalendar.Timezone:
    tz = icalendar.Timezone()
    tz.add("TZID", _TZ)
    standard = icalendar.TimezoneStandard()
    standard.add("DTSTART", dt.datetime(1970, 1, 1))
    standard.add("TZOFFSETFROM", dt.timedelta(hours=8))
    standard.add("TZOFFSETTO", dt.timedelta(hours=8))
    standard.add("TZNAME", "CST")
    tz.add_component(standard)
    return tz


def maintenance_to_ics(csv_path: Path, ics_path: Path) -> int:
    """Write the windows of ``csv_path`` (canonical maintenance) to ``ics_path``; their count."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//daozhang//simulated maintenance notices//ZH")
    calendar.add("VERSION", "2.0")
    calendar.add("X-WR-CALNAME", "银行系统维护公告")
    calendar.add_component(_timezone())
    n = 0
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            event = icalendar.Event()
            start = dt.datetime.fromisoformat(row["start"])
            event.add("UID", f"{row['bank_code']}-{start:%Y%m%dT%H%M}@daozhang.simulate")
            event.add("DTSTAMP", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
            event.add("DTSTART", start, parameters={"TZID": _TZ})
            event.add("DTEND", dt.datetime.fromisoformat(row["end"]), parameters={"TZID": _TZ})
            event.add("SUMMARY", row.get("note") or f"{row['bank_code']} maintenance")
            event.add("X-BANK-CODE", row["bank_code"])
            event.add("X-SCOPE", row["scope"])
            calendar.add_component(event)
            n += 1
    ics_path.write_bytes(calendar.to_ical())
    return n
