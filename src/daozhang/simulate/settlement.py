"""Settlement from the simulated traffic, and the transaction-level anomalies planted into it.

Everything here is set-based SQL over the working DuckDB database; Python only
picks which few rows an anomaly changes. The tables:

* ``mdim``, ``tdim`` — merchants and terminals (with their sort ranks);
* ``wd`` — per date: whether banks work and the next working day;
* ``pos_raw`` — every POS attempt drawn, with its expected settle date, rate
  and cap (``pre`` marks the days before the journal starts, whose sales
  still settle inside the period);
* ``stl`` — one row per settlement row, as the acquirers will report them.

Fees are computed with :func:`daozhang.domain.money.round_half_up_div_sql`,
the SQL twin of :func:`~daozhang.domain.money.fee_fen`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from daozhang.domain.cycles import expected_settle_date
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import PPM, fee_fen, format_yuan, round_half_up_div_sql
from daozhang.domain.records import Cycle
from daozhang.simulate.cards import pans
from daozhang.simulate.period import Period
from daozhang.simulate.truth import TruthEntry, tx_key
from daozhang.simulate.world import ACQUIRERS, BANKS, CHANNELS, World

__all__ = [
    "build_settlement",
    "drop_negative_refunds",
    "fee_sql",
    "load_reference",
    "plant_transactions",
    "pre_period_start",
]

_ONE_DAY = dt.timedelta(days=1)
# Names and MCCs that 跳码 puts on a merchant's transactions.
_JUMP_NAMES = ("鑫源商贸有限公司", "金盛娱乐会所", "华通百货批发部", "隆达建材经营部")
_JUMP_MCCS = ("5399", "7911", "5311", "5211")


def fee_sql(amount: str, rate: str, cap: str) -> str:
    """The contract fee of RULES.md in SQL: amount x rate rounded half up, capped, signed."""
    mag = round_half_up_div_sql(f"ABS({amount}) * {rate}", PPM)
    capped = f"(CASE WHEN {cap} IS NOT NULL AND {mag} > {cap} THEN {cap} ELSE {mag} END)"
    return f"(CASE WHEN {amount} < 0 THEN -{capped} ELSE {capped} END)"


_CONTRACT_FEE = fee_sql("amount", "rate", "cap")
_UNCAPPED_FEE = fee_sql("amount", "rate", "NULL")


def pre_period_start(period: Period) -> dt.date:
    """The first local date whose transactions can settle on or after the start.

    A T1 sale of the Friday before a Monday start settles on the Monday, and a
    sale after Thursday's cutoff belongs to Friday: such rows are in the first
    settlement files although the journal does not have them.
    """
    b = period.start - _ONE_DAY
    while max(expected_settle_date(b, c, period.cal) for c in Cycle) >= period.start:
        b -= _ONE_DAY
    return b


def _ranks(ids: list[str]) -> list[int]:
    """Each id's position in sorted order: files are sorted by these numbers, not by text."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    ranks = [0] * len(ids)
    for r, i in enumerate(order):
        ranks[i] = r
    return ranks


def load_reference(con: duckdb.DuckDBPyConnection, world: World, period: Period) -> None:
    """Merchants, terminals and working days, as small tables."""
    ms = world.merchants
    con.register(
        "_mdim",
        pa.table(
            {
                "m": [m.index for m in ms],
                "merchant_id": [m.merchant_id for m in ms],
                "merchant_name": [m.name for m in ms],
                "mcc": [m.mcc for m in ms],
                "acquirer": [ACQUIRERS[m.acquirer].name for m in ms],
                "acq_code": [ACQUIRERS[m.acquirer].code for m in ms],
                "payout_prefix": [ACQUIRERS[m.acquirer].payout_prefix for m in ms],
                "account": [m.account for m in ms],
                "account_name": [m.account_name for m in ms],
                "bank_code": [BANKS[m.bank].code for m in ms],
                "cycle": [m.cycle.value for m in ms],
                "cutoff_secs": [m.cutoff_secs for m in ms],
                "mrank": _ranks([m.merchant_id for m in ms]),
            }
        ),
    )
    con.execute("CREATE TABLE mdim AS SELECT * FROM _mdim")
    con.register(
        "_tdim",
        pa.table(
            {
                "t": list(range(world.n_terminals)),
                "terminal_id": list(world.terminal_ids),
                "m": [int(x) for x in world.terminal_merchant],
                "trank": _ranks(list(world.terminal_ids)),
            }
        ),
    )
    con.execute("CREATE TABLE tdim AS SELECT * FROM _tdim")
    first = pre_period_start(period)
    last = period.as_of + dt.timedelta(days=40)
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    cal = period.cal
    con.register(
        "_wd",
        pa.table(
            {
                "d": dates,
                "working": [cal.is_working(d) for d in dates],
                "add1": [cal.add_working(d, 1) for d in dates],
            }
        ),
    )
    con.execute("CREATE TABLE wd AS SELECT * FROM _wd")
    for name in ("_mdim", "_tdim", "_wd"):
        con.unregister(name)


def build_settlement(con: duckdb.DuckDBPyConnection, period: Period, forced: list[int]) -> None:
    """Every settleable attempt, settled on its expected date with the contract fee.

    Settleable: approved sales, pre-authorisation completions and refunds that
    were not voided, plus the planted failed attempts in ``forced``. Only
    settle dates from the start to the as-of date have files. Refunds settle
    as negative amount, fee and net. ``name`` and ``mcc`` are NULL where the
    row carries the contract's (all but the 跳码 rows).
    """
    con.execute("CREATE OR REPLACE TABLE forced (plant INTEGER)")
    if forced:
        con.execute("INSERT INTO forced VALUES " + ", ".join(f"({int(p)})" for p in forced))
    con.execute(
        f"""
        CREATE TABLE stl AS
        SELECT x.*, {_CONTRACT_FEE} AS fee FROM (
            SELECT rid AS sid, t, m, day, secs, ttype, ch, batch, trace, rrn, card, plant, pre,
                   CASE WHEN ttype = 1 THEN -amount ELSE amount END AS amount, rate, cap,
                   exp_settle AS settle_date,
                   CAST(NULL AS VARCHAR) AS name, CAST(NULL AS VARCHAR) AS mcc
            FROM pos_raw
            WHERE ((result = 0 AND ttype IN (0, 1, 3) AND NOT voided)
                   OR plant IN (SELECT plant FROM forced))
              AND exp_settle BETWEEN DATE '{period.start}' AND DATE '{period.as_of}'
        ) x
        """
    )
    con.execute(
        """
        CREATE TABLE refunded AS
        SELECT DISTINCT m, orig_rrn AS rrn FROM pos_raw WHERE ttype = 1 AND orig_rrn IS NOT NULL
        """
    )


def drop_negative_refunds(con: duckdb.DuckDBPyConnection) -> int:
    """Hold back the refunds of a merchant's settle day that would make its payout negative.

    An acquirer does not send a negative transfer; it carries the refunds
    over. An unsettled refund is no exception (RULES.md disposition
    ``refund_not_settled``), so holding it back changes no truth.
    """
    before = _scalar(con, "SELECT COUNT(*) FROM stl")
    con.execute(
        """
        DELETE FROM stl WHERE ttype = 1 AND (m, settle_date) IN (
            SELECT m, settle_date FROM stl GROUP BY m, settle_date HAVING SUM(amount - fee) <= 0
        )
        """
    )
    return before - _scalar(con, "SELECT COUNT(*) FROM stl")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchall()[0]
    assert row is not None
    return int(row[0])


class _Picker:
    """Picks distinct settled sales for the transaction-level anomalies.

    Candidates come from ``cand``: settled sales of normal traffic in the
    first part of the period (not planted, not refunded, not on a terminal
    whose status changes), thinned to a few hundred thousand rows so that a
    pick stays cheap at ten million transactions.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        world: World,
        period: Period,
        rng: np.random.Generator,
        avoid_terminals: set[int],
    ) -> None:
        self.con = con
        self.world = world
        self.rng = rng
        self.used: set[int] = set()
        self.avoid = sorted(avoid_terminals)
        limit = period.start + dt.timedelta(days=max(int(period.days * 0.6), 2))
        self.days = [d for d in period.dates()[1:] if d <= limit]
        avoid = ",".join(str(t) for t in self.avoid) or "-1"
        total = _scalar(con, "SELECT COUNT(*) FROM stl")
        step = max(1, total // 400_000)
        con.execute(
            f"""
            CREATE OR REPLACE TABLE cand AS
            SELECT s.* FROM stl s
            WHERE s.plant < 0 AND NOT s.pre AND s.ttype = 0 AND s.sid % {step} = 0
              AND s.day BETWEEN DATE '{self.days[0]}' AND DATE '{self.days[-1]}'
              AND s.t NOT IN ({avoid})
              AND NOT EXISTS (SELECT 1 FROM refunded r WHERE r.m = s.m AND r.rrn = s.rrn)
            """
        )
        con.execute("CREATE OR REPLACE TABLE mdates AS SELECT DISTINCT m, settle_date FROM stl")

    def pick(self, extra: str = "", tries: int = 200) -> int:
        """A candidate sale, not used before, meeting ``extra`` (SQL over ``s``)."""
        for _ in range(tries):
            m = int(self.rng.integers(len(self.world.merchants)))
            day = self.days[int(self.rng.integers(len(self.days)))]
            rows = self.con.execute(
                f"SELECT s.sid FROM cand s WHERE s.m = ? AND s.day = ? {extra} ORDER BY s.sid",
                [m, day],
            ).fetchall()
            cands = [int(r[0]) for r in rows if int(r[0]) not in self.used]
            if cands:
                sid = cands[int(self.rng.integers(len(cands)))]
                self.used.add(sid)
                return sid
        raise ValueError(f"no settled sale fits an anomaly ({extra.strip() or 'any'})")

    def row(self, sid: int) -> _Sale:
        rows = self.con.execute(
            """
            SELECT s.sid, md.merchant_id, td.terminal_id, s.rrn, s.amount, s.settle_date, s.day,
                   s.ch, s.m, md.payout_prefix
            FROM cand s JOIN mdim md ON md.m = s.m JOIN tdim td ON td.t = s.t
            WHERE s.sid = ?
            """,
            [sid],
        ).fetchall()
        sid_, merchant_id, terminal_id, rrn, amount, settle, day, ch, m, prefix = rows[0]
        return _Sale(
            sid=int(sid_),
            merchant_id=str(merchant_id),
            terminal_id=str(terminal_id),
            rrn=f"{int(rrn):012d}",
            amount=int(amount),
            settle_date=settle,
            day=day,
            channel=CHANNELS[int(ch)].value,
            m=int(m),
            payout_prefix=str(prefix),
        )

    def later_dates(self, m: int, after: dt.date) -> list[dt.date]:
        rows = self.con.execute(
            "SELECT settle_date FROM mdates WHERE m = ? AND settle_date > ? ORDER BY 1",
            [m, after],
        ).fetchall()
        return [r[0] for r in rows]


def _payout_id(prefix: str, settle: dt.date, m: int) -> str:
    return f"{prefix}{settle:%Y%m%d}{m:06d}"


@dataclass(frozen=True, slots=True)
class _Sale:
    """A settled sale picked for an anomaly, as it was before the anomaly changed it."""

    sid: int
    merchant_id: str
    terminal_id: str
    rrn: str
    amount: int
    settle_date: dt.date
    day: dt.date
    channel: str
    m: int
    payout_prefix: str

    def entry(
        self,
        kind: ExceptionType,
        at_stake: int,
        description: str,
        *,
        settled_on: dt.date | None = None,
    ) -> TruthEntry:
        """Its truth: keyed by merchant and RRN, with the payout its row now belongs to."""
        settle = settled_on or self.settle_date
        return TruthEntry(
            type=kind,
            key=tx_key(self.merchant_id, self.rrn),
            amount_fen=at_stake,
            merchant_id=self.merchant_id,
            rrn=self.rrn,
            payout_id=None
            if kind is ExceptionType.MISSING_IN_SETTLEMENT
            else _payout_id(self.payout_prefix, settle, self.m),
            terminal_id=self.terminal_id,
            description=description,
        )


def plant_transactions(
    con: duckdb.DuckDBPyConnection,
    world: World,
    period: Period,
    rng: np.random.Generator,
    *,
    scale: int,
    avoid_terminals: set[int],
) -> list[TruthEntry]:
    """Missing, wrong, doubled, late, misnamed and unknown settlement rows.

    Each picks its own settled sale, so no row carries two anomalies, and
    changes only what its exception is about (an amount changed keeps the
    contract fee on the new amount; a late row keeps its fee and name).
    Payouts are summed afterwards from the rows that remain.
    """
    pick = _Picker(con, world, period, rng, avoid_terminals)
    out: list[TruthEntry] = []
    as_of = period.as_of
    due = f"AND s.settle_date IN (SELECT d FROM wd WHERE add1 < DATE '{as_of}')"
    has_later = (
        "AND EXISTS (SELECT 1 FROM mdates d WHERE d.m = s.m AND d.settle_date > s.settle_date)"
    )

    for _ in range(3 * scale):
        sale = pick.row(pick.pick(due))
        con.execute("DELETE FROM stl WHERE sid = ?", [sale.sid])
        out.append(
            sale.entry(
                ExceptionType.MISSING_IN_SETTLEMENT,
                sale.amount,
                f"approved sale of {sale.day} ({format_yuan(sale.amount)}) left out of the "
                f"settlement due {sale.settle_date}",
            )
        )

    for k in range(2 * scale):
        sale = pick.row(pick.pick("AND s.amount > 6000"))  # stays positive after the change
        delta = int(rng.integers(100, 5_000)) * (1 if k % 2 == 0 else -1)
        con.execute("UPDATE stl SET amount = amount + ? WHERE sid = ?", [delta, sale.sid])
        con.execute(f"UPDATE stl SET fee = {_CONTRACT_FEE} WHERE sid = ?", [sale.sid])
        out.append(
            sale.entry(
                ExceptionType.AMOUNT_MISMATCH,
                abs(delta),
                f"sale of {format_yuan(sale.amount)} settled as {format_yuan(sale.amount + delta)}",
            )
        )

    for k in range(3 * scale):
        if k % 3 == 2:
            # The debit-card cap not applied on a large purchase.
            sale = pick.row(pick.pick("AND s.ch = 0 AND s.cap IS NOT NULL"))
            big = int(rng.integers(600_000, 2_000_000))
            con.execute(
                """
                UPDATE pos_raw SET amount = ? FROM stl
                WHERE stl.sid = ? AND pos_raw.t = stl.t AND pos_raw.batch = stl.batch
                  AND pos_raw.trace = stl.trace
                """,
                [big, sale.sid],
            )
            con.execute("UPDATE stl SET amount = ? WHERE sid = ?", [big, sale.sid])
            con.execute(f"UPDATE stl SET fee = {_UNCAPPED_FEE} WHERE sid = ?", [sale.sid])
            what = "debit-card cap not applied"
        else:
            # A silent rate change: 0.22 percentage points more than the contract.
            sale = pick.row(pick.pick("AND s.ch > 0 AND s.amount >= 5000"))
            con.execute(
                f"UPDATE stl SET fee = {fee_sql('amount', '(rate + 2200)', 'NULL')} WHERE sid = ?",
                [sale.sid],
            )
            what = "charged 0.22 percentage points above the contract rate"
        amount_now, fee_now, expected = (
            int(x)
            for x in con.execute(
                f"SELECT amount, fee, {_CONTRACT_FEE} FROM stl WHERE sid = ?", [sale.sid]
            ).fetchall()[0]
        )
        diff = abs(fee_now - expected)
        if diff <= 1:
            raise AssertionError("a planted fee mismatch must exceed 1 fen")
        out.append(
            sale.entry(
                ExceptionType.FEE_MISMATCH,
                diff,
                f"{sale.channel} sale of {format_yuan(amount_now)}: fee "
                f"{format_yuan(fee_now)}, contract {format_yuan(expected)} ({what})",
            )
        )

    for _ in range(2 * scale):
        sale = pick.row(pick.pick(has_later))
        again = pick.later_dates(sale.m, sale.settle_date)[0]
        con.execute(
            """
            INSERT INTO stl SELECT (SELECT MAX(sid) FROM stl) + 1 AS sid,
                   t, m, day, secs, ttype, ch, batch, trace, rrn, card, plant, pre, amount, rate,
                   cap, ? AS settle_date, name, mcc, fee
            FROM stl WHERE sid = ?
            """,
            [again, sale.sid],
        )
        pick.used.add(_scalar(con, "SELECT MAX(sid) FROM stl"))
        out.append(
            sale.entry(
                ExceptionType.DUPLICATE_SETTLEMENT,
                abs(sale.amount),
                f"sale settled on {sale.settle_date} and again on {again}",
            )
        )

    for k in range(2 * scale):
        sale = pick.row(pick.pick())
        mcc = world.merchants[sale.m].mcc
        jump_mcc = _JUMP_MCCS[k % len(_JUMP_MCCS)]
        if k % 2 == 0:
            name = _JUMP_NAMES[(k // 2) % len(_JUMP_NAMES)]
            con.execute(
                "UPDATE stl SET name = ?, mcc = ? WHERE sid = ?", [name, jump_mcc, sale.sid]
            )
            what = f"under the name {name} and MCC {jump_mcc}"
        else:
            con.execute("UPDATE stl SET mcc = ? WHERE sid = ?", [jump_mcc, sale.sid])
            what = f"under MCC {jump_mcc} instead of {mcc}"
        out.append(
            sale.entry(
                ExceptionType.MERCHANT_MISMATCH, abs(sale.amount), f"sale settled {what} (跳码)"
            )
        )

    for _ in range(2 * scale):
        sale = pick.row(pick.pick(has_later))
        later = pick.later_dates(sale.m, sale.settle_date)
        new = later[min(1, len(later) - 1)]
        con.execute("UPDATE stl SET settle_date = ? WHERE sid = ?", [new, sale.sid])
        out.append(
            sale.entry(
                ExceptionType.LATE_SETTLEMENT,
                abs(sale.amount),
                f"sale due on {sale.settle_date} settled on {new}",
                settled_on=new,
            )
        )

    out += _plant_unknown(con, world, period, rng, scale=scale, avoid=pick.avoid, days=pick.days)
    return out


def _plant_unknown(
    con: duckdb.DuckDBPyConnection,
    world: World,
    period: Period,
    rng: np.random.Generator,
    *,
    scale: int,
    avoid: list[int],
    days: list[dt.date],
) -> list[TruthEntry]:
    """Settlement rows the journal has no record of, on terminal-days it covers."""
    out: list[TruthEntry] = []
    avoid_sql = ",".join(str(t) for t in avoid) or "-1"
    for k in range(2 * scale):
        for _ in range(200):
            day = days[int(rng.integers(len(days)))]
            terms = con.execute(
                f"""
                SELECT t, MAX(batch), MAX(trace) FROM pos_raw
                WHERE day = ? AND NOT pre AND t NOT IN ({avoid_sql}) GROUP BY t ORDER BY t
                """,
                [day],
            ).fetchall()
            if terms:
                break
        else:
            raise ValueError("no terminal trades on the days an unknown settlement needs")
        t, batch, max_trace = terms[int(rng.integers(len(terms)))]
        m = int(world.terminal_merchant[t])
        merchant = world.merchants[m]
        secs = int(rng.integers(9 * 3600, 20 * 3600))
        settle = period.settle_date(world, m, day, secs)
        if settle > period.as_of:
            raise ValueError(f"an unknown settlement of {day} would settle after the as-of date")
        ch = int(rng.integers(0, len(CHANNELS)))
        card = int(pans(rng, np.array([ch == 1]))[0]) if ch <= 1 else None
        amount = int(rng.integers(2_000, 80_000))
        # An RRN of that day's sequence that the journal does not have.
        last = _scalar(con, "SELECT MAX(rrn) FROM pos_raw WHERE day = ?", [day])
        rrn = last + 7 + k
        trace = int(max_trace) % 999_999 + 1
        v = merchant.version_on(day)
        rate = v.rates()[ch]
        cap = v.debit_cap_fen if ch == 0 else None
        con.execute(
            """
            INSERT INTO stl
            SELECT (SELECT MAX(sid) FROM stl) + 1, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, -1, FALSE,
                   ?, ?, ?, ?, NULL, NULL, ?
            """,
            [
                t,
                m,
                day,
                secs,
                ch,
                batch,
                trace,
                rrn,
                card,
                amount,
                rate,
                cap,
                settle,
                fee_fen(amount, rate_ppm=rate, cap_fen=cap),
            ],
        )
        rrn_text = f"{rrn:012d}"
        out.append(
            TruthEntry(
                type=ExceptionType.UNKNOWN_SETTLEMENT,
                key=tx_key(merchant.merchant_id, rrn_text),
                amount_fen=amount,
                merchant_id=merchant.merchant_id,
                rrn=rrn_text,
                payout_id=_payout_id(ACQUIRERS[merchant.acquirer].payout_prefix, settle, m),
                terminal_id=world.terminal_ids[t],
                description=f"{CHANNELS[ch].value} sale of {format_yuan(amount)} on {day} settled "
                f"on {settle}; the terminal's journal has no such transaction",
            )
        )
    return out
