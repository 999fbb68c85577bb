"""Canonical QR settlement rows written as platform bills read back as the same money."""

from __future__ import annotations

from pathlib import Path

from daozhang.simulate.export_bills import export_bills
from tests.helpers.golden import read_file

# ruff: noqa: E501 - rows of a CSV file are kept whole to stay readable

SETTLEMENT = """acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,card,amount,fee,net_amount,settle_date,payout_id
通联支付,859510172301065,丝语美发沙龙,7230,15455298,004474,250261,625700001848,2026-09-14T10:29:19,sale,wechat,,40.00,0.10,39.90,2026-09-15,TL20260915000001
通联支付,859510172301065,丝语美发沙龙,7230,15455298,004474,250262,625700001859,2026-09-14T10:43:44,sale,alipay,,113.16,0.34,112.82,2026-09-15,TL20260915000001
通联支付,859510172301065,丝语美发沙龙,7230,15455298,004474,250263,625700001860,2026-09-14T11:00:00,sale,debit_card,621700******2485,20.00,0.08,19.92,2026-09-15,TL20260915000001
通联支付,859510172301065,丝语美发沙龙,7230,15455298,004475,250300,625800002001,2026-09-14T18:00:00,refund,wechat,,-19.00,-0.05,-18.95,2026-09-15,TL20260915000001
通联支付,859510172301065,丝语美发沙龙,7230,15455298,004475,250301,625800002002,2026-09-15T09:00:00,refund,alipay,,-13.16,-0.04,-13.12,2026-09-16,TL20260916000001
"""


def test_qr_rows_become_one_bill_per_merchant_and_day_and_read_back(tmp_path: Path) -> None:
    src = tmp_path / "ALLINPAY_20260915.csv"
    src.write_text(SETTLEMENT, encoding="utf-8")
    done = export_bills([src], tmp_path / "bills", rest=tmp_path / "rest.csv")
    assert (done.bill_rows, done.rest_rows) == (4, 1)
    assert [p.name for p in done.wechat] == ["859510172301065_20260914_ALL.csv"]
    assert sorted(p.name for p in done.alipay) == [
        "859510172301065_20260914_业务明细.csv",
        "859510172301065_20260915_业务明细.csv",
    ]
    wx = read_file(done.wechat[0])
    assert wx.format == "wechat.tradebill" and not wx.rejects
    got = [(r["rrn"], r["txn_type"], r["amount"], r["fee"], r["net_amount"]) for r in wx.records]
    assert got == [
        ("625700001848", "sale", "40.00", "0.10", "39.90"),
        ("625800002001", "refund", "-19.00", "-0.05", "-18.95"),
    ]
    assert {(r["merchant_id"], r["terminal_id"]) for r in wx.records} == {
        ("859510172301065", "15455298")
    }
    ali = [read_file(p) for p in sorted(done.alipay)]
    assert all(a.format == "alipay.tradebill" and not a.rejects for a in ali)
    assert [(r["rrn"], r["amount"], r["fee"]) for a in ali for r in a.records] == [
        ("625700001859", "113.16", "0.34"),
        ("625800002002", "-13.16", "-0.04"),
    ]
    # the Alipay bill is GB18030, as the platform delivers it
    assert "业务明细".encode("gb18030") in done.alipay[0].read_bytes()
    rest = read_file(tmp_path / "rest.csv")
    assert [r["channel"] for r in rest.records] == ["debit_card"]


def test_no_bill_carries_fields_a_platform_does_not_have(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text(SETTLEMENT, encoding="utf-8")
    done = export_bills([src], tmp_path / "bills")
    for path in (*done.wechat, *done.alipay):
        data = path.read_bytes()
        for absent in (b"TL2026091", b"004474", b"250261", b"2026-09-15,"):
            assert absent not in data, (path.name, absent)
