"""Canonical ``bank_statement`` CSVs written again as a camt.053 document or an MT940 file.

The simulator writes bank statements as canonical CSV (one file per account,
see :mod:`daozhang.simulate.writer`). Real banks send camt.053 or MT940; to
test that both read back to the same records, and to time them at scale,
this module converts the CSV rows, streaming, into:

* :func:`export_camt053`: one ``camt.053.001.02`` document with one ``Stmt``
  per account and booking day;
* :func:`export_mt940`: one MT940 statement per account and booking day.

Each statement's opening balance is the first row's balance minus its
amount (or, when the CSV has no balances, the account's previous closing
balance, starting at zero); its closing balance is the last row's balance
(or opening + entries). Rows are grouped as they come: the CSV is expected in
account and date order (as the simulator writes it); a row out of order just
starts another statement. Memory holds one statement; 1M entries are written
in seconds.

How the fields are carried, so that the readers give the same record back:
the bank's id as ``AcctSvcrRef`` / the ``//`` bank reference of ``:61:``;
the counterparty as ``Dbtr``/``Cdtr`` (credit/debit) with ``Othr/Id`` or
``IBAN`` / the Dutch structured ``:86:`` ``/CNTP/account//name//``; the
reference as ``Ustrd`` / ``/REMI/USTD//reference/``. MT940 has no way to
quote a ``/`` inside those fields, nor a line break anywhere: such a row is
refused with :class:`ValueError` rather than written so that it reads back
differently.

>>> import tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text(
...     "account_no,booking_date,value_date,amount,currency,counterparty_name,"
...     "counterparty_account,reference,balance,bank_txn_id\\n"
...     "6222,2026-03-02,2026-03-02,100.50,CNY,LKL,110907,LKL001,1100.50,ICBC1\\n")
>>> export_mt940([d / "a.csv"], d / "a.sta")
1
>>> print((d / "a.sta").read_text().splitlines()[4])
:61:2603020302C100,50NTRFNONREF//ICBC1
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from daozhang.domain.money import format_yuan, parse_yuan

__all__ = ["StatementRow", "export_camt053", "export_mt940", "read_statement_rows"]

_FIELDS = (
    "account_no",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_account",
    "reference",
    "balance",
    "bank_txn_id",
)
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
_WRAP = 65


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One canonical bank statement row; ``amount_fen``/``balance_fen`` parsed."""

    account_no: str
    booking_date: str
    value_date: str
    amount_fen: int
    currency: str
    counterparty_name: str
    counterparty_account: str
    reference: str
    balance_fen: int | None
    bank_txn_id: str


@dataclass(frozen=True, slots=True)
class _Statement:
    account: str
    day: str
    currency: str
    opening_fen: int
    closing_fen: int
    rows: list[StatementRow]


def _encoding(path: Path) -> str:
    """UTF-8 (BOM or not) when the head decodes as UTF-8, else GB18030 (as the importer)."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    cut = head.rfind(b"\n")
    try:
        (head[: cut + 1] if cut >= 0 else head).decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def read_statement_rows(paths: Iterable[Path]) -> Iterator[StatementRow]:
    """The rows of canonical bank statement CSVs, in file order."""
    for path in paths:
        with path.open(encoding=_encoding(path), newline="") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            pos = {name: header.index(name) if name in header else None for name in _FIELDS}

            def cell(row: list[str], name: str, pos: dict[str, int | None] = pos) -> str:
                i = pos[name]
                return row[i].strip() if i is not None and i < len(row) else ""

            for row in reader:
                if not any(row):
                    continue
                balance = cell(row, "balance")
                yield StatementRow(
                    account_no=cell(row, "account_no"),
                    booking_date=cell(row, "booking_date"),
                    value_date=cell(row, "value_date") or cell(row, "booking_date"),
                    amount_fen=parse_yuan(cell(row, "amount")),
                    currency=cell(row, "currency") or "CNY",
                    counterparty_name=cell(row, "counterparty_name"),
                    counterparty_account=cell(row, "counterparty_account"),
                    reference=cell(row, "reference"),
                    balance_fen=parse_yuan(balance) if balance else None,
                    bank_txn_id=cell(row, "bank_txn_id"),
                )


def _statements(rows: Iterable[StatementRow]) -> Iterator[_Statement]:
    closing: dict[str, int] = {}
    group: list[StatementRow] = []

    def flush() -> _Statement:
        first, last = group[0], group[-1]
        total = sum(r.amount_fen for r in group)
        if first.balance_fen is not None:
            opening = first.balance_fen - first.amount_fen
        else:
            opening = closing.get(first.account_no, 0)
        end = last.balance_fen if last.balance_fen is not None else opening + total
        closing[first.account_no] = end
        return _Statement(first.account_no, first.booking_date, first.currency, opening, end, group)

    for row in rows:
        if group and (row.account_no, row.booking_date, row.currency) != (
            group[0].account_no,
            group[0].booking_date,
            group[0].currency,
        ):
            yield flush()
            group = []
        group.append(row)
    if group:
        yield flush()


# -- camt.053 ---------------------------------------------------------------


def export_camt053(sources: Iterable[Path], out: Path, *, msg_id: str = "DAOZHANG-SIM") -> int:
    """Write the rows of ``sources`` as one camt.053.001.02 document; the number of entries."""
    count = 0
    with out.open("w", encoding="utf-8", newline="\n") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(f'<Document xmlns="{_CAMT_NS}">\n<BkToCstmrStmt>\n')
        f.write(f"<GrpHdr><MsgId>{escape(msg_id[:35])}</MsgId>")
        f.write("<CreDtTm>2026-01-01T00:00:00</CreDtTm></GrpHdr>\n")
        for n, stmt in enumerate(_statements(read_statement_rows(sources)), 1):
            count += _camt_statement(f, stmt, n)
        f.write("</BkToCstmrStmt>\n</Document>\n")
    return count


def _acct_xml(account: str) -> str:
    if _IBAN.match(account):
        return f"<Id><IBAN>{escape(account)}</IBAN></Id>"
    return f"<Id><Othr><Id>{escape(account)}</Id></Othr></Id>"


def _bal_xml(code: str, fen: int, ccy: str, day: str) -> str:
    ind = "DBIT" if fen < 0 else "CRDT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f"<Amt Ccy={quoteattr(ccy)}>{format_yuan(abs(fen))}</Amt>"
        f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>\n"
    )


def _stmt_id(stmt: _Statement, n: int) -> str:
    ident = f"{stmt.day.replace('-', '')}-{stmt.account}"
    if len(ident) <= 35:
        return ident
    return f"{stmt.day.replace('-', '')}-{hashlib.sha256(stmt.account.encode()).hexdigest()[:16]}"


def _camt_statement(f: TextIO, stmt: _Statement, n: int) -> int:
    ccy = quoteattr(stmt.currency)
    parts = [
        f"<Stmt>\n<Id>{escape(_stmt_id(stmt, n))}</Id><ElctrncSeqNb>{n}</ElctrncSeqNb>"
        f"<CreDtTm>{stmt.day}T23:59:59</CreDtTm>\n",
        f"<Acct>{_acct_xml(stmt.account)}<Ccy>{escape(stmt.currency)}</Ccy></Acct>\n",
        _bal_xml("OPBD", stmt.opening_fen, stmt.currency, stmt.day),
        _bal_xml("CLBD", stmt.closing_fen, stmt.currency, stmt.day),
    ]
    for r in stmt.rows:
        credit = r.amount_fen >= 0
        role = "Dbtr" if credit else "Cdtr"
        parties = ""
        if r.counterparty_name:
            parties += f"<{role}><Nm>{escape(r.counterparty_name)}</Nm></{role}>"
        if r.counterparty_account:
            parties += f"<{role}Acct>{_acct_xml(r.counterparty_account)}</{role}Acct>"
        details = f"<RltdPties>{parties}</RltdPties>" if parties else ""
        if r.reference:
            details += f"<RmtInf><Ustrd>{escape(r.reference)}</Ustrd></RmtInf>"
        ref = f"<AcctSvcrRef>{escape(r.bank_txn_id)}</AcctSvcrRef>" if r.bank_txn_id else ""
        family = "RCDT" if credit else "ICDT"
        parts.append(
            f"<Ntry><Amt Ccy={ccy}>{format_yuan(abs(r.amount_fen))}</Amt>"
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{r.booking_date}</Dt></BookgDt><ValDt><Dt>{r.value_date}</Dt></ValDt>"
            f"{ref}<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd>"
            f"<SubFmlyCd>OTHR</SubFmlyCd></Fmly></Domn></BkTxCd>"
            + (f"<NtryDtls><TxDtls>{details}</TxDtls></NtryDtls>" if details else "")
            + "</Ntry>\n"
        )
    parts.append("</Stmt>\n")
    f.write("".join(parts))
    return len(stmt.rows)


# -- MT940 ------------------------------------------------------------------


def export_mt940(sources: Iterable[Path], out: Path) -> int:
    """Write the rows of ``sources`` as MT940 statements; the number of entries."""
    count = 0
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for n, stmt in enumerate(_statements(read_statement_rows(sources)), 1):
            f.write(_mt940_statement(stmt, n))
            count += len(stmt.rows)
    return count


def _mt_amount(fen: int) -> str:
    return format_yuan(abs(fen)).replace(".", ",")


def _mt_balance(tag: str, fen: int, ccy: str, day: dt.date) -> str:
    return f":{tag}:{'D' if fen < 0 else 'C'}{day:%y%m%d}{ccy}{_mt_amount(fen)}\n"


def _check(value: str, what: str, *, slash: bool) -> str:
    if "\n" in value or "\r" in value or (slash and "/" in value):
        raise ValueError(f"MT940 cannot carry this {what}: {value!r}")
    return value


def _wrap(text: str) -> list[str]:
    """``text`` in lines of at most 65 characters that read back joined without a gap.

    No line may end or start with a space (the reader strips them), start
    with ``:`` (it would look like a tag) or be just ``-`` (an end marker).
    """
    lines: list[str] = []
    while len(text) > _WRAP:
        cut = _WRAP
        while cut > 1 and (text[cut - 1] == " " or text[cut] in " :-"):
            cut -= 1
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines


def _mt940_statement(stmt: _Statement, n: int) -> str:
    day = dt.date.fromisoformat(stmt.day)
    account = _check(stmt.account, "account", slash=False)
    out = [
        f":20:D{day:%Y%m%d}{n % 10_000_000:07d}\n:25:{account}\n:28C:{n % 100_000}/1\n",
        _mt_balance("60F", stmt.opening_fen, stmt.currency, day),
    ]
    for r in stmt.rows:
        value = dt.date.fromisoformat(r.value_date)
        booking = dt.date.fromisoformat(r.booking_date)
        ref = _check(r.bank_txn_id, "bank_txn_id", slash=True)
        if len(ref) > 23:
            raise ValueError(f"MT940 bank references hold 23 characters: {ref!r}")
        mark = "C" if r.amount_fen >= 0 else "D"
        bank_ref = f"//{ref}" if ref else ""
        out.append(
            f":61:{value:%y%m%d}{booking:%m%d}{mark}{_mt_amount(r.amount_fen)}NTRFNONREF{bank_ref}\n"
        )
        details = ""
        if r.counterparty_name or r.counterparty_account:
            name = _check(r.counterparty_name, "counterparty_name", slash=True)
            acct = _check(r.counterparty_account, "counterparty_account", slash=True)
            details += f"/CNTP/{acct}//{name}//"
        if r.reference:
            details += f"/REMI/USTD//{_check(r.reference, 'reference', slash=False)}/"
        if details:
            out.append(":86:" + "\n".join(_wrap(details)) + "\n")
    out.append(_mt_balance("62F", stmt.closing_fen, stmt.currency, day))
    out.append("-\n")
    return "".join(out)
