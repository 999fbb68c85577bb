"""The daily report: for one day, what each merchant sold, what was settled, paid and arrived.

"Where is my money" for a day, per merchant: the approved sales on the POS,
the settlement of that day's transactions (amount, fee, net), how much of
the net was paid out, how much arrived on the bank account, what is still
outstanding, and the money at stake in open exceptions about that day. The
day is the transactions' local date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from daozhang.pipeline import match
from daozhang.report.totals import MERCHANT_DAYS_SQL, MERCHANTS_SQL
from daozhang.service.runs import RecordSource, load_calendar, open_engine
from daozhang.store.tables import exceptions, reconcile_runs, run_merchant_days, run_merchants
from daozhang.store.totals import totals_run_id

__all__ = ["DailyReport", "MerchantDay", "daily_report"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MerchantDay:
    merchant_id: str
    merchant_name: str | None
    sales_count: int
    sales_fen: int
    refunds_fen: int
    settled_fen: int
    fee_fen: int
    net_fen: int
    paid_out_fen: int
    arrived_fen: int
    outstanding_fen: int
    open_exceptions: int
    at_stake_fen: int


@dataclass(frozen=True, slots=True)
class DailyReport:
    date: dt.date
    as_of: dt.date
    merchants: tuple[MerchantDay, ...]
    warnings: tuple[str, ...]

    def total(self) -> MerchantDay:
        def s(attr: str) -> int:
            return sum(int(getattr(m, attr)) for m in self.merchants)

        return MerchantDay(
            merchant_id="*",
            merchant_name=None,
            **{
                a: s(a)
                for a in (
                    "sales_count",
                    "sales_fen",
                    "refunds_fen",
                    "settled_fen",
                    "fee_fen",
                    "net_fen",
                    "paid_out_fen",
                    "arrived_fen",
                    "outstanding_fen",
                    "open_exceptions",
                    "at_stake_fen",
                )
            },
        )


# The day's rows of the run totals (report/totals.py), per merchant: the same
# definition the stored report is read from, filtered to one day.
_REPORT_SQL = f"""
SELECT d.merchant_id, MAX(m.merchant_name) AS merchant_name,
       SUM(d.sales_count) AS sales_count, SUM(d.sales_fen) AS sales_fen,
       SUM(d.refunds_fen) AS refunds_fen, SUM(d.settled_fen) AS settled_fen,
       SUM(d.fee_fen) AS fee_fen, SUM(d.net_fen) AS net_fen,
       SUM(d.paid_out_fen) AS paid_out_fen, SUM(d.arrived_fen) AS arrived_fen
FROM ({MERCHANT_DAYS_SQL}) d
CROSS JOIN report_day day
LEFT JOIN ({MERCHANTS_SQL}) m ON m.merchant_id = d.merchant_id
WHERE d.day = day.d
GROUP BY d.merchant_id
ORDER BY d.merchant_id
"""


def daily_report(ws: RecordSource, *, date: dt.date, as_of: dt.date | None = None) -> DailyReport:
    """The report for ``date``, with arrival judged as of ``as_of`` (default: the last run's).

    As of the last successful run's date, the report is read from the totals
    that run stored (instant, whatever the size of the workspace); as of any
    other date, the records are matched again for it.
    """
    with ws.db.connect() as conn:
        run_id = totals_run_id(conn)
        run = (
            conn.execute(
                sa.select(reconcile_runs.c.as_of, reconcile_runs.c.warnings).where(
                    reconcile_runs.c.id == run_id
                )
            ).one_or_none()
            if run_id is not None
            else None
        )
        if as_of is None:
            as_of = run.as_of if run is not None else max(date, dt.date.today())
        stake = _at_stake(conn, date)
        stored = run is not None and run.as_of == as_of
        if stored:
            rows = _stored_rows(conn, date)
            warnings = list(json.loads(run.warnings or "[]")) if run is not None else []
            problems: list[str] = []
    if not stored:
        calendar, problems = load_calendar(ws.home)
        with open_engine(ws) as engine:
            warnings = match(engine, as_of=as_of, calendar=calendar)
            engine.load_arrow("report_day", pa.table({"d": pa.array([date], pa.date32())}))
            rows = engine.fetch(_REPORT_SQL).to_pylist()
    merchants = []
    for r in rows:
        count, fen = stake.get(r["merchant_id"], (0, 0))
        merchants.append(
            MerchantDay(
                merchant_id=str(r["merchant_id"]),
                merchant_name=r["merchant_name"],
                sales_count=int(r["sales_count"]),
                sales_fen=int(r["sales_fen"]),
                refunds_fen=int(r["refunds_fen"]),
                settled_fen=int(r["settled_fen"]),
                fee_fen=int(r["fee_fen"]),
                net_fen=int(r["net_fen"]),
                paid_out_fen=int(r["paid_out_fen"]),
                arrived_fen=int(r["arrived_fen"]),
                outstanding_fen=int(r["net_fen"]) - int(r["arrived_fen"]),
                open_exceptions=count,
                at_stake_fen=fen,
            )
        )
    return DailyReport(date, as_of, tuple(merchants), (*problems, *warnings))


def _stored_rows(conn: sa.Connection, date: dt.date) -> list[dict[str, Any]]:
    """The day's per-merchant totals as the last run stored them (store/totals.py)."""
    d = run_merchant_days.c
    money = ("sales_count", "sales_fen", "refunds_fen", "settled_fen", "fee_fen", "net_fen")
    rows = conn.execute(
        sa.select(
            d.merchant_id,
            run_merchants.c.merchant_name,
            *(sa.func.sum(d[m]).label(m) for m in (*money, "paid_out_fen", "arrived_fen")),
        )
        .select_from(
            run_merchant_days.outerjoin(run_merchants, run_merchants.c.merchant_id == d.merchant_id)
        )
        .where(d.day == date)
        .group_by(d.merchant_id, run_merchants.c.merchant_name)
        .order_by(d.merchant_id)
    )
    return [dict(r._mapping) for r in rows]


def _at_stake(conn: sa.Connection, date: dt.date) -> dict[str, tuple[int, int]]:
    """Open exceptions dated ``date`` (their transaction date, or a payout's settle date)."""
    rows = conn.execute(
        sa.select(exceptions.c.merchant_id, sa.func.count(), sa.func.sum(exceptions.c.amount_fen))
        .where(exceptions.c.status == "open", exceptions.c.ref_date == date)
        .group_by(exceptions.c.merchant_id)
    )
    return {m: (int(n), int(fen or 0)) for m, n, fen in rows if m is not None}
