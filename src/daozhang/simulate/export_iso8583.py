"""A canonical POS journal written out as a CUP POS ISO 8583 hex log: the message-log benchmark.

Each journal row becomes the messages its terminal would have logged, one
hex line each, prefixed with the row's time and a direction (the layout
:mod:`daozhang.ingest.iso8583_log` reads):

============================ =========================================================
result                       messages
============================ =========================================================
approved / declined          request, response (F39 = response_code; RRN, auth code)
timeout                      request
reversed                     request, the response if the row has an RRN, 0400, 0410
reversal_unconfirmed         request, 0400, 0401
============================ =========================================================

Requests: sale 0200 (F3 000000, 60.1 22), void 0200 (200000, 23, F37 = the
original RRN), refund 0220 (200000, 25, F37 = the original RRN),
pre-authorisation completion 0200 (000000, 20). Channel: credit card as the
from-account 30 of F3, QR as entry mode 03 (F22), debit card as 05; a
WeChat Pay or Alipay row is a QR payment too and so reads back as
``unionpay_qr`` (the CUP layout has no field that names the wallet). The
card goes out only when the row holds a full number (a masked one cannot be
encoded). Amounts are exact: the yuan text is turned into fen as text.

Why not pyiso8583 to encode: a million transactions are two to three million
messages; the layout's fields are BCD digits or ASCII, so their hex is
written directly, about 20 times faster. ``tests/simulate/test_export_iso8583.py``
checks that every message is byte for byte what pyiso8583 encodes.

>>> row = {"merchant_id": "898340153990001", "terminal_id": "10016919", "batch_no": "000001",
...        "trace_no": "000101", "rrn": "110209000101", "txn_time": "2026-11-02T09:00:00",
...        "txn_type": "sale", "channel": "debit_card", "card": "", "amount": "58.00",
...        "result": "approved", "response_code": "00", "auth_code": "123456", "orig_rrn": ""}
>>> [line[:33] for line in row_lines(row)]
['2026-11-02 09:00:00 SEND 60000300', '2026-11-02 09:00:00 RECV 60000300']
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = ["encode_hex", "export_iso8583", "main", "row_lines"]

_HEADER = "6000030000603100310100"
_TYPES = {  # txn_type -> (request MTI, F3 prefix, F60.1)
    "sale": ("0200", "00", "22"),
    "void": ("0200", "20", "23"),
    "refund": ("0220", "20", "25"),
    "preauth_complete": ("0200", "00", "20"),
}
_ENTRY = {"credit_card": "051", "debit_card": "051"}  # QR channels: 031


def _ascii(text: str) -> str:
    return text.encode("ascii").hex().upper()


def encode_hex(mti: str, fields: Mapping[int, str]) -> str:
    """One CUP POS message as upper-case hex, for the fields this exporter uses.

    Fields 3, 4, 11, 12, 13 and 25 are fixed BCD (their hex is their digits),
    22 is 3 BCD digits right-padded, 2 is LLVAR BCD, 60 LLLVAR BCD (nibble
    count), 37, 38, 39, 41, 42 and 49 fixed ASCII: the built-in layout
    (:func:`daozhang.ingest.iso8583_specs.cup_pos_fields`).
    """
    bitmap = 0
    parts: list[str] = []
    for n in sorted(fields):
        v = fields[n]
        bitmap |= 1 << (64 - n)
        if n == 2:
            parts.append(f"{len(v):02d}{v}{'0' if len(v) % 2 else ''}")
        elif n == 22:
            parts.append(v + "0")
        elif n == 60:
            parts.append(f"{len(v):04d}{v}{'0' if len(v) % 2 else ''}")
        elif n in (37, 38, 39, 41, 42, 49):
            parts.append(_ascii(v))
        else:
            parts.append(v)
    return f"{_HEADER}{mti}{bitmap:016X}{''.join(parts)}"


def _fen12(amount: str) -> str:
    whole, _, frac = amount.strip().partition(".")
    return f"{int(whole or '0') * 100 + int((frac + '00')[:2]):012d}"


def row_lines(row: Mapping[str, str]) -> list[str]:
    """The log lines of one journal row (see the module docstring)."""
    mti, pc, t601 = _TYPES[row["txn_type"]]
    channel = row["channel"]
    stamp = row["txn_time"].replace("T", " ")
    date, time = row["txn_time"][5:10].replace("-", ""), row["txn_time"][11:19].replace(":", "")
    req: dict[int, str] = {
        3: pc + ("30" if channel == "credit_card" else "00") + "00",
        4: _fen12(row["amount"]),
        11: row["trace_no"].zfill(6)[-6:],
        12: time,
        13: date,
        22: _ENTRY.get(channel, "031"),
        25: "00",
        41: row["terminal_id"].ljust(8)[:8],
        42: row["merchant_id"].ljust(15)[:15],
        49: "156",
        60: t601 + row["batch_no"].zfill(6)[-6:],
    }
    card = row.get("card") or ""
    if card.isdigit() and 13 <= len(card) <= 19:
        req[2] = card
    if row["txn_type"] in ("void", "refund") and row.get("orig_rrn"):
        req[37] = row["orig_rrn"].ljust(12)[:12]
    out = [f"{stamp} SEND {encode_hex(mti, req)}"]
    result, rrn = row["result"], row.get("rrn") or ""
    resp_mti = mti[:2] + str(int(mti[2]) + 1) + "0"
    if result in ("approved", "declined") or (result == "reversed" and rrn):
        resp = {k: v for k, v in req.items() if k in (2, 3, 4, 11, 12, 13, 25, 41, 42, 49, 60)}
        code = row.get("response_code") or ("00" if result == "approved" else "05")
        resp[39] = "00" if result == "reversed" else code.ljust(2)[:2]
        if rrn:
            resp[37] = rrn.ljust(12)[:12]
        if row.get("auth_code"):
            resp[38] = row["auth_code"].ljust(6)[:6]
        out.append(f"{stamp} RECV {encode_hex(resp_mti, resp)}")
    if result in ("reversed", "reversal_unconfirmed"):
        rev = {k: v for k, v in req.items() if k in (2, 3, 4, 11, 22, 25, 41, 42, 49, 60)}
        rev[39] = "98"
        out.append(f"{stamp} SEND {encode_hex('0400', rev)}")
        if result == "reversed":
            ack = {k: v for k, v in rev.items() if k != 22}
            ack[39] = "00"
            out.append(f"{stamp} RECV {encode_hex('0410', ack)}")
        else:
            out.append(f"{stamp} SEND {encode_hex('0401', rev)}")
    return out


def _rows(paths: Iterable[Path]) -> Iterator[dict[str, str]]:
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as f:
            yield from csv.DictReader(f)


def export_iso8583(journals: Iterable[Path], out: Path) -> int:
    """Write the rows of the canonical POS journal CSVs ``journals`` to ``out``; the row count."""
    n = 0
    with out.open("w", encoding="ascii", newline="\n") as f:
        buf: list[str] = []
        for row in _rows(journals):
            buf += row_lines(row)
            n += 1
            if len(buf) >= 65_536:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")
    return n


def main(argv: list[str] | None = None) -> int:
    """``python -m daozhang.simulate.export_iso8583 OUT.log JOURNAL.csv...``"""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m daozhang.simulate.export_iso8583 OUT.log JOURNAL.csv...")
        return 2
    n = export_iso8583([Path(a) for a in args[1:]], Path(args[0]))
    print(f"{n} transactions written to {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
