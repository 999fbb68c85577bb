"""The simulated world: acquirers, banks, merchants, their contracts and terminals.

Everything here is reference data (a few thousand rows at most), drawn once
from the seed. The shapes follow what a service provider really sees: MIDs of
15 digits (acquirer code, area, MCC, sequence), TIDs of 8 digits, contracts
with a cycle, a cutoff and a rate per channel, and a settlement account at a
named bank. Names are Chinese shop names, because the demo is read by people
who know what a 川菜馆 or a 大药房 is and would notice a ``Merchant 7``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from daozhang.domain.records import Channel, Cycle

__all__ = [
    "ACQUIRERS",
    "BANKS",
    "CATEGORIES",
    "CHANNELS",
    "Acquirer",
    "Bank",
    "Category",
    "ContractVersion",
    "Merchant",
    "World",
    "build_world",
]

# Channel codes used in the generated arrays, in this order.
CHANNELS: tuple[Channel, ...] = (
    Channel.DEBIT_CARD,
    Channel.CREDIT_CARD,
    Channel.WECHAT,
    Channel.ALIPAY,
    Channel.UNIONPAY_QR,
)


@dataclass(frozen=True, slots=True)
class Acquirer:
    """A licensed acquirer: the name its files use and the name its transfers carry."""

    name: str  # as in contracts, settlement and payout files: 银联商务
    code: str  # in settlement file names: UMS_20260915.csv
    payout_prefix: str  # first letters of its payout ids
    mid_prefix: str  # first 3 digits of its MIDs
    legal_name: str  # counterparty of its bank credits; contains ``name``
    account: str  # the account its payouts are sent from
    payout_hour: int  # when its morning payout run starts


ACQUIRERS: tuple[Acquirer, ...] = (
    Acquirer("银联商务", "UMS", "UMS", "898", "银联商务股份有限公司", "310066726018010008888", 8),
    Acquirer("拉卡拉", "LKL", "LKL", "822", "拉卡拉支付股份有限公司", "110907608810901", 9),
    Acquirer(
        "通联支付",
        "ALLINPAY",
        "TL",
        "859",
        "通联支付网络服务股份有限公司",
        "31001550400050006666",
        10,
    ),
)


@dataclass(frozen=True, slots=True)
class Bank:
    """A receiving bank: its code in contracts and payouts, and its account number shape."""

    code: str
    name: str
    account_prefix: str
    account_len: int


BANKS: tuple[Bank, ...] = (
    Bank("ICBC", "中国工商银行", "0200", 19),
    Bank("CCB", "中国建设银行", "1105", 20),
    Bank("ABC", "中国农业银行", "1103", 17),
    Bank("BOC", "中国银行", "3386", 12),
    Bank("CMB", "招商银行", "1109", 15),
    Bank("BOCOM", "交通银行", "1100", 21),
)
_BANK_WEIGHTS = (0.26, 0.22, 0.16, 0.14, 0.14, 0.08)


@dataclass(frozen=True, slots=True, kw_only=True)
class Category:
    """A kind of shop: its MCC, its names, and the shape of its traffic.

    ``hours`` weighs the 24 hours of the day, ``channels`` the five channels
    (debit, credit, WeChat, Alipay, UnionPay QR); amounts are lognormal around
    ``median_yuan``; ``big_ticket`` is the share of large purchases (an
    appliance, a suit, a week's stay) that reach the debit-card fee cap.
    """

    key: str
    label: str
    mcc: str
    weight: float
    brands: tuple[str, ...]
    suffixes: tuple[str, ...]
    legal: str
    median_yuan: float
    sigma: float
    big_ticket: float
    channels: tuple[float, float, float, float, float]
    hours: tuple[int, ...]
    terminals: tuple[int, int]  # inclusive range per merchant
    traffic: float  # relative number of transactions per terminal
    preauth: float  # share of credit-card sales that are pre-authorisation completions
    holiday: float  # traffic factor on days off


_BRANDS_FOOD = (
    "蜀香园",
    "老街坊",
    "粤味轩",
    "湘里人家",
    "福满楼",
    "小杨",
    "川味坊",
    "聚贤庄",
    "一品鲜",
)
# Hours are weights for 00:00-00:59 ... 23:00-23:59 (restaurants and
# convenience stores trade past the cutoff: those sales are the next day's).
CATEGORIES: tuple[Category, ...] = (
    Category(
        key="restaurant",
        label="餐饮",
        mcc="5812",
        weight=0.28,
        brands=_BRANDS_FOOD,
        suffixes=("川菜馆", "小吃店", "茶餐厅", "面馆", "火锅店", "饺子馆", "烧烤"),
        legal="餐饮管理",
        median_yuan=68.0,
        sigma=0.7,
        big_ticket=0.0,
        channels=(0.12, 0.13, 0.42, 0.28, 0.05),
        hours=(0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 3, 9, 12, 7, 3, 2, 3, 7, 11, 10, 7, 5, 3, 2),
        terminals=(1, 3),
        traffic=1.0,
        preauth=0.02,
        holiday=1.15,
    ),
    Category(
        key="supermarket",
        label="超市",
        mcc="5411",
        weight=0.18,
        brands=("惠万家", "鑫隆", "佳乐福", "好邻居", "华润通", "百佳汇", "万家福"),
        suffixes=("超市", "生活超市", "购物广场"),
        legal="商贸",
        median_yuan=85.0,
        sigma=0.9,
        big_ticket=0.004,
        channels=(0.22, 0.18, 0.30, 0.24, 0.06),
        hours=(0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 7, 7, 6, 5, 5, 6, 7, 9, 10, 9, 7, 4, 0, 0),
        terminals=(2, 5),
        traffic=1.3,
        preauth=0.0,
        holiday=1.25,
    ),
    Category(
        key="convenience",
        label="便利店",
        mcc="5499",
        weight=0.16,
        brands=("邻里", "全日", "快乐蜂", "易捷", "晨光", "便民"),
        suffixes=("便利店", "24小时便利店"),
        legal="商贸",
        median_yuan=18.0,
        sigma=0.7,
        big_ticket=0.0,
        channels=(0.05, 0.05, 0.50, 0.35, 0.05),
        hours=(2, 1, 1, 1, 1, 1, 2, 6, 7, 5, 4, 5, 6, 5, 4, 4, 5, 6, 7, 6, 5, 4, 4, 3),
        terminals=(1, 2),
        traffic=1.4,
        preauth=0.0,
        holiday=1.1,
    ),
    Category(
        key="pharmacy",
        label="药房",
        mcc="5912",
        weight=0.12,
        brands=("仁和", "康宁", "同济堂", "益丰源", "百草园", "济生"),
        suffixes=("大药房", "药房", "医药连锁"),
        legal="医药",
        median_yuan=55.0,
        sigma=0.8,
        big_ticket=0.0,
        channels=(0.25, 0.15, 0.30, 0.22, 0.08),
        hours=(0, 0, 0, 0, 0, 0, 0, 0, 4, 6, 7, 6, 5, 4, 5, 6, 6, 6, 6, 5, 4, 2, 0, 0),
        terminals=(1, 2),
        traffic=0.6,
        preauth=0.0,
        holiday=0.9,
    ),
    Category(
        key="clothing",
        label="服装",
        mcc="5651",
        weight=0.1,
        brands=("衣品", "简约", "森系", "时尚汇", "锦绣"),
        suffixes=("服饰", "女装", "男装", "童装"),
        legal="服饰",
        median_yuan=260.0,
        sigma=0.7,
        big_ticket=0.003,
        channels=(0.20, 0.35, 0.22, 0.18, 0.05),
        hours=(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 4, 5, 6, 7, 7, 7, 7, 8, 7, 4, 0, 0),
        terminals=(1, 2),
        traffic=0.5,
        preauth=0.0,
        holiday=1.3,
    ),
    Category(
        key="salon",
        label="美发",
        mcc="7230",
        weight=0.06,
        brands=("剪艺", "丝语", "名流", "尚美"),
        suffixes=("美发沙龙", "美容美发"),
        legal="美容美发",
        median_yuan=120.0,
        sigma=0.6,
        big_ticket=0.0,
        channels=(0.15, 0.20, 0.35, 0.25, 0.05),
        hours=(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 3, 4, 5, 6, 6, 5, 5, 5, 4, 2, 0, 0),
        terminals=(1, 1),
        traffic=0.4,
        preauth=0.0,
        holiday=1.2,
    ),
    Category(
        key="bakery",
        label="烘焙",
        mcc="5462",
        weight=0.05,
        brands=("麦香园", "好利来客", "面包工坊", "甜心"),
        suffixes=("烘焙", "面包房", "蛋糕店"),
        legal="食品",
        median_yuan=28.0,
        sigma=0.6,
        big_ticket=0.0,
        channels=(0.08, 0.07, 0.45, 0.35, 0.05),
        hours=(0, 0, 0, 0, 0, 0, 0, 5, 7, 5, 4, 4, 4, 3, 3, 4, 5, 6, 6, 5, 4, 2, 0, 0),
        terminals=(1, 2),
        traffic=0.8,
        preauth=0.0,
        holiday=1.2,
    ),
    Category(
        key="hotel",
        label="酒店",
        mcc="7011",
        weight=0.05,
        brands=("锦程", "悦居", "如意", "华庭", "君悦轩"),
        suffixes=("商务酒店", "快捷酒店", "精品酒店"),
        legal="酒店管理",
        median_yuan=420.0,
        sigma=0.5,
        big_ticket=0.01,
        channels=(0.15, 0.55, 0.15, 0.12, 0.03),
        hours=(1, 0, 0, 0, 0, 0, 0, 3, 6, 6, 7, 8, 5, 4, 5, 5, 5, 5, 6, 6, 6, 5, 4, 3),
        terminals=(2, 3),
        traffic=0.5,
        preauth=0.6,
        holiday=1.3,
    ),
)

_CITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("1100", "北京", ("中关村", "五道口", "望京", "西单", "国贸", "回龙观", "亚运村")),
    ("3100", "上海", ("徐家汇", "陆家嘴", "五角场", "静安寺", "七宝", "打浦桥")),
    ("4401", "广州", ("天河", "北京路", "江南西", "番禺", "体育西")),
    ("4403", "深圳", ("南山", "福田", "科技园", "宝安", "华强北")),
    ("3301", "杭州", ("西湖", "文三路", "滨江", "武林")),
    ("5101", "成都", ("春熙路", "天府", "玉林", "高新")),
    ("4201", "武汉", ("光谷", "江汉路", "汉街")),
    ("3201", "南京", ("新街口", "河西", "仙林")),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
)

T = TypeVar("T")

_CUTOFFS = ((23 * 3600, 0.6), (22 * 3600 + 1800, 0.3), (22 * 3600, 0.1))
_CYCLES = ((Cycle.T1, 0.7), (Cycle.D1, 0.15), (Cycle.D0, 0.08), (Cycle.T0, 0.07))


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """The fee part of a contract row from ``effective_from`` on (rates in ppm, cap in fen)."""

    effective_from: dt.date
    debit_ppm: int
    debit_cap_fen: int
    credit_ppm: int
    wechat_ppm: int
    alipay_ppm: int
    unionpay_qr_ppm: int

    def rates(self) -> tuple[int, int, int, int, int]:
        """Rates in :data:`CHANNELS` order."""
        return (
            self.debit_ppm,
            self.credit_ppm,
            self.wechat_ppm,
            self.alipay_ppm,
            self.unionpay_qr_ppm,
        )


@dataclass(frozen=True, slots=True)
class Merchant:
    index: int
    merchant_id: str
    name: str
    category: int  # index into CATEGORIES
    city: str
    acquirer: int  # index into ACQUIRERS
    bank: int  # index into BANKS
    account: str
    account_name: str
    cycle: Cycle
    cutoff_secs: int
    versions: tuple[ContractVersion, ...]  # by effective_from, the first well before the period

    @property
    def mcc(self) -> str:
        return CATEGORIES[self.category].mcc

    def version_on(self, d: dt.date) -> ContractVersion:
        """The contract in effect on local date ``d`` (RULES.md: greatest effective_from <= d)."""
        current = self.versions[0]
        for v in self.versions:
            if v.effective_from <= d:
                current = v
        return current


@dataclass(frozen=True, slots=True)
class World:
    """Merchants and terminals, plus per-terminal arrays for the vectorised traffic."""

    merchants: tuple[Merchant, ...]
    terminal_ids: tuple[str, ...]
    terminal_merchant: np.ndarray  # int32, merchant index per terminal
    terminal_factor: np.ndarray  # float64, relative traffic per terminal
    terminal_category: np.ndarray  # int64, category index of each terminal's merchant
    installed: tuple[dt.date, ...]  # status_since of each terminal's active row

    @property
    def n_terminals(self) -> int:
        return len(self.terminal_ids)

    def terminals_of(self, m: int) -> list[int]:
        return [int(t) for t in np.flatnonzero(self.terminal_merchant == m)]


def _pick(rng: np.random.Generator, items: tuple[tuple[T, float], ...]) -> T:
    weights = np.array([w for _, w in items])
    return items[int(rng.choice(len(items), p=weights / weights.sum()))][0]


def _spread(rng: np.random.Generator, n: int, k: int, weights: tuple[float, ...]) -> list[int]:
    """``n`` draws from ``k`` options that include every option once when ``n >= k``.

    A demo with twelve merchants should show every acquirer and every cycle,
    not only the likely ones.
    """
    w = np.array(weights) / sum(weights)
    forced = list(range(k)) if n >= k else []
    rest = [int(x) for x in rng.choice(k, size=n - len(forced), p=w)]
    drawn = forced + rest
    return [drawn[i] for i in rng.permutation(n)]


def _account_number(rng: np.random.Generator, bank: Bank, used: set[str]) -> str:
    while True:
        body = "".join(str(int(x)) for x in rng.integers(0, 10, bank.account_len - 4))
        acct = bank.account_prefix + body
        if acct not in used:
            used.add(acct)
            return acct


def build_world(
    rng: np.random.Generator, merchants: int, start: dt.date, rate_change: bool = True
) -> World:
    """Draw ``merchants`` merchants with their contracts and terminals.

    ``rate_change`` gives one merchant a second contract row during the
    period (a lower credit-card and wallet rate from a given day): a change
    properly notified, which the reconciliation must follow without a finding.
    """
    cat_weights = tuple(c.weight for c in CATEGORIES)
    cats = (
        _spread(rng, merchants, len(CATEGORIES), cat_weights)
        if merchants >= 8
        else [
            int(x)
            for x in rng.choice(
                len(CATEGORIES), merchants, p=np.array(cat_weights) / sum(cat_weights)
            )
        ]
    )
    acqs = _spread(rng, merchants, len(ACQUIRERS), (0.5, 0.3, 0.2))
    banks = _spread(rng, merchants, len(BANKS), _BANK_WEIGHTS)
    cyc_idx = _spread(rng, merchants, len(_CYCLES), tuple(w for _, w in _CYCLES))
    names: set[str] = set()
    accounts: set[str] = set()
    seqs: dict[str, int] = {}
    out: list[Merchant] = []
    for i in range(merchants):
        cat = CATEGORIES[cats[i]]
        area, city, roads = _CITIES[int(rng.integers(len(_CITIES)))]
        brand = cat.brands[int(rng.integers(len(cat.brands)))]
        suffix = cat.suffixes[int(rng.integers(len(cat.suffixes)))]
        road = roads[int(rng.integers(len(roads)))]
        name = f"{brand}{suffix}（{road}店）"
        n = 2
        while name in names:
            name = f"{brand}{suffix}（{road}{n}店）"
            n += 1
        names.add(name)
        acq = ACQUIRERS[acqs[i]]
        prefix = acq.mid_prefix + area + cat.mcc
        seq = seqs.get(prefix, int(rng.integers(100, 4000)))
        seqs[prefix] = seq + int(rng.integers(1, 40))
        if seq > 9999:
            raise ValueError(f"too many merchants for MID prefix {prefix}")
        bank = BANKS[banks[i]]
        if rng.random() < 0.3:  # 个体工商户: the owner's own account
            owner = (
                _SURNAMES[int(rng.integers(len(_SURNAMES)))]
                + _GIVEN[int(rng.integers(len(_GIVEN)))]
            )
            account_name = owner
        else:
            account_name = f"{city}{brand}{cat.legal}有限公司"
        debit_ppm = int(rng.choice([5000, 3800]))
        v0 = ContractVersion(
            # Signed months or years before the period (and its first
            # settlement files), so that every transaction has its contract.
            effective_from=start - dt.timedelta(days=int(rng.integers(60, 800))),
            debit_ppm=debit_ppm,
            debit_cap_fen=int(rng.choice([2000, 2500])) if debit_ppm == 5000 else 2000,
            credit_ppm=int(rng.choice([6000, 5500])),
            wechat_ppm=int(rng.choice([3800, 3000, 2500])),
            alipay_ppm=int(rng.choice([3800, 3000, 2500])),
            unionpay_qr_ppm=3800,
        )
        out.append(
            Merchant(
                index=i,
                merchant_id=f"{prefix}{seq:04d}",
                name=name,
                category=cats[i],
                city=city,
                acquirer=acqs[i],
                bank=banks[i],
                account=_account_number(rng, bank, accounts),
                account_name=account_name,
                cycle=_CYCLES[cyc_idx[i]][0],
                cutoff_secs=_pick(rng, _CUTOFFS),
                versions=(v0,),
            )
        )
    if rate_change and merchants >= 2:
        m = out[int(rng.integers(merchants))]
        v0 = m.versions[0]
        v1 = ContractVersion(
            effective_from=start + dt.timedelta(days=10),
            debit_ppm=v0.debit_ppm,
            debit_cap_fen=v0.debit_cap_fen,
            credit_ppm=v0.credit_ppm - 500,
            wechat_ppm=min(v0.wechat_ppm, 3000) - 500,
            alipay_ppm=min(v0.alipay_ppm, 3000) - 500,
            unionpay_qr_ppm=v0.unionpay_qr_ppm,
        )
        out[m.index] = replace(m, versions=(v0, v1))

    tm: list[int] = []
    factor: list[float] = []
    installed: list[dt.date] = []
    for m in out:
        cat = CATEGORIES[m.category]
        k = int(rng.integers(cat.terminals[0], cat.terminals[1] + 1))
        for _ in range(k):
            tm.append(m.index)
            factor.append(cat.traffic * float(rng.lognormal(0.0, 0.25)))
            installed.append(
                m.versions[0].effective_from + dt.timedelta(days=int(rng.integers(0, 30)))
            )
    tids: list[str] = []
    seen: set[int] = set()
    while len(tids) < len(tm):
        x = int(rng.integers(10_000_000, 100_000_000))
        if x not in seen:
            seen.add(x)
            tids.append(str(x))
    return World(
        merchants=tuple(out),
        terminal_ids=tuple(tids),
        terminal_merchant=np.array(tm, dtype=np.int32),
        # Relative traffic, scaled so that the mean terminal makes the
        # requested number of attempts on a working day.
        terminal_factor=np.array(factor, dtype=np.float64) / float(np.mean(factor)),
        terminal_category=np.array([out[m].category for m in tm], dtype=np.int64),
        installed=tuple(installed),
    )
