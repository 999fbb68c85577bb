"""The contract terms of every merchant on every day, as lookup arrays for the vectorised traffic.

Which day a transaction settles on and at what rate depend only on the
merchant, the local date, whether the time is after the cutoff, and the
channel. There are few merchants and days but millions of transactions, so
the answers are worked out once per (merchant, day) with the domain's own
rules (:func:`~daozhang.domain.cycles.expected_settle_date`, the contract in
effect of :class:`~daozhang.simulate.world.Merchant`) and then looked up with
numpy indexing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from daozhang.domain.cycles import expected_settle_date
from daozhang.domain.records import Cycle
from daozhang.simulate.period import Period
from daozhang.simulate.world import CHANNELS, World

__all__ = ["EPOCH_ORDINAL", "Terms", "build_terms"]

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_CYCLES = tuple(Cycle)


@dataclass(frozen=True, slots=True)
class Terms:
    """Lookups indexed by days since ``first`` (a local date, or a business date one later).

    ``settle[c, i]`` is the expected settle date (days since 1970-01-01) of a
    business date ``first + i`` under cycle ``c``; ``rate[m, i, ch]`` and
    ``cap[m, i]`` are the rate (ppm) and debit cap (fen) of merchant ``m``'s
    contract in effect on local date ``first + i``.
    """

    first: dt.date
    settle: np.ndarray
    rate: np.ndarray
    cap: np.ndarray
    cutoff: np.ndarray
    cycle: np.ndarray

    def day_index(self, day: dt.date) -> int:
        return (day - self.first).days


def build_terms(world: World, period: Period, first: dt.date) -> Terms:
    """The lookups from ``first`` to a few weeks after the as-of date."""
    n_days = (period.as_of - first).days + 40
    dates = [first + dt.timedelta(days=i) for i in range(n_days)]
    settle = np.array(
        [
            [expected_settle_date(d, c, period.cal).toordinal() - EPOCH_ORDINAL for d in dates]
            for c in _CYCLES
        ],
        dtype=np.int32,
    )
    ms = world.merchants
    rate = np.zeros((len(ms), n_days, len(CHANNELS)), dtype=np.int64)
    cap = np.zeros((len(ms), n_days), dtype=np.int64)
    for m in ms:
        for v in m.versions:
            frm = max((v.effective_from - first).days, 0)
            rate[m.index, frm:, :] = v.rates()
            cap[m.index, frm:] = v.debit_cap_fen
    return Terms(
        first=first,
        settle=settle,
        rate=rate,
        cap=cap,
        cutoff=np.array([m.cutoff_secs for m in ms], dtype=np.int64),
        cycle=np.array([_CYCLES.index(m.cycle) for m in ms], dtype=np.int64),
    )
