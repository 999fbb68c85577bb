"""Settlement cycles and arrival windows: when money is due, and by when it must arrive.

These are the date rules of RULES.md ("Per record", "Arrival window") for one
record at a time: the set-based rules compute the same over whole tables with
the calendar table, and the tests hold both to these definitions. They are
used where one answer is needed (explanations, scheduling a payout retry,
the API) and as the reference the bulk rules are checked against.

>>> from daozhang.domain.calendar import BankCalendar
>>> cal = BankCalendar()
>>> bdate = business_date(dt.date(2026, 9, 30), 23 * 3600 + 30 * 60, 23 * 3600)
>>> bdate                                   # 23:30 is after a 23:00 cutoff
datetime.date(2026, 10, 1)
>>> expected_settle_date(bdate, Cycle.T1, cal)
datetime.date(2026, 10, 8)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.records import Cycle, MaintenanceWindow

__all__ = [
    "DEFAULT_CUTOFF_SECS",
    "DEFAULT_GRACE",
    "MAINTENANCE_SCOPES",
    "ArrivalWindow",
    "arrival_window",
    "business_date",
    "expected_settle_date",
]

SECONDS_PER_DAY = 86_400
# No contract: the business day is the local date (cutoff 23:59:59).
DEFAULT_CUTOFF_SECS = SECONDS_PER_DAY - 1
# Bank working days a payout may take to arrive after its settle date.
DEFAULT_GRACE = 1
# Maintenance scopes that stop payouts; a window for, say, online banking
# only does not delay an interbank credit.
MAINTENANCE_SCOPES = frozenset({"payouts", "all"})

_ONE_DAY = dt.timedelta(days=1)


def business_date(local_date: dt.date, secs: int, cutoff_secs: int) -> dt.date:
    """The business date of a transaction at ``secs`` after local midnight on ``local_date``.

    Acquirers close the day at the merchant's cutoff: a sale strictly after
    it belongs to the next calendar day's business (23:00:00 is not after a
    23:00 cutoff, 23:00:01 is). ``cutoff_secs`` may be 86 400 ("24:00"),
    which no time of day is after.
    """
    if not 0 <= secs < SECONDS_PER_DAY:
        raise ValueError(f"time of day must be 0..86399 seconds, got {secs}")
    if not 0 <= cutoff_secs <= SECONDS_PER_DAY:
        raise ValueError(f"cutoff must be 0..86400 seconds, got {cutoff_secs}")
    return local_date + _ONE_DAY if secs > cutoff_secs else local_date


def expected_settle_date(bdate: dt.date, cycle: Cycle, cal: BankCalendar) -> dt.date:
    """The day the acquirer should settle a transaction of business date ``bdate``.

    T1 waits for the next bank working day (a Friday sale before National
    Day waits the whole week); D1 and D0 count calendar days and ignore
    holidays; T0 pays the same day only if banks work that day.
    """
    match cycle:
        case Cycle.T1:
            return cal.next_working(bdate)
        case Cycle.D1:
            return bdate + _ONE_DAY
        case Cycle.D0:
            return bdate
        case Cycle.T0:
            return bdate if cal.is_working(bdate) else cal.next_working(bdate)
    raise ValueError(f"unknown settlement cycle {cycle!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrivalWindow:
    """The days on which a payout's credit may arrive without being late.

    The credit is expected from ``start`` (the settle date) to the end of
    ``nominal_end``; a maintenance window of the receiving bank moves the
    deadline to ``extended_end``. ``maintenance`` holds the windows that
    moved it (those whose own deadline lies after the nominal end), earliest
    first, so an explanation can name them; it is empty when nothing did.
    """

    start: dt.date
    nominal_end: dt.date
    extended_end: dt.date
    maintenance: tuple[MaintenanceWindow, ...]

    def contains(self, d: dt.date) -> bool:
        """Whether a credit on ``d`` is within the (extended) window."""
        return self.start <= d <= self.extended_end


def arrival_window(
    settle: dt.date,
    *,
    bank_code: str | None,
    windows: Iterable[MaintenanceWindow],
    cal: BankCalendar,
    grace: int = DEFAULT_GRACE,
) -> ArrivalWindow:
    """The arrival window of a payout settled on ``settle`` into a ``bank_code`` account.

    Nominal end: ``grace`` bank working days after the settle date. Every
    maintenance window of that bank (scope payouts or all) whose dates
    overlap ``[settle, nominal end]`` pushes the end to ``grace`` working
    days after the window's last date, because the bank can only take the
    credit once it is back. Windows are compared by exact ``bank_code``, as
    the set-based rules do; a payout with no bank code gets no extension.
    Only windows overlapping the nominal window count (no chaining through a
    second window that overlaps only the extension), as RULES.md defines it.
    """
    if grace < 0:
        raise ValueError(f"arrival grace must be 0 or more working days, got {grace}")
    nominal_end = cal.add_working(settle, grace)
    extended_end = nominal_end
    extending: list[tuple[dt.date, MaintenanceWindow]] = []
    if bank_code is not None:
        for w in windows:
            if w.bank_code != bank_code or w.scope not in MAINTENANCE_SCOPES:
                continue
            if w.starts_at.date() > nominal_end or w.ends_at.date() < settle:
                continue
            until = cal.add_working(w.ends_at.date(), grace)
            if until > nominal_end:
                extending.append((until, w))
                extended_end = max(extended_end, until)
    extending.sort(key=lambda pair: _window_order(pair[1]))
    return ArrivalWindow(
        start=settle,
        nominal_end=nominal_end,
        extended_end=extended_end,
        maintenance=tuple(w for _, w in extending),
    )


def _window_order(w: MaintenanceWindow) -> tuple[dt.datetime, dt.datetime, str, str, str, int]:
    """Earliest first, then a total order, so the same notices always give the same window."""
    return (w.starts_at, w.ends_at, w.scope, w.note or "", w.source.path, w.source.line)
