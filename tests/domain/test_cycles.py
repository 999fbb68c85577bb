"""Settlement cycles, business dates and arrival windows, as RULES.md defines them."""

from __future__ import annotations

import datetime as dt
import doctest
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

import daozhang.domain.cycles
from daozhang.domain.calendar import BankCalendar, Override
from daozhang.domain.cycles import (
    DEFAULT_CUTOFF_SECS,
    ArrivalWindow,
    arrival_window,
    business_date,
    expected_settle_date,
)
from daozhang.domain.records import Cycle, MaintenanceWindow, SourceRef

D = dt.date
T = dt.datetime
CAL = BankCalendar()
H = 3600

any_dates = st.dates(min_value=D(2003, 1, 1), max_value=D(2030, 12, 31))
secs_of_day = st.integers(min_value=0, max_value=86_399)


def maintenance(
    start: T, end: T, *, bank: str = "ICBC", scope: str = "payouts", line: int = 2
) -> MaintenanceWindow:
    return MaintenanceWindow(
        source=SourceRef(file_sha256="0" * 64, path="maintenance.csv", line=line),
        bank_code=bank,
        starts_at=start,
        ends_at=end,
        scope=scope,
        note=None,
    )


def test_the_module_docstring_examples_hold() -> None:
    result = doctest.testmod(daozhang.domain.cycles)
    assert result.attempted > 0 and result.failed == 0


# --- business date ---------------------------------------------------------


def test_sale_at_2330_with_2300_cutoff_belongs_to_the_next_business_day() -> None:
    assert business_date(D(2026, 5, 12), 23 * H + 30 * 60, 23 * H) == D(2026, 5, 13)


def test_cutoff_itself_is_still_today_and_one_second_later_is_tomorrow() -> None:
    assert business_date(D(2026, 5, 12), 23 * H, 23 * H) == D(2026, 5, 12)
    assert business_date(D(2026, 5, 12), 23 * H + 1, 23 * H) == D(2026, 5, 13)


def test_without_a_contract_the_business_date_is_the_local_date() -> None:
    assert business_date(D(2026, 12, 31), 86_399, DEFAULT_CUTOFF_SECS) == D(2026, 12, 31)
    assert business_date(D(2026, 12, 31), 86_399, 86_400) == D(2026, 12, 31)  # "24:00"


@pytest.mark.parametrize(("secs", "cutoff"), [(-1, 0), (86_400, 0), (0, -1), (0, 86_401)])
def test_impossible_times_are_refused(secs: int, cutoff: int) -> None:
    with pytest.raises(ValueError):
        business_date(D(2026, 5, 12), secs, cutoff)


@given(any_dates, secs_of_day, st.integers(min_value=0, max_value=86_400))
def test_business_date_moves_forward_exactly_when_after_cutoff(
    d: D, secs: int, cutoff: int
) -> None:
    expected = d + dt.timedelta(days=1) if secs > cutoff else d
    assert business_date(d, secs, cutoff) == expected


# --- expected settle date --------------------------------------------------


def test_qingming_2018_t1_trade_settles_on_the_make_up_sunday() -> None:
    assert expected_settle_date(D(2018, 4, 4), Cycle.T1, CAL) == D(2018, 4, 8)


def test_national_day_2026_t1_sale_on_the_last_day_of_september() -> None:
    # 10-01..10-07 are off; Thursday 10-08 is the first working day after.
    assert expected_settle_date(D(2026, 9, 30), Cycle.T1, CAL) == D(2026, 10, 8)
    # The last sale before the make-up Saturday settles on it.
    assert expected_settle_date(D(2026, 10, 9), Cycle.T1, CAL) == D(2026, 10, 10)


def test_late_night_sale_before_national_day_also_waits_for_the_holiday() -> None:
    bdate = business_date(D(2026, 9, 30), 23 * H + 30 * 60, 23 * H)
    assert bdate == D(2026, 10, 1)
    assert expected_settle_date(bdate, Cycle.T1, CAL) == D(2026, 10, 8)


def test_d1_sale_on_a_saturday_settles_on_sunday() -> None:
    assert expected_settle_date(D(2026, 3, 7), Cycle.D1, CAL) == D(2026, 3, 8)


def test_d0_settles_the_same_day_even_on_a_holiday() -> None:
    assert expected_settle_date(D(2026, 10, 1), Cycle.D0, CAL) == D(2026, 10, 1)


def test_t0_on_a_working_day_and_on_a_holiday() -> None:
    assert expected_settle_date(D(2026, 9, 30), Cycle.T0, CAL) == D(2026, 9, 30)
    assert expected_settle_date(D(2026, 10, 3), Cycle.T0, CAL) == D(2026, 10, 8)
    assert expected_settle_date(D(2026, 10, 10), Cycle.T0, CAL) == D(2026, 10, 10)  # 调休


def test_cycle_given_as_its_contract_text() -> None:
    # Contracts store the cycle as text; Cycle is a StrEnum, so both spell the same.
    assert expected_settle_date(D(2018, 4, 4), cast(Cycle, "T1"), CAL) == D(2018, 4, 8)


def test_unknown_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        expected_settle_date(D(2026, 5, 12), cast(Cycle, "T2"), CAL)


@given(any_dates)
def test_settle_dates_follow_their_cycle_definitions(bdate: D) -> None:
    t1 = expected_settle_date(bdate, Cycle.T1, CAL)
    t0 = expected_settle_date(bdate, Cycle.T0, CAL)
    assert t1 > bdate and CAL.is_working(t1)
    assert t0 >= bdate and CAL.is_working(t0)
    assert (t0 == bdate) == CAL.is_working(bdate)
    assert t0 <= t1
    assert expected_settle_date(bdate, Cycle.D1, CAL) == bdate + dt.timedelta(days=1)
    assert expected_settle_date(bdate, Cycle.D0, CAL) == bdate


# --- arrival window --------------------------------------------------------


def test_payout_into_a_bank_in_maintenance_gets_its_window_extended() -> None:
    # Settled Thursday 2026-11-05; the receiving bank stops payouts from
    # 11-05 00:00 to 11-06 06:00. Nominal end Friday 11-06; the bank is back
    # on 11-06, so one working day after that: Monday 11-09.
    w = maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0))
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[w], cal=CAL)
    assert window == ArrivalWindow(
        start=D(2026, 11, 5),
        nominal_end=D(2026, 11, 6),
        extended_end=D(2026, 11, 9),
        maintenance=(w,),
    )
    assert window.contains(D(2026, 11, 9)) and not window.contains(D(2026, 11, 10))


def test_maintenance_of_another_bank_or_another_service_does_not_extend() -> None:
    others = [
        maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0), bank="CCB"),
        maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0), scope="online_banking"),
    ]
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=others, cal=CAL)
    assert window.extended_end == window.nominal_end == D(2026, 11, 6)
    assert window.maintenance == ()


def test_maintenance_for_everything_extends_like_payout_maintenance() -> None:
    w = maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0), scope="all")
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[w], cal=CAL)
    assert window.extended_end == D(2026, 11, 9)


def test_maintenance_outside_the_nominal_window_does_not_extend() -> None:
    before = maintenance(T(2026, 11, 3, 22, 0), T(2026, 11, 4, 23, 59))
    after = maintenance(T(2026, 11, 7, 0, 0), T(2026, 11, 8, 6, 0))
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[before, after], cal=CAL)
    assert window.extended_end == D(2026, 11, 6) and window.maintenance == ()


def test_maintenance_starting_on_the_nominal_end_date_extends() -> None:
    # Friday night to Saturday morning: the bank is back on Saturday, the
    # next working day is Monday.
    w = maintenance(T(2026, 11, 6, 22, 0), T(2026, 11, 7, 2, 0))
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[w], cal=CAL)
    assert window.extended_end == D(2026, 11, 9) and window.maintenance == (w,)


def test_short_maintenance_on_the_settle_day_is_covered_by_the_grace() -> None:
    w = maintenance(T(2026, 11, 5, 1, 0), T(2026, 11, 5, 3, 0))
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[w], cal=CAL)
    assert window.extended_end == window.nominal_end == D(2026, 11, 6)
    assert window.maintenance == ()  # it overlapped but did not move the deadline


def test_the_longest_of_several_windows_decides() -> None:
    short = maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0), line=2)
    long = maintenance(T(2026, 11, 4, 20, 0), T(2026, 11, 10, 6, 0), line=3)
    window = arrival_window(D(2026, 11, 5), bank_code="ICBC", windows=[short, long], cal=CAL)
    assert window.extended_end == D(2026, 11, 11)
    assert window.maintenance == (long, short)  # earliest start first


def test_payout_without_a_bank_code_gets_no_extension() -> None:
    w = maintenance(T(2026, 11, 5, 0, 0), T(2026, 11, 6, 6, 0))
    window = arrival_window(D(2026, 11, 5), bank_code=None, windows=[w], cal=CAL)
    assert window.extended_end == D(2026, 11, 6)


def test_payout_settled_before_spring_festival_may_arrive_on_the_make_up_saturday() -> None:
    window = arrival_window(D(2026, 2, 13), bank_code="ICBC", windows=[], cal=CAL)
    assert window.nominal_end == D(2026, 2, 14)
    two_days = arrival_window(D(2026, 2, 13), bank_code="ICBC", windows=[], cal=CAL, grace=2)
    assert two_days.nominal_end == D(2026, 2, 24)


def test_zero_grace_means_the_settle_day_and_negative_grace_is_refused() -> None:
    assert arrival_window(D(2026, 11, 5), bank_code=None, windows=[], cal=CAL, grace=0) == (
        ArrivalWindow(
            start=D(2026, 11, 5),
            nominal_end=D(2026, 11, 5),
            extended_end=D(2026, 11, 5),
            maintenance=(),
        )
    )
    with pytest.raises(ValueError):
        arrival_window(D(2026, 11, 5), bank_code=None, windows=[], cal=CAL, grace=-1)


def test_2027_settle_date_with_no_override_is_reported_unknown() -> None:
    assert 2027 not in CAL.known_years(), (
        "chinesecalendar now knows 2027: move this example to the first unknown year"
    )
    window = arrival_window(D(2027, 2, 5), bank_code="ICBC", windows=[], cal=CAL)
    assert window.nominal_end == D(2027, 2, 8)  # Monday, assumed working
    assert CAL.unknown_between(window.start, window.extended_end) == [
        D(2027, 2, 5),
        D(2027, 2, 6),
        D(2027, 2, 7),
        D(2027, 2, 8),
    ]


def test_2027_override_moves_the_window_and_stops_the_warning() -> None:
    spring = [Override(date=D(2027, 2, 8), working=False, note="春节")]
    spring += [Override(date=D(2027, 2, 5), working=True, note=None)]
    spring += [Override(date=D(2027, 2, 9), working=True, note=None)]
    cal = BankCalendar(spring)
    window = arrival_window(D(2027, 2, 5), bank_code="ICBC", windows=[], cal=cal)
    assert window.nominal_end == D(2027, 2, 9)
    # The weekend is still only assumed: the run must say so.
    assert cal.unknown_between(window.start, window.extended_end) == [D(2027, 2, 6), D(2027, 2, 7)]


windows_strategy = st.lists(
    st.builds(
        lambda start, hours, bank, scope: maintenance(
            T.combine(start, dt.time(0)) + dt.timedelta(hours=start.day % 24),
            T.combine(start, dt.time(0)) + dt.timedelta(hours=start.day % 24 + hours),
            bank=bank,
            scope=scope,
        ),
        start=st.dates(min_value=D(2026, 9, 1), max_value=D(2026, 11, 30)),
        hours=st.integers(min_value=0, max_value=24 * 12),
        bank=st.sampled_from(["ICBC", "CCB"]),
        scope=st.sampled_from(["payouts", "all", "online_banking"]),
    ),
    max_size=6,
)


@given(
    st.dates(min_value=D(2026, 9, 1), max_value=D(2026, 11, 30)),
    windows_strategy,
    st.integers(min_value=0, max_value=3),
)
def test_arrival_window_follows_the_rule(
    settle: D, windows: list[MaintenanceWindow], grace: int
) -> None:
    window = arrival_window(settle, bank_code="ICBC", windows=windows, cal=CAL, grace=grace)
    assert window.start == settle
    assert window.nominal_end == CAL.add_working(settle, grace)
    # The rule of RULES.md, written out independently.
    ends = [window.nominal_end]
    for w in windows:
        same_bank = w.bank_code == "ICBC" and w.scope in ("payouts", "all")
        overlaps = w.starts_at.date() <= window.nominal_end and w.ends_at.date() >= settle
        if same_bank and overlaps:
            ends.append(CAL.add_working(w.ends_at.date(), grace))
    assert window.extended_end == max(ends)
    assert all(w.bank_code == "ICBC" for w in window.maintenance)
    assert bool(window.maintenance) == (window.extended_end > window.nominal_end)
    # The order of the notices does not matter, and a further notice never shortens it.
    reordered = arrival_window(
        settle, bank_code="ICBC", windows=list(reversed(windows)), cal=CAL, grace=grace
    )
    assert reordered == window
    fewer = arrival_window(settle, bank_code="ICBC", windows=windows[:-1], cal=CAL, grace=grace)
    assert fewer.extended_end <= window.extended_end
