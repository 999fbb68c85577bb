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

**Reading is set-based.** Python only walks the rows of cells: it finds the
header among the first rows (and keeps the preamble above it), then streams
every later row into a DuckDB staging table in Arrow batches (``src_line``,
the number of cells, one text column per header column). SQL does the rest
for all rows at once: where the detail stops (the summary header, the first
``#`` line), the cleanup of each cell, ONE SELECT per layout that gives the
canonical fields and, beside them, the reject of a row that cannot be mapped,
and one aggregate per summary. Only the few rows from the summary on come
back to Python, to be read as before. Money stays exact throughout: amounts
are text, fees are rounded on integers by
:func:`~daozhang.domain.money.round_half_up_div_sql` (the same rule as
:func:`~daozhang.domain.money.round_yuan_text`) and totals are DECIMAL sums.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa

from daozhang.domain.money import round_half_up_div_sql
from daozhang.domain.records import Kind
from daozhang.ingest.base import (
    FileHead,
    Identification,
    ReadContext,
    ReadResult,
    SourceFile,
    ident,
    raw_query,
)
from daozhang.ingest.cells import CellRow, head_rows, source_rows, spreadsheet_kind
from daozhang.ingest.mapped import sql_str
from daozhang.ingest.rejects import Reject, RejectCode, make_reject

__all__ = [
    "ALIPAY_PERSONAL",
    "ALIPAY_TRADEBILL",
    "BILL_FORMATS",
    "WECHAT_FUNDFLOW",
    "WECHAT_FUNDFLOW_ACCOUNT",
    "WECHAT_PERSONAL",
    "WECHAT_TRADEBILL",
    "clean",
    "fee_sql",
]

WECHAT_ACQUIRER = "微信支付"
ALIPAY_ACQUIRER = "支付宝"
WECHAT_FUNDFLOW_ACCOUNT = "微信支付商户账户（账单未注明商户号）"
"""The account of a WeChat fund-flow bill's entries: the file does not say which."""

_CONFIDENT = 0.95  # an exact layout: above any generic header guess
_HEAD_LIMIT = 60
_BATCH = 65_536


def clean(cell: str) -> str:
    """A bill cell as its value: no back-tick prefix, no padding, tabs or spaces.

    The same rule in SQL is :func:`_clean_sql`.

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


_DECIMAL = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def _money_text(text: str) -> str:
    return text.replace("¥", "").replace("￥", "").replace(",", "").strip()


def _dec(text: str) -> Decimal | None:
    """A stated total (exact), or None when it is not an amount.

    ``_number_sql`` is the same rule for the detail cells a total adds up.
    """
    try:
        d = Decimal(text)  # the plain shape ("0.38000", "-12.30"), fast
    except InvalidOperation:
        s = _money_text(text)
        if not _DECIMAL.match(s):
            return None
        return Decimal(s)
    return d if d.is_finite() and _DECIMAL.match(text) else None


@dataclass
class _Total:
    """A running exact sum; None once a value was not an amount (then it is not checked).

    Used only where SQL's DECIMAL cannot promise the same answer (see
    :meth:`_Bill._totals`): amounts of more than 10 decimals or 20 digits.
    """

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


# --------------------------------------------------------------------------
# The cell rules in SQL (each the one definition of its rule for detail rows)
# --------------------------------------------------------------------------

# What Python's str.strip() removes (str.isspace()); a test keeps the two equal.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS = sql_str(_WHITESPACE)
# A decimal digit as Python's ``\d`` and ``Decimal`` read it (Unicode category Nd).
_D = r"\p{Nd}"
_NUMBER_RE = rf"[+-]?{_D}+(\.{_D}+)?"
_SCI_RE = rf"[+-]?{_D}+(\.{_D}+)?[eE][+-]?{_D}+"
_TS_RE = (
    rf"({_D}{{4}})[-/]({_D}{{1,2}})[-/]({_D}{{1,2}})[ T]"
    rf"({_D}{{1,2}}):({_D}{{2}})(?::({_D}{{2}}))?(?:\.{_D}+)?"
)
_TS_PLAIN_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"


@functools.cache
def _unicode_digits() -> tuple[str, str]:
    """Every non-ASCII decimal digit and its ASCII digit, for ``translate``."""
    import unicodedata

    digits = [c for c in map(chr, range(0x80, 0x1FC00)) if c.isdecimal()]
    return "".join(digits), "".join(str(unicodedata.decimal(c)) for c in digits)


def _ascii_digits_sql(x: str) -> str:
    """SQL: ``x`` with any Unicode digit (``１``, ``٣``) as ASCII, as Python reads it."""
    src, dst = _unicode_digits()
    ascii_only = f"strlen({x}) = length({x})"
    return (
        f"(CASE WHEN {ascii_only} THEN {x} ELSE translate({x}, {sql_str(src)}, {sql_str(dst)}) END)"
    )


def _strip_sql(x: str) -> str:
    """SQL: Python's ``str.strip()``; most cells need none, which their ends tell cheaply."""
    return (
        f"(CASE WHEN strpos({_WS}, left({x}, 1)) = 0 AND strpos({_WS}, right({x}, 1)) = 0 "
        f"THEN {x} ELSE trim({x}, {_WS}) END)"
    )


def _clean_sql(x: str) -> str:
    """SQL: :func:`clean` (``x`` is already stripped)."""
    return f"(CASE WHEN starts_with({x}, '`') THEN {_strip_sql(f'substr({x}, 2)')} ELSE {x} END)"


def _money_text_sql(x: str) -> str:
    """SQL: an amount cell without ``¥``, ``￥``, thousand separators and padding."""
    return _strip_sql(f"replace(replace(replace({x}, '¥', ''), '￥', ''), ',', '')")


def _signed_sql(x: str, negative: str) -> str:
    """SQL: amount ``x`` with the sign ``negative`` asks for, whatever sign it was printed with."""
    s = _money_text_sql(x)
    bare = f"(CASE WHEN left({s}, 1) IN ('+', '-') THEN substr({s}, 2) ELSE {s} END)"
    return f"(CASE WHEN {negative} AND {bare} <> '' THEN '-' || {bare} ELSE {bare} END)"


def _yuan_sql(fen: str) -> str:
    """SQL: integer fen as yuan text with two decimals (``format_yuan``)."""
    return (
        f"((CASE WHEN {fen} < 0 THEN '-' ELSE '' END) || CAST(abs({fen}) // 100 AS VARCHAR) "
        f"|| '.' || lpad(CAST(abs({fen}) % 100 AS VARCHAR), 2, '0'))"
    )


def _scaled_sql(text: str, places: int) -> str:
    """SQL: a number's text (``[+-]digits[.digits]``, ASCII) in units of 10**-places, truncated.

    HUGEINT: exact; NULL when the whole part is too long for it (over 30 digits).
    """
    whole = f"split_part(ltrim({text}, '+-'), '.', 1)"
    frac = f"rpad(left(split_part({text}, '.', 2), {places}), {places}, '0')"
    mag = (
        f"(CASE WHEN length(ltrim({whole}, '0')) <= 30 THEN CAST({whole} || {frac} AS HUGEINT) END)"
    )
    return f"(CASE WHEN starts_with({text}, '-') THEN -{mag} ELSE {mag} END)"


def fee_sql(text: str) -> str:
    """SQL: a fee's text rounded half up to the fen, as fen; NULL when it is not an amount.

    The same as :func:`~daozhang.domain.money.round_yuan_text` (a test
    compares them): half up at the fen depends on the third decimal only,
    so the amount is taken in tenths of a fen and divided by 10 with the
    product's one rounding rule. ``text`` has had ``¥`` and separators removed.
    """
    t = _ascii_digits_sql(text)
    return (
        f"(CASE WHEN regexp_full_match({text}, {sql_str(_NUMBER_RE)}) "
        f"THEN {round_half_up_div_sql(_scaled_sql(t, 3), 10)} END)"
    )


def _fen_sql(text: str) -> str:
    """SQL: ``parse_yuan``: an amount of two decimals (more only if zeros) as fen, else NULL."""
    t = _strip_sql(text)
    a = _ascii_digits_sql(t)
    return (
        f"(CASE WHEN regexp_full_match({t}, {sql_str(_NUMBER_RE)}) "
        f"AND ltrim(substr(split_part({a}, '.', 2), 3), '0') = '' THEN {_scaled_sql(a, 2)} END)"
    )


def _iso_sql(x: str) -> str:
    """SQL: ``2021-01-28 17:07:11`` as ISO ``2021-01-28T17:07:11``; anything else as it is.

    A value that is not a time goes on unchanged, so that the normaliser
    rejects it with the field's name and the value.
    """
    g = f"regexp_extract({x}, {sql_str('^' + _TS_RE + '$')}, ['y', 'mo', 'd', 'h', 'mi', 's'])"

    def two(part: str) -> str:
        return f"lpad(CAST(CAST({_ascii_digits_sql(part)} AS INTEGER) AS VARCHAR), 2, '0')"

    mo, d, h = two(f"{g}['mo']"), two(f"{g}['d']"), two(f"{g}['h']")
    s = f"{g}['s']"
    general = (
        f"{g}['y'] || '-' || {mo} || '-' || {d} || 'T' || {h} || ':' || {g}['mi'] || ':' "
        f"|| (CASE WHEN {s} = '' THEN '00' ELSE {s} END)"
    )
    return (
        f"(CASE WHEN regexp_full_match({x}, {sql_str(_TS_PLAIN_RE)}) "
        f"THEN left({x}, 10) || 'T' || right({x}, 8) "
        f"WHEN regexp_full_match({x}, {sql_str(_TS_RE)}) THEN {general} ELSE {x} END)"
    )


def _is_time_sql(x: str) -> str:
    return f"regexp_full_match({x}, {sql_str(_TS_RE)})"


def _number_sql(x: str) -> str:
    """SQL: a detail cell as a number's text to add up ('' is 0), NULL if none (``_dec``)."""
    m = _money_text_sql(x)
    return (
        f"(CASE WHEN {x} = '' THEN '0' WHEN regexp_full_match({x}, {sql_str(_NUMBER_RE)}) THEN {x} "
        f"WHEN regexp_full_match({m}, {sql_str(_NUMBER_RE)}) THEN {m} END)"
    )


def _select(levels: Sequence[Mapping[str, str]], source: str) -> str:
    """Nested SELECTs: each level's expressions may read the columns of the levels before it."""
    sql = source
    for level in levels:
        cols = "".join(f",\n  {expr} AS {ident(name)}" for name, expr in level.items())
        sql = f"(SELECT *{cols}\nFROM {sql})"
    return sql


def _reject_sql(code: RejectCode, field: str | None, value: str | None, detail: str | None) -> str:
    """SQL: a row reject as a struct (the mapping's ``rj`` column)."""

    def text(x: str | None) -> str:
        return "NULL::VARCHAR" if x is None else f"CAST({x} AS VARCHAR)"

    return (
        f"{{'code': {sql_str(code.value)}, "
        f"'field': {text(None if field is None else sql_str(field))}, "
        f"'value': {text(value)}, "
        f"'detail': {text(None if detail is None else sql_str(detail))}}}"
    )


def _unreadable(path: str, exc: BaseException) -> Reject:
    return make_reject(RejectCode.UNREADABLE_FILE, path=path, detail=f"{type(exc).__name__}: {exc}")


def _guarded(rows: Iterator[CellRow], error: list[BaseException]) -> Iterator[CellRow]:
    """``rows`` until one cannot be read; the exception is kept for the caller, not raised."""
    try:
        yield from rows
    except Exception as exc:  # raised again or turned into a reject by the caller
        error.append(exc)


def _stage(con: duckdb.DuckDBPyConnection, stage: str, rows: Iterator[CellRow], width: int) -> None:
    """Rows of cells into ``stage``: ``src_line``, ``n`` (cells), ``c<i>`` per column, ``extra``.

    ``extra`` holds the cells past ``width`` of a longer row (else NULL), so
    every row can be given back whole. Blank rows are not staged: no bill
    counts them.
    """
    schema = pa.schema(
        [pa.field("src_line", pa.int64()), pa.field("n", pa.int32())]
        + [pa.field(f"c{i}", pa.string()) for i in range(width)]
        + [pa.field("extra", pa.list_(pa.string()))]
    )
    none = (None,) * width

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            taken = list(itertools.islice(rows, _BATCH))
            if not taken:
                return
            chunk = [r for r in taken if "".join(r.cells).strip()]
            if not chunk:
                continue
            cells = [r.cells for r in chunk]
            sizes = [len(c) for c in cells]
            even = [
                c if len(c) == width else (c + none[len(c) :] if len(c) < width else c[:width])
                for c in cells
            ]
            extra = (
                [c[width:] if len(c) > width else None for c in cells]
                if max(sizes) > width
                else [None] * len(cells)
            )
            arrays: list[pa.Array[Any]] = [
                pa.array([r.line for r in chunk], pa.int64()),
                pa.array(sizes, pa.int32()),
            ]
            arrays += [pa.array(col, pa.string()) for col in zip(*even, strict=True)]
            arrays.append(pa.array(extra, pa.list_(pa.string())))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    view = f"{stage}_reader"
    con.register(view, reader)
    try:
        # One statement streams every batch in: no per-batch INSERT overhead.
        con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)


def _row_of(record: Sequence[object], width: int) -> CellRow:
    """A staged row (``src_line, n, c0.., extra``) as the row of cells it was."""
    line, n = int(str(record[0])), int(str(record[1]))
    cells = [str(c) for c in record[2 : 2 + min(n, width)]]
    extra = record[2 + width]
    if isinstance(extra, list):
        cells += [str(c) for c in extra]
    return CellRow(line, tuple(cells))


@dataclass(frozen=True, slots=True)
class _Sum:
    """A total to check: the staged number column ``column`` over the rows where ``where``."""

    name: str
    column: str
    where: str


@dataclass
class _Mapping:
    """What a layout's SQL gives: its detail rows' fields, their rejects, their totals."""

    levels: list[dict[str, str]]  # helper columns, level by level
    rejects: list[tuple[str, str]]  # (condition, reject struct) after the row problems
    outputs: dict[str, str]  # canonical field -> SQL over the helpers
    sums: list[_Sum] = field(default_factory=list)
    counts: dict[str, str] = field(default_factory=dict)  # name -> condition to count


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


@dataclass
class _Staged:
    """A bill being read: its staging tables, header and what the SQL found."""

    ctx: ReadContext
    stage: str
    header: _Header
    preamble: list[CellRow]
    st: _ReadState
    tail: list[CellRow] = field(default_factory=list)  # the rows from the summary on
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Decimal | None] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return len(self.header.row.cells)

    def col(self, name: str) -> str:
        """The cleaned cell of column ``name`` (``''`` when the header has no such column)."""
        i = self.header.index.get(name)
        return f"k{i}" if i is not None else "''"


class _Bill:
    """What the layouts share: recognition by header columns, staging, row rejects, totals."""

    name: str
    kind: Kind
    required: tuple[str, ...]  # header columns (cleaned, ASCII brackets)
    known: tuple[str, ...]  # every column the layout knows, for closeness
    ids: tuple[str, ...] = ()  # columns that must stay text
    summary_labels: tuple[str, ...] = ()  # first cell of the summary header: the detail ends

    # -- recognising -------------------------------------------------------
    def identify(self, head: FileHead) -> Identification:
        rows = head_rows(head, limit=_HEAD_LIMIT)
        best: set[str] = set()
        for row in rows:
            names = {_key(c) for c in row.cells}
            if all(r in names for r in self.required):
                return Identification(
                    format=self.name,
                    kind=self.kind,
                    confidence=_CONFIDENT,
                    closeness=1.0,
                    reads_text=spreadsheet_kind(head.head) is None,
                )
            have = names & set(self.known)
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
        st = _ReadState(path=path, bad_lines=source.bad_lines)
        rows = source_rows(source)
        preamble: list[CellRow] = []
        try:
            found = self._find_header(rows, st, preamble)
        except (OSError, duckdb.Error):
            raise
        except Exception as exc:
            found = _unreadable(path, exc)
        if not isinstance(found, Reject):
            found = self._before_detail(preamble, path) or found
        if isinstance(found, Reject):
            self._create_table(ctx, "(SELECT NULL::BIGINT AS src_line) AS __none WHERE false", {})
            return ReadResult(table=ctx.table, rows_read=0, rejects=(found,), method="python")
        b = _Staged(ctx, f"__bills_stage_{ctx.table}", found, preamble, st)
        error: list[BaseException] = []
        con = ctx.con
        try:
            _stage(con, b.stage, _guarded(rows, error), b.width)
            if error and isinstance(error[0], OSError | duckdb.Error):
                raise error[0]
            ctx.progress(0.5)
            records = self._map(b)
            whole = self._check(b)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {b.stage}")
            con.execute(f"DROP TABLE IF EXISTS {b.stage}_m")
        ctx.progress(1.0)
        if error:
            whole = _unreadable(path, error[0])
        if whole is not None:
            return ReadResult(table=ctx.table, rows_read=0, rejects=(whole,), method="python")
        # Every record is either in the table or named by a reject; a
        # summary line that disagrees counts as a rejected row of its own.
        rejected_lines = {r.line for r in st.rejects}
        return ReadResult(
            table=ctx.table,
            rows_read=records + len(rejected_lines),
            rejects=tuple(st.rejects),
            method="python",
        )

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

    def _before_detail(self, preamble: Sequence[CellRow], path: str) -> Reject | None:
        """A file refused whole for what is above its header, before any row is read."""
        del preamble, path
        return None

    def _create_table(self, ctx: ReadContext, from_sql: str, sources: Mapping[str, str]) -> None:
        ctx.con.execute(f"CREATE TABLE {ctx.table} AS {raw_query(self.kind, from_sql, sources)}")

    # -- the layout's SQL ----------------------------------------------------
    def _mapping(self, b: _Staged) -> _Mapping:
        raise NotImplementedError

    def _tail_start(self, b: _Staged) -> str | None:
        """SQL: the condition of the row where the detail ends (``t0``: first cell, stripped)."""
        if not self.summary_labels:
            return None
        first = f"trim({_clean_sql('t0')}, '\ufeff')"
        return f"{first} IN ({', '.join(sql_str(x) for x in self.summary_labels)})"

    def _problems(self, b: _Staged) -> list[tuple[str, str]]:
        """A row that cannot be mapped: an undecodable line, a wrong width, an ID as a number."""
        h = b.header
        out: list[tuple[str, str]] = []
        if b.st.bad_lines:
            lines = ", ".join(str(n) for n in sorted(b.st.bad_lines))
            out.append(
                (
                    f"src_line IN ({lines})",
                    _reject_sql(RejectCode.UNDECODABLE_ROW, None, None, "GB18030"),
                )
            )
        width = h.width
        past = [f"k{i} <> ''" for i in range(width, b.width)]
        past.append(
            "coalesce(list_bool_or(list_transform(extra, lambda x: "
            f"{_clean_sql(_strip_sql('x'))} <> '')), false)"
        )
        out.append(
            (
                f"(n < {width} OR (n > {width} AND ({' OR '.join(past)})))",
                _reject_sql(RejectCode.WRONG_FIELD_COUNT, None, "CAST(n AS VARCHAR)", str(width)),
            )
        )
        for name in self.ids:
            if name in h.index:
                k = b.col(name)
                sci = (
                    f"(CASE WHEN strpos({k}, 'e') > 0 OR strpos({k}, 'E') > 0 "
                    f"THEN regexp_full_match({k}, {sql_str(_SCI_RE)}) ELSE false END)"
                )
                out.append((sci, _reject_sql(RejectCode.ID_AS_NUMBER, name, k, None)))
        return out

    def _map(self, b: _Staged) -> int:
        """The detail rows into ``ctx.table`` and their rejects; the number of records."""
        con = b.ctx.con
        w = b.width
        cells = ", ".join(["src_line", "n", *(f"c{i}" for i in range(w)), "extra"])
        stripped = {f"t{i}": _strip_sql(f"coalesce(c{i}, '')") for i in range(w)}
        cleaned = {f"k{i}": _clean_sql(f"t{i}") for i in range(w)}
        tail = self._tail_start(b)
        detail = b.stage
        if tail is not None:
            found = con.execute(
                f"SELECT {cells} FROM {b.stage} WHERE src_line >= (SELECT min(src_line) "
                f"FROM {_select([{'t0': stripped['t0']}], b.stage)} WHERE {tail}) "
                "ORDER BY src_line"
            ).fetchall()
            b.tail = [_row_of(r, w) for r in found]
            if b.tail:
                detail = f"(SELECT * FROM {b.stage} WHERE src_line < {b.tail[0].line})"
        m = self._mapping(b)
        problems = self._problems(b)
        # A row's first problem is its reject; ``problem`` marks the rows no total counts.
        every = " ".join(f"WHEN {cond} THEN {rj}" for cond, rj in [*problems, *m.rejects])
        outputs = {f"o_{f}": expr for f, expr in m.outputs.items()}
        last = {
            "rj": f"(CASE {every} END)",
            "problem": " OR ".join(f"coalesce({cond}, false)" for cond, _ in problems),
        }
        sql = _select([stripped, cleaned, *m.levels, {**last, **outputs}], f"{detail} AS __d")
        con.execute(f"CREATE TEMP TABLE {b.stage}_m AS SELECT * FROM {sql} AS __m")
        sources = {f: ident(f"o_{f}") for f in m.outputs}
        self._create_table(
            b.ctx, f"(SELECT * FROM {b.stage}_m WHERE rj IS NULL) AS __good", sources
        )
        found = con.execute(
            f"SELECT {cells}, rj.code, rj.field, rj.value, rj.detail FROM {b.stage}_m "
            "WHERE rj IS NOT NULL ORDER BY src_line"
        ).fetchall()
        for r in found:
            fld, value, detail_text = (None if x is None else str(x) for x in r[-3:])
            row = _row_of(r[:-4], w)
            rc = RejectCode(str(r[-4]))
            b.st.reject(rc, row, field=fld, value=self._value(rc, value), detail=detail_text)
        return self._aggregate(b, m)

    @staticmethod
    def _value(code: RejectCode, value: str | None) -> str | None:
        """A reject's value as the layout states it (see WeChat's upper-cased states)."""
        del code
        return value

    def _aggregate(self, b: _Staged, m: _Mapping) -> int:
        """The counts and totals of the detail rows, in one SQL; the number of records."""
        table = f"{b.stage}_m"
        parts = ["count(*) FILTER (WHERE rj IS NULL)"]
        parts += [f"count(*) FILTER (WHERE {cond})" for cond in m.counts.values()]
        for s in m.sums:
            nt = ident(s.column)
            num = f"TRY_CAST({_ascii_digits_sql(nt)} AS DECIMAL(38, 10))"
            parts += [
                f"coalesce(bool_and({nt} IS NOT NULL) FILTER (WHERE {s.where}), true)",
                f"coalesce(sum({num}) FILTER (WHERE {s.where}), 0)",
                f"coalesce(max(length(split_part({nt}, '.', 2))) FILTER (WHERE {s.where}), 0)",
                f"coalesce(max(length(split_part(ltrim({nt}, '+-'), '.', 1))) "
                f"FILTER (WHERE {s.where}), 0)",
                f"coalesce(sum(abs({num})) FILTER (WHERE {s.where}), 0)",
            ]
        got = b.ctx.con.execute(f"SELECT {', '.join(parts)} FROM {table}").fetchone()
        assert got is not None
        records = int(got[0])
        b.counts = {name: int(got[1 + i]) for i, name in enumerate(m.counts)}
        at = 1 + len(m.counts)
        for s in m.sums:
            valid, total, places, digits, size = got[at : at + 5]
            at += 5
            if not valid:
                b.totals[s.name] = None
            elif places <= 10 and digits <= 20 and size < Decimal(10) ** (28 - places):
                # Exact, and within the 28 digits Python's Decimal keeps.
                b.totals[s.name] = Decimal(total)
            else:
                b.totals[s.name] = self._python_total(b, m, s)
        return records

    @staticmethod
    def _python_total(b: _Staged, m: _Mapping, s: _Sum) -> Decimal | None:
        """A total SQL's DECIMAL cannot hold exactly, added as Python's Decimal does."""
        del m
        total = _Total()
        rows = b.ctx.con.execute(
            f"SELECT {ident(s.column)} FROM {b.stage}_m WHERE {s.where} ORDER BY src_line"
        ).fetchall()
        for (text,) in rows:
            total.add(str(text))
        return total.value

    def _check(self, b: _Staged) -> Reject | None:
        """The summary rows (``b.tail``) against the detail; a whole-file reject when cut short."""
        del b
        return None


def _fee_outputs(
    amount: str, fee_cell: str, negative: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Helpers and outputs of ``fee`` and ``net_amount`` (``amount``: the amount's text).

    The fee is rounded once to the fen (:func:`fee_sql`), its sign the
    amount's: positive on a payment, negative on a refund, whichever way the
    platform printed it; ``net_amount = amount - fee``. A fee that is not an
    amount goes on as it was and the net is left empty (also when the
    amount is not one): the normaliser then rejects the row naming the bad field.
    """
    fee_text = _money_text_sql(fee_cell)
    helpers = {"fee_fen": fee_sql(f"(CASE WHEN {fee_text} = '' THEN '0' ELSE {fee_text} END)")}
    sign = f"(CASE WHEN {negative} THEN '-' ELSE '' END)"
    signed_fen = f"(CASE WHEN {negative} THEN -abs(fee_fen) ELSE abs(fee_fen) END)"
    net = _yuan_sql(f"({_fen_sql(amount)} - {signed_fen})")
    outputs = {
        "fee": f"(CASE WHEN fee_fen IS NULL THEN NULLIF({fee_cell}, '') "
        f"ELSE {sign} || {_yuan_sql('abs(fee_fen)')} END)",
        "net_amount": f"(CASE WHEN fee_fen IS NOT NULL THEN {net} END)",
    }
    return helpers, outputs


def _empty_sql(x: str) -> str:
    """SQL: bills write "nothing" as empty, ``/`` or ``-``."""
    return f"({x} IN ('', '/', '-'))"


def _date_sql(source: str, iso: str) -> str:
    """SQL: the date of ``iso`` (``iso_sql(source)``) when ``source`` was a time, else NULL."""
    return f"(CASE WHEN {_is_time_sql(source)} THEN left({iso}, 10) END)"


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

    summary_labels = tuple(_WX_TRADE_SUMS)

    def _mapping(self, b: _Staged) -> _Mapping:
        c = b.col
        state = f"upper(replace({c('交易状态')}, 'ß', 'ss'))"  # Python's upper() of the state
        refund = "(state = 'REFUND')"
        refund_ref = c("商户退款单号")
        when = (
            f"(CASE WHEN {refund} THEN (CASE WHEN {c('退款成功时间')} <> '' "
            f"THEN {c('退款成功时间')} ELSE {c('退款申请时间')} END) ELSE '' END)"
        )
        level1 = {"state": state}
        level2 = {
            "amount": f"(CASE WHEN {refund} THEN {_signed_sql(c('退款金额'), 'true')} "
            f"ELSE {_signed_sql(c('应结订单金额'), 'false')} END)",
            "time_text": f"(CASE WHEN {when} <> '' THEN {when} ELSE {c('交易时间')} END)",
            "rrn": f"(CASE WHEN {refund} AND NOT {_empty_sql(refund_ref)} AND {refund_ref} <> '0' "
            f"THEN {refund_ref} ELSE {c('商户订单号')} END)",
        }
        summed = [
            col for col in dict.fromkeys(_WX_TRADE_SUMS.values()) if col and col in b.header.index
        ]
        level2.update({f"sum:{col}": _number_sql(c(col)) for col in summed})
        level3 = {"txn_time": _iso_sql("time_text")}
        fee_helpers, fee_outputs = _fee_outputs("amount", c("手续费"), refund)
        level3.update(fee_helpers)
        sub = c("特约商户号")
        sums = [_Sum(col, f"sum:{col}", "NOT problem") for col in summed]
        sums += [
            _Sum(f"paid:{col}", f"sum:{col}", "NOT problem AND state <> 'REFUND'")
            for col in summed
            if col in _WX_ORDER_TOTALS
        ]
        return _Mapping(
            levels=[level1, level2, level3],
            rejects=[
                (
                    "state NOT IN ('REFUND', 'SUCCESS')",
                    _reject_sql(RejectCode.NOT_SETTLED, "交易状态", c("交易状态"), None),
                )
            ],
            outputs={
                "acquirer": sql_str(WECHAT_ACQUIRER),
                "merchant_id": f"(CASE WHEN {sub} NOT IN ('', '0') THEN {sub} "
                f"ELSE NULLIF({c('商户号')}, '') END)",
                "terminal_id": f"NULLIF({c('设备号')}, '')",
                "rrn": "NULLIF(rrn, '')",
                "txn_time": "NULLIF(txn_time, '')",
                "txn_type": f"(CASE WHEN {refund} THEN 'refund' ELSE 'sale' END)",
                "channel": "'wechat'",
                "amount": "NULLIF(amount, '')",
                **fee_outputs,
                "settle_date": _date_sql("time_text", "txn_time"),
            },
            sums=sums,
            counts={"rows": "true"},
        )

    @staticmethod
    def _value(code: RejectCode, value: str | None) -> str | None:
        # REVOKED (撤销), NOTPAY, CLOSED...: named as the state, upper-cased.
        return value.upper() if code is RejectCode.NOT_SETTLED and value is not None else value

    def _check(self, b: _Staged) -> Reject | None:
        st = b.st
        rows = iter(b.tail)
        head = next(rows, None)
        if head is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        summary_head = _Header(head)
        values = next(rows, None)
        if values is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        count = b.counts.get("rows", 0)
        for label, added in _WX_TRADE_SUMS.items():
            if label not in summary_head.index:
                continue
            stated = summary_head.get(values.cells, label)
            if added is None:
                st.check(values, label, stated, count)
            elif added in b.totals:
                paid = b.totals.get(f"paid:{added}")
                if paid is not None and _dec(stated) == paid:
                    continue  # the order-amount total read as payments only
                st.check(values, label, stated, b.totals[added])
        for extra in rows:
            st.reject(RejectCode.UNREADABLE_ROW, extra, detail="a row after the summary")
        return None


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

    def _tail_start(self, b: _Staged) -> str | None:
        # The detail list ends at the first ``#`` line (its closing rule).
        return "starts_with(t0, '#')"

    def _mapping(self, b: _Staged) -> _Mapping:
        c = b.col
        account = self._account(b.preamble)
        kind = c("业务类型")
        refund = f"({kind} = '退款')"
        ref = c("退款批次号/请求号")
        time_text = (
            f"(CASE WHEN {c('完成时间')} <> '' THEN {c('完成时间')} ELSE {c('创建时间')} END)"
        )
        level1 = {
            "amount": _signed_sql(c("订单金额(元)"), refund),
            "time_text": time_text,
            "rrn": f"(CASE WHEN {refund} AND NOT {_empty_sql(ref)} THEN {ref} "
            f"ELSE {c('商户订单号')} END)",
            "takings": _number_sql(c("商家实收(元)")),
        }
        fee_helpers, fee_outputs = _fee_outputs("amount", c("服务费(元)"), refund)
        level2 = {"txn_time": _iso_sql("time_text"), **fee_helpers}
        return _Mapping(
            levels=[level1, level2],
            rejects=[
                (
                    f"{kind} NOT IN ('交易', '退款')",
                    _reject_sql(RejectCode.NOT_SETTLED, "业务类型", kind, None),
                )
            ],
            outputs={
                "acquirer": sql_str(ALIPAY_ACQUIRER),
                "merchant_id": sql_str(account or ""),
                "merchant_name": "NULL::VARCHAR",
                "terminal_id": f"NULLIF({c('终端号')}, '')",
                "rrn": "NULLIF(rrn, '')",
                "txn_time": "NULLIF(txn_time, '')",
                "txn_type": f"(CASE WHEN {refund} THEN 'refund' ELSE 'sale' END)",
                "channel": "'alipay'",
                "amount": "NULLIF(amount, '')",
                **fee_outputs,
                "settle_date": _date_sql("time_text", "txn_time"),
            },
            sums=[
                _Sum(k, "takings", f"NOT problem AND {kind} = {sql_str(k)}")
                for k in ("交易", "退款")
            ],
            counts={k: f"{kind} = {sql_str(k)}" for k in ("交易", "退款")},
        )

    @staticmethod
    def _account(preamble: Iterable[CellRow]) -> str | None:
        """The account the bill is for, from its ``#账号：[…]`` line."""
        for p in preamble:
            m = _ACCOUNT_LINE.search(",".join(p.cells))
            if m:
                return m.group(1)
        return None

    def _before_detail(self, preamble: Sequence[CellRow], path: str) -> Reject | None:
        if self._account(preamble) is None:
            return make_reject(RejectCode.UNREADABLE_FILE, path=path, detail="no #账号：[...] line")
        return None

    def _check(self, b: _Staged) -> Reject | None:
        st = b.st
        totals: dict[str, CellRow] = {}
        for row in b.tail:
            text = ",".join(row.cells).strip()
            if text.startswith("#"):
                m = _ALI_TOTAL.match(text)
                if m:
                    totals[m.group(1)] = row
                continue
            st.reject(RejectCode.UNREADABLE_ROW, row, detail="a row after the detail list")
        if "交易" not in totals:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        for kind, row in totals.items():
            m = _ALI_TOTAL.match(",".join(row.cells).strip())
            assert m is not None
            st.check(row, f"{kind}合计笔数", m.group(2), b.counts[kind])
            st.check(row, f"{kind}合计商家实收", m.group(3), b.totals[kind])
        return None


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

    summary_labels = ("资金流水总笔数",)

    def _mapping(self, b: _Staged) -> _Mapping:
        c = b.col
        direction = c("收支类型")
        when = c("记账时间")
        level1 = {
            "booked": _iso_sql(when),
            "money": _number_sql(c("收支金额(元)")),
            "ref": f"(CASE WHEN {c('业务凭证号')} <> '' THEN {c('业务凭证号')} "
            f"ELSE {c('微信支付业务单号')} END)",
        }
        date = f"coalesce({_date_sql(when, 'booked')}, NULLIF(booked, ''))"
        valid = f"{direction} IN ('收入', '支出')"
        expense = f"({direction} = '支出')"
        return _Mapping(
            levels=[level1],
            rejects=[
                (
                    f"NOT ({valid})",
                    _reject_sql(RejectCode.BAD_ENUM, "收支类型", direction, "收入, 支出"),
                )
            ],
            outputs={
                "account_no": sql_str(WECHAT_FUNDFLOW_ACCOUNT),
                "booking_date": date,
                "value_date": date,
                "amount": f"NULLIF({_signed_sql(c('收支金额(元)'), expense)}, '')",
                "currency": "'CNY'",
                "counterparty_name": "NULL::VARCHAR",
                "reference": "NULLIF(ref, '')",
                "balance": f"NULLIF({_money_text_sql(c('账户结余(元)'))}, '')",
                "bank_txn_id": f"NULLIF({c('资金流水单号')}, '')",
            },
            sums=[
                _Sum(d, "money", f"NOT problem AND {direction} = {sql_str(d)}") for d in _DIRECTIONS
            ],
            counts={"rows": "true", **{d: f"{direction} = {sql_str(d)}" for d in _DIRECTIONS}},
        )

    def _check(self, b: _Staged) -> Reject | None:
        st = b.st
        rows = iter(b.tail)
        head = next(rows, None)
        values = next(rows, None)
        if head is None or values is None:
            return make_reject(RejectCode.SUMMARY_MISSING, path=st.path)
        summary_head = _Header(head)
        stated = {label: summary_head.get(values.cells, label) for label in summary_head.index}
        checks: list[tuple[str, Decimal | int | None]] = [
            ("资金流水总笔数", b.counts["rows"]),
            ("收入笔数", b.counts["收入"]),
            ("收入金额", b.totals["收入"]),
            ("支出笔数", b.counts["支出"]),
            ("支出金额", b.totals["支出"]),
        ]
        for label, computed in checks:
            if label in stated:
                st.check(values, label, stated[label], computed)
        for extra in rows:
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

    def _mapping(self, b: _Staged) -> _Mapping:
        c = b.col
        lay = self.layout
        direction, status = c(lay.direction), c(lay.status)
        level1 = {"when_text": _iso_sql(c(lay.time))}
        date = f"coalesce({_date_sql(c(lay.time), 'when_text')}, NULLIF(when_text, ''))"
        other = c(lay.counterparty_account) if lay.counterparty_account else "''"
        closed = ", ".join(sql_str(s) for s in sorted(lay.closed)) or "NULL"
        expense = f"({direction} = '支出')"

        def text(x: str) -> str:
            return f"(CASE WHEN {_empty_sql(x)} THEN NULL ELSE {x} END)"

        return _Mapping(
            levels=[level1],
            rejects=[
                (
                    f"coalesce({status} IN ({closed}), false)",
                    _reject_sql(RejectCode.NOT_SETTLED, lay.status, status, None),
                ),
                (
                    f"{direction} NOT IN ('收入', '支出')",
                    _reject_sql(RejectCode.NEUTRAL_ENTRY, lay.direction, direction, None),
                ),
            ],
            outputs={
                "account_no": sql_str(self._owner(b.preamble)),
                "booking_date": date,
                "value_date": date,
                "amount": f"NULLIF({_signed_sql(c(lay.amount), expense)}, '')",
                "currency": "'CNY'",
                "counterparty_name": text(c(lay.counterparty)),
                "counterparty_account": text(other),
                "reference": text(c(lay.order_id)),
                "bank_txn_id": f"NULLIF({c(lay.txn_id)}, '')",
            },
        )

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
