"""A day of terminal traffic, drawn vectorised: sales, declines, time-outs, voids, refunds.

One call makes every transaction attempt of one local day on every trading
terminal as numpy arrays (no Python loop over transactions), so ten million
attempts take seconds. The shapes are those of real journals:

* a terminal's trace number counts up across the day (and the days), its
  batch number moves on each day it trades, so ``(terminal, batch, trace)``
  names one attempt;
* RRNs are 12 digits (year digit, day of year, sequence) and unique, given by
  the acquirer in time order; a time-out never got one, a reversed time-out
  only sometimes;
* a void cancels a sale of the same day a few minutes later (neither is
  settled); a refund names an earlier sale of the same terminal by
  ``orig_rrn``, for the whole amount or part of it, at most once per sale.

Rows that an anomaly needs (:class:`PlantedTxn`) are added to their day as
given and numbered like the rest: nothing in a file tells them apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from daozhang.simulate.cards import pans
from daozhang.simulate.period import Period
from daozhang.simulate.terms import Terms
from daozhang.simulate.world import CATEGORIES, World

__all__ = [
    "RESPONSE_CODES",
    "RESULTS",
    "RRN_DAY",
    "TXN_TYPES",
    "PlantedTxn",
    "RefundPool",
    "TerminalState",
    "expected_attempts",
    "generate_day",
    "rrn_prefix",
]

TXN_TYPES = ("sale", "refund", "void", "preauth_complete")
SALE, REFUND, VOID, PREAUTH = 0, 1, 2, 3
RESULTS = ("approved", "declined", "timeout", "reversed")
APPROVED, DECLINED, TIMEOUT, REVERSED = 0, 1, 2, 3
# Response codes by index: approved, five decline reasons, "issuer no answer", none.
RESPONSE_CODES: tuple[str | None, ...] = ("00", "51", "55", "05", "61", "14", "98", None)
RESP_NONE = 7
RESP_NO_ANSWER = 6

RRN_DAY = 10**8  # an RRN is rrn_prefix(day) * RRN_DAY + the day's sequence number
_MAX_TRACE = 999_999

_CARD_RESULTS = (0.955, 0.03, 0.005, 0.01)  # approved, declined, timeout, reversed
_QR_RESULTS = (0.975, 0.015, 0.004, 0.006)
_VOID_SHARE = 0.006
_REFUND_SHARE = 0.003
_POOL_SHARE = 0.05  # of each day's sales kept as candidates for later refunds
_POOL_DAYS = 10
_LAST_VOIDABLE = 21 * 3600  # a void follows within 30 minutes, well before any cutoff


def rrn_prefix(day: dt.date) -> int:
    """The first four digits of the RRNs of ``day``: last digit of the year, day of the year."""
    return (day.year % 10) * 1000 + day.timetuple().tm_yday


@dataclass(frozen=True, slots=True)
class PlantedTxn:
    """One POS row an anomaly needs, placed into its day's traffic as given."""

    plant_id: int
    day: dt.date
    terminal: int
    secs: int
    txn_type: int
    channel: int
    amount_fen: int
    result: int
    has_rrn: bool
    card: int = 0  # 0: no card (QR)
    orig_rrn: int = -1  # the RRN a refund names, or
    orig_plant: int = -1  # the planted row whose RRN it names (drawn on an earlier day)
    response: int = 0


@dataclass
class TerminalState:
    """Each terminal's next trace number and current batch number, carried across days."""

    trace_next: np.ndarray
    batch: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> TerminalState:
        return cls(
            trace_next=rng.integers(1, 900_000, size=n).astype(np.int64),
            batch=rng.integers(1, 5_000, size=n).astype(np.int64),
        )


@dataclass
class RefundPool:
    """Approved sales of recent days that a customer may still bring back."""

    day: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    t: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    amount: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ch: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    card: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    rrn: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def keep(self, mask: np.ndarray) -> None:
        for name in ("day", "t", "amount", "ch", "card", "rrn"):
            setattr(self, name, getattr(self, name)[mask])

    def add(self, **cols: np.ndarray) -> None:
        for name, values in cols.items():
            setattr(self, name, np.concatenate([getattr(self, name), values]))


_HOUR_CUM = np.array([np.cumsum(c.hours) / sum(c.hours) for c in CATEGORIES])
_CH_CUM = np.array([np.cumsum(c.channels) / sum(c.channels) for c in CATEGORIES])
_MU = np.log(np.array([c.median_yuan * 100 for c in CATEGORIES]))
_SIGMA = np.array([c.sigma for c in CATEGORIES])
_BIG = np.array([c.big_ticket for c in CATEGORIES])
_PREAUTH = np.array([c.preauth for c in CATEGORIES])
_HOLIDAY = np.array([c.holiday for c in CATEGORIES])
_ROUND_PRICE = np.array(
    [0.3 if c.key in ("restaurant", "salon", "hotel") else 0.1 for c in CATEGORIES]
)


def expected_attempts(world: World, period: Period, per_terminal: float) -> float:
    """The expected number of attempts of ``world`` over the period (before any status change)."""
    factor = np.array(
        [
            np.ones(world.n_terminals)
            if period.cal.is_working(d)
            else _HOLIDAY[world.terminal_category]
            for d in period.dates()
        ]
    )
    return float(per_terminal * (factor * world.terminal_factor).sum())


def _by_category(cum: np.ndarray, cat: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws from a per-category discrete distribution (uniforms ``u`` given)."""
    out = np.zeros(len(u), dtype=np.int64)
    for c in range(cum.shape[0]):
        idx = np.flatnonzero(cat == c)
        if idx.size:
            out[idx] = np.minimum(np.searchsorted(cum[c], u[idx], side="right"), cum.shape[1] - 1)
    return out


def generate_day(
    world: World,
    day: dt.date,
    rng: np.random.Generator,
    *,
    per_terminal: float,
    working: bool,
    trading: np.ndarray,
    state: TerminalState,
    pool: RefundPool | None,
    plants: list[PlantedTxn],
    terms: Terms,
    first_rid: int,
    planted_rrns: dict[int, int],
) -> pa.Table:
    """Every attempt of ``day`` on the ``trading`` terminals (plus ``plants``) as a table.

    ``pool`` (None for days before the journal starts) supplies the sales that
    refunds name and receives today's; ``state`` is advanced. Rows are
    numbered ``rid`` from ``first_rid`` in terminal and time order, and carry
    their contract terms: expected settle date, rate and debit cap. Planted
    rows get their RRNs in sequence like any other; ``planted_rrns`` (plant
    id to RRN) receives them, so that a later day's planted refund can name
    an earlier planted sale.
    """
    n_term = world.n_terminals
    tcat = world.terminal_category
    day_factor = np.ones(n_term) if working else _HOLIDAY[tcat]
    lam = per_terminal * world.terminal_factor * day_factor * trading
    counts = rng.poisson(lam)
    t = np.repeat(np.arange(n_term, dtype=np.int32), counts)
    n = len(t)
    cat = tcat[t]

    hour = _by_category(_HOUR_CUM, cat, rng.random(n))
    secs = (hour * 3600 + rng.integers(0, 3600, size=n)).astype(np.int32)
    ch = _by_category(_CH_CUM, cat, rng.random(n)).astype(np.int8)
    amount = np.rint(np.exp(_MU[cat] + _SIGMA[cat] * rng.standard_normal(n))).astype(np.int64)
    amount = np.clip(amount, 50, 2_000_000)
    rounded = np.maximum((amount // 100) * 100, 100)
    amount = np.where(rng.random(n) < _ROUND_PRICE[cat], rounded, amount)
    big = rng.integers(300_000, 1_500_001, size=n)
    amount = np.where(rng.random(n) < _BIG[cat], big, amount)

    is_card = ch <= 1
    u = rng.random(n)
    thresholds = np.where(is_card[:, None], np.cumsum(_CARD_RESULTS), np.cumsum(_QR_RESULTS))
    result = np.minimum((u[:, None] >= thresholds).sum(axis=1), 3).astype(np.int8)
    resp = np.full(n, 0, dtype=np.int8)
    declines = rng.integers(1, 6, size=n).astype(np.int8)
    resp = np.where(result == DECLINED, declines, resp)
    resp = np.where(result == TIMEOUT, RESP_NONE, resp)
    resp = np.where(result == REVERSED, RESP_NO_ANSWER, resp).astype(np.int8)
    ttype = np.where((ch == 1) & (rng.random(n) < _PREAUTH[cat]), PREAUTH, SALE).astype(np.int8)
    card = np.zeros(n, dtype=np.uint64)
    card_idx = np.flatnonzero(is_card)
    card[card_idx] = pans(rng, ch[card_idx] == 1)
    no_rrn = (result == TIMEOUT) | ((result == REVERSED) & (rng.random(n) < 0.5))

    # Voids of same-day sales, a few minutes after the sale.
    voidable = (result == APPROVED) & (ttype == SALE) & (secs < _LAST_VOIDABLE)
    vsrc = np.flatnonzero(voidable & (rng.random(n) < _VOID_SHARE))
    voided = np.zeros(n, dtype=bool)
    voided[vsrc] = True
    v_secs = secs[vsrc] + rng.integers(60, 1801, size=vsrc.size).astype(np.int32)

    # Refunds of earlier sales still in the pool, on terminals trading today.
    r_t = np.empty(0, np.int32)
    r_amount = np.empty(0, np.int64)
    r_ch = np.empty(0, np.int8)
    r_card = np.empty(0, np.uint64)
    r_orig = np.empty(0, np.int64)
    if pool is not None and len(pool.t):
        today = day.toordinal()
        eligible = np.flatnonzero(trading[pool.t].astype(bool) & (pool.day < today))
        k = min(int(rng.binomial(n, _REFUND_SHARE)), eligible.size)
        if k:
            pick = np.sort(rng.choice(eligible, size=k, replace=False))
            full = rng.random(k) < 0.55
            part = np.maximum(
                (pool.amount[pick] * rng.uniform(0.1, 0.9, size=k)).astype(np.int64), 1
            )
            r_t = pool.t[pick]
            r_amount = np.where(full, pool.amount[pick], part)
            r_ch = pool.ch[pick]
            r_card = pool.card[pick]
            r_orig = pool.rrn[pick]
            keep = np.ones(len(pool.t), dtype=bool)
            keep[pick] = False
            pool.keep(keep)
    nr = len(r_t)
    r_secs = rng.integers(9 * 3600, 21 * 3600, size=nr).astype(np.int32)

    pl = plants
    np_ = len(pl)
    nv = vsrc.size
    total = n + nv + nr + np_
    cols_t = np.concatenate(
        [t, t[vsrc], r_t, np.array([p.terminal for p in pl], dtype=np.int32)]
    ).astype(np.int32)
    cols_secs = np.concatenate(
        [secs, v_secs, r_secs, np.array([p.secs for p in pl], dtype=np.int32)]
    ).astype(np.int32)
    cols_ttype = np.concatenate(
        [
            ttype,
            np.full(nv, VOID, np.int8),
            np.full(nr, REFUND, np.int8),
            np.array([p.txn_type for p in pl], dtype=np.int8),
        ]
    ).astype(np.int8)
    cols_ch = np.concatenate([ch, ch[vsrc], r_ch, np.array([p.channel for p in pl], dtype=np.int8)])
    cols_amount = np.concatenate(
        [amount, amount[vsrc], r_amount, np.array([p.amount_fen for p in pl], dtype=np.int64)]
    ).astype(np.int64)
    cols_result = np.concatenate(
        [
            result,
            np.zeros(nv, np.int8),
            np.zeros(nr, np.int8),
            np.array([p.result for p in pl], dtype=np.int8),
        ]
    ).astype(np.int8)
    cols_resp = np.concatenate(
        [
            resp,
            np.zeros(nv, np.int8),
            np.zeros(nr, np.int8),
            np.array([p.response for p in pl], dtype=np.int8),
        ]
    ).astype(np.int8)
    cols_card = np.concatenate(
        [card, card[vsrc], r_card, np.array([p.card for p in pl], dtype=np.uint64)]
    ).astype(np.uint64)
    cols_no_rrn = np.concatenate(
        [
            no_rrn,
            np.zeros(nv, bool),
            np.zeros(nr, bool),
            np.array([not p.has_rrn for p in pl], bool),
        ]
    )
    cols_voided = np.concatenate([voided, np.zeros(nv + nr + np_, bool)])
    cols_plant = np.concatenate(
        [np.full(n + nv + nr, -1, np.int32), np.array([p.plant_id for p in pl], dtype=np.int32)]
    ).astype(np.int32)
    p_orig = [planted_rrns[p.orig_plant] if p.orig_plant >= 0 else p.orig_rrn for p in pl]
    cols_orig = np.concatenate(
        [np.full(n + nv, -1, np.int64), r_orig, np.array(p_orig, dtype=np.int64)]
    ).astype(np.int64)

    # Trace numbers count up per terminal in time order; the batch moves on today.
    seq = np.arange(total)
    order = np.lexsort((seq, cols_secs, cols_t))
    t_sorted = cols_t[order]
    rank = np.arange(total) - np.searchsorted(t_sorted, t_sorted, side="left")
    trace = np.empty(total, dtype=np.int64)
    trace[order] = (state.trace_next[t_sorted] - 1 + rank) % _MAX_TRACE + 1
    per_term = np.bincount(cols_t, minlength=n_term)
    state.batch = np.where(per_term > 0, state.batch % _MAX_TRACE + 1, state.batch)
    state.trace_next = (state.trace_next - 1 + per_term) % _MAX_TRACE + 1
    batch = state.batch[cols_t]

    # RRNs in time order across the acquirer's day.
    order2 = np.lexsort((seq, cols_t, cols_secs))
    rrn_seq = np.empty(total, dtype=np.int64)
    rrn_seq[order2] = np.cumsum(rng.integers(1, 6, size=total)) + int(rng.integers(1_000, 5_000))
    if total and int(rrn_seq.max()) >= RRN_DAY // 2:
        raise ValueError(f"too many transactions on {day} for 12-digit RRNs")
    rrn = rrn_prefix(day) * RRN_DAY + rrn_seq
    cols_orig[n : n + nv] = rrn[vsrc]
    for i in np.flatnonzero((cols_plant >= 0) & ~cols_no_rrn):
        planted_rrns[int(cols_plant[i])] = int(rrn[i])

    approved_card = (cols_result == APPROVED) & (cols_ch <= 1)
    auth = rng.integers(0, 1_000_000, size=total)

    if pool is not None:
        keepers = (result == APPROVED) & (ttype != VOID) & ~voided & (rng.random(n) < _POOL_SHARE)
        idx = np.flatnonzero(keepers)
        pool.keep(pool.day > day.toordinal() - _POOL_DAYS)
        pool.add(
            day=np.full(idx.size, day.toordinal(), np.int64),
            t=t[idx],
            amount=amount[idx],
            ch=ch[idx],
            card=card[idx],
            rrn=rrn[idx],
        )

    # Contract terms: the expected settle date of the business date (the next
    # day after the cutoff), the rate of the channel and the debit cap.
    m_all = world.terminal_merchant[cols_t].astype(np.int64)
    i_day = terms.day_index(day)
    after = (cols_secs > terms.cutoff[m_all]).astype(np.int64)
    exp_settle = terms.settle[terms.cycle[m_all], i_day + after]
    rate = terms.rate[m_all, i_day, cols_ch.astype(np.int64)]
    cap = terms.cap[m_all, i_day]

    o = order  # rows leave in terminal and time order, numbered from first_rid
    return pa.table(
        {
            "rid": pa.array(np.arange(first_rid, first_rid + total, dtype=np.int64)),
            "t": pa.array(cols_t[o]),
            "m": pa.array(m_all[o].astype(np.int32)),
            "day": pa.array(np.full(total, np.datetime64(day.isoformat(), "D")), type=pa.date32()),
            "secs": pa.array(cols_secs[o]),
            "ttype": pa.array(cols_ttype[o]),
            "ch": pa.array(cols_ch[o]),
            "amount": pa.array(cols_amount[o]),
            "result": pa.array(cols_result[o]),
            "resp": pa.array(cols_resp[o]),
            "rrn": pa.array(rrn[o], mask=cols_no_rrn[o]),
            "batch": pa.array(batch[o].astype(np.int32)),
            "trace": pa.array(trace[o].astype(np.int32)),
            "card": pa.array(cols_card[o], mask=cols_card[o] == 0),
            "auth": pa.array(auth[o].astype(np.int32), mask=~approved_card[o]),
            "orig_rrn": pa.array(cols_orig[o], mask=cols_orig[o] < 0),
            "voided": pa.array(cols_voided[o]),
            "plant": pa.array(cols_plant[o]),
            "exp_settle": pa.array(exp_settle[o].astype("datetime64[D]"), type=pa.date32()),
            "rate": pa.array(rate[o]),
            "cap": pa.array(cap[o], mask=cols_ch[o] != 0),
        }
    )
