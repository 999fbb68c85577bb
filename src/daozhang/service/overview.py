"""Where is my money, at a glance: the overview, a merchant's money trail, the merchant list.

Everything here reads what the last successful reconcile run stored (the
day and payout totals of report/totals.py, and the exceptions), never the
records themselves: the pages that call these functions are asked many times
a second by many people, and a run over millions of rows takes minutes.
Each function takes the caller's :class:`MerchantScope`, and nothing of a
merchant outside it is read, counted or returned.

A money trail follows one merchant's business day through four steps:

1. **sales** — what the POS journal says was sold, by channel;
2. **settlement** — what the acquirer settled for those transactions;
3. **payout** — the transfers that carried the day's net, with attempts;
4. **bank** — the credits that brought it to the account.

Each step is ``ok``, ``pending`` (not due yet, or in transit), ``late``,
``missing`` or ``wrong``, decided by the open exceptions that concern it and
by what became of the day's payouts; the exceptions carry the explanation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa

from daozhang.domain.findings import ExceptionType
from daozhang.report.totals import PayoutAttempt
from daozhang.service.cache import cached
from daozhang.service.users import MerchantScope, StateDatabase
from daozhang.store.findings import StoredException, stored_exception
from daozhang.store.tables import (
    exceptions,
    reconcile_runs,
    run_merchant_days,
    run_merchants,
    run_payout_attempts,
    run_payout_days,
    run_payouts,
)
from daozhang.store.totals import totals_run_id

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "DayTotals",
    "MerchantSummary",
    "MerchantTrail",
    "Overview",
    "StepState",
    "TrailDay",
    "TrailPayout",
    "TrailStep",
    "TypeStake",
    "list_merchants",
    "merchant_trail",
    "overview",
]

DEFAULT_PERIOD_DAYS = 30
"""Without a period, the overview shows the last 30 days that have data."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayTotals:
    """Money of one business day (or of a period, in ``Overview.total``), in fen."""

    day: dt.date | None
    sales_count: int = 0
    sales_fen: int = 0
    refunds_fen: int = 0
    settled_fen: int = 0
    fee_fen: int = 0
    net_fen: int = 0
    paid_out_fen: int = 0
    arrived_fen: int = 0

    @property
    def outstanding_fen(self) -> int:
        """Net settled money not (yet) seen on the bank account."""
        return self.net_fen - self.arrived_fen


@dataclass(frozen=True, slots=True)
class TypeStake:
    type: ExceptionType
    count: int
    amount_fen: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    start: dt.date | None
    end: dt.date | None
    as_of: dt.date | None
    run_id: int | None
    days: tuple[DayTotals, ...]
    total: DayTotals
    at_stake: tuple[TypeStake, ...]
    urgent: tuple[StoredException, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantSummary:
    merchant_id: str
    merchant_name: str | None
    sales_fen: int
    net_fen: int
    arrived_fen: int
    open_exceptions: int
    at_stake_fen: int


class StepState(StrEnum):
    OK = "ok"
    PENDING = "pending"  # not due yet, or in its arrival window
    LATE = "late"
    MISSING = "missing"
    WRONG = "wrong"
    NONE = "none"  # nothing to follow (no sales that day)


# Which step an exception type speaks about, and what it makes of that step.
_STEP_OF: dict[ExceptionType, tuple[str, StepState]] = {
    ExceptionType.DEBITED_BUT_FAILED: ("sales", StepState.WRONG),
    ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL: ("sales", StepState.WRONG),
    ExceptionType.REFUND_WITHOUT_SALE: ("sales", StepState.WRONG),
    ExceptionType.REFUND_EXCEEDS_SALE: ("sales", StepState.WRONG),
    ExceptionType.MISSING_IN_SETTLEMENT: ("settlement", StepState.MISSING),
    ExceptionType.UNKNOWN_SETTLEMENT: ("settlement", StepState.WRONG),
    ExceptionType.AMOUNT_MISMATCH: ("settlement", StepState.WRONG),
    ExceptionType.FEE_MISMATCH: ("settlement", StepState.WRONG),
    ExceptionType.DUPLICATE_SETTLEMENT: ("settlement", StepState.WRONG),
    ExceptionType.MERCHANT_MISMATCH: ("settlement", StepState.WRONG),
    ExceptionType.LATE_SETTLEMENT: ("settlement", StepState.LATE),
    ExceptionType.PAYOUT_TOTAL_MISMATCH: ("payout", StepState.WRONG),
    ExceptionType.PAYOUT_FAILED_RETRYABLE: ("payout", StepState.MISSING),
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED: ("payout", StepState.MISSING),
    ExceptionType.MISROUTED_PAYOUT: ("payout", StepState.WRONG),
    ExceptionType.SETTLED_NOT_ARRIVED: ("bank", StepState.MISSING),
    ExceptionType.ARRIVED_LATE: ("bank", StepState.LATE),
}
STEPS = ("sales", "settlement", "payout", "bank")
_SEVERITY = {
    StepState.NONE: 0,
    StepState.OK: 1,
    StepState.PENDING: 2,
    StepState.LATE: 3,
    StepState.MISSING: 4,
    StepState.WRONG: 5,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailPayout:
    payout_id: str
    carried_fen: int  # of this day's net
    amount_fen: int  # the whole payout
    outcome: str
    disposition: (
        str  # arrived, arrived_late, in_transit, settled_not_arrived, failed_..., misrouted
    )
    settle_date: dt.date | None
    nominal_end: dt.date | None
    extended_end: dt.date | None
    account_no: str | None
    bank_code: str | None
    failure_code: str | None
    failure_reason: str | None
    credit_date: dt.date | None
    bank_txn_id: str | None
    credit_path: str | None
    credit_line: int | None
    attempts: tuple[PayoutAttempt, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailStep:
    name: str  # sales, settlement, payout, bank
    state: StepState
    amount_fen: int
    exceptions: tuple[StoredException, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailDay:
    totals: DayTotals
    channels: tuple[tuple[str, DayTotals], ...]
    steps: tuple[TrailStep, ...]
    payouts: tuple[TrailPayout, ...]

    @property
    def state(self) -> StepState:
        """The worst of the day's steps: what a list of days shows first."""
        return max((s.state for s in self.steps), key=_SEVERITY.__getitem__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantTrail:
    merchant_id: str
    merchant_name: str | None
    as_of: dt.date | None
    run_id: int | None
    days: tuple[TrailDay, ...]
    other_exceptions: tuple[StoredException, ...] = field(default=())  # not about one day


# -- the overview -------------------------------------------------------------


def _last_run(conn: sa.Connection) -> tuple[int | None, dt.date | None]:
    run_id = totals_run_id(conn)
    if run_id is None:
        return None, None
    as_of = conn.execute(
        sa.select(reconcile_runs.c.as_of).where(reconcile_runs.c.id == run_id)
    ).scalar_one_or_none()
    return run_id, as_of


def _sums(columns: Iterable[str]) -> list[sa.Label[int]]:
    # PostgreSQL's SUM of a BIGINT is a NUMERIC (a Decimal in Python): cast back.
    return [
        sa.cast(sa.func.coalesce(sa.func.sum(run_merchant_days.c[c]), 0), sa.BigInteger).label(c)
        for c in columns
    ]


_MONEY = (
    "sales_count",
    "sales_fen",
    "refunds_fen",
    "settled_fen",
    "fee_fen",
    "net_fen",
    "paid_out_fen",
    "arrived_fen",
)


def _period(
    conn: sa.Connection,
    scope: MerchantScope,
    start: dt.date | None,
    end: dt.date | None,
    as_of: dt.date | None,
) -> tuple[dt.date | None, dt.date | None]:
    """The period asked for, else up to the last run's as-of date (or the last day with data)."""
    if start is not None and end is not None:
        return start, end
    last = conn.execute(
        sa.select(sa.func.max(run_merchant_days.c.day)).where(
            scope.sql_filter(run_merchant_days.c.merchant_id)
        )
    ).scalar_one_or_none()
    if last is None:
        return start, end
    end = end or max(last, as_of or last)
    start = start or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    return start, end


def overview(
    ws: StateDatabase,
    scope: MerchantScope,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    urgent: int = 8,
) -> Overview:
    """Money per day of the period, what is at stake by type, and what needs doing first.

    The period defaults to the last :data:`DEFAULT_PERIOD_DAYS` days up to
    the last run's as-of date. Money at stake counts the open exceptions
    about days in the period (a transaction's date, a payout's settle date;
    an exception with no date always counts); "what needs you today" is
    every open exception, earliest due date first, then the most money.
    Answers are kept until the next run or exception change (service/cache.py).
    """
    return cached(
        ws,
        ("overview", scope, start, end, urgent),
        lambda: _overview(ws, scope, start=start, end=end, urgent=urgent),
    )


def _overview(
    ws: StateDatabase,
    scope: MerchantScope,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    urgent: int = 8,
) -> Overview:
    with ws.db.connect() as conn:
        run_id, as_of = _last_run(conn)
        start, end = _period(conn, scope, start, end, as_of)
        in_scope = scope.sql_filter(run_merchant_days.c.merchant_id)
        days: list[DayTotals] = []
        if start is not None and end is not None:
            rows = conn.execute(
                sa.select(run_merchant_days.c.day, *_sums(_MONEY))
                .where(in_scope, run_merchant_days.c.day.between(start, end))
                .group_by(run_merchant_days.c.day)
                .order_by(run_merchant_days.c.day)
            )
            days = [DayTotals(day=r.day, **{m: int(r._mapping[m]) for m in _MONEY}) for r in rows]
        total = DayTotals(day=None, **{m: sum(getattr(d, m) for d in days) for m in _MONEY})

        open_in_scope = sa.and_(
            exceptions.c.status == "open", scope.sql_filter(exceptions.c.merchant_id)
        )
        dated = open_in_scope
        if start is not None and end is not None:
            dated = sa.and_(
                open_in_scope,
                sa.or_(exceptions.c.ref_date.is_(None), exceptions.c.ref_date.between(start, end)),
            )
        stake_rows = conn.execute(
            sa.select(
                exceptions.c.type,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(exceptions.c.amount_fen), 0),
            )
            .where(dated)
            .group_by(exceptions.c.type)
        ).all()
        at_stake = sorted(
            (TypeStake(ExceptionType(t), int(n), int(fen)) for t, n, fen in stake_rows),
            key=lambda s: (-s.amount_fen, s.type.value),
        )
        first = conn.execute(
            sa.select(exceptions)
            .where(open_in_scope)
            .order_by(
                exceptions.c.due_date.is_(None),
                exceptions.c.due_date,
                exceptions.c.amount_fen.desc(),
                exceptions.c.id,
            )
            .limit(urgent)
        )
        urgent_list = tuple(stored_exception(r) for r in first)
    return Overview(
        start=start,
        end=end,
        as_of=as_of,
        run_id=run_id,
        days=tuple(days),
        total=total,
        at_stake=tuple(at_stake),
        urgent=urgent_list,
    )


def list_merchants(ws: StateDatabase, scope: MerchantScope) -> list[MerchantSummary]:
    """Every merchant of the scope the last run saw, with its money and open exceptions."""
    return list(cached(ws, ("merchants", scope), lambda: tuple(_list_merchants(ws, scope))))


def _list_merchants(ws: StateDatabase, scope: MerchantScope) -> list[MerchantSummary]:
    with ws.db.connect() as conn:
        names = dict(
            conn.execute(
                sa.select(run_merchants.c.merchant_id, run_merchants.c.merchant_name).where(
                    scope.sql_filter(run_merchants.c.merchant_id)
                )
            ).all()
        )
        money = {
            r.merchant_id: r
            for r in conn.execute(
                sa.select(
                    run_merchant_days.c.merchant_id,
                    *_sums(("sales_fen", "net_fen", "arrived_fen")),
                )
                .where(scope.sql_filter(run_merchant_days.c.merchant_id))
                .group_by(run_merchant_days.c.merchant_id)
            )
        }
        stakes = {
            m: (int(n), int(fen))
            for m, n, fen in conn.execute(
                sa.select(
                    exceptions.c.merchant_id,
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(exceptions.c.amount_fen), 0),
                )
                .where(
                    exceptions.c.status == "open",
                    exceptions.c.merchant_id.is_not(None),
                    scope.sql_filter(exceptions.c.merchant_id),
                )
                .group_by(exceptions.c.merchant_id)
            ).all()
        }
    out = []
    for mid in sorted(set(names) | set(money) | set(stakes)):
        m = money.get(mid)
        n, fen = stakes.get(mid, (0, 0))
        out.append(
            MerchantSummary(
                merchant_id=mid,
                merchant_name=names.get(mid),
                sales_fen=int(m.sales_fen) if m else 0,
                net_fen=int(m.net_fen) if m else 0,
                arrived_fen=int(m.arrived_fen) if m else 0,
                open_exceptions=n,
                at_stake_fen=fen,
            )
        )
    return out


# -- a merchant's money trail ---------------------------------------------------


def merchant_trail(
    ws: StateDatabase,
    scope: MerchantScope,
    merchant_id: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> MerchantTrail | None:
    """The merchant's business days in the period, newest first; None when out of scope.

    A merchant the scope does not allow is answered exactly like one that
    does not exist, so that a page cannot tell another organisation's
    merchants from typing errors.
    """
    if not scope.allows(merchant_id):
        return None
    one = MerchantScope.only([merchant_id])
    with ws.db.connect() as conn:
        run_id, as_of = _last_run(conn)
        name = conn.execute(
            sa.select(run_merchants.c.merchant_name).where(
                run_merchants.c.merchant_id == merchant_id
            )
        ).one_or_none()
        start, end = _period(conn, one, start, end, as_of)
        if name is None and start is None:
            known = conn.execute(
                sa.select(sa.func.count())
                .select_from(exceptions)
                .where(exceptions.c.merchant_id == merchant_id)
            ).scalar_one()
            if not known:
                return None
        day_rows = []
        payout_days: list[sa.Row[tuple[dt.date, str, int]]] = []
        if start is not None and end is not None:
            day_rows = list(
                conn.execute(
                    sa.select(run_merchant_days)
                    .where(
                        run_merchant_days.c.merchant_id == merchant_id,
                        run_merchant_days.c.day.between(start, end),
                    )
                    .order_by(run_merchant_days.c.day.desc(), run_merchant_days.c.channel)
                )
            )
            payout_days = list(
                conn.execute(
                    sa.select(
                        run_payout_days.c.day,
                        run_payout_days.c.payout_id,
                        run_payout_days.c.net_fen,
                    ).where(
                        run_payout_days.c.merchant_id == merchant_id,
                        run_payout_days.c.day.between(start, end),
                    )
                )
            )
        payout_ids = sorted({p.payout_id for p in payout_days})
        payouts = {
            r.payout_id: r
            for r in conn.execute(
                sa.select(run_payouts).where(run_payouts.c.payout_id.in_(payout_ids))
            )
        }
        attempts: dict[str, list[PayoutAttempt]] = defaultdict(list)
        for r in conn.execute(
            sa.select(run_payout_attempts)
            .where(run_payout_attempts.c.payout_id.in_(payout_ids))
            .order_by(run_payout_attempts.c.payout_id, run_payout_attempts.c.attempt)
        ):
            m = r._mapping
            attempts[r.payout_id].append(
                PayoutAttempt(**{k: m[k] for k in PayoutAttempt.__dataclass_fields__})
            )
        open_rows = [
            stored_exception(r)
            for r in conn.execute(
                sa.select(exceptions)
                .where(exceptions.c.status == "open", exceptions.c.merchant_id == merchant_id)
                .order_by(exceptions.c.amount_fen.desc(), exceptions.c.id)
            )
        ]

    carried: dict[dt.date, list[tuple[str, int]]] = defaultdict(list)
    days_of_payout: dict[str, set[dt.date]] = defaultdict(set)
    for p in payout_days:
        carried[p.day].append((p.payout_id, int(p.net_fen)))
        days_of_payout[p.payout_id].add(p.day)

    by_day: dict[dt.date, list[StoredException]] = defaultdict(list)
    other: list[StoredException] = []
    for e in open_rows:
        if e.type not in _STEP_OF:
            other.append(e)
        elif (
            e.payout_id is not None
            and e.payout_id in days_of_payout
            and _STEP_OF[e.type][0]
            in (
                "payout",
                "bank",
            )
        ):
            for d in days_of_payout[e.payout_id]:
                by_day[d].append(e)
        elif (
            e.ref_date is not None
            and start is not None
            and end is not None
            and start <= e.ref_date <= end
        ):
            by_day[e.ref_date].append(e)
        else:
            other.append(e)

    channels: dict[dt.date, list[tuple[str, DayTotals]]] = defaultdict(list)
    for r in day_rows:
        channels[r.day].append(
            (r.channel, DayTotals(day=r.day, **{m: int(r._mapping[m]) for m in _MONEY}))
        )
    all_days = sorted(set(channels) | set(by_day), reverse=True)
    days = tuple(
        _trail_day(
            d,
            channels.get(d, []),
            by_day.get(d, []),
            [
                _trail_payout(pid, fen, payouts.get(pid), attempts.get(pid, []))
                for pid, fen in sorted(carried.get(d, []))
            ],
            as_of,
        )
        for d in all_days
    )
    return MerchantTrail(
        merchant_id=merchant_id,
        merchant_name=name[0] if name is not None else None,
        as_of=as_of,
        run_id=run_id,
        days=days,
        other_exceptions=tuple(other),
    )


def _trail_payout(
    payout_id: str,
    carried_fen: int,
    row: sa.Row[tuple[object, ...]] | None,
    attempts: list[PayoutAttempt],
) -> TrailPayout:
    m = row._mapping if row is not None else {}
    return TrailPayout(
        payout_id=payout_id,
        carried_fen=carried_fen,
        amount_fen=int(m.get("amount_fen") or 0),
        outcome=str(m.get("outcome") or "pending"),
        disposition=str(m.get("disposition") or "in_transit"),
        settle_date=m.get("settle_date"),
        nominal_end=m.get("nominal_end"),
        extended_end=m.get("extended_end"),
        account_no=m.get("account_no"),
        bank_code=m.get("bank_code"),
        failure_code=m.get("failure_code"),
        failure_reason=m.get("failure_reason"),
        credit_date=m.get("credit_date"),
        bank_txn_id=m.get("bank_txn_id"),
        credit_path=m.get("credit_path"),
        credit_line=m.get("credit_line"),
        attempts=tuple(attempts),
    )


def _worst(states: Sequence[StepState]) -> StepState:
    return max(states, key=_SEVERITY.__getitem__) if states else StepState.NONE


def _trail_day(
    day: dt.date,
    channels: list[tuple[str, DayTotals]],
    found: list[StoredException],
    payouts: list[TrailPayout],
    as_of: dt.date | None,
) -> TrailDay:
    totals = DayTotals(day=day, **{m: sum(getattr(t, m) for _, t in channels) for m in _MONEY})
    about: dict[str, list[StoredException]] = defaultdict(list)
    for e in found:
        about[_STEP_OF[e.type][0]].append(e)

    def step(name: str, amount: int, default: StepState) -> TrailStep:
        mine = about.get(name, [])
        state = _worst([default, *(_STEP_OF[e.type][1] for e in mine)])
        return TrailStep(name=name, state=state, amount_fen=amount, exceptions=tuple(mine))

    sold = totals.sales_fen > 0 or totals.refunds_fen > 0
    sales = step("sales", totals.sales_fen, StepState.OK if sold else StepState.NONE)
    if totals.settled_fen == 0 and totals.sales_fen == 0:
        settled_default = StepState.NONE
    elif totals.settled_fen == 0:
        settled_default = StepState.PENDING  # nothing settled, and no exception says it is late
    else:
        settled_default = StepState.OK
    settlement = step("settlement", totals.settled_fen, settled_default)

    if not payouts:
        paid_default = StepState.PENDING if totals.net_fen else StepState.NONE
        bank_default = paid_default
    else:
        paid_default = _worst(
            [StepState.OK if p.outcome == "succeeded" else StepState.PENDING for p in payouts]
        )
        bank_default = _worst([_bank_state(p.disposition) for p in payouts])
    payout = step("payout", totals.paid_out_fen, paid_default)
    bank = step("bank", totals.arrived_fen, bank_default)
    return TrailDay(
        totals=totals,
        channels=tuple(channels),
        steps=(sales, settlement, payout, bank),
        payouts=tuple(payouts),
    )


def _bank_state(disposition: str) -> StepState:
    return {
        "arrived": StepState.OK,
        "arrived_late": StepState.LATE,
        "in_transit": StepState.PENDING,
        "settled_not_arrived": StepState.MISSING,
        "misrouted": StepState.WRONG,
    }.get(disposition, StepState.MISSING)
