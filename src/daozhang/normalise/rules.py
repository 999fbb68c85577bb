"""How each input field becomes stored columns: parse rules as SQL, declared per kind.

A rule reads one input field (already trimmed; empty is NULL) and gives
stored columns and an error code, both as DuckDB SQL over whole columns, so
a million rows are parsed in one statement. The rules of a kind are data
(:data:`RULES`): which field, what type, required or not.

The query is built in levels: ``t_<field>`` (the trimmed text), then helper
columns ``h_<field>_<name>`` (each computed once, read several times), then
``e_<field>`` (the reject code, NULL when the field is fine), then the
stored values.

**Fast and exact.** Almost every value in a real file has the plain shape
(``1234.50``, ``2026-03-01T14:05:09``). A rule may give a ``fast`` value for
that shape, cheap to compute; its exact, general parse (``stages``) then
runs only on the rows the fast path did not take (a SQL ``CASE`` does not
evaluate a branch for rows it does not select). Both paths give the same
answer wherever both apply; the tests hold them to it.

**Agreement with Python.** Money and rates parse exactly as
:mod:`daozhang.domain.money` does, to the character: the same whitespace is
stripped (Python's ``str.strip()``), ``¥``/``￥`` removed anywhere,
thousands separators only in groups of three, more than two decimals refused
unless they are zeros, and even Python's ``$`` matching before one final
newline is mirrored. Full-width digits (``１２.５０``), which Python's ``\\d``
accepts, are accepted too. The tests run random strings through both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from daozhang.domain.records import (
    SCHEMAS,
    Channel,
    Cycle,
    Kind,
    PayoutStatus,
    PosResult,
    TerminalReason,
    TerminalStatus,
    TxnType,
)
from daozhang.ingest.rejects import RejectCode

__all__ = [
    "MAINTENANCE_SCOPES",
    "RULES",
    "WHITESPACE",
    "Card",
    "Const",
    "Currency",
    "Cutoff",
    "Date",
    "Enum",
    "Int",
    "Money",
    "Percent",
    "Rule",
    "Text",
    "Timestamp",
    "clean_sql",
    "outputs_of",
    "sql_str",
]

# Exactly the characters Python's str.isspace() accepts, so that trimming in
# SQL and str.strip() in domain/money.py remove the same things.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
MAINTENANCE_SCOPES = ("payouts", "all")

_FW = "０１２３４５６７８９"
_ASCII = "0123456789"


def sql_str(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


_WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
_EDGE_SPACE = f"^{_WHITESPACE_CLASS}|{_WHITESPACE_CLASS}$"


def clean_sql(raw: str) -> str:
    """Trimmed text, NULL when empty: the first thing done to every field.

    Trimming against the whole Unicode whitespace set is slow, and nearly
    every value needs none: an ASCII value whose first and last characters
    are above the space has no whitespace to strip (every ASCII whitespace
    character is at or below it), so it is taken as it is; other text (a
    Chinese merchant name) is taken as it is when one regular expression
    finds no whitespace at either end, which costs a tenth of the trim.
    """
    return (
        f"(CASE WHEN {raw} IS NULL THEN NULL "
        f"WHEN {raw}[1] > ' ' AND {raw}[-1] > ' ' AND strlen({raw}) = length({raw}) THEN {raw} "
        f"WHEN {raw} <> '' AND NOT regexp_matches({raw}, {sql_str(_EDGE_SPACE)}) THEN {raw} "
        f"ELSE NULLIF(trim({raw}, {sql_str(WHITESPACE)}), '') END)"
    )


def _digits(x: str) -> str:
    """Full-width digits as ASCII, so ``１２.５０`` reads like ``12.50`` (ASCII text skips it)."""
    wide = f"translate({x}, '{_FW}', '{_ASCII}')"
    return f"(CASE WHEN strlen({x}) = length({x}) THEN {x} ELSE {wide} END)"


def _code(code: RejectCode) -> str:
    return sql_str(code.value)


def _int(x: str) -> str:
    return f"TRY_CAST({x} AS BIGINT)"


def _whole_or_zero(whole: str) -> str:
    """The integer part with leading zeros gone, ``'0'`` when nothing is left."""
    return f"(CASE WHEN {whole} = '' THEN '0' ELSE {whole} END)"


def _padded(frac: str, n: int) -> str:
    """The first ``n`` decimals, right-padded with zeros (``'5'`` -> ``'50'``)."""
    return f"rpad(left({frac}, {n}), {n}, '0')"


@dataclass(frozen=True, slots=True)
class Rule(ABC):
    """The base of all rules: one input field, required or not.

    Subclasses may give ``fast`` (the value for the plain shape, NULL
    otherwise), ``stages`` (helper columns of the exact parse, each stage may
    read the previous ones; they run only where ``fast`` is NULL),
    ``checks`` (condition -> code for a value the fast path did not take, the
    first failing wins), ``post_checks`` (conditions on the parsed value,
    ``self.value``) and must give ``outputs`` (stored column -> SQL).
    ``detail`` is the reject detail (the allowed values of an enum).
    """

    field: str
    required: bool = False

    @property
    def t(self) -> str:
        return f"t_{self.field}"

    def h(self, name: str) -> str:
        return f"h_{self.field}_{name}"

    @property
    def e(self) -> str:
        """The error column: the reject code, NULL when the field is fine."""
        return f"e_{self.field}"

    @property
    def detail(self) -> str | None:
        return None

    def fast(self) -> str | None:
        return None

    def stages(self) -> list[dict[str, str]]:
        return []

    def checks(self) -> list[tuple[str, RejectCode]]:
        return []

    def post_checks(self) -> list[tuple[str, RejectCode]]:
        return []

    @abstractmethod
    def outputs(self) -> dict[str, str]:
        """The stored columns this rule makes, each with its SQL expression."""

    def error(self) -> str:
        """SQL giving the rule's error code, or NULL when the field is fine."""
        missing = _code(RejectCode.REQUIRED) if self.required else "NULL"
        parts = [f"WHEN {self.t} IS NULL THEN {missing}"]
        slow = f"{self.h('fast')} IS NULL AND " if self.fast() is not None else ""
        parts += [f"WHEN {slow}({cond}) THEN {_code(code)}" for cond, code in self.checks()]
        parts += [f"WHEN {cond} THEN {_code(code)}" for cond, code in self.post_checks()]
        return f"(CASE {' '.join(parts)} END)"

    def ok(self, expr: str) -> str:
        """``expr`` where the field parsed, NULL where it failed (so no junk is kept)."""
        return f"(CASE WHEN {self.e} IS NULL THEN {expr} END)"


@dataclass(frozen=True, slots=True)
class Text(Rule):
    """Free text and identifiers: trimmed, kept as written (leading zeros too)."""

    def outputs(self) -> dict[str, str]:
        return {self.field: self.t}


@dataclass(frozen=True, slots=True)
class Const(Rule):
    """A stored column with no input field (the currency of a CNY-only format)."""

    value: str = ""

    def error(self) -> str:
        return "CAST(NULL AS VARCHAR)"

    def outputs(self) -> dict[str, str]:
        return {self.field: sql_str(self.value)}


_YUAN = r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?\n?$"
_PLAIN_YUAN = r"^-?[0-9]{1,16}(?:\.[0-9]{1,2})?$"
_MAX_YUAN_DIGITS = 16  # 10**16 yuan is 10**18 fen, inside BIGINT


@dataclass(frozen=True, slots=True)
class Money(Rule):
    """Decimal yuan to integer fen, exactly as ``parse_yuan`` reads it.

    Fast path: ``-?digits(.d{1,2})?`` goes through an exact DECIMAL cast.
    """

    out: str = ""
    non_negative: bool = False

    def fast(self) -> str | None:
        return (
            f"(CASE WHEN regexp_matches({self.t}, {sql_str(_PLAIN_YUAN)}) "
            f"THEN CAST(CAST({self.t} AS DECIMAL(20, 2)) * 100 AS BIGINT) END)"
        )

    def stages(self) -> list[dict[str, str]]:
        s = _digits(f"replace(replace({self.t}, '¥', ''), '￥', '')")
        body = f"regexp_replace({self.h('s')}, '[+,\\n-]', '', 'g')"
        whole, frac = self.h("whole"), self.h("frac")
        magnitude = f"{_int(_whole_or_zero(whole))} * 100 + {_int(_padded(frac, 2))}"
        sign = f"(CASE WHEN left({self.h('s')}, 1) = '-' THEN -1 ELSE 1 END)"
        return [
            {self.h("s"): s},
            {self.h("body"): body},
            {
                whole: f"ltrim(split_part({self.h('body')}, '.', 1), '0')",
                frac: f"split_part({self.h('body')}, '.', 2)",
            },
            # Only where it fits: an absurd amount is a reject, not an overflow.
            {
                self.h("fen"): f"(CASE WHEN length({whole}) <= {_MAX_YUAN_DIGITS} "
                f"THEN {sign} * ({magnitude}) END)"
            },
        ]

    @property
    def value(self) -> str:
        return f"coalesce({self.h('fast')}, {self.h('fen')})"

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [
            (f"NOT regexp_matches({self.h('s')}, {sql_str(_YUAN)})", RejectCode.BAD_AMOUNT),
            (
                f"NOT regexp_matches({self.h('frac')}, '^[0-9]{{0,2}}0*$')",
                RejectCode.AMOUNT_DECIMALS,
            ),
            (f"length({self.h('whole')}) > {_MAX_YUAN_DIGITS}", RejectCode.AMOUNT_OUT_OF_RANGE),
        ]

    def post_checks(self) -> list[tuple[str, RejectCode]]:
        if not self.non_negative:
            return []
        return [(f"{self.value} < 0", RejectCode.NEGATIVE_AMOUNT)]

    def outputs(self) -> dict[str, str]:
        return {self.out: self.ok(self.value)}


_PERCENT = r"^[0-9]+(?:\.[0-9]+)?%?$"
_MAX_PERCENT_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Percent(Rule):
    """A rate in percent to parts per million, exactly as ``parse_percent_ppm``."""

    out: str = ""

    def stages(self) -> list[dict[str, str]]:
        body = f"replace({self.h('s')}, '%', '')"
        whole, frac = self.h("whole"), self.h("frac")
        return [
            {self.h("s"): _digits(self.t)},
            {
                whole: f"ltrim(split_part({body}, '.', 1), '0')",
                frac: f"split_part({body}, '.', 2)",
            },
            {
                self.h("ppm"): f"(CASE WHEN length({whole}) <= {_MAX_PERCENT_DIGITS} "
                f"THEN {_int(_whole_or_zero(whole))} * 10000 + {_int(_padded(frac, 4))} END)"
            },
        ]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [
            (f"NOT regexp_matches({self.h('s')}, {sql_str(_PERCENT)})", RejectCode.BAD_PERCENT),
            (
                f"NOT regexp_matches({self.h('frac')}, '^[0-9]{{0,4}}0*$')",
                RejectCode.PERCENT_DECIMALS,
            ),
            (f"length({self.h('whole')}) > {_MAX_PERCENT_DIGITS}", RejectCode.BAD_PERCENT),
        ]

    def outputs(self) -> dict[str, str]:
        return {self.out: self.ok(self.h("ppm"))}


@dataclass(frozen=True, slots=True)
class Date(Rule):
    """``YYYY-MM-DD`` and a real calendar date (no 2026-02-29)."""

    def stages(self) -> list[dict[str, str]]:
        s = _digits(self.t)
        shape = f"regexp_matches({s}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$')"
        return [{self.h("d"): f"(CASE WHEN {shape} THEN TRY_CAST({s} AS DATE) END)"}]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"{self.h('d')} IS NULL", RejectCode.BAD_DATE)]

    def outputs(self) -> dict[str, str]:
        return {self.field: self.ok(self.h("d"))}


# ISO 8601 local or zoned: 2026-03-01T14:05:09, 2026-03-01 14:05, ...:09.123,
# ...Z, ...+08:00, ...+0800. Fractions beyond microseconds are cut, not refused:
# no rule looks below the second, and .NET exports seven digits.
_TS = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_TS_GROUPS = "['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z']"
_PLAIN_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-2][0-9]:[0-5][0-9]:[0-5][0-9]$"
# Asia/Shanghai has been UTC+8 with no daylight saving since 1991.
_SHANGHAI_MINUTES = 480


@dataclass(frozen=True, slots=True)
class Timestamp(Rule):
    """ISO 8601 to a local Asia/Shanghai TIMESTAMP, with its date and seconds of day.

    No zone means local time already; a zone is converted to local time.
    Fast path: ``YYYY-MM-DDTHH:MM:SS`` with no zone. ``TRY_CAST`` would roll
    ``24:00:00`` over to the next day, so the hour is checked first.
    """

    out: str = ""
    date: str | None = None
    secs: str | None = None

    def fast(self) -> str | None:
        return (
            f"(CASE WHEN regexp_matches({self.t}, {sql_str(_PLAIN_TS)}) "
            f"AND substr({self.t}, 12, 2) <= '23' THEN TRY_CAST({self.t} AS TIMESTAMP) END)"
        )

    def stages(self) -> list[dict[str, str]]:
        s = _digits(self.t)
        g = self.h("g")
        zone = self.h("zone")
        seconds = f"(CASE WHEN {g}.s = '' THEN '00' ELSE {g}.s END)"
        base = (
            f"TRY_CAST({g}.y || '-' || {g}.mo || '-' || {g}.d || ' ' || {g}.h || ':' "
            f"|| {g}.mi || ':' || {seconds} AS TIMESTAMP)"
        )
        micros = f"(CASE WHEN {g}.f = '' THEN 0 ELSE {_int(_padded(f'{g}.f', 6))} END)"
        offset = (
            f"(CASE WHEN left({g}.z, 1) = '-' THEN -1 ELSE 1 END) * "
            f"({_int(f'left({zone}, 2)')} * 60 "
            f"+ CASE WHEN length({zone}) = 4 THEN {_int(f'right({zone}, 2)')} ELSE 0 END)"
        )
        shift = (
            f"(CASE WHEN {g}.z = '' THEN 0 WHEN upper({g}.z) = 'Z' THEN {_SHANGHAI_MINUTES} "
            f"ELSE {_SHANGHAI_MINUTES} - {offset} END)"
        )
        clock_ok = (
            f"({_int(f'{g}.h')} <= 23 AND {_int(f'{g}.mi')} <= 59 "
            f"AND ({g}.s = '' OR {_int(f'{g}.s')} <= 59) "
            f"AND ({zone} = '' OR {_int(f'left({zone}, 2)')} <= 14) "
            f"AND (length({zone}) <> 4 OR {_int(f'right({zone}, 2)')} <= 59))"
        )
        local = f"({base} + to_microseconds({micros}) + to_minutes(CAST({shift} AS BIGINT)))"
        return [
            {
                g: f"(CASE WHEN regexp_matches({s}, {sql_str(_TS)}) "
                f"THEN regexp_extract({s}, {sql_str(_TS)}, {_TS_GROUPS}) END)"
            },
            {zone: f"regexp_replace({g}.z, '[^0-9]', '', 'g')"},
            {self.h("local"): f"(CASE WHEN {g} IS NOT NULL AND {clock_ok} THEN {local} END)"},
        ]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"{self.h('local')} IS NULL", RejectCode.BAD_TIMESTAMP)]

    @property
    def value(self) -> str:
        return f"coalesce({self.h('fast')}, {self.h('local')})"

    def outputs(self) -> dict[str, str]:
        local = self.ok(self.value)
        out = {self.out: local}
        if self.date:
            out[self.date] = f"CAST({local} AS DATE)"
        if self.secs:
            out[self.secs] = (
                f"CAST(hour({local}) * 3600 + minute({local}) * 60 + second({local}) AS INTEGER)"
            )
        return out


@dataclass(frozen=True, slots=True)
class Cutoff(Rule):
    """``HH:MM`` (or ``HH:MM:SS``) to seconds after midnight; ``24:00`` means no cutoff."""

    out: str = ""

    def stages(self) -> list[dict[str, str]]:
        pat = sql_str(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
        s = _digits(self.t)
        g = self.h("g")
        sec = f"(CASE WHEN {g}.s = '' THEN 0 ELSE {_int(f'{g}.s')} END)"
        in_day = f"({_int(f'{g}.h')} <= 23 AND {_int(f'{g}.m')} <= 59 AND {sec} <= 59)"
        secs = f"({_int(f'{g}.h')} * 3600 + {_int(f'{g}.m')} * 60 + {sec})"
        end_of_day = f"({_int(f'{g}.h')} = 24 AND {_int(f'{g}.m')} = 0 AND {sec} = 0)"
        return [
            {
                g: f"(CASE WHEN regexp_matches({s}, {pat}) "
                f"THEN regexp_extract({s}, {pat}, ['h', 'm', 's']) END)"
            },
            {
                self.h("secs"): f"(CASE WHEN {g} IS NOT NULL AND ({in_day} OR {end_of_day}) "
                f"THEN CAST({secs} AS INTEGER) END)"
            },
        ]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"{self.h('secs')} IS NULL", RejectCode.BAD_TIME)]

    def outputs(self) -> dict[str, str]:
        return {self.out: self.ok(self.h("secs"))}


@dataclass(frozen=True, slots=True)
class Enum(Rule):
    """One of a fixed set of words, in any case; stored as the canonical spelling."""

    values: tuple[str, ...] = ()

    @property
    def detail(self) -> str | None:
        return "|".join(self.values)

    def stages(self) -> list[dict[str, str]]:
        whens = " ".join(f"WHEN {sql_str(v.lower())} THEN {sql_str(v)}" for v in self.values)
        return [{self.h("v"): f"(CASE lower({self.t}) {whens} END)"}]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"{self.h('v')} IS NULL", RejectCode.BAD_ENUM)]

    def outputs(self) -> dict[str, str]:
        return {self.field: self.ok(self.h("v"))}


def _enum(field: str, values: type[StrEnum] | tuple[str, ...], required: bool = False) -> Enum:
    vals = values if isinstance(values, tuple) else tuple(v.value for v in values)
    return Enum(field, required, vals)


@dataclass(frozen=True, slots=True)
class Int(Rule):
    """A positive whole number (an attempt counter)."""

    def stages(self) -> list[dict[str, str]]:
        s = _digits(self.t)
        return [
            {
                self.h("n"): f"(CASE WHEN regexp_matches({s}, '^[0-9]{{1,9}}$') "
                f"THEN TRY_CAST({s} AS INTEGER) END)"
            }
        ]

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"coalesce({self.h('n')}, 0) < 1", RejectCode.BAD_INTEGER)]

    def outputs(self) -> dict[str, str]:
        return {self.field: self.ok(self.h("n"))}


@dataclass(frozen=True, slots=True)
class Currency(Rule):
    """A three-letter code, upper-cased; empty means CNY (the files are Chinese)."""

    def checks(self) -> list[tuple[str, RejectCode]]:
        return [(f"NOT regexp_matches(upper({self.t}), '^[A-Z]{{3}}$')", RejectCode.BAD_CURRENCY)]

    def outputs(self) -> dict[str, str]:
        return {self.field: self.ok(f"coalesce(upper({self.t}), 'CNY')")}


@dataclass(frozen=True, slots=True)
class Card(Rule):
    """The card, already masked on read: keep the mask and hash, refuse what is no card."""

    def error(self) -> str:
        return f"(CASE WHEN card_state = 'invalid' THEN {_code(RejectCode.BAD_CARD)} END)"

    def outputs(self) -> dict[str, str]:
        return {
            "card_masked": f"(CASE WHEN card_state IN ('full', 'masked') THEN {self.t} END)",
            "card_hash": "card_hash",
        }


def _ts(field: str, out: str, date: str | None = None, secs: str | None = None) -> Timestamp:
    return Timestamp(field, True, out, date, secs)


RULES: dict[Kind, tuple[Rule, ...]] = {
    Kind.POS_JOURNAL: (
        Text("merchant_id", True),
        Text("terminal_id", True),
        Text("batch_no"),
        Text("trace_no"),
        Text("rrn"),
        _ts("txn_time", "txn_time", "txn_date", "txn_secs"),
        _enum("txn_type", TxnType, True),
        _enum("channel", Channel, True),
        Card("card"),
        Money("amount", True, "amount_fen"),
        Currency("currency"),
        _enum("result", PosResult, True),
        Text("response_code"),
        Text("auth_code"),
        Text("orig_rrn"),
    ),
    Kind.SETTLEMENT: (
        Text("acquirer", True),
        Text("merchant_id", True),
        Text("merchant_name"),
        Text("mcc"),
        Text("terminal_id"),
        Text("batch_no"),
        Text("trace_no"),
        Text("rrn"),
        _ts("txn_time", "txn_time", "txn_date", "txn_secs"),
        _enum("txn_type", TxnType, True),
        _enum("channel", Channel, True),
        Card("card"),
        Money("amount", True, "amount_fen"),
        Money("fee", True, "fee_fen"),
        Money("net_amount", True, "net_fen"),
        Const("currency", value="CNY"),
        Date("settle_date", True),
        Text("payout_id"),
    ),
    Kind.PAYOUTS: (
        Text("payout_id", True),
        Text("acquirer"),
        Text("merchant_id", True),
        Text("account_no", True),
        Text("account_name"),
        Text("bank_code"),
        Money("amount", True, "amount_fen"),
        Const("currency", value="CNY"),
        _ts("created_at", "created_at", "created_date"),
        _enum("status", PayoutStatus, True),
        Text("failure_code"),
        Text("failure_reason"),
        Text("bank_ref"),
        Int("attempt", True),
    ),
    Kind.BANK_STATEMENT: (
        Text("account_no", True),
        Date("booking_date", True),
        Date("value_date", True),
        Money("amount", True, "amount_fen"),
        Currency("currency"),
        Text("counterparty_name"),
        Text("counterparty_account"),
        Text("reference"),
        Money("balance", False, "balance_fen"),
        Text("bank_txn_id"),
    ),
    Kind.CONTRACTS: (
        Text("merchant_id", True),
        Text("merchant_name", True),
        Text("mcc"),
        Text("acquirer"),
        Text("settlement_account"),
        Text("settlement_account_name"),
        Text("settlement_bank_code"),
        _enum("cycle", Cycle, True),
        Cutoff("cutoff", True, "cutoff_secs"),
        Percent("fee_debit_card", False, "fee_debit_card_ppm"),
        Money("cap_debit_card", False, "cap_debit_card_fen", non_negative=True),
        Percent("fee_credit_card", False, "fee_credit_card_ppm"),
        Percent("fee_wechat", False, "fee_wechat_ppm"),
        Percent("fee_alipay", False, "fee_alipay_ppm"),
        Percent("fee_unionpay_qr", False, "fee_unionpay_qr_ppm"),
        Date("effective_from", True),
    ),
    Kind.TERMINALS: (
        Text("terminal_id", True),
        Text("merchant_id"),
        _enum("status", TerminalStatus, True),
        Date("status_since"),
        _enum("reason", TerminalReason),
        Text("note"),
    ),
    Kind.MAINTENANCE: (
        Text("bank_code", True),
        _ts("start", "starts_at", "start_date"),
        _ts("end", "ends_at", "end_date"),
        _enum("scope", MAINTENANCE_SCOPES, True),
        Text("note"),
    ),
}


def outputs_of(kind: Kind) -> Mapping[str, str]:
    """Stored column -> SQL for every column of ``kind``'s schema, from its rules."""
    produced: dict[str, str] = {}
    for rule in RULES[kind]:
        for col, expr in rule.outputs().items():
            if col in produced:
                raise AssertionError(f"{kind}: column {col} produced twice")
            produced[col] = expr
    wanted = [c.name for c in SCHEMAS[kind]]
    if set(produced) != set(wanted):
        raise AssertionError(f"{kind}: rules and schema differ: {set(produced) ^ set(wanted)}")
    return {c: produced[c] for c in wanted}
