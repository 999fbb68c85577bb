"""Column-mapping profiles: how to read one layout of CSV/XLS/XLSX export, as data.

A bank or acquirer export is a table with title rows above the header,
cells padded with spaces, tabs and the full-width space, ``-`` for nothing,
summary rows below the data, and its own column names. A *profile* says,
in a small YAML file, how such a table becomes records of one canonical
kind (:mod:`daozhang.ingest.fields`): which header identifies it, where the
data stops, and for each canonical field which column (or columns joined, or
a constant, or a value from a title row) holds it and how to clean it.

The built-in profiles are the YAML files in the ``profiles`` folder beside
this module; a workspace keeps its own in ``<home>/profiles/*.yaml``. The
reading itself is :mod:`daozhang.ingest.mapped`: this module only loads and
validates, and its errors name the bad key in plain words, in Chinese and
English, because the person who wrote the YAML is a bookkeeper, not us.

A minimal profile::

    name: my_bank
    description: {zh: 某银行流水, en: Some bank's statement}
    kind: bank_statement
    header: [交易日期, 金额, 余额]
    fields:
      account_no: {constant: "6222000011112222"}
      booking_date: {column: 交易日期, formats: ["%Y%m%d"]}
      value_date: {column: 交易日期, formats: ["%Y%m%d"]}
      amount: {column: 金额}
      balance: {column: 余额}

>>> p = parse_profile(_EXAMPLE)
>>> p.name, p.kind.value, p.header
('my_bank', 'bank_statement', ('交易日期', '金额', '余额'))
>>> p.field("amount").column
'金额'
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml

from daozhang.domain.records import Kind
from daozhang.errors import DescriptionError
from daozhang.ingest.fields import INPUT_FIELDS, field_names

__all__ = [
    "AMOUNT_FIELDS",
    "DATE_FIELDS",
    "TIMESTAMP_FIELDS",
    "Direction",
    "FieldMap",
    "Profile",
    "ProfileError",
    "builtin_profiles",
    "load_profile",
    "parse_profile",
    "profile_dir",
    "trim_cell",
]

# The fields whose text is a decimal yuan amount, a date, or a time of day and date.
AMOUNT_FIELDS = frozenset({"amount", "fee", "net_amount", "balance", "cap_debit_card"})
DATE_FIELDS = frozenset(
    {"booking_date", "value_date", "settle_date", "status_since", "effective_from"}
)
TIMESTAMP_FIELDS = frozenset({"txn_time", "created_at", "start", "end"})

# What a header or title cell is trimmed of: spaces, tabs, line ends, the
# full-width space U+3000 Chinese spreadsheets pad with, WeChat's back-tick.
TRIM_CHARS = " \t\r\n\u3000`\ufeff"

_NAME = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}$")
_EXAMPLE = """
name: my_bank
description: {zh: 某银行流水, en: Some bank's statement}
kind: bank_statement
header: [交易日期, 金额, 余额]
fields:
  account_no: {constant: "6222000011112222"}
  booking_date: {column: 交易日期, formats: ["%Y%m%d"]}
  value_date: {column: 交易日期, formats: ["%Y%m%d"]}
  amount: {column: 金额}
  balance: {column: 余额}
"""


_CHECK_LOCK = threading.Lock()


@functools.cache
def _check_con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _sql_check(sql: str, param: str) -> None:
    """Run ``sql`` with ``param`` on a private in-memory DuckDB: raises if DuckDB refuses it."""
    with _CHECK_LOCK:
        _check_con().execute(sql, [param]).fetchall()


def trim_cell(text: str) -> str:
    """A cell as compared with a profile's names: no padding of any kind around it.

    >>> trim_cell(" 记账日\\u3000\\t")
    '记账日'
    """
    return text.strip(TRIM_CHARS)


class ProfileError(DescriptionError):
    """A profile file that cannot be used; ``zh`` and ``en`` say which key and why."""


@dataclass(frozen=True, slots=True)
class Direction:
    """An unsigned amount's direction, from another column.

    ``credit`` and ``debit`` are regular expressions matched (``re.search``
    semantics) against the trimmed cell: ``^贷`` matches ``贷 Cr``. The
    direction wins over the amount's own sign: a debit is negative, a credit
    positive, however the file printed it (a refund as ``12.00`` or ``-12.00``).
    """

    column: str
    credit: str
    debit: str


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where one canonical field comes from, and how it is cleaned.

    Exactly one source: ``column``; ``columns`` (joined with ``join``, e.g.
    a date and a time); ``first_of`` (the first non-empty of several
    columns); ``constant``; ``title`` (a value found in the title rows); or,
    for an amount, ``income`` + ``expense`` (two unsigned columns). Then, in
    order: ``extract`` (a regular expression; its first group, or the whole
    match), ``map`` (exact value -> canonical value; others pass unchanged),
    and for amounts ``direction`` and ``negate``; dates and times are parsed
    with ``formats`` (strptime style), ``year_from`` naming a title value
    ``YYYY-MM`` that supplies the year of dates printed without one.
    ``bad_value``: ``reject`` (default) sets a row with an unreadable value
    aside; ``empty`` reads it as empty (a masked balance like ``xx,yyyy.zz``).
    ``default``: the text used when the source is empty.
    """

    field: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    join: str = " "
    first_of: tuple[str, ...] = ()
    constant: str | None = None
    title: str | None = None
    income: str | None = None
    expense: str | None = None
    extract: str | None = None
    map: tuple[tuple[str, str], ...] = ()
    formats: tuple[str, ...] = ()
    year_from: str | None = None
    direction: Direction | None = None
    negate: bool = False
    bad_value: Literal["reject", "empty"] = "reject"
    default: str | None = None

    def source_columns(self) -> tuple[str, ...]:
        """Every column of the file this field reads."""
        cols = [*((self.column,) if self.column else ()), *self.columns, *self.first_of]
        cols += [c for c in (self.income, self.expense) if c]
        if self.direction is not None:
            cols.append(self.direction.column)
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True, slots=True)
class Profile:
    """One layout: how to recognise it and how its rows become records of ``kind``.

    Attributes:
        header: the column names the header row must contain (trimmed).
        marker: a regular expression some title row (above the header) must
            match, to tell apart layouts with the same header; or None.
        skip_rows: rows after the header that are not data (a units row).
        stop: data ends at the first row whose first cell matches this
            regular expression (a ``人民币合计`` summary, a disclaimer).
        empty: a cell matching this (after trimming) is empty (``-``, ``--``).
        titles: named regular expressions run on the title rows (cells
            joined by a space); the first group of the first match is the value.
        balance_check: check the running balance (see :mod:`daozhang.ingest.mapped`).
        text: the YAML the profile was read from (``profiles show``).
    """

    name: str
    description_zh: str
    description_en: str
    kind: Kind
    header: tuple[str, ...]
    fields: tuple[FieldMap, ...]
    encoding: str = "auto"
    delimiter: str = ","
    marker: str | None = None
    skip_rows: int = 0
    stop: str | None = None
    empty: str = r"^-+$"
    titles: tuple[tuple[str, str], ...] = ()
    balance_check: bool = True
    builtin: bool = False
    origin: str = ""
    text: str = field(default="", repr=False, compare=False)

    def field(self, name: str) -> FieldMap:
        """The mapping of canonical field ``name``."""
        for f in self.fields:
            if f.field == name:
                return f
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(f.field == name for f in self.fields)

    def description(self, lang: str) -> str:
        return self.description_zh if lang == "zh" else self.description_en

    def columns_used(self) -> tuple[str, ...]:
        """Every column name the fields read, header columns first."""
        used = list(self.header)
        for f in self.fields:
            used += f.source_columns()
        return tuple(dict.fromkeys(used))


# ---------------------------------------------------------------- loading

_TOP_KEYS = {
    "name",
    "description",
    "kind",
    "encoding",
    "delimiter",
    "header",
    "marker",
    "skip_rows",
    "stop",
    "empty",
    "titles",
    "fields",
    "balance_check",
}
_FIELD_KEYS = {
    "column",
    "columns",
    "join",
    "first_of",
    "constant",
    "title",
    "income",
    "expense",
    "extract",
    "map",
    "formats",
    "year_from",
    "direction",
    "negate",
    "bad_value",
    "default",
}
_SOURCE_KEYS = ("column", "columns", "first_of", "constant", "title", "income")
_ENCODINGS = ("auto", "utf-8", "gb18030")


class _Checker:
    """Validation with messages that name the key, in both languages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, zh: str, en: str) -> ProfileError:
        return ProfileError(self.source, zh, en)

    def text(self, value: object, key: str, *, allow_empty: bool = False) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{key} 应当是一段文字", f"{key} must be a text")
        text = str(value)
        if not text and not allow_empty:
            raise self.fail(f"{key} 不能为空", f"{key} must not be empty")
        return text

    def texts(self, value: object, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(f"{key} 应当是一个或多个名称的列表", f"{key} must be a list of names")
        return tuple(self.text(v, f"{key}[{i}]") for i, v in enumerate(value))

    def regex(self, value: object, key: str) -> str:
        """A pattern both Python (title rows) and DuckDB's RE2 (cells) accept."""
        text = self.text(value, key)
        try:
            re.compile(text)
            _sql_check("SELECT regexp_matches('', ?)", text)
        except (re.error, duckdb.Error) as exc:
            detail = str(exc).splitlines()[0]
            raise self.fail(
                f"{key} 不是有效的正则表达式：{detail}",
                f"{key} is not a valid regular expression: {detail}",
            ) from None
        return text

    def strptime(self, value: object, key: str) -> str:
        text = self.text(value, key)
        try:
            _sql_check("SELECT try_strptime('', ?)", text)
        except duckdb.Error:
            raise self.fail(
                f"{key} 不是有效的日期格式（例如 %Y-%m-%d）：{text}",
                f"{key} is not a valid date format (like %Y-%m-%d): {text}",
            ) from None
        return text

    def mapping(self, value: object, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{key} 应当是“键: 值”的映射", f"{key} must be a mapping of key: value")
        return {str(k): v for k, v in value.items()}

    def unknown(self, given: Mapping[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(given) - allowed)
        if extra:
            raise self.fail(
                f"{where}中有不认识的键 {', '.join(extra)}（可用：{', '.join(sorted(allowed))}）",
                f"unknown key {', '.join(extra)} in {where} (known: {', '.join(sorted(allowed))})",
            )


def parse_profile(text: str, *, origin: str = "<profile>", builtin: bool = False) -> Profile:
    """A profile from its YAML text; :class:`ProfileError` names what is wrong.

    Raises:
        ProfileError: not YAML, a missing or unknown key, a bad value, or a
            required field of the kind without a mapping.
    """
    ck = _Checker(origin)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ck.fail(f"不是有效的 YAML{where}", f"not valid YAML{where}") from None
    top = ck.mapping(doc, "profile")
    ck.unknown(top, _TOP_KEYS, "profile")
    for key in ("name", "kind", "header", "fields"):
        if key not in top:
            raise ck.fail(f"缺少必填的键 {key}", f"the key {key} is missing")
    name = ck.text(top["name"], "name")
    if not _NAME.match(name):
        raise ck.fail(
            "name 只能包含字母、数字、汉字、下划线和连字符（最多 64 个）",
            "name may only hold letters, digits, Chinese characters, _ and - (64 at most)",
        )
    try:
        kind = Kind(ck.text(top["kind"], "kind"))
    except ValueError:
        raise ck.fail(
            f"kind 应当是 {', '.join(k.value for k in Kind)} 之一",
            f"kind must be one of {', '.join(k.value for k in Kind)}",
        ) from None
    desc = top.get("description", {})
    if isinstance(desc, str):
        desc_zh = desc_en = desc
    else:
        d = ck.mapping(desc, "description")
        ck.unknown(d, {"zh", "en"}, "description")
        desc_zh = ck.text(d.get("zh", d.get("en", name)), "description.zh")
        desc_en = ck.text(d.get("en", desc_zh), "description.en")
    encoding = ck.text(top.get("encoding", "auto"), "encoding").lower()
    if encoding not in _ENCODINGS:
        raise ck.fail(
            f"encoding 应当是 {', '.join(_ENCODINGS)} 之一",
            f"encoding must be one of {', '.join(_ENCODINGS)}",
        )
    delimiter = ck.text(top.get("delimiter", ","), "delimiter")
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ck.fail("delimiter 应当是一个字符", "delimiter must be one character")
    header = tuple(trim_cell(h) for h in ck.texts(top["header"], "header"))
    skip = top.get("skip_rows", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ck.fail("skip_rows 应当是不小于 0 的整数", "skip_rows must be a whole number >= 0")
    titles_map = ck.mapping(top.get("titles", {}), "titles")
    titles = tuple((k, ck.regex(v, f"titles.{k}")) for k, v in titles_map.items())
    balance_check = top.get("balance_check", True)
    if not isinstance(balance_check, bool):
        raise ck.fail("balance_check 应当是 true 或 false", "balance_check must be true or false")
    fields_doc = ck.mapping(top["fields"], "fields")
    known = set(field_names(kind))
    bad = sorted(set(fields_doc) - known)
    if bad:
        raise ck.fail(
            f"fields 中的 {', '.join(bad)} 不是 {kind.value} 的字段"
            f"（可用：{', '.join(field_names(kind))}）",
            f"{', '.join(bad)} in fields is not a field of {kind.value} "
            f"(fields: {', '.join(field_names(kind))})",
        )
    fields = tuple(
        _field(ck, n, fields_doc[n], set(dict(titles)))
        for n in field_names(kind)
        if n in fields_doc
    )
    missing = [f.name for f in INPUT_FIELDS[kind] if f.required and f.name not in fields_doc]
    if missing:
        raise ck.fail(
            f"{kind.value} 的必填字段没有对应：{', '.join(missing)}",
            f"required fields of {kind.value} have no mapping: {', '.join(missing)}",
        )
    return Profile(
        name=name,
        description_zh=desc_zh,
        description_en=desc_en,
        kind=kind,
        header=header,
        fields=fields,
        encoding=encoding,
        delimiter=delimiter,
        marker=ck.regex(top["marker"], "marker") if "marker" in top else None,
        skip_rows=skip,
        stop=ck.regex(top["stop"], "stop") if "stop" in top else None,
        empty=ck.regex(top.get("empty", r"^-+$"), "empty"),
        titles=titles,
        balance_check=balance_check,
        builtin=builtin,
        origin=origin,
        text=text,
    )


def _field(ck: _Checker, name: str, spec: object, titles: set[str]) -> FieldMap:
    where = f"fields.{name}"
    if isinstance(spec, str):  # shorthand: ``amount: 交易金额``
        spec = {"column": spec}
    d = ck.mapping(spec, where)
    ck.unknown(d, _FIELD_KEYS, where)
    sources = [k for k in _SOURCE_KEYS if k in d]
    if len(sources) != 1 or ("income" in d) != ("expense" in d):
        raise ck.fail(
            f"{where} 应当恰好有一个来源：column、columns、first_of、constant、title "
            "或 income+expense",
            f"{where} needs exactly one source: column, columns, first_of, constant, title "
            "or income+expense",
        )
    is_amount = name in AMOUNT_FIELDS
    is_time = name in DATE_FIELDS or name in TIMESTAMP_FIELDS
    for key, ok in (
        ("income", is_amount),
        ("direction", is_amount),
        ("negate", is_amount),
        ("formats", is_time),
        ("year_from", is_time),
    ):
        if key in d and not ok:
            raise ck.fail(f"{where}.{key} 不适用于这个字段", f"{where}.{key} does not apply here")
    title = ck.text(d["title"], f"{where}.title") if "title" in d else None
    if title is not None and title not in titles:
        raise ck.fail(
            f"{where}.title 指向的 {title} 没有在 titles 中定义",
            f"{where}.title names {title}, which titles does not define",
        )
    year_from = ck.text(d["year_from"], f"{where}.year_from") if "year_from" in d else None
    if year_from is not None and year_from not in titles:
        raise ck.fail(
            f"{where}.year_from 指向的 {year_from} 没有在 titles 中定义",
            f"{where}.year_from names {year_from}, which titles does not define",
        )
    direction = None
    if "direction" in d:
        dd = ck.mapping(d["direction"], f"{where}.direction")
        ck.unknown(dd, {"column", "credit", "debit"}, f"{where}.direction")
        for k in ("column", "credit", "debit"):
            if k not in dd:
                raise ck.fail(f"{where}.direction 缺少 {k}", f"{where}.direction needs {k}")
        direction = Direction(
            column=trim_cell(ck.text(dd["column"], f"{where}.direction.column")),
            credit=ck.regex(dd["credit"], f"{where}.direction.credit"),
            debit=ck.regex(dd["debit"], f"{where}.direction.debit"),
        )
    mapping = ck.mapping(d.get("map", {}), f"{where}.map")
    negate = d.get("negate", False)
    if not isinstance(negate, bool):
        raise ck.fail(
            f"{where}.negate 应当是 true 或 false", f"{where}.negate must be true or false"
        )
    bad_value = d.get("bad_value", "reject")
    if bad_value not in ("reject", "empty"):
        raise ck.fail(
            f"{where}.bad_value 应当是 reject 或 empty",
            f"{where}.bad_value must be reject or empty",
        )
    formats: tuple[str, ...] = ()
    if "formats" in d:
        key = f"{where}.formats"
        formats = tuple(ck.strptime(x, key) for x in ck.texts(d["formats"], key))
    if is_time and not formats:
        formats = ("%Y-%m-%d %H:%M:%S",) if name in TIMESTAMP_FIELDS else ("%Y-%m-%d",)
    return FieldMap(
        field=name,
        column=trim_cell(ck.text(d["column"], f"{where}.column")) if "column" in d else None,
        columns=tuple(trim_cell(c) for c in ck.texts(d["columns"], f"{where}.columns"))
        if "columns" in d
        else (),
        join=ck.text(d.get("join", " "), f"{where}.join", allow_empty=True),
        first_of=tuple(trim_cell(c) for c in ck.texts(d["first_of"], f"{where}.first_of"))
        if "first_of" in d
        else (),
        constant=ck.text(d["constant"], f"{where}.constant") if "constant" in d else None,
        title=title,
        income=trim_cell(ck.text(d["income"], f"{where}.income")) if "income" in d else None,
        expense=trim_cell(ck.text(d["expense"], f"{where}.expense")) if "expense" in d else None,
        extract=ck.regex(d["extract"], f"{where}.extract") if "extract" in d else None,
        map=tuple(
            (trim_cell(k), ck.text(v, f"{where}.map.{k}", allow_empty=True))
            for k, v in mapping.items()
        ),
        formats=formats,
        year_from=year_from,
        direction=direction,
        negate=negate,
        bad_value=bad_value,
        default=ck.text(d["default"], f"{where}.default") if "default" in d else None,
    )


def load_profile(path: Path, *, builtin: bool = False) -> Profile:
    """The profile in ``path``.

    Raises:
        ProfileError: the file cannot be read or is not a valid profile.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(
            str(path), f"无法读取配置文件：{exc}", f"the profile cannot be read: {exc}"
        ) from None
    return parse_profile(text, origin=str(path), builtin=builtin)


def profile_dir() -> Path:
    """The folder of the built-in profiles (package data)."""
    return Path(str(resources.files("daozhang.ingest").joinpath("profiles")))


def builtin_profiles() -> tuple[Profile, ...]:
    """Every built-in profile, by file name. A broken one is our bug: it raises."""
    return tuple(load_profile(p, builtin=True) for p in sorted(profile_dir().glob("*.yaml")))
