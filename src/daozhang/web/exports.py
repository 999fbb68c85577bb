"""The filtered exception list as a CSV file and an Excel workbook.

Both files have the same columns, headed in the user's language, one
exception a row, from :func:`daozhang.service.exceptions.exception_record`
(the CLI's JSON contract), so a file agrees with the page and the API.

* CSV: UTF-8 with a byte-order mark, so that Excel on a Chinese Windows
  opens the Chinese correctly instead of reading it as GBK. A cell that a
  spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
  ``@``) gets a leading apostrophe; amounts are plain ``1234.50``.
* Excel: amounts are numbers formatted ``0.00``, computed from integer fen
  divided by 100 here, at the very edge, so they add up in Excel; merchant,
  terminal, reference and payout numbers are written as text (a 15-digit
  merchant number as a number would show as ``8.98E+14`` and lose digits).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import xlsxwriter

from daozhang.report.explain import Lang
from daozhang.service.exceptions import exception_record
from daozhang.store.findings import StoredException
from daozhang.web.i18n import say

__all__ = ["EXPORT_COLUMNS", "csv_chunks", "xlsx_bytes"]

# (field of exception_record, word in web/i18n.py, kind: text | money | id)
EXPORT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "col_id", "id"),
    ("title", "col_title", "text"),
    ("type", "col_type", "id"),
    ("status", "col_status", "text"),
    ("merchant_id", "col_merchant_id", "id"),
    ("terminal_id", "col_terminal_id", "id"),
    ("batch_no", "col_batch_no", "id"),
    ("trace_no", "col_trace_no", "id"),
    ("rrn", "col_rrn", "id"),
    ("payout_id", "col_payout_id", "id"),
    ("bank_txn_id", "col_bank_txn_id", "id"),
    ("amount", "col_amount", "money"),
    ("expected", "col_expected", "text"),
    ("actual", "col_actual", "text"),
    ("explanation", "col_explanation", "text"),
    ("next_action", "col_next_action", "text"),
    ("due_date", "col_due_date", "id"),
    ("opened_at", "col_opened_at", "id"),
    ("resolution", "col_resolution", "text"),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _headers(lang: Lang) -> list[str]:
    return [say(word, lang) for _, word, _ in EXPORT_COLUMNS]


def _status(value: Any, lang: Lang) -> str:
    return say(f"status_{value}", lang) if value in ("open", "resolved") else str(value or "")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_chunks(items: Iterable[StoredException], lang: Lang) -> Iterator[bytes]:
    """The CSV file, a few hundred rows at a time (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(_headers(lang))
    for n, e in enumerate(items, start=1):
        rec = exception_record(e, lang)
        row = []
        for field, _, kind in EXPORT_COLUMNS:
            value = rec.get(field)
            if field == "status":
                value = _status(value, lang)
            row.append(value if kind == "money" else _csv_cell(value))
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(items: Iterable[StoredException], lang: Lang, *, sheet: str) -> bytes:
    """The Excel workbook: one sheet, a frozen header row, a filter, sensible widths."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    head = book.add_format({"bold": True, "bg_color": "#E8F1F0", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "0.00"})
    text = book.add_format({"text_wrap": False})
    ident = book.add_format({"num_format": "@"})
    widths = {"money": 12, "id": 18, "text": 30}
    for col, (field, _, kind) in enumerate(EXPORT_COLUMNS):
        width = 60 if field in ("explanation", "next_action") else widths[kind]
        ws.set_column(col, col, width)
    ws.write_row(0, 0, _headers(lang), head)
    row = 0
    for e in items:
        row += 1
        rec = exception_record(e, lang)
        for col, (field, _, kind) in enumerate(EXPORT_COLUMNS):
            if kind == "money":
                # The only float in the product: fen to yuan for Excel, at the edge.
                ws.write_number(row, col, e.amount_fen / 100, money)
                continue
            value = rec.get(field)
            if field == "status":
                value = _status(value, lang)
            if value is None or value == "":
                ws.write_blank(row, col, None, ident if kind == "id" else text)
            else:
                ws.write_string(row, col, str(value), ident if kind == "id" else text)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(row, 1), len(EXPORT_COLUMNS) - 1)
    book.close()
    return out.getvalue()
