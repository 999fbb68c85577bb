"""Canonical settlement rows of the QR channels, delivered as the platforms deliver bills.

:func:`export_bills` reads canonical settlement CSVs (as the simulator
writes them) and writes their ``wechat`` rows as WeChat Pay trade bills
(交易账单, ALL, UTF-8, back-tick cells, summary) and their ``alipay`` rows as
Alipay 业务明细 files (GB18030, ``#`` lines, tab after IDs, ``#交易合计``),
one file per merchant and trade day, as each platform delivers one bill per
account and day. The other rows can be written to one canonical settlement
CSV beside them, so that a workspace can be imported "with bills instead".

Only what a bill really carries is written (see :mod:`daozhang.ingest.bills`
for the reading side):

* 特约商户号 / ``#账号`` = the merchant id, 设备号 / 终端号 = the terminal;
* 商户订单号 = the rrn: the acquirer's system names its order by the
  terminal's reference, as aggregators do; a refund's 商户退款单号 /
  退款批次号 is the refund's own rrn (the settlement row does not name the
  sale it refunds, so the refund's 商户订单号 is its rrn too);
* 微信订单号 / 支付宝交易号 are made up deterministically from the row;
* amounts and fees as settled (WeChat's fee with its five decimals);
* batch/trace, card, merchant name, MCC, settle date and payout id are not
  written anywhere: a platform's bill does not have them.

Streaming: DuckDB reads and sorts the rows (out of core if need be) and the
bills are written from batches of the sorted result, so memory stays bounded
whatever the number of rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

import duckdb

from daozhang.ingest.bills import ALIPAY_ACQUIRER, WECHAT_ACQUIRER

__all__ = ["BillExport", "export_bills"]

_BATCH = 20_000
_WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
_WECHAT_SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
_ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)
_RULE = "-" * 41


@dataclass(frozen=True, slots=True)
class BillExport:
    """What was written: the bill files, the canonical rest (or None), row counts."""

    wechat: tuple[Path, ...]
    alipay: tuple[Path, ...]
    rest: Path | None
    bill_rows: int
    rest_rows: int


@dataclass(frozen=True, slots=True)
class _Row:
    merchant_id: str
    terminal_id: str
    rrn: str
    txn_time: str  # ISO
    txn_type: str
    amount: Decimal
    fee: Decimal

    @property
    def day(self) -> str:
        return self.txn_time[:10]

    def digits(self, n: int, salt: str) -> str:
        """``n`` deterministic digits from the row: made-up platform ids."""
        seed = f"{salt}|{self.merchant_id}|{self.rrn}|{self.txn_time}".encode()
        out = ""
        while len(out) < n:
            seed = zlib.crc32(seed).to_bytes(4, "big") + seed
            out += f"{zlib.crc32(seed):010d}"
        return out[:n]


def _yuan(d: Decimal, places: int = 2) -> str:
    return f"{d:.{places}f}"


def _rows(con: duckdb.DuckDBPyConnection, channel: str) -> Iterator[_Row]:
    cur = con.execute(
        """
        SELECT merchant_id, coalesce(terminal_id, ''), coalesce(rrn, ''), txn_time, txn_type,
               amount, fee
        FROM __stl WHERE channel = ?
        ORDER BY merchant_id, left(txn_time, 10), txn_time, rrn, filename, settle_date
        """,
        [channel],
    )
    while batch := cur.fetchmany(_BATCH):
        for m, t, r, when, kind, amount, fee in batch:
            yield _Row(m, t, r, when, kind, Decimal(amount), Decimal(fee))


def _groups(rows: Iterator[_Row]) -> Iterator[tuple[str, str, list[_Row]]]:
    """Consecutive rows of one merchant and day (the query sorts them so)."""
    key: tuple[str, str] | None = None
    group: list[_Row] = []
    for row in rows:
        k = (row.merchant_id, row.day)
        if k != key and group:
            assert key is not None
            yield key[0], key[1], group
            group = []
        key = k
        group.append(row)
    if group and key is not None:
        yield key[0], key[1], group


def _provider_mch_id(merchant_id: str) -> str:
    """The service provider's WeChat merchant number (made up, stable)."""
    return "19" + f"{zlib.crc32(merchant_id.encode()) % 10**8:08d}"


def _write_wechat(f: IO[str], rows: Sequence[_Row]) -> None:
    w = f.write
    w(_WECHAT_HEADER + "\n")
    n = 0
    settle_total = refund_total = fee_total = Decimal(0)
    for r in rows:
        n += 1
        refund = r.txn_type == "refund"
        amount = abs(r.amount)
        fee = r.fee  # canonical sign: positive on payments, negative on refunds
        rate = "" if not amount else f"{(abs(fee) / amount * 100).quantize(Decimal('0.01'))}%"
        tx = "4200" + r.day.replace("-", "") + r.digits(16, "wx")
        cells = [
            r.txn_time.replace("T", " "),
            "wx2421b1c4370ec43b",
            _provider_mch_id(r.merchant_id),
            r.merchant_id,
            r.terminal_id,
            tx,
            r.rrn,
            "o" + r.digits(27, "openid"),
            "MICROPAY",
            "REFUND" if refund else "SUCCESS",
            "OTHERS",
            "CNY",
            _yuan(amount),
            "0.00",
            "5030" + r.day.replace("-", "") + r.digits(17, "wxr") if refund else "0",
            r.rrn if refund else "0",
            _yuan(amount) if refund else "0.00",
            "0.00",
            "ORIGINAL" if refund else "",
            "SUCCESS" if refund else "",
            "POS收款",
            "",
            _yuan(fee, 5),
            rate,
            _yuan(amount),
            _yuan(amount) if refund else "0.00",
            "",
        ]
        w(",".join("`" + c for c in cells) + "\n")
        if not refund:
            settle_total += amount
        else:
            refund_total += amount
        fee_total += fee
    w(_WECHAT_SUMMARY + "\n")
    totals = [
        str(n),
        _yuan(settle_total),
        _yuan(refund_total),
        "0.00",
        _yuan(fee_total, 5),
        _yuan(settle_total),
        _yuan(refund_total),
    ]
    w(",".join("`" + c for c in totals) + "\n")


def _write_alipay(f: IO[str], account: str, day: str, rows: Sequence[_Row]) -> None:
    w = f.write
    compact = day.replace("-", "")
    w("#支付宝业务明细查询\n")
    w(f"#账号：[{account}]\n")
    w(f"#起始日期：[{day[:4]}年{day[5:7]}月{day[8:]}日 00:00:00]   终止日期：[下一日 00:00:00]\n")
    w(f"#{_RULE}业务明细列表{_RULE}\n")
    w(_ALIPAY_HEADER + "\n")
    count = {"交易": 0, "退款": 0}
    takings = {"交易": Decimal(0), "退款": Decimal(0)}
    for r in rows:
        refund = r.txn_type == "refund"
        kind = "退款" if refund else "交易"
        amount = -abs(r.amount) if refund else abs(r.amount)
        when = r.txn_time.replace("T", " ")
        cells = [
            compact + "22001" + r.digits(15, "ali") + "\t",
            r.rrn + "\t",
            kind,
            "POS收款",
            when,
            when,
            "",
            "",
            "",
            r.terminal_id + "\t",
            "",
            _yuan(amount),
            _yuan(amount),
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "",
            "0.00",
            "0.00",
            (r.rrn + "\t") if refund else "",
            _yuan(r.fee),
            "0.00",
            "",
        ]
        w(",".join(cells) + "\n")
        count[kind] += 1
        takings[kind] += amount
    w(f"#{_RULE}业务明细列表结束{_RULE}\n")
    w(f"#交易合计：{count['交易']}笔，商家实收共{_yuan(takings['交易'])}元，商家优惠共0.00元\n")
    w(f"#退款合计：{count['退款']}笔，商家实收共{_yuan(takings['退款'])}元，商家优惠共0.00元\n")
    w(f"#导出时间：[{day[:4]}年{day[5:7]}月{day[8:]}日 10:00:00]\n")


def export_bills(
    settlement: Sequence[Path],
    out: Path,
    *,
    rest: Path | None = None,
    twin: Path | None = None,
) -> BillExport:
    """Write the wechat/alipay rows of ``settlement`` as bills under ``out``.

    Files: ``out/wechat/<merchant>_<yyyymmdd>_ALL.csv`` and
    ``out/alipay/<merchant>_<yyyymmdd>_业务明细.csv``. With ``rest``, the
    rows of every other channel go to that one canonical settlement CSV.
    With ``twin``, the same QR rows go to that canonical settlement CSV
    holding exactly what the bills say and nothing more (the platform as
    acquirer, the trade day as settle date; no batch/trace, card, merchant
    name, MCC or payout id): the same settlement data in the other form.

    >>> # export_bills(sorted(Path("sim/settlement").glob("*.csv")), Path("bills"))
    """
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in settlement)
        con.execute(
            f"""CREATE TEMP TABLE __stl AS SELECT * FROM read_csv([{files}], header = true,
                all_varchar = true, filename = true, quote = '"', delim = ',')"""
        )
        rest_rows = 0
        if rest is not None:
            rest.parent.mkdir(parents=True, exist_ok=True)
            described = con.execute("SELECT * FROM __stl LIMIT 0").description or []
            cols = [d[0] for d in described]
            keep = ", ".join(f'"{c}"' for c in cols if c != "filename")
            dest = str(rest).replace("'", "''")
            con.execute(
                f"""COPY (SELECT {keep} FROM __stl WHERE channel NOT IN ('wechat', 'alipay')
                    ORDER BY filename, settle_date, merchant_id, txn_time)
                    TO '{dest}' (HEADER, DELIMITER ',')"""
            )
            row = con.execute(
                "SELECT count(*) FROM __stl WHERE channel NOT IN ('wechat', 'alipay')"
            ).fetchone()
            rest_rows = int(row[0]) if row else 0
        if twin is not None:
            _write_twin(con, twin)
        wechat: list[Path] = []
        alipay: list[Path] = []
        bill_rows = 0
        (out / "wechat").mkdir(exist_ok=True)
        for merchant, day, group in _groups(_rows(con, "wechat")):
            path = out / "wechat" / f"{merchant}_{day.replace('-', '')}_ALL.csv"
            with path.open("w", encoding="utf-8", newline="") as f:
                _write_wechat(f, group)
            wechat.append(path)
            bill_rows += len(group)
        (out / "alipay").mkdir(exist_ok=True)
        for merchant, day, group in _groups(_rows(con, "alipay")):
            path = out / "alipay" / f"{merchant}_{day.replace('-', '')}_业务明细.csv"
            with path.open("w", encoding="gb18030", newline="") as f:
                _write_alipay(f, merchant, day, group)
            alipay.append(path)
            bill_rows += len(group)
    finally:
        con.close()
    return BillExport(tuple(wechat), tuple(alipay), rest, bill_rows, rest_rows)


def _write_twin(con: duckdb.DuckDBPyConnection, twin: Path) -> None:
    """The QR rows as canonical settlement, with only what a bill carries (see export_bills)."""
    twin.parent.mkdir(parents=True, exist_ok=True)
    dest = str(twin).replace("'", "''")
    con.execute(
        f"""COPY (
            SELECT CASE channel WHEN 'wechat' THEN '{WECHAT_ACQUIRER}'
                                ELSE '{ALIPAY_ACQUIRER}' END AS acquirer,
                   merchant_id, NULL AS merchant_name, NULL AS mcc, terminal_id,
                   NULL AS batch_no, NULL AS trace_no, rrn, txn_time, txn_type, channel,
                   NULL AS card, amount, fee, net_amount, left(txn_time, 10) AS settle_date,
                   NULL AS payout_id
            FROM __stl WHERE channel IN ('wechat', 'alipay')
            ORDER BY merchant_id, txn_time, rrn
        ) TO '{dest}' (HEADER, DELIMITER ',')"""
    )
