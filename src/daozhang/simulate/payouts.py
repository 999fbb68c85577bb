"""Payouts and bank statements, with the payout-level anomalies and the maintenance window.

A payout is one transfer per merchant and settle date: the sum of the net of
the settlement rows that really are in the files (so a missing or late row
changes it, and it still adds up). Its bank credit arrives on the settle
date or the next working day, mostly with the payout id as reference, some
with the bank's own reference and some with none at all: those are left only
where the amount is unique on the account, so the fallback match (same
account, same amount, inside the window) finds exactly one payout for them.

There are about a hundred thousand payouts even for ten million
transactions, so they are handled as columns in Python and numpy with loops
over the planted ones; bank entries are sorted, numbered and balanced in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from daozhang.domain.cycles import arrival_window
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import format_yuan
from daozhang.domain.records import Cycle, MaintenanceWindow, SourceRef
from daozhang.simulate.period import Period
from daozhang.simulate.truth import TruthEntry
from daozhang.simulate.world import ACQUIRERS, BANKS, World

__all__ = ["Maintenance", "MoneyFlow", "build_payouts"]

_ONE_DAY = dt.timedelta(days=1)
_MAINT_START = dt.time(6, 0)
_MAINT_END = dt.time(20, 0)
_RETRY = dt.time(9, 30)
_BY_ID, _BY_BANK_REF, _NO_REFERENCE = 0, 1, 2

_RETRYABLE = (("SYSTEM_BUSY", "系统繁忙，请稍后重试"),)
_ACTION = (
    ("ACCOUNT_FROZEN", "收款账户已冻结", "failed"),
    ("ACCOUNT_NOT_EXIST", "收款账户不存在", "failed"),
    ("NAME_NOT_CORRECT", "收款户名不符，已退汇", "returned"),
)
_WRONG_ACCOUNT_NAMES = ("深圳市鼎盛科技有限公司", "张建国", "广州市恒通贸易有限公司", "李春梅")
_PEOPLE = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞")
_SUPPLIERS = ("食品有限公司", "商贸有限公司", "农产品批发部", "供应链管理有限公司", "包装制品厂")
_ATTEMPT_COLUMNS = (
    "payout_id",
    "acquirer",
    "merchant_id",
    "account_no",
    "account_name",
    "bank_code",
    "amount",
    "created_at",
    "status",
    "failure_code",
    "failure_reason",
    "bank_ref",
    "attempt",
)


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A maintenance window of a receiving bank, as maintenance.csv states it."""

    bank_code: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    scope: str
    note: str

    def record(self, line: int) -> MaintenanceWindow:
        return MaintenanceWindow(
            source=SourceRef(file_sha256="", path="maintenance.csv", line=line),
            bank_code=self.bank_code,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            scope=self.scope,
            note=self.note,
        )


@dataclass
class MoneyFlow:
    """What the payout stage produced: the windows and the truth it planted."""

    maintenance: list[Maintenance] = field(default_factory=list)
    truth: list[TruthEntry] = field(default_factory=list)


@dataclass
class _Payouts:
    """Every payout as parallel columns, index i; changed in place by the anomalies."""

    pid: list[str]
    m: list[int]
    settle: list[dt.date]
    created: list[dt.datetime]
    same_day: np.ndarray  # created in the evening of the settle date (D0, T0)
    bank: list[str]
    account: list[str]
    account_name: list[str]
    amount: list[int]
    status: list[str]
    code: list[str | None]
    reason: list[str | None]
    has_record: list[bool]  # False: a phantom, named by settlement rows only
    credited: list[bool]
    value: list[dt.date]  # value date of its credit
    ref_mode: list[int]
    bank_ref: list[str | None] = field(default_factory=list)
    retries: dict[int, dt.datetime] = field(default_factory=dict)  # i -> attempt 2 succeeded

    def __len__(self) -> int:
        return len(self.pid)


def _dates(values: np.ndarray) -> list[dt.date]:
    return [dt.date.fromisoformat(str(v)) for v in values.astype("datetime64[D]")]


def _draw(
    con: duckdb.DuckDBPyConnection, world: World, period: Period, rng: np.random.Generator
) -> _Payouts:
    """One succeeded payout per merchant and settle date, credited on time."""
    tbl = con.execute(
        """
        SELECT md.payout_prefix || strftime(s.settle_date, '%Y%m%d')
                   || lpad(CAST(s.m AS VARCHAR), 6, '0') AS payout_id,
               s.m, s.settle_date, SUM(s.amount - s.fee) AS net
        FROM stl s JOIN mdim md ON md.m = s.m
        GROUP BY ALL ORDER BY payout_id
        """
    ).fetchnumpy()
    pid = [str(x) for x in tbl["payout_id"]]
    n = len(pid)
    pm = [int(x) for x in tbl["m"]]
    settle = _dates(np.asarray(tbl["settle_date"]))
    net = [int(x) for x in tbl["net"]]
    if n and min(net) <= 0:
        raise AssertionError("a payout would not be positive")
    ms = [world.merchants[m] for m in pm]
    cal = period.cal
    # The acquirer's morning run, or the same evening for D0 and T0 merchants.
    same_day = np.array([m.cycle in (Cycle.D0, Cycle.T0) for m in ms], dtype=bool)
    hour = np.array([ACQUIRERS[m.acquirer].payout_hour for m in ms])
    secs = np.where(
        same_day,
        23 * 3600 + 1800 + rng.integers(0, 1200, size=n),
        hour * 3600 + rng.integers(0, 3600, size=n),
    )
    u_value = rng.random(n)
    u_ref = rng.random(n)
    return _Payouts(
        pid=pid,
        m=pm,
        settle=settle,
        created=[
            dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=int(s))
            for d, s in zip(settle, secs, strict=True)
        ],
        same_day=same_day,
        bank=[BANKS[m.bank].code for m in ms],
        account=[m.account for m in ms],
        account_name=[m.account_name for m in ms],
        amount=net,
        status=["succeeded"] * n,
        code=[None] * n,
        reason=[None] * n,
        has_record=[True] * n,
        credited=[True] * n,
        # Banks credit most payouts the same day; on days off, about half wait.
        value=[
            d if u < (0.85 if cal.is_working(d) else 0.5) else cal.next_working(d)
            for d, u in zip(settle, u_value, strict=True)
        ],
        ref_mode=[_BY_ID if u < 0.8 else _BY_BANK_REF if u < 0.9 else _NO_REFERENCE for u in u_ref],
    )


def build_payouts(
    con: duckdb.DuckDBPyConnection,
    world: World,
    period: Period,
    rng: np.random.Generator,
    *,
    anomalies: bool,
    scale: int,
) -> MoneyFlow:
    """Tables ``attempts`` (payouts.csv rows), ``bank`` (statement rows) and ``maint``."""
    flow = MoneyFlow()
    p = _draw(con, world, period, rng)
    windows: list[Maintenance] = []
    affected: set[int] = set()
    if anomalies:
        chosen = _choose_maintenance(p, period, rng)
        if chosen is None:
            raise ValueError("no bank has a payout to put in a maintenance window: use more days")
        window, hit = chosen
        windows.append(window)
        affected = set(hit)
        _fail_and_retry(flow, world, period, rng, p, window, hit)
    windows.append(_quiet_window(period, {w.bank_code for w in windows}, rng))
    flow.maintenance = windows

    # A bank in maintenance credits nothing: payouts sent just before its
    # window are credited the same day rather than during it.
    for w in windows:
        for i in range(len(p)):
            if (
                p.bank[i] == w.bank_code
                and i not in affected
                and p.created[i] < w.starts_at
                and p.settle[i] < p.value[i]
                and w.starts_at.date() <= p.value[i] <= w.ends_at.date()
            ):
                p.value[i] = p.settle[i]

    if anomalies:
        records = [w.record(i + 2) for i, w in enumerate(windows)]
        _plant_payouts(flow, world, period, rng, p, scale=scale, skip=affected, records=records)

    # A credit without reference only where its amount is unique on the account.
    counts = Counter(zip(p.account, p.amount, strict=True))
    for i in range(len(p)):
        if p.ref_mode[i] == _NO_REFERENCE and counts[(p.account[i], p.amount[i])] > 1:
            p.ref_mode[i] = _BY_ID
    p.bank_ref = [
        f"{p.bank[i]}{p.value[i]:%Y%m%d}{i:08d}" if p.status[i] == "succeeded" else None
        for i in range(len(p))
    ]
    for i, at in p.retries.items():
        p.bank_ref[i] = f"{p.bank[i]}{at:%Y%m%d}{i:08d}R"

    _attempts_table(con, world, p)
    _bank_table(con, world, period, rng, flow, p, scale=scale, anomalies=anomalies)
    con.register(
        "_maint",
        pa.table(
            {
                "bank_code": [w.bank_code for w in windows],
                "starts_at": [w.starts_at for w in windows],
                "ends_at": [w.ends_at for w in windows],
                "scope": [w.scope for w in windows],
                "note": [w.note for w in windows],
            }
        ),
    )
    con.execute("CREATE TABLE maint AS SELECT * FROM _maint")
    con.unregister("_maint")
    return flow


def _choose_maintenance(
    p: _Payouts, period: Period, rng: np.random.Generator
) -> tuple[Maintenance, list[int]] | None:
    """A window of one bank early in the period that catches as few payouts as possible.

    It runs from 06:00 on a working day to 20:00 on the next working day, so
    the morning payouts of both days fail; the retry on the working day after
    brings the first day's money in after its nominal window (arrived late)
    and the second day's still on time.
    """
    cal = period.cal
    limit = period.start + dt.timedelta(days=max(int(period.days * 0.6), 3))
    bank = np.array(p.bank)
    created = np.array(p.created, dtype="datetime64[s]")
    settle = np.array(p.settle, dtype="datetime64[D]")

    def span(d: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(d, _MAINT_START),
            dt.datetime.combine(cal.add_working(d, 1), _MAINT_END),
        )

    def hits(b: str, d: dt.date) -> np.ndarray:
        start_at, end_at = (np.datetime64(x, "s") for x in span(d))
        hit: np.ndarray = (bank == b) & (created >= start_at) & (created <= end_at)
        return hit

    best: list[tuple[int, int, str, dt.date]] = []
    for d in period.dates()[1:]:
        if d > limit or not cal.is_working(d):
            continue
        if cal.next_working(cal.add_working(d, 1)) >= period.as_of:
            continue  # the retry must be credited before the as-of date
        for b in sorted(set(p.bank)):
            hit = hits(b, d)
            if (hit & (settle == np.datetime64(d, "D")) & ~p.same_day).any():
                best.append((int(hit.sum()), int(rng.integers(1_000_000)), b, d))
    if not best:
        return None
    _, _, b, d = min(best)
    start_at, end_at = span(d)
    bank_name = next(x.name for x in BANKS if x.code == b)
    window = Maintenance(b, start_at, end_at, "payouts", f"{bank_name}核心系统升级，暂停入账")
    return window, [int(i) for i in np.flatnonzero(hits(b, d))]


def _fail_and_retry(
    flow: MoneyFlow,
    world: World,
    period: Period,
    rng: np.random.Generator,
    p: _Payouts,
    window: Maintenance,
    hit: list[int],
) -> None:
    """Payouts sent into the window fail, and are paid again on the working day after it."""
    cal = period.cal
    retry_day = cal.next_working(window.ends_at.date())
    for i in hit:
        p.status[i], p.code[i], p.reason[i] = "failed", "BANK_MAINTENANCE", "收款银行系统维护"
        p.retries[i] = dt.datetime.combine(retry_day, _RETRY) + dt.timedelta(
            seconds=int(rng.integers(0, 1800))
        )
        p.value[i] = retry_day
        p.ref_mode[i] = _BY_ID
        if retry_day > cal.add_working(p.settle[i], 1):
            flow.truth.append(
                TruthEntry(
                    type=ExceptionType.ARRIVED_LATE,
                    key=p.pid[i],
                    amount_fen=p.amount[i],
                    merchant_id=world.merchants[p.m[i]].merchant_id,
                    payout_id=p.pid[i],
                    description=f"payout of {p.settle[i]} failed during the {window.bank_code} "
                    f"maintenance window ({window.starts_at:%m-%d %H:%M} to "
                    f"{window.ends_at:%m-%d %H:%M}), retried and credited on {retry_day}",
                )
            )


def _quiet_window(period: Period, taken: set[str], rng: np.random.Generator) -> Maintenance:
    """A night-time window on the last Sunday of the period: announced, and nothing fails in it."""
    codes = [b.code for b in BANKS if b.code not in taken]
    code = codes[int(rng.integers(len(codes)))]
    d = period.end
    while d.weekday() != 6 and d > period.start:
        d -= _ONE_DAY
    name = next(x.name for x in BANKS if x.code == code)
    return Maintenance(
        code,
        dt.datetime.combine(d, dt.time(0, 30)),
        dt.datetime.combine(d, dt.time(5, 30)),
        "all",
        f"{name}系统例行维护，网银及跨行转账暂停",
    )


def _plant_payouts(
    flow: MoneyFlow,
    world: World,
    period: Period,
    rng: np.random.Generator,
    p: _Payouts,
    *,
    scale: int,
    skip: set[int],
    records: list[MaintenanceWindow],
) -> None:
    """Payouts that fail, go astray, never arrive, arrive late or do not add up.

    Each takes its own payout, early enough in the period that what it
    claims is true by the as-of date (a payout that never arrived is past
    its extended window; a late credit is already on the statement).
    """
    cal = period.cal
    limit = period.start + dt.timedelta(days=max(int(period.days * 0.7), 3))
    order = [int(i) for i in rng.permutation(len(p))]
    pool = [i for i in order if i not in skip and period.start < p.settle[i] <= limit]
    taken: set[int] = set()

    def window_end(i: int) -> dt.date:
        w = arrival_window(p.settle[i], bank_code=p.bank[i], windows=records, cal=cal)
        return w.extended_end

    def take(ok: Callable[[int], bool]) -> int:
        for i in pool:
            if i not in taken and ok(i):
                taken.add(i)
                return i
        raise ValueError("too few payouts for the planted payout anomalies: use more merchants")

    def entry(i: int, kind: ExceptionType, fen: int, text: str) -> None:
        flow.truth.append(
            TruthEntry(
                type=kind,
                key=p.pid[i],
                amount_fen=fen,
                merchant_id=world.merchants[p.m[i]].merchant_id,
                payout_id=p.pid[i],
                description=f"payout of {p.settle[i]}: {text}",
            )
        )

    for k in range(2 * scale):
        i = take(lambda i: period.as_of > window_end(i))
        p.credited[i] = False
        if k % 2 == 1:
            p.has_record[i] = False
            text = "settlement rows name it, the acquirer's payout records do not; no credit"
        else:
            text = "reported succeeded, no credit on the merchant's account"
        entry(
            i,
            ExceptionType.SETTLED_NOT_ARRIVED,
            p.amount[i],
            f"{text} (window ended {window_end(i)})",
        )

    for _ in range(scale):
        i = take(lambda i: cal.add_working(p.settle[i], 2) <= period.as_of)
        p.value[i] = cal.add_working(p.settle[i], 2)
        p.ref_mode[i] = _BY_ID
        entry(i, ExceptionType.ARRIVED_LATE, p.amount[i], f"interbank delay, credited {p.value[i]}")

    for k in range(2 * scale):
        i = take(lambda i: cal.add_working(p.settle[i], 1) <= period.as_of and p.amount[i] > 30_000)
        cut = (
            int(rng.choice([1_000, 2_000, 5_000, 9_900]))
            if k % 2 == 0
            else -int(rng.integers(1, 500))
        )
        p.amount[i] -= cut
        p.ref_mode[i] = _BY_ID
        what = (
            f"{format_yuan(cut)} deducted without explanation"
            if cut > 0
            else f"{format_yuan(-cut)} more than its rows"
        )
        entry(i, ExceptionType.PAYOUT_TOTAL_MISMATCH, abs(cut), what)

    for k in range(2 * scale):
        i = take(lambda i: True)
        c, r = _RETRYABLE[k % len(_RETRYABLE)]
        p.status[i], p.code[i], p.reason[i] = "failed", c, r
        p.credited[i] = False
        entry(i, ExceptionType.PAYOUT_FAILED_RETRYABLE, p.amount[i], f"failed with {c}, no retry")

    for k in range(3 * scale):
        i = take(lambda i: True)
        c, r, st = _ACTION[k % len(_ACTION)]
        p.status[i], p.code[i], p.reason[i] = st, c, r
        p.credited[i] = False
        entry(i, ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED, p.amount[i], f"{st} with {c}")

    for k in range(2 * scale):
        i = take(lambda i: True)
        wrong = BANKS[int(rng.integers(len(BANKS)))]
        digits = "".join(str(int(x)) for x in rng.integers(0, 10, wrong.account_len - 4))
        p.account[i] = wrong.account_prefix + digits
        p.account_name[i] = _WRONG_ACCOUNT_NAMES[k % len(_WRONG_ACCOUNT_NAMES)]
        p.bank[i] = wrong.code
        p.credited[i] = False
        entry(
            i,
            ExceptionType.MISROUTED_PAYOUT,
            p.amount[i],
            f"sent to {wrong.code} account {p.account[i]} ({p.account_name[i]}), "
            "not the contract's settlement account",
        )


def _attempts_table(con: duckdb.DuckDBPyConnection, world: World, p: _Payouts) -> None:
    """The payout records: one attempt per payout, two for the retried ones."""
    rows: dict[str, list[object]] = {k: [] for k in _ATTEMPT_COLUMNS}

    def add(
        i: int,
        at: dt.datetime,
        status: str,
        code: str | None,
        reason: str | None,
        ref: str | None,
        attempt: int,
    ) -> None:
        m = world.merchants[p.m[i]]
        values = (
            p.pid[i],
            ACQUIRERS[m.acquirer].name,
            m.merchant_id,
            p.account[i],
            p.account_name[i],
            p.bank[i],
            p.amount[i],
            at,
            status,
            code,
            reason,
            ref,
            attempt,
        )
        for k, v in zip(_ATTEMPT_COLUMNS, values, strict=True):
            rows[k].append(v)

    for i in range(len(p)):
        if p.has_record[i]:
            ref = p.bank_ref[i] if p.status[i] == "succeeded" else None
            add(i, p.created[i], p.status[i], p.code[i], p.reason[i], ref, 1)
    for i, at in sorted(p.retries.items()):
        add(i, at, "succeeded", None, None, p.bank_ref[i], 2)
    con.register("_attempts", pa.table(rows))
    con.execute("CREATE TABLE attempts AS SELECT * FROM _attempts")
    con.unregister("_attempts")


def _bank_table(
    con: duckdb.DuckDBPyConnection,
    world: World,
    period: Period,
    rng: np.random.Generator,
    flow: MoneyFlow,
    p: _Payouts,
    *,
    scale: int,
    anomalies: bool,
) -> None:
    """Statement rows of every merchant account: payout credits and the rest of a shop's banking."""
    ms = world.merchants
    columns = (
        "account_no",
        "bank_code",
        "value_date",
        "amount",
        "counterparty_name",
        "counterparty_account",
        "reference",
        "order_secs",
        "plant",
    )
    rows: dict[str, list[object]] = {k: [] for k in columns}

    def add(
        acct: str,
        bank_code: str,
        d: dt.date,
        fen: int,
        cp: str | None,
        cpa: str | None,
        ref: str | None,
        secs: int,
        plant: int = -1,
    ) -> None:
        for k, v in zip(columns, (acct, bank_code, d, fen, cp, cpa, ref, secs, plant), strict=True):
            rows[k].append(v)

    for i in range(len(p)):
        if not (p.has_record[i] and p.credited[i] and p.value[i] <= period.as_of):
            continue
        m = ms[p.m[i]]
        acq = ACQUIRERS[m.acquirer]
        ref = {_BY_ID: p.pid[i], _BY_BANK_REF: p.bank_ref[i], _NO_REFERENCE: None}[p.ref_mode[i]]
        at = p.retries.get(i, p.created[i])
        # Booked ten minutes after it was sent, or in the morning of a later day.
        secs = (
            min(at.hour * 3600 + at.minute * 60 + 600, 86_399)
            if p.value[i] == at.date()
            else (36_000)
        )
        add(
            m.account,
            BANKS[m.bank].code,
            p.value[i],
            p.amount[i],
            acq.legal_name,
            acq.account,
            ref,
            secs,
        )

    # What else happens on a shop's account: rent, power, suppliers, transfers
    # from people, quarterly interest. None of it is from an acquirer, and no
    # credit among it has the amount of a payout to the same account.
    payout_amounts = set(zip(p.account, p.amount, strict=True))
    for m in ms:
        b = BANKS[m.bank]
        for d in period.dates():
            if d.day == 5:
                landlord = f"{m.city}{_PEOPLE[m.index % len(_PEOPLE)]}（房东）"
                add(
                    m.account,
                    b.code,
                    d,
                    -int(rng.integers(50, 300)) * 10_000,
                    landlord,
                    None,
                    f"{d.year}年{d.month}月租金",
                    int(rng.integers(32_400, 61_200)),
                )
            if d.day == 15:
                add(
                    m.account,
                    b.code,
                    d,
                    -int(rng.integers(20_000, 400_000)),
                    "国家电网有限公司",
                    None,
                    "电费代扣",
                    int(rng.integers(3_600, 21_600)),
                )
            if d.weekday() == 1 and rng.random() < 0.6:
                supplier = f"{m.city}{_SUPPLIERS[int(rng.integers(len(_SUPPLIERS)))]}"
                add(
                    m.account,
                    b.code,
                    d,
                    -int(rng.integers(100_000, 2_000_000)),
                    supplier,
                    None,
                    "货款",
                    int(rng.integers(36_000, 61_200)),
                )
            if rng.random() < 0.08:
                fen = int(rng.integers(2, 60)) * 10_000
                person = _PEOPLE[int(rng.integers(len(_PEOPLE)))]
                if (m.account, fen) not in payout_amounts:
                    add(
                        m.account,
                        b.code,
                        d,
                        fen,
                        person,
                        None,
                        "转账",
                        int(rng.integers(28_800, 79_200)),
                    )
            if d.month in (3, 6, 9, 12) and d.day == 21:
                fen = int(rng.integers(100, 9_000))
                if (m.account, fen) not in payout_amounts:
                    add(m.account, b.code, d, fen, b.name, None, "结息", 1_800)

    if anomalies:
        # Money from an acquirer that no payout explains (a correction, a
        # payout of another shop), on a working day early in the period.
        limit = period.start + dt.timedelta(days=max(int(period.days * 0.7), 3))
        days = [d for d in period.dates() if d <= limit and period.cal.is_working(d)]
        for k in range(2 * scale):
            m = ms[int(rng.integers(len(ms)))]
            d = days[int(rng.integers(len(days)))]
            fen = int(rng.integers(30_000, 800_000))
            while (m.account, fen) in payout_amounts:
                fen += 1
            acq = ACQUIRERS[(m.acquirer + k) % len(ACQUIRERS)]
            ref = f"TZ{d:%Y%m%d}{int(rng.integers(100_000, 999_999))}" if k % 2 == 0 else None
            add(
                m.account,
                BANKS[m.bank].code,
                d,
                fen,
                acq.legal_name,
                acq.account,
                ref,
                50_000,
                plant=k,
            )

    opening = {m.account: int(rng.integers(50_000, 500_000)) * 100 for m in ms}
    rows["opening"] = [opening[str(a)] for a in rows["account_no"]]
    rows["tiebreak"] = list(range(len(rows["account_no"])))
    con.register("_bank", pa.table(rows))
    con.execute(
        f"""
        CREATE TABLE bank AS
        SELECT *, value_date AS booking_date,
               opening + SUM(amount) OVER (PARTITION BY account_no
                   ORDER BY value_date, order_secs, tiebreak
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance,
               bank_code || strftime(value_date, '%Y%m%d') || lpad(CAST(row_number() OVER (
                   ORDER BY account_no, value_date, order_secs, tiebreak) AS VARCHAR), 8, '0')
                   AS bank_txn_id
        FROM _bank WHERE value_date <= DATE '{period.as_of}'
        """
    )
    con.unregister("_bank")
    for plant, bank_txn_id, fen, cp, d in con.execute(
        """
        SELECT plant, bank_txn_id, amount, counterparty_name, value_date
        FROM bank WHERE plant >= 0 ORDER BY plant
        """
    ).fetchall():
        flow.truth.append(
            TruthEntry(
                type=ExceptionType.UNMATCHED_CREDIT,
                key=str(bank_txn_id),
                amount_fen=int(fen),
                description=f"credit {plant + 1}: {format_yuan(int(fen))} from {cp} on {d} "
                "that no payout explains",
            )
        )
