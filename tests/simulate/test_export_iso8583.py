"""The benchmark's hex log: what pyiso8583 encodes, byte for byte; it reads back as the journal."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import iso8583
import pytest

from daozhang.domain.records import Kind
from daozhang.ingest.iso8583_specs import CUP_POS
from daozhang.simulate.export_iso8583 import export_iso8583, row_lines
from daozhang.simulate.writer import HEADERS
from tests.helpers.golden import read_file

BASE = {
    "merchant_id": "898340153990001",
    "terminal_id": "10016919",
    "batch_no": "000001",
    "card": "",
    "currency": "CNY",
    "response_code": "00",
    "auth_code": "",
    "orig_rrn": "",
}
ROWS = [
    {"trace_no": "000101", "rrn": "110209000101", "txn_time": "2026-11-02T09:00:00",
     "txn_type": "sale", "channel": "debit_card", "card": "6224242300000069",
     "amount": "58.00", "result": "approved", "auth_code": "123456"},
    {"trace_no": "000102", "rrn": "110209000102", "txn_time": "2026-11-02T09:10:00",
     "txn_type": "sale", "channel": "credit_card", "card": "622848******1234",
     "amount": "1234567.89", "result": "declined", "response_code": "51"},
    {"trace_no": "000103", "rrn": "", "txn_time": "2026-11-02T09:20:00", "txn_type": "sale",
     "channel": "wechat", "amount": "0.01", "result": "timeout", "response_code": ""},
    {"trace_no": "000104", "rrn": "110209000104", "txn_time": "2026-11-02T09:30:00",
     "txn_type": "sale", "channel": "alipay", "amount": "12.3", "result": "reversed"},
    {"trace_no": "000105", "rrn": "", "txn_time": "2026-11-02T09:40:00", "txn_type": "sale",
     "channel": "unionpay_qr", "amount": "7.00", "result": "reversed"},
    {"trace_no": "000106", "rrn": "", "txn_time": "2026-11-02T09:50:00", "txn_type": "sale",
     "channel": "debit_card", "amount": "66.00", "result": "reversal_unconfirmed"},
    {"trace_no": "000107", "rrn": "110210000107", "txn_time": "2026-11-02T10:00:00",
     "txn_type": "void", "channel": "debit_card", "amount": "58.00", "result": "approved",
     "orig_rrn": "110209000101"},
    {"trace_no": "000108", "rrn": "110211000108", "txn_time": "2026-11-02T11:00:00",
     "txn_type": "refund", "channel": "credit_card", "amount": "20.00", "result": "approved",
     "orig_rrn": "110209000102"},
    {"trace_no": "000109", "rrn": "110212000109", "txn_time": "2026-11-02T12:00:00",
     "txn_type": "preauth_complete", "channel": "credit_card", "amount": "480.00",
     "result": "approved", "auth_code": "P10901"},
]  # fmt: skip
ROWS = [{**BASE, **r} for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['txn_type']}-{r['result']}")
def test_every_message_is_what_pyiso8583_encodes(row: dict[str, str]) -> None:
    for line in row_lines(row):
        raw = bytes.fromhex(line.split()[-1])
        decoded, _ = iso8583.decode(raw, CUP_POS.fields)
        again, _ = iso8583.encode(dict(decoded), dict(CUP_POS.fields))
        assert bytes(again) == raw


def test_a_journal_exported_as_a_log_reads_back_as_the_same_journal(tmp_path: Path) -> None:
    journal = tmp_path / "pos_journal.csv"
    with journal.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, HEADERS[Kind.POS_JOURNAL])
        w.writeheader()
        w.writerows(ROWS)
    log = tmp_path / "pos.log"
    assert export_iso8583([journal], log) == len(ROWS)
    read = read_file(log)
    assert read.format == "iso8583.cup_pos" and read.rejects == ()
    got = {r["trace_no"]: r for r in read.records}
    for row in ROWS:
        rec = got[row["trace_no"]]
        qr = row["channel"] in ("wechat", "alipay", "unionpay_qr")
        assert rec["channel"] == ("unionpay_qr" if qr else row["channel"])
        assert (rec["txn_type"], rec["result"], rec["txn_time"]) == (
            row["txn_type"], row["result"], row["txn_time"],
        )  # fmt: skip
        assert Decimal(str(rec["amount"])) == Decimal(row["amount"])
        assert (rec["rrn"] or "") == row["rrn"]
        assert (rec["orig_rrn"] or "") == row["orig_rrn"]
        full = row["card"].isdigit()
        assert rec["card"] == ("622424******0069" if full else None)
