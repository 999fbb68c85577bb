"""WeChat Pay and Alipay bills: merchant trade bills, fund-flow bills, personal exports.

Six layouts, one :class:`~daozhang.ingest.base.Format` each, all read as rows
of cells (:mod:`daozhang.ingest.cells`), so the same code reads the CSV a
platform delivers and the .xlsx a person saved it as:

=========================  ==================  ===================================
layout                     kind                recognised by
=========================  ==================  ===================================
``wechat.tradebill``       settlement          header 交易时间, 微信订单号, 商户订单号,
                                               交易状态, 应结订单金额, 手续费 ...
``alipay.tradebill``       settlement          header 支付宝交易号, 业务类型, 完成时间,
                                               订单金额（元）, 服务费（元） ...
``wechat.fundflow``        bank_statement      header 记账时间, 资金流水单号, 收支类型 ...
``wechat.personal``        bank_statement      header 交易时间, 交易类型, 收/支, 金额(元) ...
``alipay.personal``        bank_statement      header 交易时间, 交易分类, 收/支, 交易订单号 ...
=========================  ==================  ===================================

What every layout shares (POS-DOMAIN.md 3.2, 3.3): WeChat prefixes each
detail and summary cell with one back-tick so that Excel keeps IDs as text;
both platforms put a tab after IDs; amounts may carry ``¥``. A cell is
cleaned once (:func:`clean`) and IDs stay text throughout: nothing here
turns a cell into a number except to add up a summary, and then as
``Decimal``, never float.

**Settlement rows from a trade bill.** A trade bill says what the platform
knows, and only that is mapped:

* ``merchant_id``: WeChat's 特约商户号 (the sub-merchant a service provider
  acts for), else 商户号; Alipay's ``#账号：[…]`` line (the account the bill is for).
* ``terminal_id``: 设备号 / 终端号.
* ``rrn``: 商户订单号, the order number the acquirer's system gave the
  platform (aggregators put the terminal's reference there); for a refund
  row its own 商户退款单号 / 退款批次号 when present, so that the refund is
  keyed like the POS refund it came from.
* ``txn_time``: WeChat 交易时间 (for refunds the refund's time when the
  bill has 退款成功时间/退款申请时间), Alipay 完成时间.
* ``amount``: 应结订单金额 for a payment, minus 退款金额 for a refund
  (WeChat); 订单金额（元） (Alipay, negative on refunds).
* ``fee``: 手续费 / 服务费（元）, rounded once to the fen by
  :func:`~daozhang.domain.money.round_yuan_text` (WeChat states five
  decimals). Its sign follows the amount, as in canonical settlement:
  positive on a payment, negative on a refund (the fee handed back),
  whichever way the platform printed it. ``net_amount = amount - fee``.
* ``acquirer``: the platform (微信支付 / 支付宝): it cleared the trade.
* ``settle_date``: the trade's own date, which is the bill's date (a bill
  lists the trades of one day). A trade bill says nothing about when money
  left for the bank; that is the payout's and the fund-flow bill's matter.
* ``batch_no``, ``trace_no``, ``card``, ``merchant_name``, ``mcc``,
  ``payout_id``: a bill has none of them; they stay empty rather than be
  guessed.

**Summaries.** The merchant bills end with totals (WeChat: a summary header
and row; Alipay: ``#交易合计`` and ``#退款合计`` lines). Each total is checked
against the detail rows; a difference is a ``summary_mismatch`` reject on
the summary's line naming the total and both values, and the detail rows go
in all the same (a bookkeeper wants to see them, and the reject says the
bill is not whole). A merchant bill without its summary was cut short: it is
refused whole (``summary_missing``) rather than half imported. The personal
exports' preamble counts are not checked: Alipay's own export warns that its
statistics do not add up from the rows ("因统计逻辑不同…可能会和下方统计金额不一致").

**Accounts of the statement layouts.** A personal export names its owner in
the preamble (``微信昵称：[…]``, ``支付宝账户：…``): the account is
``微信:<nickname>`` / ``支付宝:<account>``. A WeChat fund-flow bill names
neither the merchant number nor which of its accounts (basic, operation,
fees) it lists; its entries go to the one plainly labelled account
:data:`WECHAT_FUNDFLOW_ACCOUNT` rather than an invented number, so a
bookkeeper sees at once that the file did not say (bills of two merchant
numbers belong in two workspaces). Entries the platform itself counts as
neither income nor expense (收/支 ``/``, 不计收支: top-ups, withdrawals,
investments, refunds back to a card) are set aside as ``neutral_entry``;
closed Alipay trades (交易关闭, no money moved) as ``not_settled``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import duckdb

from daozhang.domain.money import MoneyError, format_yuan, parse_yuan, round_yuan_text
from daozhang.domain.records import Kind
from daozhang.ingest.base import FileHead, Identification, ReadContext, ReadResult, SourceFile
from daozhang.ingest.cells import CellRow, head_names, source_rows, spreadsheet_kind
from daozhang.ingest.rejects import Reject, RejectCode, make_reject
from daozhang.ingest.rows import RowSink

__all__ = [
    "ALIPAY_PERSONAL",
    "ALIPAY_TRADEBILL",
    "BILL_FORMATS",
    "WECHAT_FUNDFLOW",
    "WECHAT_FUNDFLOW_ACCOUNT",
    "WECHAT_PERSONAL",
    "WECHAT_TRADEBILL",
    "clean",
]

WECHAT_ACQUIRER = "微信支付"
ALIPAY_ACQUIRER = "支付宝"
WECHAT_FUNDFLOW_ACCOUNT = "微信支付商户账户（账单未注明商户号）"
"""The account of a WeChat fund-flow bill's entries: the file does not say which."""

_CONFIDENT = 0.95  # an exact layout: above any generic header guess


def clean(cell: str) -> str:
    """A bill cell as its value: no back-tick prefix, no padding, tabs or spaces.

    >>> clean("`4200000925202101284997714292")
    '4200000925202101284997714292'
    >>> clean("2xxxxxxxxxxxxxx0\\t")
    '2xxxxxxxxxxxxxx0'
    >>> clean(" `0.01 ")
    '0.01'
    """
    s = cell.strip()
    if s.startswith("`"):
        s = s[1:].strip()
    return s


def _key(name: str) -> str:
    """How header names compare: cleaned, full-width brackets as ASCII."""
    return clean(name).strip("\ufeff").replace("（", "(").replace("）", ")")


def _empty(value: str) -> bool:
    """Bills write "nothing" as empty, ``/`` or ``0`` for an absent refund number."""
    return value in ("", "/", "-")


_TS = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")
_SCI = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def _iso(text: str) -> str:
    """``2021-01-28 17:07:11`` as ISO ``2021-01-28T17:07:11``; anything else as it is.

    A value that is not a time goes on unchanged, so that the normaliser
    rejects it with the field's name and the value.
    """
    m = _TS.match(text)
    if not m:
        return text
    y, mo, d, h, mi, s = m.groups()
    return f"{y}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{mi}:{s or '00'}"


def _date_of(iso: str) -> str | None:
    return iso[:10] if _TS.match(iso) else None


def _money_text(text: str) -> str:
    return text.replace("¥", "").replace("￥", "").replace(",", "").strip()


def _dec(text: str) -> Decimal | None:
    """An amount for a summary's sum (exact), or None when it is not one."""
    try:
        d = Decimal(text)  # the plain shape ("0.38000", "-12.30"), fast
    except InvalidOperation:
        s = _money_text(text)
        if not _DECIMAL.match(s):
            return None
        return Decimal(s)
    return d if d.is_finite() and _DECIMAL.match(text) else None


def _signed(text: str, negative: bool) -> str:
    """``text`` (an amount) with the sign asked for, whatever sign it was printed with."""
    s = _money_text(text)
    s = s[1:] if s[:1] in "+-" else s
    return "-" + s if negative and s else s


def _fee_and_net(amount: str, fee_raw: str, negative: bool) -> tuple[str, str | None]:
    """The fee rounded once to the fen (sign of the amount) and ``amount - fee``.

    A fee or amount that is not an amount goes on as it was, and the net is
    left empty: the normaliser then rejects the row naming the bad field.
    """
    try:
        fee = _signed(round_yuan_text(_money_text(fee_raw) or "0"), negative)
    except MoneyError:
        return fee_raw, None
    try:
        return fee, format_yuan(parse_yuan(amount) - parse_yuan(fee))
    except MoneyError:
        return fee, None


@dataclass
class _Total:
    """A running exact sum; None once a value was not an amount (then it is not checked)."""

    value: Decimal | None = Decimal(0)

    def add(self, text: str) -> None:
        if self.value is None:
            return
        d = _dec(text) if text else Decimal(0)
        self.value = None if d is None else self.value + d


@dataclass
class _Header:
    """A header row: where each column is, by cleaned name."""

    row: CellRow
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, c in enumerate(self.row.cells):
            self.index.setdefault(_key(c), i)

    @property
    def width(self) -> int:
        cells = self.row.cells
        n = len(cells)
        while n and not clean(cells[n - 1]):
            n -= 1
        return n

    def get(self, cells: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return clean(cells[i]) if i is not None and i < len(cells) else ""


def _fmt_total(d: Decimal | int) -> str:
    """A computed total as a person writes it: ``2``, ``0.00``, ``0.01234``."""
    if isinstance(d, int):
        return str(d)
    fen = d.quantize(Decimal("0.01"))
    return f"{fen:.2f}" if fen == d else format(d.normalize(), "f")


class _Bill(ABC):
    """What the layouts share: recognition by header columns, the read loop, rejects."""

    name: str
    kind: Kind
    required: tuple[str, ...]  # header columns (cleaned, ASCII brackets)
    known: tuple[str, ...]  # every column the layout knows, for closeness
    ids: tuple[str, ...] = ()  # columns that must stay text

    # -- recognising -------------------------------------------------------
    def identify(self, head: FileHead) -> Identification:
        best: frozenset[str] = frozenset()
        required, known = frozenset(self.required), frozenset(self.known)
        for names in head_names(head, ",", _key):
            if required <= names:
                return Identification(
                    format=self.name,
                    kind=self.kind,
                    confidence=_CONFIDENT,
                    closeness=1.0,
                    reads_text=spreadsheet_kind(head.head) is None,
                )
            have = names & known
            if len(have) > len(best):
                best = have
        return Identification(
            format=self.name,
            kind=self.kind,
            confidence=0.0,
            missing=tuple(r for r in self.required if r not in best),
            closeness=len(best) / len(self.known) if best else 0.0,
        )

    # -- reading -----------------------------------------------------------
    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        path = str(source.path)
        sink = RowSink(ctx, self.kind)
        state = _ReadState(path=path, bad_lines=source.bad_lines)
        try:
            whole = self._read_rows(source_rows(source), sink, state)
        except (OSError, duckdb.Error):
            raise
        except Exception as exc:
            whole = make_reject(
                RejectCode.UNREADABLE_FILE, path=path, detail=f"{type(exc).__name__}: {exc}"
            )
        sink.close()
        if whole is not None:
            return ReadResult(table=ctx.table, rows_read=0, rejects=(whole,), method="python")
        # Every record is either in the table or named by a reject; a
        # summary line that disagrees counts as a rejected row of its own.
        rejected_lines = {r.line for r in state.rejects}
        return ReadResult(
            table=ctx.table,
            rows_read=sink.rows + len(rejected_lines),
            rejects=tuple(state.rejects),
            method="python",
        )

    @abstractmethod
    def _read_rows(self, rows: Iterator[CellRow], sink: RowSink, st: _ReadState) -> Reject | None:
        """Map the layout's rows into ``sink``; a whole-file reject, or None when read."""

    def _find_header(
        self, rows: Iterator[CellRow], st: _ReadState, preamble: list[CellRow]
    ) -> _Header | Reject:
        """Skip to the header row, keeping what came before it (the preamble)."""
        for row in rows:
            names = {_key(c) for c in row.cells}
            if all(r in names for r in self.required):
                return _Header(row)
            preamble.append(row)
            if len(preamble) > 200:
                break
        return make_reject(
            RejectCode.UNREADABLE_FILE,
            path=st.path,
            detail="no header row with " + ", ".join(self.required),
        )

    def _row_problem(self, row: CellRow, header: _Header, st: _ReadState) -> bool:
        """Reject a detail row that cannot be mapped; True when it was rejected."""
        if row.line in st.bad_lines:
            st.reject(RejectCode.UNDECODABLE_ROW, row, detail="GB18030")
            return True
        width = header.width
        n = len(row.cells)
        if n < width or (n > width and any(clean(c) for c in row.cells[width:])):
            # Trailing empty cells (a trailing comma) are not a different width.
            st.reject(RejectCode.WRONG_FIELD_COUNT, row, value=str(n), detail=str(width))
            return True
        for name in self.ids:
            v = header.get(row.cells, name)
            if _SCI.match(v):
                st.reject(RejectCode.ID_AS_NUMBER, row, field=name, value=v)
                return True
        return False


@dataclass
class _ReadState:
    path: str
    bad_lines: frozenset[int]
    rejects: list[Reject] = field(default_factory=list)

    def reject(
        self,
        code: RejectCode,
        row: CellRow,
        *,
        field: str | None = None,
        value: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.rejects.append(
            make_reject(
                code,
                path=self.path,
                line=row.line,
                field=field,
                value=value,
                detail=detail,
                raw=",".join(row.cells),
            )
        )

    def check(self, row: CellRow, label: str, stated: str, computed: Decimal | int | None) -> None:
        """A summary total against the detail rows (skipped when either is unreadable)."""
        if computed is None:
            return
        want = _dec(stated)
        if want is None or want != computed:
            self.reject(
                RejectCode.SUMMARY_MISMATCH,
                row,
                field=label,
                value=stated,
                detail=_fmt_total(computed),
            )


# --------------------------------------------------------------------------
# WeChat Pay merchant trade bill (交易账单: ALL, SUCCESS, REFUND)
# --------------------------------------------------------------------------

_WX_TRADE_COLUMNS = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
    "退款申请时间",
    "退款成功时间",
    "总金额",
    "企业红包金额",
]

# Summary column -> the detail column it adds up (None: the number of rows).
_WX_TRADE_SUMS: dict[str, str | None] = {
    "总交易单数": None,
    "应结订单总金额": "应结订单金额",
    "退款总金额": "退款金额",
    "总退款金额": "退款金额",
    "充值券退款总金额": "充值券退款金额",
    "手续费总金额": "手续费",
    "订单总金额": "订单金额",
    "申请退款总金额": "申请退款金额",
    "总交易额": "总金额",
}
# Totals of an order amount that a refund row repeats: WeChat does not say
# whether refund rows count in them, so either reading is accepted.
_WX_ORDER_TOTALS = frozenset({"应结订单金额", "订单金额", "总金额"})
# The columns a settlement row is made of.
_WX_USED = (
    "交易时间",
    "商户号",
    "特约商户号",
    "设备号",
    "商户订单号",
    "交易状态",
    "应结订单金额",
    "商户退款单号",
    "退款金额",
    "手续费",
    "退款申请时间",
    "退款成功时间",
)


class WechatTradeBill(_Bill):
    """WeChat Pay 交易账单 (ALL, SUCCESS or REFUND; legacy columns tolerated) -> settlement.

    Worked example (the sandbox bill in the samples)::

        交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,...,交易状态,...,手续费,...
        `2021-01-28 17:07:11,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,
            `S20210128170702357723,...,`SUCCESS,...,`0.00000,...
        总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
        `3,`0.03,`0.00,`0.00,`0.00000,`0.03,`0.00

    gives ``acquirer=微信支付, merchant_id=1601959334, rrn=S20210128170702357723,
    txn_time=2021-01-28T17:07:11, txn_type=sale, channel=wechat, amount=0.01,
    fee=0.00, net_amount=0.01, settle_date=2021-01-28`` per row.
    """

    name = "wechat.tradebill"
    kind = Kind.SETTLEMENT
    required = (
        "交易时间",
        "商户号",
        "微信订单号",
        "商户订单号",
        "交易状态",
        "应结订单金额",
        "手续费",
    )
    known = tuple(_WX_TRADE_COLUMNS)
    ids = ("商户号", "特约商户号", "微信订单号", "商户订单号", "微信退款单号", "商户退款单号")

    def _read_rows(self, rows: Iterator[CellRow], sink: RowSink, st: _ReadState) -> Reject | None:
        found = self._find_header(rows, st, [])
        if isinstance(found, Reject):
            return found
        h = found
        count = 0
        summed = [c for c in dict.fromkeys(_WX_TRADE_SUMS.values()) if c and c in h.index]
        sums = {col: _Total() for col in summed}
        paid = {col: _Total() for col in _WX_ORDER_TOTALS if col in h.index}
        # Each row's cells are cleaned once, and only the columns used: the
        # loop runs a million times for a big merchant's month.
        wanted = tuple(dict.fromkeys((*_WX_USED, *summed, *self.ids)))
        where = [(name, h.index.get(name, -1)) for name in wanted]
        width = h.width
        summary_head: _Header | None = None
        for row in rows:
            cells = row.cells
            if row.is_blank():
                continue
            if _key(cells[0]) in _WX_TRADE_SUMS:
                summary_head = _Header(row)
                break
            count += 1
            if (len(cells) != width or row.line in st.bad_lines) and self._row_problem(row, h, st):
                continue
            v: dict[str, str] = {}
            for name, i in where:
                s = cells[i].strip() if 0 <= i < len(cells) else ""
                v[name] = s[1:].strip() if s[:1] == "`" else s
            bad_id = next(
                (n for n in self.ids if "e" in v.get(n, "").lower() and _SCI.match(v[n])), None
            )
            if bad_id is not None:
                st.reject(RejectCode.ID_AS_NUMBER, row, field=bad_id, value=v[bad_id])
                continue
            for col, total in sums.items():
                total.add(v[col])
            state = v["交易状态"].upper()
            if state != "REFUND":
                for col, total in paid.items():
                    total.add(v[col])
            self._record(row, v, st, sink, state)
        if summary_head is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        values = next((r for r in rows if not r.is_blank()), None)
        if values is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        for label, added in _WX_TRADE_SUMS.items():
            if label not in summary_head.index:
                continue
            stated = summary_head.get(values.cells, label)
            if added is None:
                st.check(values, label, stated, count)
            elif added in sums:
                self._check_sum(values, st, label, stated, sums[added], paid.get(added))
        for extra in rows:
            if not extra.is_blank():
                st.reject(RejectCode.UNREADABLE_ROW, extra, detail="a row after the summary")
        return None

    @staticmethod
    def _check_sum(
        row: CellRow,
        st: _ReadState,
        label: str,
        stated: str,
        every: _Total,
        payments: _Total | None,
    ) -> None:
        if payments is not None and payments.value is not None and _dec(stated) == payments.value:
            return  # the order-amount total read as payments only
        st.check(row, label, stated, every.value)

    @staticmethod
    def _record(
        row: CellRow, v: Mapping[str, str], st: _ReadState, sink: RowSink, state: str
    ) -> None:
        if state == "REFUND":
            txn_type, negative = "refund", True
            amount = _signed(v["退款金额"], True)
            when = v["退款成功时间"] or v["退款申请时间"]
            ref = v["商户退款单号"]
            rrn = ref if not _empty(ref) and ref != "0" else v["商户订单号"]
        elif state == "SUCCESS":
            txn_type, negative = "sale", False
            amount = _signed(v["应结订单金额"], False)
            when = ""
            rrn = v["商户订单号"]
        else:
            # REVOKED (撤销), NOTPAY, CLOSED...: no money was settled.
            st.reject(RejectCode.NOT_SETTLED, row, field="交易状态", value=state)
            return
        txn_time = _iso(when or v["交易时间"])
        fee, net = _fee_and_net(amount, v["手续费"], negative)
        sub = v["特约商户号"]
        sink.add(
            row.line,
            {
                "acquirer": WECHAT_ACQUIRER,
                "merchant_id": sub if sub not in ("", "0") else v["商户号"] or None,
                "terminal_id": v["设备号"] or None,
                "rrn": rrn or None,
                "txn_time": txn_time or None,
                "txn_type": txn_type,
                "channel": "wechat",
                "amount": amount or None,
                "fee": fee or None,
                "net_amount": net,
                "settle_date": _date_of(txn_time),
            },
        )


# --------------------------------------------------------------------------
# Alipay merchant 业务明细 (trade bill, GBK/GB18030 CSV with # lines)
# --------------------------------------------------------------------------

_ALI_TRADE_COLUMNS = tuple(
    _key(c)
    for c in [
        "支付宝交易号",
        "商户订单号",
        "业务类型",
        "商品名称",
        "创建时间",
        "完成时间",
        "门店编号",
        "门店名称",
        "操作员",
        "终端号",
        "对方账户",
        "订单金额（元）",
        "商家实收（元）",
        "支付宝红包（元）",
        "集分宝（元）",
        "支付宝优惠（元）",
        "商家优惠（元）",
        "券核销金额（元）",
        "券名称",
        "商家红包消费金额（元）",
        "卡消费金额（元）",
        "退款批次号/请求号",
        "服务费（元）",
        "分润（元）",
        "备注",
    ]
)
_ACCOUNT_LINE = re.compile(r"账号[:：]\s*\[?\s*([^\]\s]+)\s*\]?")
_ALI_TOTAL = re.compile(
    r"#(交易|退款)合计[:：]\s*(\d+)\s*笔\s*[,，]\s*商家实收共\s*([+-]?[\d,]+(?:\.\d+)?)\s*元"
)


class AlipayTradeBill(_Bill):
    """Alipay 业务明细 (``bill_type=trade``) -> settlement.

    Worked example (layout of POS-DOMAIN.md 3.3; GBK in the real download)::

        #支付宝业务明细查询
        #账号：[2088123412341234]
        #起始日期：[2026年09月14日 00:00:00]   终止日期：[2026年09月15日 00:00:00]
        #-----------------------------------------业务明细列表----------------------------------------
        支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,...,订单金额（元）,商家实收（元）,...,服务费（元）,...
        2026091422001400001\\t,626000001234\\t,交易,...,2026-09-14 10:00:00,
            2026-09-14 10:00:02,...,100.00,100.00,...,-0.30,...
        #-----------------------------------------业务明细列表结束------------------------------------
        #交易合计：1笔，商家实收共100.00元，商家优惠共0.00元
        #退款合计：0笔，商家实收共0.00元，商家优惠共0.00元

    gives ``acquirer=支付宝, merchant_id=2088123412341234, rrn=626000001234,
    txn_type=sale, channel=alipay, amount=100.00, fee=0.30, net_amount=99.70,
    settle_date=2026-09-14``.
    """

    name = "alipay.tradebill"
    kind = Kind.SETTLEMENT
    required = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额(元)", "服务费(元)")
    known = _ALI_TRADE_COLUMNS
    ids = ("支付宝交易号", "商户订单号", "退款批次号/请求号", "终端号")

    def _read_rows(self, rows: Iterator[CellRow], sink: RowSink, st: _ReadState) -> Reject | None:
        preamble: list[CellRow] = []
        found = self._find_header(rows, st, preamble)
        if isinstance(found, Reject):
            return found
        h = found
        account = None
        for p in preamble:
            m = _ACCOUNT_LINE.search(",".join(p.cells))
            if m:
                account = m.group(1)
                break
        if account is None:
            return make_reject(
                RejectCode.UNREADABLE_FILE, path=st.path, detail="no #账号：[...] line"
            )
        counts = {"交易": 0, "退款": 0}
        takings = {"交易": _Total(), "退款": _Total()}
        totals: dict[str, CellRow] = {}
        in_detail = True
        for row in rows:
            if row.is_blank():
                continue
            text = ",".join(row.cells).strip()
            if text.startswith("#"):
                in_detail = False
                m = _ALI_TOTAL.match(text)
                if m:
                    totals[m.group(1)] = row
                continue
            if not in_detail:
                st.reject(RejectCode.UNREADABLE_ROW, row, detail="a row after the detail list")
                continue
            if self._row_problem(row, h, st):
                kind = h.get(row.cells, "业务类型")
                if kind in counts:
                    counts[kind] += 1
                continue
            kind = h.get(row.cells, "业务类型")
            if kind in counts:
                counts[kind] += 1
                takings[kind].add(h.get(row.cells, "商家实收(元)"))
            self._record(row, h, st, sink, account, kind)
        if "交易" not in totals:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        for kind, row in totals.items():
            m = _ALI_TOTAL.match(",".join(row.cells).strip())
            assert m is not None
            st.check(row, f"{kind}合计笔数", m.group(2), counts[kind])
            st.check(row, f"{kind}合计商家实收", m.group(3), takings[kind].value)
        return None

    @staticmethod
    def _record(
        row: CellRow, h: _Header, st: _ReadState, sink: RowSink, account: str, kind: str
    ) -> None:
        cells = row.cells
        if kind == "交易":
            txn_type, negative = "sale", False
            rrn = h.get(cells, "商户订单号")
        elif kind == "退款":
            txn_type, negative = "refund", True
            ref = h.get(cells, "退款批次号/请求号")
            rrn = ref if not _empty(ref) else h.get(cells, "商户订单号")
        else:
            st.reject(RejectCode.NOT_SETTLED, row, field="业务类型", value=kind)
            return
        amount = _signed(h.get(cells, "订单金额(元)"), negative)
        fee, net = _fee_and_net(amount, h.get(cells, "服务费(元)"), negative)
        txn_time = _iso(h.get(cells, "完成时间") or h.get(cells, "创建时间"))
        sink.add(
            row.line,
            {
                "acquirer": ALIPAY_ACQUIRER,
                "merchant_id": account,
                "merchant_name": None,
                "terminal_id": h.get(cells, "终端号") or None,
                "rrn": rrn or None,
                "txn_time": txn_time or None,
                "txn_type": txn_type,
                "channel": "alipay",
                "amount": amount or None,
                "fee": fee or None,
                "net_amount": net,
                "settle_date": _date_of(txn_time),
            },
        )


# --------------------------------------------------------------------------
# WeChat Pay merchant fund-flow bill (资金账单)
# --------------------------------------------------------------------------

_WX_FUND_COLUMNS = [
    "记账时间",
    "微信支付业务单号",
    "资金流水单号",
    "业务名称",
    "业务类型",
    "收支类型",
    "收支金额(元)",
    "账户结余(元)",
    "资金变更提交申请人",
    "备注",
    "业务凭证号",
]
_DIRECTIONS = {"收入": False, "支出": True}


class WechatFundFlowBill(_Bill):
    """WeChat Pay 资金账单 -> bank_statement entries of the merchant's WeChat Pay account.

    Worked example (the sample)::

        记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),...,业务凭证号
        `2021-02-01 13:54:01,`50300806962021020105978994968,`4200000920202101197964319284,`退款,
            `退款,`支出,`0.01,`0.22,`1601959334API,`退款总金额0.01元;含手续费0.00元,`S20210201135356381941

    gives ``account_no=微信支付商户账户（账单未注明商户号）, booking_date=value_date=2021-02-01,
    amount=-0.01, balance=0.22, reference=S20210201135356381941,
    bank_txn_id=4200000920202101197964319284``.
    """

    name = "wechat.fundflow"
    kind = Kind.BANK_STATEMENT
    required = ("记账时间", "资金流水单号", "收支类型", "收支金额(元)")
    known = tuple(_WX_FUND_COLUMNS)
    ids = ("微信支付业务单号", "资金流水单号", "业务凭证号")

    def _read_rows(self, rows: Iterator[CellRow], sink: RowSink, st: _ReadState) -> Reject | None:
        found = self._find_header(rows, st, [])
        if isinstance(found, Reject):
            return found
        h = found
        count = {"收入": 0, "支出": 0, "": 0}
        money = {"收入": _Total(), "支出": _Total()}
        summary_head: _Header | None = None
        for row in rows:
            if row.is_blank():
                continue
            if row.cells and _key(row.cells[0]) == "资金流水总笔数":
                summary_head = _Header(row)
                break
            direction = h.get(row.cells, "收支类型")
            count[direction if direction in money else ""] += 1
            if self._row_problem(row, h, st):
                continue
            if direction not in _DIRECTIONS:
                st.reject(
                    RejectCode.BAD_ENUM, row, field="收支类型", value=direction, detail="收入, 支出"
                )
                continue
            raw_amount = h.get(row.cells, "收支金额(元)")
            money[direction].add(raw_amount)
            booked = _iso(h.get(row.cells, "记账时间"))
            ref = h.get(row.cells, "业务凭证号") or h.get(row.cells, "微信支付业务单号")
            sink.add(
                row.line,
                {
                    "account_no": WECHAT_FUNDFLOW_ACCOUNT,
                    "booking_date": _date_of(booked) or booked or None,
                    "value_date": _date_of(booked) or booked or None,
                    "amount": _signed(raw_amount, _DIRECTIONS[direction]) or None,
                    "currency": "CNY",
                    "counterparty_name": None,
                    "reference": ref or None,
                    "balance": _money_text(h.get(row.cells, "账户结余(元)")) or None,
                    "bank_txn_id": h.get(row.cells, "资金流水单号") or None,
                },
            )
        values = next((r for r in rows if not r.is_blank()), None) if summary_head else None
        if summary_head is None or values is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        stated = {label: summary_head.get(values.cells, label) for label in summary_head.index}
        checks: list[tuple[str, Decimal | int | None]] = [
            ("资金流水总笔数", sum(count.values())),
            ("收入笔数", count["收入"]),
            ("收入金额", money["收入"].value),
            ("支出笔数", count["支出"]),
            ("支出金额", money["支出"].value),
        ]
        for label, computed in checks:
            if label in stated:
                st.check(values, label, stated[label], computed)
        for extra in rows:
            if not extra.is_blank():
                st.reject(RejectCode.UNREADABLE_ROW, extra, detail="a row after the summary")
        return None


# --------------------------------------------------------------------------
# Personal exports (WeChat CSV/XLSX, Alipay GB18030 CSV)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PersonalLayout:
    """The columns of one personal export and how its owner is named."""

    time: str
    direction: str
    amount: str
    status: str
    counterparty: str
    counterparty_account: str | None
    txn_id: str
    order_id: str
    owner: re.Pattern[str]
    owner_prefix: str
    closed: frozenset[str]


class _PersonalExport(_Bill):
    layout: _PersonalLayout

    def _read_rows(self, rows: Iterator[CellRow], sink: RowSink, st: _ReadState) -> Reject | None:
        preamble: list[CellRow] = []
        found = self._find_header(rows, st, preamble)
        if isinstance(found, Reject):
            return found
        h = found
        lay = self.layout
        account = self._owner(preamble)
        for row in rows:
            if row.is_blank():
                continue
            if self._row_problem(row, h, st):
                continue
            cells = row.cells
            direction = h.get(cells, lay.direction)
            status = h.get(cells, lay.status)
            if status in lay.closed:
                st.reject(RejectCode.NOT_SETTLED, row, field=lay.status, value=status)
                continue
            if direction not in _DIRECTIONS:
                st.reject(RejectCode.NEUTRAL_ENTRY, row, field=lay.direction, value=direction)
                continue
            when = _iso(h.get(cells, lay.time))
            counterparty = h.get(cells, lay.counterparty)
            other_account = (
                h.get(cells, lay.counterparty_account) if lay.counterparty_account else ""
            )
            order = h.get(cells, lay.order_id)
            sink.add(
                row.line,
                {
                    "account_no": account,
                    "booking_date": _date_of(when) or when or None,
                    "value_date": _date_of(when) or when or None,
                    "amount": _signed(h.get(cells, lay.amount), _DIRECTIONS[direction]) or None,
                    "currency": "CNY",
                    "counterparty_name": None if _empty(counterparty) else counterparty,
                    "counterparty_account": None if _empty(other_account) else other_account,
                    "reference": None if _empty(order) else order,
                    "bank_txn_id": h.get(cells, lay.txn_id) or None,
                },
            )
        return None

    def _owner(self, preamble: Iterable[CellRow]) -> str:
        """The account named in the preamble, or a plainly labelled stand-in."""
        for row in preamble:
            m = self.layout.owner.search(",".join(row.cells))
            if m and m.group(1).strip():
                return f"{self.layout.owner_prefix}:{m.group(1).strip()}"
        return f"{self.layout.owner_prefix}（文件未注明账户）"


class WechatPersonalExport(_PersonalExport):
    """A WeChat personal bill export (微信支付账单明细, CSV or XLSX) -> bank_statement.

    Worked example (the sample): preamble ``微信昵称：[测试]``, then
    ``2019-09-26 12:45:27,"商户消费","云膳过桥米线(传奇广场店)",...,"支出",¥28.16,...,"3985734"\\t,
    "129847129"\\t,"/"`` gives ``account_no=微信:测试, booking_date=2019-09-26, amount=-28.16,
    counterparty_name=云膳过桥米线(传奇广场店), reference=129847129, bank_txn_id=3985734``.
    """

    name = "wechat.personal"
    kind = Kind.BANK_STATEMENT
    required = ("交易时间", "交易类型", "交易对方", "收/支", "金额(元)", "交易单号", "商户单号")
    known = (
        "交易时间",
        "交易类型",
        "交易对方",
        "商品",
        "收/支",
        "金额(元)",
        "支付方式",
        "当前状态",
        "交易单号",
        "商户单号",
        "备注",
    )
    ids = ("交易单号", "商户单号")
    layout = _PersonalLayout(
        time="交易时间",
        direction="收/支",
        amount="金额(元)",
        status="当前状态",
        counterparty="交易对方",
        counterparty_account=None,
        txn_id="交易单号",
        order_id="商户单号",
        owner=re.compile(r"微信昵称[:：]\s*\[([^\]]*)\]"),
        owner_prefix="微信",
        closed=frozenset(),
    )


class AlipayPersonalExport(_PersonalExport):
    """An Alipay personal export (电子客户回单, GB18030 CSV) -> bank_statement.

    Worked example (the sample): preamble ``支付宝账户：xx@gmail.com``, then
    ``2023-01-18 10:17:29 ,转账红包 ,xxxx ,xxx***@163.com ,转账 ,收入 ,222228.50 ,余额 ,交易成功 ,
    2xxxxxxxxxxxxxxxxxxxxxxxxx9\\t, \\t, ,`` gives ``account_no=支付宝:xx@gmail.com,
    amount=222228.50, counterparty_name=xxxx, counterparty_account=xxx***@163.com,
    bank_txn_id=2xxxxxxxxxxxxxxxxxxxxxxxxx9``.
    """

    name = "alipay.personal"
    kind = Kind.BANK_STATEMENT
    required = ("交易时间", "交易分类", "交易对方", "收/支", "金额", "交易订单号", "商家订单号")
    known = (
        "交易时间",
        "交易分类",
        "交易对方",
        "对方账号",
        "商品说明",
        "收/支",
        "金额",
        "收/付款方式",
        "交易状态",
        "交易订单号",
        "商家订单号",
        "备注",
    )
    ids = ("交易订单号", "商家订单号")
    layout = _PersonalLayout(
        time="交易时间",
        direction="收/支",
        amount="金额",
        status="交易状态",
        counterparty="交易对方",
        counterparty_account="对方账号",
        txn_id="交易订单号",
        order_id="商家订单号",
        owner=re.compile(r"支付宝账户[:：]\s*([^\s,]+)"),
        owner_prefix="支付宝",
        closed=frozenset({"交易关闭"}),
    )


WECHAT_TRADEBILL = WechatTradeBill()
ALIPAY_TRADEBILL = AlipayTradeBill()
WECHAT_FUNDFLOW = WechatFundFlowBill()
WECHAT_PERSONAL = WechatPersonalExport()
ALIPAY_PERSONAL = AlipayPersonalExport()

BILL_FORMATS: tuple[_Bill, ...] = (
    WECHAT_TRADEBILL,
    ALIPAY_TRADEBILL,
    WECHAT_FUNDFLOW,
    WECHAT_PERSONAL,
    ALIPAY_PERSONAL,
)
"""Every bill layout, for :data:`daozhang.ingest.registry.FORMATS`."""
