"""ISO 8583 message logs from POS terminals and switches, read into POS journal records.

A terminal or a switch logs every message it sends and receives. The log is
the most direct evidence of what the terminal was told: approved, declined,
no answer at all (a timeout), or an automatic reversal (冲正) sent and maybe
never acknowledged, in which case the cardholder may have been charged
while the shop was told the payment failed. This module turns such a log
into ``pos_journal`` records (DESIGN.md section 5).

Two framings (see :class:`~daozhang.ingest.iso8583_specs.MessageSpec`):

* ``hex_lines``: a text log, one message per line as hex. Blank lines and
  lines starting with ``#`` are skipped. A line may start with, in order:

  - a timestamp ``YYYY-MM-DD hh:mm:ss`` (``/`` for ``-``, ``T`` for the space,
    ``.mmm`` or ``,mmm`` fractions as log4j/logback write them), optionally in
    ``[...]``;
  - a direction marker: ``>>`` ``<<`` ``->`` ``<-`` ``=>`` ``<=``, or one of
    the words SEND SENT RECV RCVD TX RX REQ RESP RSP IN OUT 发送 接收 请求 应答
    (any case, optionally in ``[...]``, optionally followed by ``:``);

  then the message as hex, its bytes optionally separated by single spaces,
  optionally with the 2-byte length prefix of the wire (dropped when it
  equals the length of the rest). The direction is not needed (the MTI says
  request or response); it is accepted so real logs read as they are.
  Example line: ``2026-03-01 14:05:09.120 >> 6000030000603100310100 0200 ...``.
* ``length_prefixed``: a binary capture of the link, each message preceded by
  its length (2-byte big-endian on CUP links). Zero-length frames are
  keep-alives and skipped.

How it is read:

1. Python, per message (unavoidable): pyiso8583 decodes it with the layout;
   only the fields needed are kept, into a TEMP DuckDB table, in batches. The
   PAN (F2) goes only into the card column and is masked (with its keyed
   hash) in the very statement that stores it (:mod:`daozhang.ingest.cards`);
   track data, PIN block, ICC data and expiry (F14, F35, F36, F45, F52, F55)
   are never copied at all. A message that does not decode is a reject with
   its line (hex) or ordinal and byte offset (binary) and pyiso8583's reason.
2. SQL, set-based, one query per rule: :func:`link_sql` pairs responses,
   repeats and reversals with the request that started their transaction;
   :func:`category_sql` says what kind of transaction a request is;
   :func:`result_sql` what became of it; :func:`txn_time_sql` infers the
   year the message's MMDD (F13) leaves out.

What a record is: every sale, void, refund (0220 advice) and pre-authorisation
completion request, with its outcome. ``src_line`` is the request's line
(hex) or ordinal message number (binary, 1 = first message). Pre-authorisations
(0100: they hold money, they do not move it), balance inquiries, network
management (sign-in 0800), signature uploads (0920) and the other
administrative messages are not journal records: the read result counts
them (:class:`MessageLogResult`), and nothing else. A response, repeat or
reversal whose request is not in the log is a reject (``orphan_message``):
a reversal is often sent before the *next* transaction, possibly in the next
day's log, and the person reading the rejects should see it.

``rows_read`` is the number of records plus the number of rejected
messages, so the importer's ``read = imported + duplicate + rejected`` holds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import duckdb
import iso8583
import pyarrow as pa

from daozhang.domain.records import Kind
from daozhang.ingest.base import (
    FileHead,
    Format,
    Identification,
    ReadContext,
    ReadResult,
    SourceFile,
    raw_columns,
)
from daozhang.ingest.cards import card_digits_sql, card_sql
from daozhang.ingest.iso8583_specs import (
    CUP_POS,
    CUP_POS_BINARY,
    FORBIDDEN_FIELDS,
    MessageSpec,
    load_spec_file,
)
from daozhang.ingest.rejects import Reject, RejectCode, make_reject

__all__ = [
    "ISO8583_FORMATS",
    "Iso8583Log",
    "MessageLogResult",
    "category_sql",
    "format_from_spec_file",
    "iso8583_format",
    "link_sql",
    "message_view_sql",
    "parse_line",
    "result_sql",
    "txn_time_sql",
]

_BATCH = 65_536
_IDENTIFY_LINES = 8
# The fields kept from each message (besides the MTI and F2, which is masked).
_KEPT = ("3", "4", "11", "12", "13", "22", "37", "38", "39", "41", "42", "49", "60")
# Reversal response codes that end a reversal: done (00), or nothing to
# reverse because the host never approved the original (12, 25; POS-DOMAIN 1.5).
_REVERSAL_DONE = ("00", "12", "25")
# ISO 4217 numeric codes a Chinese POS may see; others are passed on as they
# are and the normaliser rejects them with the value.
_CURRENCIES = {
    "156": "CNY",
    "344": "HKD",
    "446": "MOP",
    "901": "TWD",
    "840": "USD",
    "978": "EUR",
    "392": "JPY",
    "410": "KRW",
    "826": "GBP",
    "702": "SGD",
}

# What may come before the hex (every part optional, so it always matches).
_PREFIX = re.compile(
    r"""\s*
    (?:\[?(?P<ts>\d{4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)\]?\s*)?
    (?:\[?(?:>>|<<|->|<-|=>|<=|SEND|SENT|RECV|RCVD|TX|RX|REQ|RESP|RSP|IN|OUT|发送|接收|请求|应答)
       \]?\s*[:：]?\s*)?""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_line(text: str) -> tuple[str | None, bytes] | None:
    """A log line's timestamp text (or None) and message bytes; None if it is not one.

    >>> parse_line("[2026-03-01 14:05:09,120] SEND: 01 02 03 04 05")
    ('2026-03-01 14:05:09,120', b'\\x01\\x02\\x03\\x04\\x05')
    >>> parse_line("0005 0102030405")  # the wire's length prefix is dropped
    (None, b'\\x01\\x02\\x03\\x04\\x05')
    >>> parse_line("connected to 10.0.0.1") is None
    True
    """
    m = _PREFIX.match(text)
    assert m is not None  # every part is optional
    hexes = text[m.end() :].strip()
    if not hexes:
        return None
    try:
        raw = bytes.fromhex(hexes)  # single spaces between bytes are allowed
    except ValueError:
        return None
    ts = m.group("ts")
    if len(raw) > 2 and int.from_bytes(raw[:2], "big") == len(raw) - 2:
        raw = raw[2:]
    return ts, raw


# --------------------------------------------------------------------------
# The rules, in SQL. Each docstring's worked example is run by
# tests/ingest/test_iso8583_log.py. Messages are in table ``m`` with columns
# pos, mti, tid (F41), stan (F11), f3, f39, f60, and derived cls (MTI class
# digit), role (request | response | other) and rep (the MTI says repeat).
# --------------------------------------------------------------------------


def message_view_sql(msgs: str) -> str:
    """The messages of ``msgs`` with what their MTI says: class, role, repeat; TID and STAN trimmed.

    MTI digits (POS-DOMAIN 1.1): the second is the class (1 authorisation,
    2 financial, 4 reversal, 8 network management...), the third the
    function (0 request, 1 response, 2 advice, 3 advice response), the
    fourth the origin (1, 3, 5: a repeat).
    """
    return f"""
    SELECT *, substr(mti, 2, 1) AS cls,
           CASE WHEN substr(mti, 3, 1) IN ('0', '2') THEN 'request'
                WHEN substr(mti, 3, 1) IN ('1', '3') THEN 'response'
                ELSE 'other' END AS role,
           substr(mti, 4, 1) IN ('1', '3', '5') AS rep,
           NULLIF(trim(f41), '') AS tid, NULLIF(trim(f11), '') AS stan
    FROM {msgs}"""


def link_sql(m: str) -> str:
    """Pair every message of a transaction with the request that started it.

    A response, a repeat (0201, 0221, 0401, 0421) or a reversal (0400/0420
    and their responses 0410/0430) belongs to the latest original request
    before it with the same terminal (F41) and STAN (F11). Responses and
    repeats look for a request of their own MTI class: a reversal shares the
    STAN of the transaction it reverses, so a 0410 must never be taken for
    the 0210. Reversals look for the latest authorisation (class 1) or
    financial (class 2) request. The merchant (F42) is not in the key: hosts
    echo their own merchant code (the real vfwz 0210 carries a different
    F42 from its 0200). A message with no such request gets ``txn_pos`` NULL.

    Worked example::

        pos mti  tid      stan   f39
        1   0200 10016919 000101
        2   0210 10016919 000101 00
        3   0200 10016919 000102
        4   0400 10016919 000102 98
        5   0401 10016919 000102 98
        6   0410 10016919 000102 00
        7   0230 10016919 000103 00
        gives 1->1 2->1 3->3 4->3 5->3 6->3 7->none
    """
    return f"""
    WITH x AS (SELECT pos, cls, role, rep, tid, stan FROM {m}
               WHERE cls IN ('1', '2', '4') AND role IN ('request', 'response')),
         orig AS (SELECT pos, cls, tid, stan FROM x
                  WHERE cls IN ('1', '2') AND role = 'request' AND NOT rep)
    SELECT x.pos, o.pos AS txn_pos
    FROM (SELECT * FROM x WHERE cls <> '4') x
    ASOF LEFT JOIN orig o ON o.tid = x.tid AND o.stan = x.stan AND o.cls = x.cls AND x.pos >= o.pos
    UNION ALL
    SELECT x.pos, o.pos AS txn_pos
    FROM (SELECT * FROM x WHERE cls = '4') x
    ASOF LEFT JOIN orig o ON o.tid = x.tid AND o.stan = x.stan AND x.pos > o.pos
    """


def category_sql(mti: str, f3: str, f60: str) -> str:
    """What a request is, from its MTI, processing code (F3) and F60.1 (CUP 交易类型码).

    POS-DOMAIN 1.2: 0200 is a sale (F3 ``00``, 60.1 ``22``), a void (F3 ``20``,
    60.1 ``23``), a pre-auth completion (60.1 ``20``; its void ``21``) or a
    balance inquiry (F3 ``31``, 60.1 ``01``); 0220 is a refund (F3 ``20``,
    60.1 ``25``) or an offline sale (F3 ``00``); 0100 is a pre-auth or its
    void. Adjustments (0220 60.1 ``32``/``34``) and anything else are
    ``unsupported`` and rejected with what they were, so money moved by a
    message we do not understand is never silently dropped. Only sale, void,
    refund and preauth_complete become journal records.

    Worked example::

        mti  f3     f60       gives
        0200 000000 22000727  sale
        0200 200000 23000727  void
        0200 000000 20000727  preauth_complete
        0200 200000 21000727  void
        0200 310000 01000727  balance_inquiry
        0220 200000 25000727  refund
        0220 000000 30000727  sale
        0220 000000 32000727  unsupported
        0100 030000 10000727  preauth
        0800 -      00000727  network
        0920 -      07000727  admin
    """
    pc = f"substr(COALESCE({f3}, ''), 1, 2)"
    t1 = f"substr(COALESCE({f60}, ''), 1, 2)"
    cls = f"substr({mti}, 2, 1)"
    fn = f"substr({mti}, 3, 1)"
    return f"""(CASE
        WHEN {cls} = '8' THEN 'network'
        WHEN {cls} NOT IN ('1', '2') THEN 'admin'
        WHEN {cls} = '1' THEN 'preauth'
        WHEN {pc} = '31' OR {t1} = '01' THEN 'balance_inquiry'
        WHEN {fn} = '0' AND {t1} = '20' THEN 'preauth_complete'
        WHEN {fn} = '0' AND {t1} = '21' THEN 'void'
        WHEN {fn} = '0' AND {pc} = '20' AND {t1} = '25' THEN 'refund'
        WHEN {fn} = '0' AND {pc} = '20' THEN 'void'
        WHEN {fn} = '0' AND {pc} = '00' AND {t1} IN ('', '22') THEN 'sale'
        WHEN {fn} = '2' AND {pc} = '20' AND {t1} IN ('', '25') THEN 'refund'
        WHEN {fn} = '2' AND {pc} = '00' AND {t1} IN ('', '22', '30') THEN 'sale'
        ELSE 'unsupported' END)"""


def result_sql(resp_f39: str, has_resp: str, rev_sent: str, rev_done: str) -> str:
    """What became of a transaction, from its response and its reversals.

    * a reversal acknowledged (a 0410/0430 with 00, or 12/25: the host has
      nothing to reverse) -> ``reversed``;
    * a reversal sent (0400/0401/0420/0421) and never acknowledged ->
      ``reversal_unconfirmed``: the cardholder may have been debited;
    * no response -> ``timeout``;
    * response code 00 -> ``approved``, any other -> ``declined``.

    A reversal outranks the response: the terminal sends one only when it
    could not trust the answer (none, garbled, or a bad MAC: reason A0).

    Worked example::

        resp_f39 has_resp rev_sent rev_done gives
        00       true     false    false    approved
        51       true     false    false    declined
        -        false    false    false    timeout
        -        false    true     true     reversed
        00       true     true     true     reversed
        -        false    true     false    reversal_unconfirmed
    """
    return f"""(CASE
        WHEN {rev_done} THEN 'reversed'
        WHEN {rev_sent} THEN 'reversal_unconfirmed'
        WHEN NOT {has_resp} THEN 'timeout'
        WHEN {resp_f39} = '00' THEN 'approved'
        ELSE 'declined' END)"""


def txn_time_sql(mmdd: str, hhmmss: str, line_ts: str, anchor: str) -> str:
    """The TIMESTAMP of a message's local date MMDD (F13) and time hhmmss (F12): year inferred.

    F13 has no year. Two rules, both handling the December/January turn:

    * the message's log line has a timestamp ``line_ts``: the year (of the
      line's, the one before or the one after) that puts the message nearest
      to it. Terminal clocks drift, so ``12-31 23:59:59`` logged at
      ``2027-01-01 00:00:02`` is 2026, and ``01-01 00:00:03`` logged at
      ``2026-12-31 23:59:58`` is 2027;
    * no timestamp on the line: the most recent such moment not after
      ``anchor`` plus one day (for clocks running ahead). ``anchor`` is the
      latest line timestamp in the log, or, when the log has none, the end
      of the import day: a log is imported after it was written.

    An MMDD that is no date (``1345``) or 02-29 with no leap year near gives
    NULL. Worked example::

        mmdd hhmmss line_ts             anchor              gives
        0824 141554 -                   2026-09-01T23:59:59 2026-08-24T14:15:54
        1231 235959 -                   2027-01-05T23:59:59 2026-12-31T23:59:59
        0102 080000 -                   2027-01-01T23:59:59 2027-01-02T08:00:00
        1231 235959 2027-01-01T00:00:02 2027-01-01T00:00:02 2026-12-31T23:59:59
        0101 000003 2026-12-31T23:59:58 2026-12-31T23:59:58 2027-01-01T00:00:03
        0229 120000 -                   2027-03-01T23:59:59 2024-02-29T12:00:00
        1345 120000 -                   2026-09-01T23:59:59 -
    """

    def years(ref: str, offsets: str) -> str:
        return (
            f"list_transform({offsets}, lambda iso_dy: try_strptime("
            f"printf('%04d', year({ref}) + iso_dy) || {mmdd} || {hhmmss}, '%Y%m%d%H%M%S'))"
        )

    # nearest: the smallest (distance, moment) pair; a tie goes to the earlier
    near = (
        f"list_min(list_transform(list_filter({years(line_ts, '[-1, 0, 1]')}, "
        "lambda iso_c: iso_c IS NOT NULL), "
        f"lambda iso_c: {{'d': abs(epoch(iso_c) - epoch({line_ts})), 'v': iso_c}})).v"
    )
    latest = (
        f"list_max(list_filter({years(anchor, '[1, 0, -1, -2, -3, -4]')}, "
        f"lambda iso_c: iso_c <= {anchor} + INTERVAL 1 DAY))"
    )
    return f"(CASE WHEN {line_ts} IS NOT NULL THEN {near} ELSE {latest} END)"


# --------------------------------------------------------------------------
# The format
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageLogResult(ReadResult):
    """A read result that also says what the log held besides journal records.

    ``messages`` counts every message read (decoded or not); ``categories``
    counts the decoded ones by what they were: ``journal`` (requests that
    became records), ``response``, ``repeat``, ``reversal``, ``preauth``,
    ``balance_inquiry``, ``network``, ``admin``, ``unsupported``, ``orphan``.
    """

    messages: int = 0
    categories: tuple[tuple[str, int], ...] = ()


@dataclass
class _Columns:
    """Decoded messages, column by column, until the next batch is written."""

    names: tuple[str, ...]
    pos: list[int] = field(default_factory=list)
    offset: list[int | None] = field(default_factory=list)
    line_ts: list[str | None] = field(default_factory=list)
    mti: list[str | None] = field(default_factory=list)
    pan: list[str | None] = field(default_factory=list)
    values: dict[str, list[str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = {n: [] for n in self.names}

    def add(self, pos: int, offset: int | None, ts: str | None, doc: dict[str, str]) -> None:
        get = doc.get
        self.pos.append(pos)
        self.offset.append(offset)
        self.line_ts.append(ts)
        self.mti.append(get("t"))
        self.pan.append(get("2"))
        for n, col in self.values.items():
            col.append(get(n))

    def __len__(self) -> int:
        return len(self.pos)

    def table(self) -> pa.Table:
        arrays: dict[str, pa.Array[Any]] = {
            "pos": pa.array(self.pos, pa.int64()),
            "byte_offset": pa.array(self.offset, pa.int64()),
            "line_ts": pa.array(self.line_ts, pa.string()),
            "mti": pa.array(self.mti, pa.string()),
            "pan": pa.array(self.pan, pa.string()),
        }
        for n, col in self.values.items():
            arrays[f"f{n}"] = pa.array(col, pa.string())
        return pa.table(arrays)


@dataclass(frozen=True, slots=True)
class Iso8583Log:
    """An ISO 8583 message log of one layout, read into ``pos_journal`` records.

    ``today`` gives the import day, the year anchor of a log whose lines have
    no timestamps (see :func:`txn_time_sql`); tests pass a fixed day.
    """

    spec: MessageSpec
    today: Callable[[], dt.date] = dt.date.today

    @property
    def name(self) -> str:
        return f"iso8583.{self.spec.name}"

    @property
    def kind(self) -> Kind:
        return Kind.POS_JOURNAL

    @property
    def _fields(self) -> tuple[str, ...]:
        extra = [r.field for r in self.spec.channel_rules if r.field not in _KEPT]
        return (*_KEPT, *dict.fromkeys(f for f in extra if f not in FORBIDDEN_FIELDS))

    def _decode(self, raw: bytes) -> dict[str, str] | str:
        """The decoded message, or why it did not decode (no data in the text)."""
        try:
            doc, _ = iso8583.decode(raw, self.spec.fields)
        except iso8583.DecodeError as exc:
            return f"{exc.msg}: field {exc.field} pos {exc.pos}"
        except (
            ValueError,
            LookupError,
            TypeError,
            IndexError,
        ) as exc:  # a layout pyiso8583 chokes on
            return type(exc).__name__
        return doc

    # -- identify ---------------------------------------------------------

    def identify(self, head: FileHead) -> Identification:
        if self.spec.framing == "hex_lines":
            return self._identify_hex(head)
        return self._identify_binary(head)

    def _answer(self, confidence: float, closeness: float, *, text: bool) -> Identification:
        missing = () if confidence > 0 else (f"ISO 8583 messages ({self.spec.name})",)
        return Identification(
            format=self.name,
            kind=self.kind,
            confidence=confidence,
            missing=missing,
            closeness=closeness,
            reads_text=text,
        )

    def _identify_hex(self, head: FileHead) -> Identification:
        if head.text is None:
            return self._answer(0.0, 0.0, text=True)
        lines = head.text.splitlines()
        if head.size > len(head.head) and lines:
            lines = lines[:-1]  # cut off by the end of the head
        sample = [s for s in (x.strip() for x in lines) if s and not s.startswith("#")]
        sample = sample[:_IDENTIFY_LINES]
        if not sample:
            return self._answer(0.0, 0.0, text=True)
        parsed = [parse_line(s) for s in sample]
        hexes = [p for p in parsed if p is not None]
        decoded = sum(1 for p in hexes if isinstance(self._decode(p[1]), dict))
        if decoded == 0:
            return self._answer(0.0, 0.3 * len(hexes) / len(sample), text=True)
        return self._answer(0.5 + 0.45 * decoded / len(sample), 1.0, text=True)

    def _identify_binary(self, head: FileHead) -> Identification:
        data, n, off, decoded, whole = head.head, self.spec.length_bytes, 0, 0, 0
        while off + n <= len(data) and whole < _IDENTIFY_LINES:
            length = self._length(data[off : off + n])
            if length is None or off + n + length > len(data):
                break
            frame = data[off + n : off + n + length]
            off += n + length
            if not frame:
                continue
            whole += 1
            if not isinstance(self._decode(frame), dict):
                return self._answer(0.0, 0.0, text=False)
            decoded += 1
        if decoded == 0:
            return self._answer(0.0, 0.0, text=False)
        at_end = off == head.size
        if decoded >= 2 or at_end:
            return self._answer(0.9, 1.0, text=False)
        return self._answer(0.6, 1.0, text=False)

    def _length(self, prefix: bytes) -> int | None:
        enc = self.spec.length_encoding
        if enc == "binary":
            return int.from_bytes(prefix, "big")
        text = prefix.hex() if enc == "bcd" else prefix.decode("ascii", "replace")
        return int(text) if text.isdigit() else None

    # -- read -------------------------------------------------------------

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        path = str(source.path)
        rejects: list[Reject] = []
        msgs = f"__iso_msg_{ctx.table}"
        cols = _Columns(self._fields)
        created = False
        count = 0
        size = max(source.data_path.stat().st_size, 1)
        with source.data_path.open("rb") as f:
            frames = (
                self._hex_frames(f, source)
                if self.spec.framing == "hex_lines"
                else self._binary_frames(f)
            )
            for pos, offset, ts, item in frames:
                count += 1
                got = item if isinstance(item, str) else self._decode(item)
                if isinstance(got, str):
                    where = f"offset {offset}: " if offset is not None else ""
                    rejects.append(
                        make_reject(RejectCode.BAD_MESSAGE, path=path, line=pos, detail=where + got)
                    )
                    continue
                cols.add(pos, offset, ts, got)
                if len(cols) >= _BATCH:
                    self._flush(ctx, msgs, cols, created)
                    created = True
                    cols = _Columns(self._fields)
                    ctx.progress(min(f.tell() / size, 1.0))
        self._flush(ctx, msgs, cols, created)
        try:
            return self._pair_and_write(ctx, msgs, path, rejects, count)
        finally:
            ctx.con.execute(f"DROP TABLE IF EXISTS {msgs}_txn")
            ctx.con.execute(f"DROP TABLE IF EXISTS {msgs}_link")
            ctx.con.execute(f"DROP VIEW IF EXISTS {msgs}_m")
            ctx.con.execute(f"DROP TABLE IF EXISTS {msgs}")

    def _hex_frames(
        self, f: IO[bytes], source: SourceFile
    ) -> Iterator[tuple[int, int | None, str | None, bytes | str]]:
        for lineno, raw_line in enumerate(f, 1):
            stripped = raw_line.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            if lineno in source.bad_lines:
                yield lineno, None, None, "not UTF-8 or GB18030 text"
                continue
            try:
                parsed = parse_line(stripped.decode("utf-8"))
            except UnicodeDecodeError:
                parsed = None
            if parsed is None:
                yield lineno, None, None, "not a hex message line"
                continue
            ts, raw = parsed
            yield lineno, None, ts, raw

    def _binary_frames(
        self, f: IO[bytes]
    ) -> Iterator[tuple[int, int | None, str | None, bytes | str]]:
        n, ordinal, offset = self.spec.length_bytes, 0, 0
        size = os.fstat(f.fileno()).st_size
        while True:
            prefix = f.read(n)
            if not prefix:
                return
            ordinal += 1
            if len(prefix) < n:
                yield ordinal, offset, None, f"truncated length prefix ({len(prefix)} of {n} bytes)"
                return
            length = self._length(prefix)
            if length is None:
                yield ordinal, offset, None, "the length prefix is not a number"
                return
            left = size - f.tell()
            if length > left:  # checked before reading: a junk prefix may declare gigabytes
                yield ordinal, offset, None, f"truncated: {length} bytes declared, {left} left"
                return
            frame = f.read(length)
            if length == 0:  # a keep-alive
                ordinal -= 1
                offset += n
                continue
            yield ordinal, offset, None, frame
            offset += n + length

    def _flush(self, ctx: ReadContext, msgs: str, cols: _Columns, created: bool) -> None:
        """Write a batch of decoded messages; the PAN is masked in this very statement."""
        con = ctx.con
        view = f"{msgs}_batch"
        con.register(view, cols.table())
        try:
            card = card_sql("__d")
            kept = ", ".join(f"f{n}" for n in cols.names)
            select = (
                "SELECT pos, byte_offset, "
                "TRY_CAST(replace(replace(line_ts, ',', '.'), '/', '-') AS TIMESTAMP) AS line_ts, "
                f"mti, {card.masked} AS card, {card.hash} AS card_hash, "
                f"{card.state} AS card_state, "
                f"{kept} FROM (SELECT *, {card_digits_sql('pan')} AS __d FROM {view})"
            )
            if created:
                con.execute(f"INSERT INTO {msgs} {select}")
            else:
                con.execute(f"CREATE TEMP TABLE {msgs} AS {select}")
        finally:
            con.unregister(view)

    def _channel_sql(self, prefix: str) -> str:
        whens = "".join(
            f"WHEN substr(COALESCE({prefix}f{r.field}, ''), {r.at + 1}, {len(r.equals)}) = "
            f"{_lit(r.equals)} THEN {_lit(r.channel.value)} "
            for r in self.spec.channel_rules
        )
        return f"(CASE {whens}ELSE {_lit(self.spec.default_channel.value)} END)"

    def _pair_and_write(
        self, ctx: ReadContext, msgs: str, path: str, rejects: list[Reject], count: int
    ) -> ReadResult:
        con = ctx.con
        m, link, txn = f"{msgs}_m", f"{msgs}_link", f"{msgs}_txn"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {m} AS {message_view_sql(msgs)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {link} AS {link_sql(m)}")
        anchor = con.sql(f"SELECT max(line_ts) FROM {msgs}").fetchall()[0][0]
        if anchor is None:
            anchor = dt.datetime.combine(self.today(), dt.time(23, 59, 59))
        anchor_sql = f"TIMESTAMP '{anchor:%Y-%m-%d %H:%M:%S}'"
        first = "arg_min({col}, x.pos) FILTER (WHERE x.cls <> '4' AND x.role = 'response')"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {txn} AS
            WITH agg AS (
                SELECT l.txn_pos,
                       count(*) FILTER (WHERE x.cls <> '4' AND x.role = 'response') AS n_resp,
                       {first.format(col="x.f39")} AS resp_f39,
                       {first.format(col="x.f37")} AS resp_f37,
                       {first.format(col="x.f38")} AS resp_f38,
                       {first.format(col="x.f12")} AS resp_f12,
                       {first.format(col="x.f13")} AS resp_f13,
                       {first.format(col="x.f42")} AS resp_f42,
                       {first.format(col="x.card")} AS resp_card,
                       {first.format(col="x.card_hash")} AS resp_card_hash,
                       {first.format(col="x.card_state")} AS resp_card_state,
                       count(*) FILTER (WHERE x.cls = '4' AND x.role = 'request') AS n_rev,
                       arg_min(x.f39, x.pos) FILTER (WHERE x.cls = '4' AND x.role = 'request')
                           AS rev_reason,
                       COALESCE(bool_or(x.cls = '4' AND x.role = 'response'
                                        AND trim(x.f39) IN {_REVERSAL_DONE}), FALSE) AS rev_done,
                       count(*) FILTER (WHERE x.cls <> '4' AND x.role = 'request') AS n_repeat
                FROM {link} l JOIN {m} x ON x.pos = l.pos
                WHERE l.txn_pos IS NOT NULL AND l.pos <> l.txn_pos
                GROUP BY l.txn_pos
            )
            SELECT r.*, {category_sql("r.mti", "r.f3", "r.f60")} AS category,
                   {
                result_sql(
                    "trim(a.resp_f39)",
                    "COALESCE(a.n_resp, 0) > 0",
                    "COALESCE(a.n_rev, 0) > 0",
                    "COALESCE(a.rev_done, FALSE)",
                )
            }
                       AS result,
                   a.* EXCLUDE (txn_pos),
                   {
                txn_time_sql(
                    "COALESCE(r.f13, a.resp_f13)",
                    "COALESCE(r.f12, a.resp_f12)",
                    "r.line_ts",
                    anchor_sql,
                )
            } AS txn_ts,
                   {self._channel_sql("r.")} AS channel
            FROM {m} r LEFT JOIN agg a ON a.txn_pos = r.pos
            WHERE r.cls IN ('1', '2') AND r.role = 'request' AND NOT r.rep"""
        )
        con.execute(f"CREATE TABLE {ctx.table} AS {self._records_sql(txn)}")
        rejects += self._rule_rejects(con, m, link, txn, path)
        rejects.sort(key=lambda r: r.line or 0)
        rows = con.sql(f"SELECT count(*) FROM {ctx.table}").fetchall()[0][0]
        categories = self._categories(con, m, link, txn)
        ctx.progress(1.0)
        return MessageLogResult(
            table=ctx.table,
            rows_read=int(rows) + len({r.line for r in rejects}),
            rejects=tuple(rejects),
            method="pyiso8583",
            messages=count,
            categories=categories,
        )

    def _records_sql(self, txn: str) -> str:
        """The journal records, in the columns of :func:`raw_columns` (card already masked)."""
        own_card = "card_state IS NOT NULL"
        exprs = {
            "src_line": "pos",
            "merchant_id": "COALESCE(NULLIF(trim(f42), ''), NULLIF(trim(resp_f42), ''))",
            "terminal_id": "tid",
            "batch_no": "CASE WHEN length(f60) >= 8 THEN substr(f60, 3, 6) END",
            "trace_no": "stan",
            "rrn": "CASE WHEN NOT regexp_full_match(trim(resp_f37), '0*') THEN trim(resp_f37) END",
            "txn_time": (
                "COALESCE(strftime(txn_ts, '%Y-%m-%dT%H:%M:%S'), "
                "CASE WHEN f13 IS NULL AND resp_f13 IS NULL "
                "THEN strftime(line_ts, '%Y-%m-%dT%H:%M:%S') "
                "ELSE 'F13=' || COALESCE(f13, resp_f13, '') || ' F12=' || "
                "COALESCE(f12, resp_f12, '') END)"
            ),
            "txn_type": "category",
            "channel": "channel",
            "card": f"CASE WHEN {own_card} THEN card ELSE resp_card END",
            "card_hash": f"CASE WHEN {own_card} THEN card_hash ELSE resp_card_hash END",
            "card_state": f"CASE WHEN {own_card} THEN card_state ELSE resp_card_state END",
            "amount": (
                "CASE WHEN regexp_full_match(f4, '[0-9]{1,18}') "
                "THEN printf('%d.%02d', CAST(f4 AS HUGEINT) // 100, CAST(f4 AS HUGEINT) % 100) "
                "ELSE f4 END"
            ),
            "currency": "CASE trim(f49) "
            + "".join(f"WHEN '{k}' THEN '{v}' " for k, v in _CURRENCIES.items())
            + "ELSE NULLIF(trim(f49), '') END",
            "result": "result",
            "response_code": (
                "CASE WHEN COALESCE(n_rev, 0) > 0 AND NULLIF(trim(rev_reason), '') IS NOT NULL "
                "THEN trim(rev_reason) ELSE NULLIF(trim(resp_f39), '') END"
            ),
            "auth_code": "NULLIF(trim(resp_f38), '')",
            "orig_rrn": (
                "CASE WHEN category IN ('void', 'refund') "
                "AND NOT regexp_full_match(trim(f37), '0*') THEN trim(f37) END"
            ),
        }
        cols = ", ".join(f'{exprs[c]} AS "{c}"' for c in raw_columns(Kind.POS_JOURNAL))
        kinds = "('sale', 'void', 'refund', 'preauth_complete')"
        return f"SELECT {cols} FROM {txn} WHERE category IN {kinds} ORDER BY pos"

    def _rule_rejects(
        self, con: duckdb.DuckDBPyConnection, m: str, link: str, txn: str, path: str
    ) -> list[Reject]:
        """Orphans (a response, repeat or reversal with no request) and unsupported requests."""
        rows = con.sql(
            f"""
            SELECT x.pos, x.byte_offset,
                   'MTI ' || COALESCE(x.mti, '?') || ', terminal ' || COALESCE(x.tid, '?')
                   || ', STAN ' || COALESCE(x.stan, '?') || ': '
                   || CASE WHEN x.cls = '4' AND x.role = 'request'
                           THEN 'a reversal whose original is not in this log'
                           WHEN x.role = 'request' THEN 'a repeat whose request is not in this log'
                           ELSE 'a response whose request is not in this log' END
                   AS detail, 'orphan' AS what
            FROM {link} l JOIN {m} x ON x.pos = l.pos
            WHERE l.txn_pos IS NULL
            UNION ALL
            SELECT pos, byte_offset,
                   'MTI ' || mti || ', processing code ' || COALESCE(f3, '-')
                   || ', F60.1 ' || COALESCE(substr(f60, 1, 2), '-'), 'unsupported'
            FROM {txn} WHERE category = 'unsupported'
            ORDER BY 1"""
        ).fetchall()
        out = []
        for pos, offset, detail, what in rows:
            where = f"offset {offset}: " if offset is not None else ""
            code = RejectCode.ORPHAN_MESSAGE if what == "orphan" else RejectCode.UNSUPPORTED_MESSAGE
            out.append(make_reject(code, path=path, line=pos, detail=where + detail))
        return out

    def _categories(
        self, con: duckdb.DuckDBPyConnection, m: str, link: str, txn: str
    ) -> tuple[tuple[str, int], ...]:
        rows = con.sql(
            f"""
            SELECT what, count(*) FROM (
                SELECT CASE
                    WHEN t.category IN ('sale', 'void', 'refund', 'preauth_complete')
                        THEN 'journal'
                    WHEN t.category IS NOT NULL THEN t.category
                    WHEN x.cls NOT IN ('1', '2', '4') THEN {category_sql("x.mti", "x.f3", "x.f60")}
                    WHEN l.pos IS NULL THEN 'admin'
                    WHEN l.txn_pos IS NULL THEN 'orphan'
                    WHEN x.cls = '4' THEN 'reversal'
                    WHEN x.role = 'response' THEN 'response'
                    ELSE 'repeat' END AS what
                FROM {m} x
                LEFT JOIN {txn} t ON t.pos = x.pos
                LEFT JOIN {link} l ON l.pos = x.pos
            ) GROUP BY what ORDER BY what"""
        ).fetchall()
        return tuple((str(w), int(n)) for w, n in rows)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def iso8583_format(name: str, spec: MessageSpec) -> Format:
    """The format for a layout loaded from a spec file (``daozhang import --profile FILE``).

    ``name`` (from :func:`~daozhang.ingest.iso8583_specs.load_spec_file`)
    names it: ``iso8583.<name>``, stored with each import.
    """
    return Iso8583Log(replace(spec, name=name))


def format_from_spec_file(path: Path) -> Format:
    """:func:`iso8583_format` of :func:`~daozhang.ingest.iso8583_specs.load_spec_file`."""
    name, spec = load_spec_file(path)
    return iso8583_format(name, spec)


ISO8583_FORMATS: tuple[Iso8583Log, ...] = (Iso8583Log(CUP_POS), Iso8583Log(CUP_POS_BINARY))
"""The built-in formats: CUP POS messages as a hex log and as a binary capture."""
