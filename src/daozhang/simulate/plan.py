"""What goes wrong, decided before the traffic: terminal status changes and planted POS rows.

Some anomalies live in the POS journal itself (a refund of nothing, refunds
that add up to more than the sale, a payment on a suspended terminal, a
"failed" payment the acquirer settled anyway), so they are decided first and
handed to the day generator as rows; the others are made from the settled
traffic afterwards (:mod:`daozhang.simulate.flows`).

Each planted row is chosen so that it causes exactly the exceptions RULES.md
gives it: on a terminal that trades normally that day (except the planted
activity, which is the point), early enough in the period that whatever it
settles is settled by the as-of date, and with RRNs no other row can have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import format_yuan
from daozhang.simulate.cards import pans
from daozhang.simulate.period import Period
from daozhang.simulate.traffic import (
    APPROVED,
    REFUND,
    RESP_NO_ANSWER,
    RESP_NONE,
    REVERSED,
    SALE,
    TIMEOUT,
    PlantedTxn,
    rrn_prefix,
)
from daozhang.simulate.world import CHANNELS, World

__all__ = [
    "PosPlant",
    "StatusRow",
    "TerminalPlan",
    "plan_pos",
    "plan_terminals",
]

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StatusRow:
    """A row of terminals.csv beyond a terminal's first (active since installed) row."""

    terminal: int
    status: str
    since: dt.date
    reason: str | None
    note: str | None


@dataclass
class TerminalPlan:
    """Status history of the terminals, and the days each one does not trade."""

    rows: list[StatusRow] = field(default_factory=list)
    off: dict[int, tuple[dt.date, dt.date | None]] = field(default_factory=dict)
    suspended: list[tuple[int, dt.date, bool]] = field(default_factory=list)  # (t, since, activity)

    def trading(self, n_terminals: int, day: dt.date) -> np.ndarray:
        """1 for each terminal that trades on ``day``, else 0."""
        mask = np.ones(n_terminals, dtype=np.int64)
        for t, (frm, to) in self.off.items():
            if frm <= day and (to is None or day < to):
                mask[t] = 0
        return mask

    def busy(self) -> set[int]:
        return set(self.off)


@dataclass(frozen=True, slots=True)
class PosPlant:
    """A planted POS row and the exception it must cause (None: a supporting row)."""

    txn: PlantedTxn
    type: ExceptionType | None
    at_stake_fen: int
    description: str
    settle: bool = False  # settled although it failed (debited_but_failed)


_SUSPEND_REASONS: tuple[tuple[str, str], ...] = (
    ("unpaid_fee", "欠缴服务费，已停机"),
    ("risk_review", "交易异常，风控审核中"),
    ("agreement_violation", "移机使用，违反受理协议"),
    ("other", "数据异常，暂停受理"),
)


def _preferred_terminals(world: World, rng: np.random.Generator) -> list[int]:
    """Terminals in a random order, those of merchants with more than one first.

    Suspending a shop's only terminal is realistic but leaves the planted
    anomalies fewer places to go; a chain's spare terminal is the usual case.
    """
    order = [int(t) for t in rng.permutation(world.n_terminals)]
    multi = {m.index for m in world.merchants if len(world.terminals_of(m.index)) > 1}
    return [t for t in order if int(world.terminal_merchant[t]) in multi] + [
        t for t in order if int(world.terminal_merchant[t]) not in multi
    ]


def plan_terminals(
    world: World, period: Period, rng: np.random.Generator, *, anomalies: bool, scale: int
) -> TerminalPlan:
    """Suspensions (anomalies only), a closed terminal and one suspended then reactivated.

    A closed terminal and a reactivated one are no exception on the as-of
    date, so they belong to normal traffic too; they stop trading for exactly
    the days their status says.
    """
    plan = TerminalPlan()
    pool = _preferred_terminals(world, rng)
    span = max(period.days // 2, 4)
    n_suspended = 2 * scale if anomalies else 0
    if len(pool) < n_suspended + 4:
        raise ValueError(
            f"{world.n_terminals} terminals are too few for the planted anomalies: "
            "use more merchants"
        )
    for i in range(n_suspended):
        t = pool.pop(0)
        since = period.start + dt.timedelta(days=int(rng.integers(3, span)))
        reason, note = _SUSPEND_REASONS[i % len(_SUSPEND_REASONS)]
        plan.rows.append(StatusRow(t, "suspended", since, reason, note))
        plan.off[t] = (since, None)
        plan.suspended.append((t, since, i < scale))
    if len(pool) >= 4 and period.days >= 8:
        t = pool.pop(0)
        closed = period.start + dt.timedelta(days=int(rng.integers(2, period.days - 1)))
        plan.rows.append(StatusRow(t, "closed", closed, "other", "商户申请撤机"))
        plan.off[t] = (closed, None)
        t = pool.pop(0)
        frm = period.start + dt.timedelta(days=int(rng.integers(2, period.days - 5)))
        to = frm + dt.timedelta(days=int(rng.integers(2, 5)))
        plan.rows.append(StatusRow(t, "suspended", frm, "unpaid_fee", "欠缴年费，暂停受理"))
        plan.rows.append(StatusRow(t, "active", to, None, "已缴清欠费，恢复受理"))
        plan.off[t] = (frm, to)
    return plan


def _early_days(world: World, period: Period, m: int, *, last_share: float = 0.6) -> list[dt.date]:
    """Days in the first part of the period whose daytime sales would be due by the as-of date."""
    limit = period.start + dt.timedelta(days=max(int(period.days * last_share), 2))
    days = [
        d for d in period.dates()[1:] if d <= limit and period.settles_due(world, m, d, 12 * 3600)
    ]
    if not days:
        raise ValueError(
            f"the period {period.start}..{period.end} is too short for planted anomalies "
            "to be due by the as-of date"
        )
    return days


def _card_for(rng: np.random.Generator, channel: int) -> int:
    if channel > 1:
        return 0
    return int(pans(rng, np.array([channel == 1]))[0])


def plan_pos(
    world: World,
    period: Period,
    rng: np.random.Generator,
    terminals: TerminalPlan,
    *,
    scale: int,
) -> list[PosPlant]:
    """The planted POS rows: activity on suspended terminals, failed-but-settled, odd refunds."""
    plants: list[PosPlant] = []
    next_id = iter(range(1_000_000))
    busy = terminals.busy()
    free = [t for t in range(world.n_terminals) if t not in busy]

    def daytime() -> int:
        return int(rng.integers(9 * 3600, 20 * 3600))

    def amount(lo: int = 3_000, hi: int = 120_000) -> int:
        return int(rng.integers(lo, hi))

    # Payments taken on a terminal after it was suspended.
    for t, since, activity in terminals.suspended:
        if not activity:
            continue
        m = int(world.terminal_merchant[t])
        for k in range(2):
            day = min(since + dt.timedelta(days=int(rng.integers(0, 3)) + k), period.end)
            ch = int(rng.integers(0, len(CHANNELS)))
            amt = amount()
            p = PlantedTxn(
                plant_id=next(next_id),
                day=day,
                terminal=t,
                secs=daytime(),
                txn_type=SALE,
                channel=ch,
                amount_fen=amt,
                result=APPROVED,
                has_rrn=True,
                card=_card_for(rng, ch),
            )
            plants.append(
                PosPlant(
                    p,
                    ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL,
                    amt,
                    f"approved {CHANNELS[ch].value} sale on terminal {world.terminal_ids[t]} "
                    f"on {day}, which is suspended since {since}",
                )
            )

    def free_terminal() -> tuple[int, int]:
        t = free[int(rng.integers(len(free)))]
        return t, int(world.terminal_merchant[t])

    # The terminal said the payment failed; the acquirer settled it anyway.
    for k in range(2 * scale):
        t, m = free_terminal()
        days = _early_days(world, period, m)
        day = days[int(rng.integers(len(days)))]
        ch = int(rng.integers(0, 2))
        amt = amount()
        timeout = k % 2 == 0
        p = PlantedTxn(
            plant_id=next(next_id),
            day=day,
            terminal=t,
            secs=daytime(),
            txn_type=SALE,
            channel=ch,
            amount_fen=amt,
            result=TIMEOUT if timeout else REVERSED,
            has_rrn=not timeout,
            card=_card_for(rng, ch),
            response=RESP_NONE if timeout else RESP_NO_ANSWER,
        )
        what = "timed out (no RRN)" if timeout else "was reversed"
        plants.append(
            PosPlant(
                p,
                ExceptionType.DEBITED_BUT_FAILED,
                amt,
                f"{CHANNELS[ch].value} sale on {day} {what} at the terminal, "
                "but the acquirer settled it",
                settle=True,
            )
        )

    # A refund whose original sale nobody has.
    ghost_prefix = rrn_prefix(period.start - dt.timedelta(days=200)) * 10**8
    for _ in range(2 * scale):
        t, m = free_terminal()
        days = _early_days(world, period, m)
        day = days[int(rng.integers(len(days)))]
        ch = int(rng.integers(0, len(CHANNELS)))
        amt = amount(2_000, 60_000)
        orig = ghost_prefix + int(rng.integers(1_000, 60_000))
        p = PlantedTxn(
            plant_id=next(next_id),
            day=day,
            terminal=t,
            secs=daytime(),
            txn_type=REFUND,
            channel=ch,
            amount_fen=amt,
            result=APPROVED,
            has_rrn=True,
            card=_card_for(rng, ch),
            orig_rrn=orig,
        )
        plants.append(
            PosPlant(
                p,
                ExceptionType.REFUND_WITHOUT_SALE,
                amt,
                f"approved {CHANNELS[ch].value} refund on {day} naming RRN {orig:012d}, "
                "a sale neither the journal nor the acquirer has",
            )
        )

    # Refunds that add up to more than the sale.
    for k in range(2 * scale):
        t, m = free_terminal()
        days = _early_days(world, period, m, last_share=0.45)
        d1 = days[int(rng.integers(len(days)))]
        ch = int(rng.integers(0, len(CHANNELS)))
        card = _card_for(rng, ch)
        sale_amt = amount(10_000, 200_000)
        sale = PlantedTxn(
            plant_id=next(next_id),
            day=d1,
            terminal=t,
            secs=daytime(),
            txn_type=SALE,
            channel=ch,
            amount_fen=sale_amt,
            result=APPROVED,
            has_rrn=True,
            card=card,
        )
        plants.append(PosPlant(sale, None, 0, "the sale refunded too much"))
        d2 = d1 + dt.timedelta(days=int(rng.integers(1, 3)))
        if k % 2 == 0:
            r1 = sale_amt * 6 // 10
            first = PlantedTxn(
                plant_id=next(next_id),
                day=d2,
                terminal=t,
                secs=10 * 3600,
                txn_type=REFUND,
                channel=ch,
                amount_fen=r1,
                result=APPROVED,
                has_rrn=True,
                card=card,
                orig_plant=sale.plant_id,
            )
            plants.append(PosPlant(first, None, 0, "first partial refund, within the sale"))
            r2 = sale_amt * 6 // 10
            second = PlantedTxn(
                plant_id=next(next_id),
                day=d2 + dt.timedelta(days=1),
                terminal=t,
                secs=daytime(),
                txn_type=REFUND,
                channel=ch,
                amount_fen=r2,
                result=APPROVED,
                has_rrn=True,
                card=card,
                orig_plant=sale.plant_id,
            )
            plants.append(
                PosPlant(
                    second,
                    ExceptionType.REFUND_EXCEEDS_SALE,
                    r1 + r2 - sale_amt,
                    f"second refund of a {format_yuan(sale_amt)} sale of {d1} brings the "
                    f"refunds to {format_yuan(r1 + r2)}",
                )
            )
        else:
            r = sale_amt + sale_amt // 4
            refund = PlantedTxn(
                plant_id=next(next_id),
                day=d2,
                terminal=t,
                secs=daytime(),
                txn_type=REFUND,
                channel=ch,
                amount_fen=r,
                result=APPROVED,
                has_rrn=True,
                card=card,
                orig_plant=sale.plant_id,
            )
            plants.append(
                PosPlant(
                    refund,
                    ExceptionType.REFUND_EXCEEDS_SALE,
                    r - sale_amt,
                    f"refund of {format_yuan(r)} for a {format_yuan(sale_amt)} sale of {d1}",
                )
            )
    return plants
