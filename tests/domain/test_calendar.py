"""The bank calendar: chinesecalendar's facts, the workspace's overrides, and honest unknowns."""

from __future__ import annotations

import datetime as dt
import doctest

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

import daozhang.domain.calendar
from daozhang.domain.calendar import (
    SOURCE_ASSUMED,
    SOURCE_OVERRIDE,
    SOURCE_PACKAGE,
    BankCalendar,
    DayInfo,
    Override,
)

D = dt.date
CAL = BankCalendar()  # shared: its cache is the thing under test for speed, not state

FIRST_KNOWN = D(2004, 1, 1)
LAST_KNOWN = D(2026, 12, 31)
known_dates = st.dates(min_value=FIRST_KNOWN, max_value=LAST_KNOWN)
# Reaches into the years the package does not know, on both sides.
any_dates = st.dates(min_value=D(2001, 1, 1), max_value=D(2031, 12, 31))
overrides = st.builds(
    Override,
    date=any_dates,
    working=st.booleans(),
    note=st.one_of(st.none(), st.text(min_size=1, max_size=8)),
)


def first_unknown_year() -> int:
    """The first year chinesecalendar does not cover (2027 with 1.11)."""
    return max(CAL.known_years()) + 1


# --- worked examples -------------------------------------------------------


def test_qingming_2018_t1_sale_pays_on_the_make_up_sunday() -> None:
    # POS-DOMAIN.md 2.1: trade 04-04, off 04-05..04-07, T+1 pays Sunday 04-08 (调休).
    for off in (D(2018, 4, 5), D(2018, 4, 6), D(2018, 4, 7)):
        info = CAL.day(off)
        assert not info.working
        assert info.name == "Tomb-sweeping Day"
        assert info.name_zh == "清明"
    sunday = CAL.day(D(2018, 4, 8))
    assert sunday.date.weekday() == 6
    assert sunday.working and sunday.known and sunday.source == SOURCE_PACKAGE
    assert sunday.name is None  # a working day is not named as a holiday
    assert sunday.makeup_for == "Tomb-sweeping Day"
    assert CAL.next_working(D(2018, 4, 4)) == D(2018, 4, 8)


def test_national_day_2026_week_off_then_a_working_saturday() -> None:
    # State Council notice for 2026: 10-01..10-07 off, Saturday 10-10 works.
    # (The brief said a T1 sale of 09-30 settles 10-09; the notice and
    # chinesecalendar 1.11 make Thursday 10-08 a working day, so it is 10-08.)
    for i in range(7):
        info = CAL.day(D(2026, 10, 1) + dt.timedelta(days=i))
        assert not info.working
        assert (info.name, info.name_zh) == ("National Day", "国庆节")
    assert CAL.next_working(D(2026, 9, 30)) == D(2026, 10, 8)
    assert CAL.is_working(D(2026, 10, 9))
    saturday = CAL.day(D(2026, 10, 10))
    assert saturday.date.weekday() == 5 and saturday.working
    assert saturday.makeup_for == "National Day"
    assert CAL.next_working(D(2026, 10, 9)) == D(2026, 10, 10)
    assert CAL.next_working(D(2026, 10, 10)) == D(2026, 10, 12)


def test_2026_make_up_working_days_match_the_notice() -> None:
    makeup = {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9)}
    makeup |= {D(2026, 9, 20), D(2026, 10, 10)}
    weekend_working = {
        i.date
        for i in CAL.days(D(2026, 1, 1), D(2026, 12, 31))
        if i.working and i.date.weekday() >= 5
    }
    assert weekend_working == makeup


def test_plain_weekend_is_off_without_a_holiday_name() -> None:
    info = CAL.day(D(2026, 3, 7))
    assert info == DayInfo(
        date=D(2026, 3, 7), working=False, known=True, name=None, source=SOURCE_PACKAGE
    )


def test_spring_festival_2026_working_days_either_side() -> None:
    assert CAL.next_working(D(2026, 2, 13)) == D(2026, 2, 14)  # 调休 Saturday
    assert CAL.next_working(D(2026, 2, 14)) == D(2026, 2, 24)
    assert CAL.add_working(D(2026, 2, 13), 3) == D(2026, 2, 25)
    assert CAL.prev_working(D(2026, 2, 24)) == D(2026, 2, 14)


def test_2027_settle_date_without_override_is_reported_unknown() -> None:
    assert 2027 not in CAL.known_years(), (
        "chinesecalendar now knows 2027: move this example to the first unknown year"
    )
    info = CAL.day(D(2027, 2, 8))  # a Monday, probably in Spring Festival 2027
    assert info == DayInfo(
        date=D(2027, 2, 8), working=True, known=False, name=None, source=SOURCE_ASSUMED
    )
    assert CAL.unknown_between(D(2026, 12, 30), D(2027, 1, 2)) == [D(2027, 1, 1), D(2027, 1, 2)]


def test_override_adding_new_years_day_2027_is_honoured() -> None:
    cal = BankCalendar([Override(date=D(2027, 1, 1), working=False, note="元旦")])
    info = cal.day(D(2027, 1, 1))
    assert info == DayInfo(
        date=D(2027, 1, 1),
        working=False,
        known=True,
        name="元旦",
        name_zh="元旦",
        source=SOURCE_OVERRIDE,
    )
    # A T1 sale on Thursday 2026-12-31 now waits for Monday.
    assert cal.next_working(D(2026, 12, 31)) == D(2027, 1, 4)
    assert cal.unknown_between(D(2026, 12, 31), D(2027, 1, 4)) == [
        D(2027, 1, 2),
        D(2027, 1, 3),
        D(2027, 1, 4),
    ]


def test_override_beats_the_package_in_a_known_year() -> None:
    cal = BankCalendar(
        [
            Override(date=D(2026, 10, 8), working=False, note=None),
            Override(date=D(2026, 10, 11), working=True, note="bank open"),
        ]
    )
    off = cal.day(D(2026, 10, 8))
    assert (off.working, off.source, off.name) == (False, SOURCE_OVERRIDE, "Holiday (calendar.csv)")
    sunday = cal.day(D(2026, 10, 11))
    assert (sunday.working, sunday.makeup_for) == (True, "bank open")
    assert cal.next_working(D(2026, 9, 30)) == D(2026, 10, 9)


def test_later_override_for_the_same_date_wins() -> None:
    first = Override(date=D(2027, 5, 3), working=False, note="劳动节")
    second = Override(date=D(2027, 5, 3), working=True, note=None)
    cal = BankCalendar([first, second])
    assert cal.is_working(D(2027, 5, 3))
    assert cal.overrides == (second,)


def test_a_datetime_is_refused_rather_than_truncated() -> None:
    # Which calendar day a datetime falls on depends on its zone: the caller decides.
    with pytest.raises(TypeError):
        CAL.day(dt.datetime(2026, 10, 1, 23, 30))
    with pytest.raises(TypeError):
        BankCalendar([Override(date=dt.datetime(2027, 1, 1), working=False, note=None)])


def test_days_over_a_range_and_an_empty_range() -> None:
    days = CAL.days(D(2026, 12, 30), D(2027, 1, 2))
    assert [i.date for i in days] == [
        D(2026, 12, 30),
        D(2026, 12, 31),
        D(2027, 1, 1),
        D(2027, 1, 2),
    ]
    assert [i.known for i in days] == [True, True, False, False]
    assert CAL.days(D(2026, 1, 2), D(2026, 1, 1)) == []


def test_known_years_are_the_years_the_package_answers_for() -> None:
    years = CAL.known_years()
    assert (min(years), max(years)) == (2004, 2026)
    for year in range(1995, 2035):
        try:
            chinese_calendar.is_workday(D(year, 6, 1))
            answers = True
        except NotImplementedError:
            answers = False
        assert (year in years) == answers == CAL.day(D(year, 6, 1)).known


def test_every_known_day_agrees_with_chinesecalendar() -> None:
    # The calendar reads the package's tables directly for speed; hold it to
    # the package's own functions on every day it covers.
    for info in CAL.days(FIRST_KNOWN, LAST_KNOWN):
        holiday, name = chinese_calendar.get_holiday_detail(info.date)
        assert info.working == chinese_calendar.is_workday(info.date) == (not holiday)
        assert info.known and info.source == SOURCE_PACKAGE
        if info.working:
            assert info.name is None and info.makeup_for == name
        else:
            assert info.name == name and info.makeup_for is None


def test_the_ends_of_the_date_range_do_not_hang() -> None:
    assert CAL.day(D(9999, 12, 31)).known is False
    assert CAL.prev_working(D(1, 1, 3)) == D(1, 1, 2)  # 0001-01-02 is a Tuesday
    with pytest.raises(OverflowError):
        CAL.next_working(D(9999, 12, 31))


def test_the_module_docstring_examples_hold() -> None:
    result = doctest.testmod(daozhang.domain.calendar)
    assert result.attempted > 0 and result.failed == 0


# --- properties -----------------------------------------------------------


@given(any_dates)
def test_next_working_is_the_first_working_day_after(d: D) -> None:
    nxt = CAL.next_working(d)
    assert nxt > d and CAL.is_working(nxt)
    between = CAL.days(d + dt.timedelta(days=1), nxt - dt.timedelta(days=1))
    assert not any(i.working for i in between)


@given(any_dates, st.integers(min_value=0, max_value=40))
def test_add_working_steps_one_working_day_at_a_time(d: D, n: int) -> None:
    here = CAL.add_working(d, n)
    after = CAL.add_working(d, n + 1)
    assert after > here
    assert after == CAL.next_working(here)
    assert CAL.add_working(d, 0) == d
    working_in_between = [i for i in CAL.days(d + dt.timedelta(days=1), here) if i.working]
    assert len(working_in_between) == n


@given(any_dates, st.integers(min_value=1, max_value=40))
def test_counting_back_undoes_counting_forward_from_a_working_day(d: D, n: int) -> None:
    start = d if CAL.is_working(d) else CAL.next_working(d)
    assert CAL.add_working(CAL.add_working(start, n), -n) == start
    assert CAL.add_working(start, -n) < start


@given(known_dates)
def test_agrees_with_chinesecalendar_2004_to_2026(d: D) -> None:
    info = CAL.day(d)
    assert info.working == chinese_calendar.is_workday(d)
    assert info.known and info.source == SOURCE_PACKAGE
    if d < D(2026, 12, 20):  # the package's own search would run into 2027
        # find_workday(0, x) is the first working day on or after x.
        nxt = chinese_calendar.find_workday(0, d + dt.timedelta(days=1))
        assert CAL.next_working(d) == nxt


@given(st.lists(overrides, max_size=12), any_dates)
def test_overrides_win_and_touch_nothing_else(given_overrides: list[Override], d: D) -> None:
    cal = BankCalendar(given_overrides)
    last = {o.date: o for o in given_overrides}
    for o in last.values():
        info = cal.day(o.date)
        assert (info.working, info.known, info.source) == (o.working, True, SOURCE_OVERRIDE)
    if d not in last:
        assert cal.day(d) == CAL.day(d)


@given(st.dates(min_value=D(2027, 1, 1), max_value=D(2035, 12, 31)))
def test_a_date_after_the_package_is_flagged_unknown(d: D) -> None:
    if d.year < first_unknown_year():
        return  # a newer chinesecalendar covers it
    info = CAL.day(d)
    assert not info.known and info.source == SOURCE_ASSUMED and info.name is None
    assert info.working == (d.weekday() < 5)
    assert CAL.unknown_between(d, d) == [d]


@given(any_dates, st.integers(min_value=0, max_value=800), st.lists(overrides, max_size=6))
def test_days_and_unknown_between_agree_with_day(
    start: D, length: int, given_overrides: list[Override]
) -> None:
    cal = BankCalendar(given_overrides)
    end = start + dt.timedelta(days=length)
    days = cal.days(start, end)
    assert days == [cal.day(start + dt.timedelta(days=i)) for i in range(length + 1)]
    assert cal.unknown_between(start, end) == [i.date for i in days if not i.known]
