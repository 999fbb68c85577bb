"""The simulated period: which days the journal covers and the date the truth is stated for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.cycles import business_date, expected_settle_date
from daozhang.simulate.world import World

__all__ = ["Period"]

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The simulated days and the as-of date the truth is stated for.

    The POS journal covers ``start`` to ``end``; files dated up to ``as_of``
    (the day after ``end``) exist, as they would the morning a user runs the
    reconciliation: the settlement, payouts and bank entries of that day.
    """

    start: dt.date
    days: int
    cal: BankCalendar

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    @property
    def as_of(self) -> dt.date:
        return self.end + _ONE_DAY

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def settle_date(self, world: World, m: int, day: dt.date, secs: int) -> dt.date:
        """The expected settle date of merchant ``m``'s transaction at ``secs`` on ``day``."""
        merchant = world.merchants[m]
        bdate = business_date(day, secs, merchant.cutoff_secs)
        return expected_settle_date(bdate, merchant.cycle, self.cal)

    def settles_due(self, world: World, m: int, day: dt.date, secs: int) -> bool:
        """Whether such a transaction, if missing, is past its deadline on the as-of date."""
        settle = self.settle_date(world, m, day, secs)
        return self.as_of > self.cal.add_working(settle, 1)
