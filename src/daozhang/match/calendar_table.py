"""The bank calendar as a table, so that date rules stay relational and portable.

Date arithmetic differs between engines (DuckDB counts boundaries crossed,
Spark whole units), so the rules never subtract or add dates themselves:
they join this table. Per calendar day ``d``:

* ``working``, ``known``, ``name``, ``name_zh`` — from :class:`BankCalendar`;
* ``dnum`` — days since 1970-01-01, for distances between dates;
* ``wseq`` — how many working days there are up to and including ``d``
  (from the start of the table), so the n-th working day strictly after
  ``d`` is the working day whose ``wseq`` is ``wseq(d) + n``;
* ``next_day`` and ``next_working`` (the first working day strictly after).

>>> import datetime as dt
>>> from daozhang.domain.calendar import BankCalendar
>>> t = calendar_table(BankCalendar(), dt.date(2026, 9, 30), dt.date(2026, 10, 2))
>>> t.column("next_working")[0].as_py()     # National Day, 10-01 to 10-07, is off
datetime.date(2026, 10, 8)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from daozhang.domain.calendar import BankCalendar

__all__ = ["CALENDAR_SCHEMA", "calendar_table"]

_FIELDS: list[pa.Field[Any]] = [
    pa.field("d", pa.date32()),
    pa.field("working", pa.bool_()),
    pa.field("known", pa.bool_()),
    pa.field("name", pa.string()),
    pa.field("name_zh", pa.string()),
    pa.field("dnum", pa.int32()),
    pa.field("wseq", pa.int32()),
    pa.field("next_day", pa.date32()),
    pa.field("next_working", pa.date32()),
]
CALENDAR_SCHEMA = pa.schema(_FIELDS)

_EPOCH = dt.date(1970, 1, 1)
# Beyond the last requested day the table runs on far enough that the last
# day's next working day (and a few more) exist even across a Spring Festival.
_TAIL_DAYS = 60


def calendar_table(cal: BankCalendar, start: dt.date, end: dt.date) -> pa.Table:
    """Every day from ``start`` to ``end`` (and a tail after it) as a table."""
    days = cal.days(start, end + dt.timedelta(days=_TAIL_DAYS))
    wseq: list[int] = []
    n = 0
    for info in days:
        n += int(info.working)
        wseq.append(n)
    next_working: list[dt.date | None] = [None] * len(days)
    following: dt.date | None = None
    for i in range(len(days) - 1, -1, -1):
        next_working[i] = following
        if days[i].working:
            following = days[i].date
    return pa.table(
        {
            "d": [i.date for i in days],
            "working": [i.working for i in days],
            "known": [i.known for i in days],
            "name": [i.name for i in days],
            "name_zh": [i.name_zh for i in days],
            "dnum": [(i.date - _EPOCH).days for i in days],
            "wseq": wseq,
            "next_day": [i.date + dt.timedelta(days=1) for i in days],
            "next_working": next_working,
        },
        schema=CALENDAR_SCHEMA,
    )
