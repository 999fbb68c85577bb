"""ISO 20022 bank statements: camt.053, camt.052 and camt.054, any version.

One format reads the three bank-to-customer cash management messages, because
their entries (``Ntry``) are the same element:

=====================  ========================  ===================
message                root element              one account's block
=====================  ========================  ===================
camt.053 statement     ``BkToCstmrStmt``         ``Stmt``
camt.052 report        ``BkToCstmrAcctRpt``      ``Rpt``
camt.054 notification  ``BkToCstmrDbtCdtNtfctn`` ``Ntfctn``
=====================  ========================  ===================

The file is recognised by the namespace of its root element
(``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` ...); elements are then
matched by their local names only, so every version (001.02 to 001.13) reads
alike. Version 8 wraps party names in ``Pty`` and the status in ``Sts/Cd``;
both forms are read.

How an entry becomes a ``bank_statement`` record (what a bookkeeper expects):

* **amount**: ``Amt`` signed by ``CdtDbtInd``: ``CRDT`` (money in) positive,
  ``DBIT`` negative. A reversal (``RvslInd`` true) is *not* flipped again: by
  the ISO 20022 usage rule, the indicator of a reversal entry already states
  its own direction (a reversed debit is booked as ``CRDT``: money back in).
  Amounts finer than the fen (``8.850``, five decimals) are rounded half up by
  :func:`~daozhang.domain.money.round_yuan_text`, the product's one rounding.
* **booked only**: an entry whose status is not ``BOOK`` (``PDNG`` pending,
  ``INFO`` for information) has not moved money; it is set aside as
  ``not_booked`` on its line, never silently dropped, and is left out of the
  balance check. An entry with no status (not valid camt) counts as booked.
  camt.052 and camt.054 entries are read by the same rule: they carry the
  status, so a booked intraday entry is booked money.
* **dates**: ``BookgDt`` and ``ValDt`` as ``Dt`` or the date part of
  ``DtTm``; when one is missing the other stands in.
* **account_no**: ``Acct/Id/IBAN`` or ``Acct/Id/Othr/Id`` of the block;
  **currency**: ``Amt@Ccy``, else the account's ``Ccy``.
* **counterparty**: the debtor (``Dbtr``, else ``UltmtDbtr``) of a credit,
  the creditor of a debit, with its account. A batch entry with several
  ``TxDtls`` lists the distinct names joined by ``; `` and gives an account
  only when they all share one.
* **reference**: the unstructured remittance lines (``Ustrd``, joined), else
  the structured creditor reference, else ``EndToEndId`` (unless
  ``NOTPROVIDED``), else the additional information; on one line, trimmed.
* **bank_txn_id**: ``AcctSvcrRef``, else ``NtryRef``, else the single
  transaction's ``AcctSvcrRef``; when the bank gives none, ``<Stmt/Id>#<n>``
  (see :func:`~daozhang.ingest.bankstmt.txn_id`), stable across imports.
* **balance**: empty (camt gives no running balance per entry). Instead the
  opening booked balance (``OPBD``, else ``PRCD``) plus the booked entries must
  equal the closing booked balance (``CLBD``); a difference is reported as
  ``balance_mismatch`` on the ``CLBD`` balance's line, and the entries still go in.

Each record's line is the physical line where its ``<Ntry>`` starts.

Safety and size: the document is parsed by expat as a stream (1 MiB at a
time), keeping only the entry being read, so a 200 MB statement imports in
bounded memory. A DTD, an entity declaration or an external entity is
refused with defusedxml's exceptions (the billion-laughs file is a clear
whole-file error). defusedxml's own parsers were not used because they build
a tree (or go through SAX) and do not give the line where an element starts;
the same guards are installed on the expat parser directly. The declared
encoding is honoured: expat decodes UTF-8/UTF-16/Latin-1 itself; any other
encoding Python knows (GB18030 from a Chinese bank) is decoded in Python and
fed as UTF-8. A truncated or malformed document is a whole-file error: never
half an import.

Measured (2 shared cores, November 2026): a 199 MB camt.053 of 375 000
entries read in 46 s with a peak RSS of 207 MB for the whole process, of
which 125 MB is the interpreter with DuckDB and pyarrow loaded and most of
the rest the DuckDB table of the records; 1M entries (531 MB) in 134 s
(~7 500 entries/s). The cost is expat's Python callbacks, about 25 elements
per entry.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.parsers import expat

from defusedxml.common import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from daozhang.domain.money import MoneyError, round_yuan_text
from daozhang.domain.records import Kind
from daozhang.ingest.bankstmt import BalanceCheck, clean_text, unique_txn_id
from daozhang.ingest.base import FileHead, Identification, ReadContext, ReadResult, SourceFile
from daozhang.ingest.rejects import Reject, RejectCode, make_reject
from daozhang.ingest.rows import RowSink

__all__ = ["CAMT", "CamtFormat"]

_CHUNK = 1 << 20
_BATCH = 8_192  # records buffered in Python before they go to DuckDB: bounds memory
_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.05([234])\.001\.(\d{2})")
_NS_BYTES = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.001\.\d{2}")
_ROOT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Document\b[^>]*>")
_ROOT_NAMES = re.compile(rb"BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_EXPAT_ENCODINGS = {"utf_8", "utf_16", "latin_1", "ascii"}

# message root -> (its per-account block, the message's name)
_MESSAGES = {
    "BkToCstmrStmt": ("Stmt", "camt.053"),
    "BkToCstmrAcctRpt": ("Rpt", "camt.052"),
    "BkToCstmrDbtCdtNtfctn": ("Ntfctn", "camt.054"),
}

# The element paths kept, relative to their scope. Everything else is skipped.
_STMT_KEYS = frozenset({"Id", "Acct/Id/IBAN", "Acct/Id/Othr/Id", "Acct/Ccy"})
_BAL_KEYS = frozenset({"Tp/CdOrPrtry/Cd", "Amt", "CdtDbtInd"})
_NTRY_KEYS = frozenset(
    {
        "Amt",
        "CdtDbtInd",
        "RvslInd",
        "Sts",
        "Sts/Cd",
        "Sts/Prtry",
        "BookgDt/Dt",
        "BookgDt/DtTm",
        "ValDt/Dt",
        "ValDt/DtTm",
        "AcctSvcrRef",
        "NtryRef",
        "AddtlNtryInf",
    }
)
_PARTY_KEYS = tuple(
    f"RltdPties/{role}{suffix}"
    for role in ("Dbtr", "UltmtDbtr", "Cdtr", "UltmtCdtr")
    for suffix in ("/Nm", "/Pty/Nm")
) + tuple(
    f"RltdPties/{role}Acct/Id/{kind}" for role in ("Dbtr", "Cdtr") for kind in ("IBAN", "Othr/Id")
)
_TX_KEYS = frozenset(
    {
        "Refs/EndToEndId",
        "Refs/AcctSvcrRef",
        "RmtInf/Ustrd",
        "RmtInf/Strd/CdtrRefInf/Ref",
        "AddtlTxInf",
        *_PARTY_KEYS,
    }
)

_Fields = dict[str, list[str]]


def _first(fields: _Fields, *keys: str) -> str | None:
    for key in keys:
        for value in fields.get(key, ()):
            if value:
                return value
    return None


@dataclass
class _Scope:
    """An open element whose descendants we collect (a block, a balance, an entry)."""

    prefix: str  # its path; descendants are keyed by the rest of their path
    line: int
    fields: _Fields = field(default_factory=dict)
    ccy: str | None = None  # the Ccy attribute of its own Amt


@dataclass
class _Entry(_Scope):
    txs: list[_Fields] = field(default_factory=list)


@dataclass
class _Block:
    """One Stmt/Rpt/Ntfctn: its identity and its running balance check."""

    scope: _Scope
    position: int = 0
    balances: list[_Scope] = field(default_factory=list)
    check: BalanceCheck | None = None
    ids: set[str] = field(default_factory=set)  # bank_txn_ids given so far


class _NotCamtError(Exception):
    """The document's root is not a camt message: the whole file is refused."""


class _CamtReader:
    """The expat callbacks: keep the fields of the entry being read, emit it at its end."""

    def __init__(self, path: str, sink: RowSink, parser: Any) -> None:
        self.path = path
        self.sink = sink
        self.parser = parser
        self.rejects: list[Reject] = []
        self.entries = 0
        self.blocks = 0
        self.root: str | None = None
        self.block_name = ""
        self.message = ""
        self.msg_id: str | None = None
        self.block_ids: dict[str, int] = {}
        self.names: list[str] = []
        self.paths: list[str] = [""]
        self.text: list[str] = []
        self.block: _Block | None = None
        self.bal: _Scope | None = None
        self.entry: _Entry | None = None
        self.tx: _Scope | None = None

    # -- expat callbacks -------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name[name.find(":") + 1 :]
        depth = len(self.names)
        self.names.append(local)
        path = f"{self.paths[-1]}/{local}"
        self.paths.append(path)
        self.text = []
        if depth == 0:
            self._check_root(name, local, attrs)
        elif depth == 1:
            if local not in _MESSAGES:
                raise _NotCamtError(f"{local} is not a camt.052/053/054 message")
            self.root = local
            self.block_name, self.message = _MESSAGES[local]
        elif depth == 2 and local == self.block_name:
            line = self.parser.CurrentLineNumber
            self.block = _Block(_Scope(path, line))
            self.blocks += 1
        elif depth == 3 and self.block is not None:
            if local == "Ntry":
                self.entry = _Entry(path, self.parser.CurrentLineNumber)
                self.block.position += 1
                self.entries += 1
            elif local == "Bal":
                self.bal = _Scope(path, self.parser.CurrentLineNumber)
        elif local == "TxDtls" and self.entry is not None and depth == 5:
            self.tx = _Scope(path, self.parser.CurrentLineNumber)
        if local == "Amt" and "Ccy" in attrs:
            if self.entry is not None and depth == 4:
                self.entry.ccy = attrs["Ccy"]
            elif self.bal is not None and depth == 4:
                self.bal.ccy = attrs["Ccy"]

    def chars(self, data: str) -> None:
        self.text.append(data)

    def end(self, _name: str) -> None:
        path = self.paths.pop()
        local = self.names.pop()
        text = "".join(self.text).strip() if self.text else ""
        self.text = []
        if self.tx is not None:
            if path == self.tx.prefix:
                assert self.entry is not None
                self.entry.txs.append(self.tx.fields)
                self.tx = None
            else:
                _keep(self.tx, path, text, _TX_KEYS)
        elif self.entry is not None:
            if path == self.entry.prefix:
                self._emit(self.entry)
                self.entry = None
            else:
                _keep(self.entry, path, text, _NTRY_KEYS)
        elif self.bal is not None:
            if path == self.bal.prefix:
                assert self.block is not None
                self.block.balances.append(self.bal)
                self._maybe_open_check(self.block)
                self.bal = None
            else:
                _keep(self.bal, path, text, _BAL_KEYS)
        elif self.block is not None:
            if path == self.block.scope.prefix:
                self._close_block(self.block)
                self.block = None
            else:
                _keep(self.block.scope, path, text, _STMT_KEYS)
        elif local == "MsgId" and len(self.names) == 3 and self.names[-1] == "GrpHdr":
            self.msg_id = text

    # -- helpers ---------------------------------------------------------

    def _check_root(self, name: str, local: str, attrs: dict[str, str]) -> None:
        if local != "Document":
            raise _NotCamtError(f"the root element is {local}, not Document")
        prefix = name[: name.find(":")] if ":" in name else ""
        ns = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns", "")
        if not _NS.search(ns):
            raise _NotCamtError(f"the root namespace {ns or '(none)'} is not a camt.05x namespace")

    def _maybe_open_check(self, block: _Block) -> None:
        """Start adding up once the opening balance is known (balances precede entries)."""
        bal = self.bal
        assert bal is not None
        code = _first(bal.fields, "Tp/CdOrPrtry/Cd")
        if block.check is not None or code not in ("OPBD", "PRCD"):
            return
        amount = _signed(bal.fields)
        if amount is not None:
            block.check = BalanceCheck(opening=amount, currency=bal.ccy)

    def _block_id(self, block: _Block) -> str:
        """The block's identity for derived ids: its Id (made unique in the file)."""
        base = _first(block.scope.fields, "Id") or f"{self.msg_id or self.message}/{self.blocks}"
        seen = self.block_ids.get(base, 0)
        self.block_ids[base] = seen + 1
        return base if seen == 0 else f"{base}/{seen + 1}"

    def _emit(self, e: _Entry) -> None:
        block = self.block
        assert block is not None
        f = e.fields
        if block.position == 1:
            block.scope.fields["__id__"] = [self._block_id(block)]
        status = _first(f, "Sts/Cd", "Sts", "Sts/Prtry") or "BOOK"
        booked = status.upper() == "BOOK"
        indicator = _first(f, "CdtDbtInd")
        raw_amount = _first(f, "Amt")
        currency = e.ccy or _first(block.scope.fields, "Acct/Ccy")

        def reject(code: RejectCode, **kw: str | None) -> None:
            self.rejects.append(make_reject(code, path=self.path, line=e.line, **kw))

        if not booked:
            reject(RejectCode.NOT_BOOKED, field=None, value=status)
            return
        if indicator not in ("CRDT", "DBIT"):
            if block.check is not None:
                block.check.add(None, None)
            reject(RejectCode.BAD_ENUM, field="amount", value=indicator or "", detail="CRDT, DBIT")
            return
        sign = "-" if indicator == "DBIT" else ""
        amount: str | None = None
        exact: Decimal | None = None
        if raw_amount is not None:
            try:
                amount = round_yuan_text(sign + raw_amount)
                exact = Decimal(sign + raw_amount)
            except (MoneyError, InvalidOperation):
                if block.check is not None:
                    block.check.add(None, None)
                reject(RejectCode.BAD_AMOUNT, field="amount", value=raw_amount)
                return
        if block.check is not None:
            block.check.add(exact, currency)
        booking = _date(f, "BookgDt")
        value = _date(f, "ValDt")
        role = "Dbtr" if indicator == "CRDT" else "Cdtr"
        names = _distinct(
            _first(tx, f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")
            or _first(tx, f"RltdPties/Ultmt{role}/Nm", f"RltdPties/Ultmt{role}/Pty/Nm")
            for tx in e.txs
        )
        accounts = _distinct(
            _first(tx, f"RltdPties/{role}Acct/Id/IBAN", f"RltdPties/{role}Acct/Id/Othr/Id")
            for tx in e.txs
        )
        single = e.txs[0] if len(e.txs) == 1 else {}
        bank_ref = _first(f, "AcctSvcrRef", "NtryRef") or _first(single, "Refs/AcctSvcrRef")
        self.sink.add(
            e.line,
            {
                "account_no": _first(block.scope.fields, "Acct/Id/IBAN", "Acct/Id/Othr/Id"),
                "booking_date": booking or value,
                "value_date": value or booking,
                "amount": amount,
                "currency": currency,
                "counterparty_name": clean_text("; ".join(names)),
                "counterparty_account": accounts[0] if len(accounts) == 1 else None,
                "reference": _reference(e),
                "balance": None,
                "bank_txn_id": unique_txn_id(
                    bank_ref, block.scope.fields["__id__"][0], block.position, block.ids
                ),
            },
        )

    def _close_block(self, block: _Block) -> None:
        closing = next(
            (b for b in block.balances if _first(b.fields, "Tp/CdOrPrtry/Cd") == "CLBD"), None
        )
        if block.check is None or closing is None:
            return
        amount = _signed(closing.fields)
        if amount is None:
            return
        detail = block.check.mismatch(amount, closing.ccy)
        if detail is not None:
            self.rejects.append(
                make_reject(
                    RejectCode.BALANCE_MISMATCH,
                    path=self.path,
                    line=closing.line,
                    field="balance",
                    detail=detail,
                )
            )


def _keep(scope: _Scope, path: str, text: str, keys: frozenset[str]) -> None:
    key = path[len(scope.prefix) + 1 :]
    if key in keys:
        scope.fields.setdefault(key, []).append(text)


def _signed(fields: _Fields) -> Decimal | None:
    """A balance's amount signed by its CdtDbtInd (None: unreadable)."""
    raw = _first(fields, "Amt")
    ind = _first(fields, "CdtDbtInd")
    if raw is None or ind not in ("CRDT", "DBIT"):
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return -amount if ind == "DBIT" else amount


def _date(fields: _Fields, element: str) -> str | None:
    dt = _first(fields, f"{element}/Dt")
    if dt:
        return dt
    stamp = _first(fields, f"{element}/DtTm")
    return stamp[:10] if stamp else None


def _distinct(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def _reference(e: _Entry) -> str | None:
    lines = _distinct(u for tx in e.txs for u in tx.get("RmtInf/Ustrd", ()))
    if lines:
        return clean_text(" ".join(lines))
    for key in ("RmtInf/Strd/CdtrRefInf/Ref", "Refs/EndToEndId", "AddtlTxInf"):
        found = _distinct(v for tx in e.txs for v in tx.get(key, ()) if v.upper() != "NOTPROVIDED")
        if found:
            return clean_text("; ".join(found))
    return clean_text(_first(e.fields, "AddtlNtryInf"))


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, _internal: int) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name: str, _is_param: int, value: str | None, base: str | None,
                   sysid: str | None, pubid: str | None, notation: str | None) -> None:  # fmt: skip
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed(name: str, base: str | None, sysid: str | None, pubid: str | None,
                     notation: str | None) -> None:  # fmt: skip
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None,
                     pubid: str | None) -> int:  # fmt: skip
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _declared_encoding(head: bytes) -> str | None:
    """The Python codec of the encoding the XML declaration names, when not UTF-8-like."""
    m = _DECLARED.match(head)
    if not m:
        return None
    return m.group(1).decode("ascii")


def _new_parser(override: str | None) -> Any:
    parser = expat.ParserCreate(override)
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed
    parser.ExternalEntityRefHandler = _forbid_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


@dataclass(frozen=True, slots=True)
class CamtFormat:
    """ISO 20022 camt.052/053/054 XML, kind ``bank_statement`` (see the module docstring)."""

    @property
    def name(self) -> str:
        return "iso20022.camt"

    @property
    def kind(self) -> Kind:
        return Kind.BANK_STATEMENT

    def identify(self, head: FileHead) -> Identification:
        data = head.head
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            data = data.decode("utf-16", errors="replace").encode("utf-8")
        root = _ROOT_TAG.search(data)
        if root and _NS_BYTES.search(root.group(0)):
            return Identification(
                format=self.name,
                kind=self.kind,
                confidence=0.99,
                closeness=1.0,
                reads_text=False,
            )
        looks_xml = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
        named = bool(_ROOT_NAMES.search(data))
        return Identification(
            format=self.name,
            kind=self.kind,
            confidence=0.0,
            missing=("Document xmlns=urn:iso:std:iso:20022:tech:xsd:camt.05x",),
            closeness=0.6 if named else (0.1 if looks_xml else 0.0),
            reads_text=False,
        )

    def read(self, ctx: ReadContext, source: SourceFile) -> ReadResult:
        sink = RowSink(ctx, Kind.BANK_STATEMENT, batch=_BATCH)
        path = str(source.path)
        reader: _CamtReader | None = None
        problem: Reject | None = None
        try:
            reader = _parse(source.data_path, path, sink, ctx.progress)
        except _NotCamtError as exc:
            problem = make_reject(RejectCode.UNREADABLE_FILE, path=path, detail=str(exc))
        except DefusedXmlException as exc:
            problem = make_reject(RejectCode.FORBIDDEN_XML, path=path, detail=str(exc))
        except expat.ExpatError as exc:
            problem = make_reject(
                RejectCode.UNREADABLE_FILE,
                path=path,
                detail=f"XML error at line {exc.lineno}, column {exc.offset}: "
                f"{expat.ErrorString(exc.code)}",
            )
        except (LookupError, UnicodeDecodeError) as exc:
            problem = make_reject(
                RejectCode.UNREADABLE_FILE, path=path, detail=f"XML encoding: {exc}"
            )
        if problem is None and reader is not None and reader.blocks == 0:
            problem = make_reject(
                RejectCode.UNREADABLE_FILE,
                path=path,
                detail=f"{reader.root or 'the message'} has no {reader.block_name or 'Stmt'}",
            )
        if problem is not None or reader is None:
            sink.close()
            assert problem is not None
            return ReadResult(table=ctx.table, rows_read=0, rejects=(problem,), method="python")
        sink.close()
        rejects = tuple(sorted(reader.rejects, key=lambda r: r.line or 0))
        return ReadResult(
            table=ctx.table, rows_read=reader.entries, rejects=rejects, method="python"
        )


def _parse(
    data_path: Path, path: str, sink: RowSink, progress: Callable[[float], None]
) -> _CamtReader:
    size = max(data_path.stat().st_size, 1)
    with data_path.open("rb") as f:
        first = f.read(_CHUNK)
        declared = _declared_encoding(first[:1024])
        codec = codecs.lookup(declared).name.replace("-", "_") if declared else None
        transcode = codec is not None and codec not in _EXPAT_ENCODINGS
        parser = _new_parser("UTF-8" if transcode else None)
        reader = _CamtReader(path, sink, parser)
        parser.StartElementHandler = reader.start
        parser.EndElementHandler = reader.end
        parser.CharacterDataHandler = reader.chars
        decoder = codecs.getincrementaldecoder(codec)() if transcode and codec else None
        chunk = first
        done = 0
        while chunk:
            done += len(chunk)
            parser.Parse(decoder.decode(chunk).encode() if decoder else chunk, False)
            progress(min(done / size, 1.0))
            chunk = f.read(_CHUNK)
        parser.Parse(decoder.decode(b"", final=True).encode() if decoder else b"", True)
    return reader


CAMT = CamtFormat()
