"""``daozhang simulate``: a realistic workspace of files, and the truth about it.

The simulation draws merchants, terminals and contracts; a day at a time,
every POS attempt of every terminal; settles what an acquirer settles, pays
it out, credits it to the bank accounts; and, when asked, plants at least one
of every exception type of the taxonomy, each isolated so that it causes
exactly the exceptions RULES.md gives it. ``truth.jsonl`` lists them: a
reconcile run as of the published ``as_of`` date must find exactly those.

Same seed and parameters, same bytes: every random draw comes from a numpy
Generator seeded with the seed and a fixed stream number, and every file is
written from a fully ordered query.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.findings import ExceptionType
from daozhang.simulate.payouts import build_payouts
from daozhang.simulate.period import Period
from daozhang.simulate.plan import PosPlant, TerminalPlan, plan_pos, plan_terminals
from daozhang.simulate.settlement import (
    build_settlement,
    drop_negative_refunds,
    load_reference,
    plant_transactions,
    pre_period_start,
)
from daozhang.simulate.terms import build_terms
from daozhang.simulate.traffic import (
    RefundPool,
    TerminalState,
    expected_attempts,
    generate_day,
)
from daozhang.simulate.truth import TruthEntry, tx_key, write_truth
from daozhang.simulate.world import World, build_world
from daozhang.simulate.writer import write_files

__all__ = ["SimulationSummary", "simulate", "simulate_transactions"]

# Random streams: one per stage, so that a change in one stage's draws does
# not reshuffle the others.
_WORLD, _PLAN, _DAY, _SETTLE, _PAYOUT = range(5)
# What a simulation writes, so that a second run into the same folder can
# remove exactly that.
_OUTPUTS = (
    "pos/pos_journal_*.csv",
    "settlement/*_*.csv",
    "payouts/payouts_*.csv",
    "bank/*.csv",
    "contracts.csv",
    "terminals.csv",
    "maintenance.csv",
    "truth.jsonl",
    "simulation.json",
    # the real formats daozhang demo delivers some of them in (simulate/real_formats.py)
    "bank/*.xml",
    "bank/*.sta",
    "maintenance.ics",
    "pos/*.log",
)


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """What a simulation wrote: its as-of date, rows per file kind, planted exceptions, files."""

    as_of: dt.date
    start: dt.date
    end: dt.date
    counts: Mapping[str, int]  # rows per file kind (Kind values)
    planted: Mapping[str, int]  # expected exceptions per type (every type, zeros included)
    files: tuple[Path, ...]  # the input files, to import (not the truth or the manifest)
    truth: Path  # truth.jsonl
    manifest: Path  # simulation.json


def _scale(merchants: int) -> int:
    """How many of each anomaly to plant: a few for the demo, mildly more for big runs."""
    return 1 + max(0, int(math.log2(merchants / 12))) if merchants >= 12 else 1


def _clear(out: Path) -> None:
    """Remove what an earlier simulation wrote into ``out``, and nothing else.

    A folder that holds files the simulator would write but no
    ``simulation.json`` is someone else's: it is refused, not cleaned.
    """
    ours = [p for pattern in _OUTPUTS for p in sorted(out.glob(pattern))]
    if not (out / "simulation.json").exists():
        if ours:
            raise ValueError(f"{out} holds files that no simulation wrote: choose another folder")
        return
    for path in ours:
        path.unlink()
    for folder in ("pos", "settlement", "payouts", "bank"):
        if (out / folder).is_dir() and not any((out / folder).iterdir()):
            (out / folder).rmdir()


def simulate(
    out: Path,
    *,
    merchants: int = 12,
    days: int = 28,
    seed: int = 7,
    start: dt.date = dt.date(2026, 9, 14),
    txns_per_terminal_day: int = 40,
    anomalies: bool = True,
) -> SimulationSummary:
    """Write a simulated workspace into ``out`` and return what was written.

    ``txns_per_terminal_day`` is the mean number of attempts per terminal on
    a working day (shops differ around it; days off differ by kind of shop).
    The POS journal covers ``days`` days from ``start``; the as-of date is the
    day after. With ``anomalies`` the truth file lists every planted
    exception; without, the workspace is clean and the truth file is empty.
    """
    if merchants < 1 or days < 1 or txns_per_terminal_day < 1:
        raise ValueError("merchants, days and txns_per_terminal_day must be at least 1")
    if anomalies and (merchants < 4 or days < 14):
        raise ValueError("planting every anomaly needs at least 4 merchants and 14 days")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    period = Period(start, days, BankCalendar())
    scale = _scale(merchants)
    world = build_world(np.random.default_rng([seed, _WORLD]), merchants, start)
    plan_rng = np.random.default_rng([seed, _PLAN])
    terminals = plan_terminals(world, period, plan_rng, anomalies=anomalies, scale=scale)
    plants = plan_pos(world, period, plan_rng, terminals, scale=scale) if anomalies else []

    truth: list[TruthEntry] = []
    with tempfile.TemporaryDirectory(prefix="daozhang-sim-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "sim.duckdb"))
        try:
            con.execute(f"SET temp_directory = '{Path(tmp) / 'spill'}'")
            con.execute("SET preserve_insertion_order = true")
            # The working tables live in the database file; a bounded cache
            # keeps ten million transactions within a laptop's memory.
            con.execute("SET memory_limit = '2GB'")
            load_reference(con, world, period)
            _traffic(con, world, period, seed, txns_per_terminal_day, terminals, plants)
            build_settlement(con, period, [p.txn.plant_id for p in plants if p.settle])
            truth += _pos_truth(con, plants)
            truth += _terminal_truth(world, terminals)
            if anomalies:
                truth += plant_transactions(
                    con,
                    world,
                    period,
                    np.random.default_rng([seed, _SETTLE]),
                    scale=scale,
                    avoid_terminals=terminals.busy(),
                )
            drop_negative_refunds(con)
            flow = build_payouts(
                con,
                world,
                period,
                np.random.default_rng([seed, _PAYOUT]),
                anomalies=anomalies,
                scale=scale,
            )
            truth += flow.truth
            counts, files = write_files(con, out, world, period, terminals)
        finally:
            con.close()

    truth_path = out / "truth.jsonl"
    write_truth(truth_path, truth)
    planted = Counter(e.type.value for e in truth)
    planted_all = {t.value: planted.get(t.value, 0) for t in ExceptionType}
    summary_path = out / "simulation.json"
    summary_path.write_text(
        json.dumps(
            {
                "seed": seed,
                "parameters": {
                    "merchants": merchants,
                    "days": days,
                    "start": start.isoformat(),
                    "txns_per_terminal_day": txns_per_terminal_day,
                    "anomalies": anomalies,
                },
                "period": {"start": start.isoformat(), "end": period.end.isoformat()},
                "as_of": period.as_of.isoformat(),
                "counts": {k.value: v for k, v in counts.items()},
                "planted_counts": planted_all,
                "maintenance": [
                    {
                        "bank_code": w.bank_code,
                        "start": w.starts_at.isoformat(),
                        "end": w.ends_at.isoformat(),
                        "scope": w.scope,
                    }
                    for w in flow.maintenance
                ],
                "planted": [
                    {"type": e.type.value, "key": e.key, "description": e.description}
                    for e in sorted(truth, key=TruthEntry.sort_key)
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return SimulationSummary(
        as_of=period.as_of,
        start=start,
        end=period.end,
        counts={k.value: v for k, v in counts.items()},
        planted=planted_all,
        files=tuple(files),
        truth=truth_path,
        manifest=summary_path,
    )


def simulate_transactions(
    out: Path,
    *,
    transactions: int,
    seed: int = 7,
    days: int = 28,
    start: dt.date = dt.date(2026, 9, 14),
    txns_per_terminal_day: int = 40,
    anomalies: bool = True,
) -> SimulationSummary:
    """Simulate about ``transactions`` POS attempts by choosing the number of merchants.

    For benchmarks that are sized in transactions (100k, 1M, 10M): the
    expected volume of a drawn world is known before any traffic is drawn,
    so one draw at a guess and one at the corrected size land within a few
    percent of the target.
    """
    period = Period(start, days, BankCalendar())

    def expected(merchants: int) -> float:
        world = build_world(np.random.default_rng([seed, _WORLD]), merchants, start)
        return expected_attempts(world, period, txns_per_terminal_day)

    guess = max(4, round(transactions / (days * txns_per_terminal_day * 2)))
    merchants = max(4, round(guess * transactions / expected(guess)))
    return simulate(
        out,
        merchants=merchants,
        days=days,
        seed=seed,
        start=start,
        txns_per_terminal_day=txns_per_terminal_day,
        anomalies=anomalies,
    )


def _traffic(
    con: duckdb.DuckDBPyConnection,
    world: World,
    period: Period,
    seed: int,
    per_terminal: int,
    terminals: TerminalPlan,
    plants: list[PosPlant],
) -> None:
    """Draw every day's attempts into ``pos_raw``, the days before the journal first."""
    state = TerminalState.draw(np.random.default_rng([seed, _DAY, 0]), world.n_terminals)
    pool = RefundPool()
    by_day: dict[dt.date, list[PosPlant]] = {}
    for p in plants:
        by_day.setdefault(p.txn.day, []).append(p)
    first = pre_period_start(period)
    terms = build_terms(world, period, first)
    pre_days = [first + dt.timedelta(days=i) for i in range((period.start - first).days)]
    created = False
    rid = 0
    planted_rrns: dict[int, int] = {}
    for day in pre_days + period.dates():
        pre = day < period.start
        table = generate_day(
            world,
            day,
            np.random.default_rng([seed, _DAY, day.toordinal()]),
            per_terminal=per_terminal,
            working=period.cal.is_working(day),
            trading=terminals.trading(world.n_terminals, day)
            if not pre
            else np.ones(world.n_terminals, dtype=np.int64),
            state=state,
            pool=None if pre else pool,
            plants=[p.txn for p in by_day.get(day, [])],
            terms=terms,
            first_rid=rid,
            planted_rrns=planted_rrns,
        )
        rid += table.num_rows
        con.register("_day", table)
        if created:
            con.execute(f"INSERT INTO pos_raw SELECT *, {pre} AS pre FROM _day")
        else:
            con.execute(f"CREATE TABLE pos_raw AS SELECT *, {pre} AS pre FROM _day")
            created = True
        con.unregister("_day")


def _pos_truth(con: duckdb.DuckDBPyConnection, plants: list[PosPlant]) -> list[TruthEntry]:
    """The truth of the planted POS rows, keyed from the rows as they were drawn."""
    out: list[TruthEntry] = []
    rows = con.execute(
        """
        SELECT p.plant, md.merchant_id, td.terminal_id, p.batch, p.trace, p.rrn, s.settle_date
        FROM pos_raw p JOIN mdim md ON md.m = p.m JOIN tdim td ON td.t = p.t
        LEFT JOIN stl s ON s.plant = p.plant
        WHERE p.plant >= 0
        """
    ).fetchall()
    by_plant = {int(r[0]): r[1:] for r in rows}
    for p in plants:
        if p.type is None:
            continue
        merchant_id, terminal_id, batch, trace, rrn, settle = by_plant[p.txn.plant_id]
        rrn_text = f"{int(rrn):012d}" if rrn is not None else None
        if p.type is ExceptionType.DEBITED_BUT_FAILED and settle is None:
            raise AssertionError("a planted failed-but-settled row did not settle")
        out.append(
            TruthEntry(
                type=p.type,
                key=tx_key(merchant_id, rrn_text, terminal_id, f"{batch:06d}", f"{trace:06d}"),
                amount_fen=p.at_stake_fen,
                merchant_id=merchant_id,
                rrn=rrn_text,
                terminal_id=terminal_id,
                description=p.description,
            )
        )
    return out


def _terminal_truth(world: World, plan: TerminalPlan) -> list[TruthEntry]:
    return [
        TruthEntry(
            type=ExceptionType.TERMINAL_SUSPENDED,
            key=world.terminal_ids[t],
            amount_fen=0,
            merchant_id=world.merchants[int(world.terminal_merchant[t])].merchant_id,
            terminal_id=world.terminal_ids[t],
            description=f"terminal {world.terminal_ids[t]} suspended since {since}",
        )
        for t, since, _ in plan.suspended
    ]
