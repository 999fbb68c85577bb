"""The mainland China bank calendar: which days money moves.

T1 settlement, the arrival window of a payout and every "is it late yet"
question depend on whether a day is a bank working day. In China that is not
"Monday to Friday": public holidays are moved around each year by a State
Council notice, and weekend days become make-up working days (调休). Money
moves on those Saturdays and Sundays, and stays put on the weekdays in lieu.

The facts come from ``chinesecalendar`` (import ``chinese_calendar``), which
knows 2004-2026 in version 1.11 and raises ``NotImplementedError`` for any
other year. A workspace may add or correct days with overrides (the
``calendar.csv`` file, read by :mod:`daozhang.store.calendar_file`); an
override always wins. A day that neither knows is *unknown*: the rules then
assume Monday to Friday, but every :class:`DayInfo` says so (``known`` is
False, ``source`` is ``"assumed"``) and :meth:`BankCalendar.unknown_between`
names such days, so that a run can warn instead of guessing silently.

The calendar is asked about tens of thousands of dates in one run, so a year
is worked out once, the first time any of its days is asked for, and kept.

>>> cal = BankCalendar()
>>> cal.next_working(dt.date(2026, 9, 30))          # National Day week is off
datetime.date(2026, 10, 8)
>>> cal.day(dt.date(2026, 10, 10)).working          # a 调休 Saturday
True
>>> cal.day(dt.date(2027, 3, 1)).source              # chinesecalendar 1.11 stops at 2026
'assumed'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import chinese_calendar

__all__ = [
    "SOURCE_ASSUMED",
    "SOURCE_OVERRIDE",
    "SOURCE_PACKAGE",
    "BankCalendar",
    "DayInfo",
    "Override",
]

SOURCE_PACKAGE = "package"
SOURCE_OVERRIDE = "override"
SOURCE_ASSUMED = "assumed"

_ONE_DAY = dt.timedelta(days=1)

# What an override that gives no note is called in explanations: the reader
# must still see that the day is off because the workspace says so.
_OVERRIDE_HOLIDAY_EN = "Holiday (calendar.csv)"
_OVERRIDE_HOLIDAY_ZH = "假日（calendar.csv）"


@dataclass(frozen=True, slots=True, kw_only=True)
class DayInfo:
    """What the calendar knows about one date, and where it knows it from.

    ``name`` (English, as chinesecalendar spells it) and ``name_zh`` are set
    only on days off for a holiday, so that a list of names is a list of
    holidays; a plain weekend has none. ``makeup_for`` names the holiday a
    调休 working weekend day makes up for, for explanations such as "paid on
    Sunday 2018-04-08, a make-up working day for Tomb-sweeping Day".
    """

    date: dt.date
    working: bool
    known: bool
    name: str | None
    source: str  # SOURCE_PACKAGE | SOURCE_OVERRIDE | SOURCE_ASSUMED
    name_zh: str | None = None
    makeup_for: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """A workspace's own statement about one date; it beats the package."""

    date: dt.date
    working: bool
    note: str | None


def _require_date(d: object) -> dt.date:
    """Refuse anything but a plain date.

    A ``datetime`` is a ``date`` to Python, but its calendar day depends on
    its time zone; taking ``.date()`` here would silently pick one. The
    caller decides the local date.
    """
    if type(d) is dt.date:
        return d
    if isinstance(d, dt.datetime):
        raise TypeError("the bank calendar takes dates, not datetimes: convert to the local date")
    if isinstance(d, dt.date):  # a date subclass that is not a datetime
        return dt.date(d.year, d.month, d.day)
    raise TypeError(f"the bank calendar takes dates, got {type(d).__name__}")


def _package_knows(year: int) -> bool:
    """Whether chinesecalendar has the State Council's plan for ``year``.

    Asked of the package itself (it raises ``NotImplementedError`` for years
    it has no data for), so a newer release is picked up without a change here.
    """
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _package_years() -> range:
    """The years chinesecalendar covers: the span of its holiday table, as the package checks it."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def _chinese_name(english: str) -> str | None:
    try:
        chinese: str = chinese_calendar.Holiday(english).chinese
    except ValueError:
        return None
    return chinese


def _package_day(d: dt.date) -> DayInfo:
    """One day of a year chinesecalendar knows.

    Read from the package's public tables (``holidays``, ``workdays``) with
    exactly the package's own rule (``is_workday``): a listed make-up day
    works, a listed holiday does not, any other day works Monday to Friday.
    The package's functions check the year range on every call, which costs
    ~30 us a date; the tables cost nothing. Tests compare every day of the
    covered years with ``is_workday`` and ``get_holiday_detail``.
    """
    makeup = chinese_calendar.workdays.get(d)
    if makeup is not None:
        return DayInfo(
            date=d, working=True, known=True, name=None, source=SOURCE_PACKAGE, makeup_for=makeup
        )
    holiday = chinese_calendar.holidays.get(d)
    if holiday is not None:
        return DayInfo(
            date=d,
            working=False,
            known=True,
            name=holiday,
            name_zh=_chinese_name(holiday),
            source=SOURCE_PACKAGE,
        )
    return DayInfo(date=d, working=d.weekday() < 5, known=True, name=None, source=SOURCE_PACKAGE)


def _assumed_day(d: dt.date) -> DayInfo:
    return DayInfo(date=d, working=d.weekday() < 5, known=False, name=None, source=SOURCE_ASSUMED)


def _override_day(o: Override) -> DayInfo:
    if o.working:
        # A working Saturday or Sunday is a make-up day; its note says for what.
        makeup = o.note if o.date.weekday() >= 5 else None
        return DayInfo(
            date=o.date,
            working=True,
            known=True,
            name=None,
            source=SOURCE_OVERRIDE,
            makeup_for=makeup,
        )
    return DayInfo(
        date=o.date,
        working=False,
        known=True,
        name=o.note or _OVERRIDE_HOLIDAY_EN,
        name_zh=o.note or _OVERRIDE_HOLIDAY_ZH,
        source=SOURCE_OVERRIDE,
    )


class BankCalendar:
    """Bank working days of mainland China, with a workspace's overrides on top.

    Overrides are taken in order; for a date given twice the later one wins
    (the file reader reports such conflicts). The calendar is immutable from
    the outside; its only state is the cache of years already worked out.
    """

    __slots__ = ("_days", "_overrides", "_years_loaded")

    def __init__(self, overrides: Iterable[Override] = ()) -> None:
        by_date: dict[dt.date, Override] = {}
        for o in overrides:
            by_date[_require_date(o.date)] = o
        self._overrides = by_date
        self._days: dict[dt.date, DayInfo] = {}
        self._years_loaded: set[int] = set()

    @property
    def overrides(self) -> tuple[Override, ...]:
        """The overrides in effect (one per date), in date order."""
        return tuple(self._overrides[d] for d in sorted(self._overrides))

    def _load_year(self, year: int) -> None:
        """Work out every day of ``year`` at once: one package check a year, not one a day."""
        known = _package_knows(year)
        make = _package_day if known else _assumed_day
        d = dt.date(year, 1, 1)
        days = self._days
        overrides = self._overrides
        while d.year == year:
            o = overrides.get(d)
            days[d] = _override_day(o) if o is not None else make(d)
            if d.month == 12 and d.day == 31:
                break  # date.max is 9999-12-31: stepping past it would overflow
            d += _ONE_DAY
        self._years_loaded.add(year)

    def day(self, d: dt.date) -> DayInfo:
        """Everything the calendar knows about ``d``."""
        info = self._days.get(d)
        if info is None:
            d = _require_date(d)
            if d.year not in self._years_loaded:
                self._load_year(d.year)
            info = self._days[d]
        return info

    def is_working(self, d: dt.date) -> bool:
        """Whether banks move money on ``d`` (assumed Monday to Friday when unknown)."""
        return self.day(d).working

    def next_working(self, d: dt.date) -> dt.date:
        """The first working day strictly after ``d`` (T1 settles on it)."""
        return self.add_working(d, 1)

    def prev_working(self, d: dt.date) -> dt.date:
        """The last working day strictly before ``d``."""
        return self.add_working(d, -1)

    def add_working(self, d: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after ``d``; ``n == 0`` gives ``d`` itself.

        A negative ``n`` counts back: the |n|-th working day strictly before
        ``d``. Raises ``OverflowError`` when the answer would lie outside the
        years Python's dates can hold.
        """
        d = _require_date(d)
        if n == 0:
            return d
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        day = self.day
        while True:
            d += step
            if day(d).working:
                remaining -= 1
                if remaining == 0:
                    return d

    def days(self, start: dt.date, end: dt.date) -> list[DayInfo]:
        """Every day from ``start`` to ``end`` inclusive, in order (empty when end < start)."""
        start = _require_date(start)
        end = _require_date(end)
        if end < start:
            return []
        for year in range(start.year, end.year + 1):
            if year not in self._years_loaded:
                self._load_year(year)
        cached = self._days
        first = start.toordinal()
        return [cached[dt.date.fromordinal(o)] for o in range(first, end.toordinal() + 1)]

    def unknown_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The days from ``start`` to ``end`` inclusive whose working status is only assumed.

        The rules call this for the span of a run and warn with the result,
        so that an assumption about an unannounced holiday is always visible.
        """
        return [i.date for i in self.days(start, end) if not i.known]

    def known_years(self) -> range:
        """The years chinesecalendar covers; other years are known only on overridden dates."""
        return _package_years()
