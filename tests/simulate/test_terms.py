"""The vectorised contract lookups give exactly what the domain rules give, row by row."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.cycles import business_date, expected_settle_date
from daozhang.simulate.period import Period
from daozhang.simulate.settlement import pre_period_start
from daozhang.simulate.terms import EPOCH_ORDINAL, build_terms
from daozhang.simulate.world import build_world

PERIOD = Period(dt.date(2026, 9, 14), 28, BankCalendar())
WORLD = build_world(np.random.default_rng(4), 40, PERIOD.start)
FIRST = pre_period_start(PERIOD)
TERMS = build_terms(WORLD, PERIOD, FIRST)


@settings(max_examples=300, deadline=None)
@given(
    m=st.integers(0, len(WORLD.merchants) - 1),
    offset=st.integers(0, (PERIOD.end - FIRST).days),
    secs=st.integers(0, 86_399),
    channel=st.integers(0, 4),
)
def test_lookup_equals_the_domain_rules(m: int, offset: int, secs: int, channel: int) -> None:
    merchant = WORLD.merchants[m]
    day = FIRST + dt.timedelta(days=offset)
    bdate = business_date(day, secs, merchant.cutoff_secs)
    want = expected_settle_date(bdate, merchant.cycle, PERIOD.cal)
    i = TERMS.day_index(day) + int(secs > TERMS.cutoff[m])
    got = dt.date.fromordinal(int(TERMS.settle[TERMS.cycle[m], i]) + EPOCH_ORDINAL)
    assert got == want
    version = merchant.version_on(day)
    assert TERMS.rate[m, TERMS.day_index(day), channel] == version.rates()[channel]
    assert TERMS.cap[m, TERMS.day_index(day)] == version.debit_cap_fen


def test_the_first_files_reach_back_to_the_friday_before_a_monday_start() -> None:
    """A T1 sale after Thursday's cutoff is Friday's business and settles on Monday."""
    assert pre_period_start(PERIOD) == dt.date(2026, 9, 10)


def test_a_start_after_national_day_reaches_back_before_the_holiday() -> None:
    """Sales of 30 September settle T1 on 8 October, after the whole holiday week."""
    after = Period(dt.date(2026, 10, 8), 14, BankCalendar())
    assert pre_period_start(after) == dt.date(2026, 9, 29)
