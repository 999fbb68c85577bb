"""The filtered exception list as CSV (UTF-8, BOM) and Excel (numbers as numbers, ids as text)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl

from daozhang.web.exports import EXPORT_COLUMNS
from tests.web.conftest import ClientFor, SimSite


def test_csv_is_utf8_with_bom_and_holds_the_filtered_list(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    boss = client_for("boss")
    r = boss.get("/exceptions.csv?type=fee_mismatch&type=arrived_late")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["编号", "问题", "类型代码"]
    assert len(header) == len(EXPORT_COLUMNS)
    assert {row[2] for row in body} == {"fee_mismatch", "arrived_late"}
    assert len(body) == 5
    amount = header.index("涉及金额（元）")
    for row in body:
        assert Decimal(row[amount]) > 0 and "." in row[amount]
    english = boss.get("/exceptions.csv?type=fee_mismatch&lang=en").content.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("No.,Problem,Type")
    assert "Fee differs from the contract" in english


def test_excel_amounts_are_numbers_and_ids_are_text(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    boss = client_for("boss")
    r = boss.get("/exceptions.xlsx?status=all&sort=amount_desc")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    amount, mid, rrn = (
        header.index("涉及金额（元）"),
        header.index("商户号"),
        header.index("参考号"),
    )
    api = boss.get(
        "/api/v1/exceptions?status=all&per_page=500", headers=sim_site.bearer("boss")
    ).json()
    assert len(rows) - 1 == api["total"]
    for row, rec in zip(rows[1:], api["items"], strict=True):
        assert isinstance(row[amount], int | float)  # a number, not text
        assert Decimal(str(row[amount])).quantize(Decimal("0.01")) == Decimal(rec["amount"])
        assert row[mid] == rec["merchant_id"]  # text: all 15 digits
        if rec["merchant_id"]:
            assert isinstance(row[mid], str) and len(row[mid]) == 15
        if rec["rrn"]:
            assert isinstance(row[rrn], str)
    cell = sheet.cell(row=2, column=amount + 1)
    assert cell.number_format == "0.00"
    assert sheet.cell(row=2, column=mid + 1).number_format == "@"
    assert sheet.freeze_panes == "A2"
