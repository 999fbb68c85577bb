"""WeChat Pay and Alipay bills as a shop owner or bookkeeper downloads them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.domain.records import Kind
from daozhang.ingest.bills import (
    ALIPAY_PERSONAL,
    ALIPAY_TRADEBILL,
    BILL_FORMATS,
    WECHAT_FUNDFLOW,
    WECHAT_PERSONAL,
    WECHAT_TRADEBILL,
    clean,
)
from daozhang.ingest.encoding import UndecodableFileError
from daozhang.ingest.registry import FORMATS, Unrecognised, detect
from daozhang.ingest.rejects import RejectCode
from tests.helpers.golden import FileRead, check_golden, read_file
from tests.helpers.samples import sample

DERIVED = Path(__file__).resolve().parents[1] / "fixtures" / "derived"

SAMPLES = {
    "wechat_alipay_bills/wechatpay_merchant_tradebill_ALL.csv": WECHAT_TRADEBILL.name,
    "wechat_alipay_bills/wechatpay_merchant_fundflowbill_BASIC.csv": WECHAT_FUNDFLOW.name,
    "wechat_alipay_bills/wechat_personal_export.csv": WECHAT_PERSONAL.name,
    "wechat_alipay_bills/wechat_personal_export.xlsx": WECHAT_PERSONAL.name,
    "wechat_alipay_bills/alipay_personal_export_gb18030.csv": ALIPAY_PERSONAL.name,
}
DERIVED_SAMPLES = {
    "alipay_merchant_tradebill_gb18030.csv": ALIPAY_TRADEBILL.name,
    "alipay_merchant_tradebill_summary_mismatch_gb18030.csv": ALIPAY_TRADEBILL.name,
}

WECHAT_ALL_WITH_REFUND = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n"
    "`2026-03-01 10:15:00,`wx2421b1c4370ec43b,`1900000109,`1230000109,`10016919,"
    "`4200001234202603011234567890,`626000000101,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,"
    "`SUCCESS,`CMB_DEBIT,`CNY,`100.00,`0.00,`0,`0,`0.00,`0.00,`,`,`午餐,`,`0.38000,`0.38%,"
    "`100.00,`0.00,`\n"
    "`2026-03-01 16:40:00,`wx2421b1c4370ec43b,`1900000109,`1230000109,`10016919,"
    "`4200001234202603011234567890,`626000000101,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,"
    "`REFUND,`CMB_DEBIT,`CNY,`100.00,`0.00,`50300012342026030100000001,`626000000199,`40.00,"
    "`0.00,`ORIGINAL,`SUCCESS,`午餐,`,`-0.15200,`0.38%,`100.00,`40.00,`\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`2,`100.00,`40.00,`0.00,`0.22800,`100.00,`40.00\n"
)


def _write(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_real_bill_sample_reads_as_its_golden_file(name: str) -> None:
    path = sample(name)
    read = read_file(path)
    assert read.format == SAMPLES[name]
    check_golden(path, read)


@pytest.mark.parametrize("name", sorted(DERIVED_SAMPLES))
def test_alipay_merchant_trade_bill_in_gb18030_reads_as_its_golden_file(name: str) -> None:
    path = DERIVED / name
    read = read_file(path)
    assert read.format == DERIVED_SAMPLES[name]
    check_golden(path, read)


def test_cells_lose_backtick_tab_and_padding_but_ids_stay_text() -> None:
    assert clean("`4200000925202101284997714292") == "4200000925202101284997714292"
    assert clean("2023xxxxx88\t") == "2023xxxxx88"
    assert clean("`") == ""
    read = read_file(sample("wechat_alipay_bills/wechatpay_merchant_tradebill_ALL.csv"))
    assert next(r["rrn"] for r in read.records) == "S20210128170702357723"


def test_wechat_refund_is_negative_with_the_fee_handed_back(tmp_path: Path) -> None:
    read = read_file(_write(tmp_path, "bill.csv", WECHAT_ALL_WITH_REFUND))
    assert read.format == WECHAT_TRADEBILL.name and not read.rejects
    sale, refund = read.records
    assert (sale["merchant_id"], sale["terminal_id"], sale["rrn"]) == (
        "1230000109",
        "10016919",
        "626000000101",
    )
    assert (sale["txn_type"], sale["amount"], sale["fee"], sale["net_amount"]) == (
        "sale",
        "100.00",
        "0.38",
        "99.62",
    )
    # 0.15200 rounds once, half up, to 0.15; the refund keys by its own 商户退款单号.
    assert (refund["txn_type"], refund["amount"], refund["fee"], refund["net_amount"]) == (
        "refund",
        "-40.00",
        "-0.15",
        "-39.85",
    )
    assert refund["rrn"] == "626000000199" and refund["settle_date"] == "2026-03-01"
    assert refund["acquirer"] == "微信支付" and refund["channel"] == "wechat"


def test_wechat_fee_of_exactly_half_a_fen_rounds_up(tmp_path: Path) -> None:
    text = WECHAT_ALL_WITH_REFUND.replace("`0.38000", "`0.00500").replace("`0.22800", "`-0.14700")
    read = read_file(_write(tmp_path, "bill.csv", text))
    assert read.records[0]["fee"] == "0.01" and not read.rejects


def test_fund_flow_summary_that_counts_three_rows_for_two_is_reported_rows_still_in() -> None:
    read = read_file(sample("wechat_alipay_bills/wechatpay_merchant_fundflowbill_BASIC.csv"))
    assert len(read.records) == 2
    mismatches = {(r.line, r.field, r.value, r.detail) for r in read.rejects}
    assert (5, "资金流水总笔数", "3", "2") in mismatches
    assert all(r.code is RejectCode.SUMMARY_MISMATCH for r in read.rejects)
    zh, en = read.rejects[0].messages()
    assert "资金流水总笔数" in zh and "3" in zh and "2" in zh and "summary" in en
    # every record is either in the table or named by a reject
    assert read.rows_read == len(read.records) + len({r.line for r in read.rejects})


def test_wechat_summary_total_that_disagrees_names_the_total_and_both_values(
    tmp_path: Path,
) -> None:
    text = WECHAT_ALL_WITH_REFUND.replace("`0.22800", "`0.30000")
    read = read_file(_write(tmp_path, "bill.csv", text))
    assert len(read.records) == 2
    (reject,) = read.rejects
    assert (reject.code, reject.line, reject.field, reject.value, reject.detail) == (
        RejectCode.SUMMARY_MISMATCH,
        5,
        "手续费总金额",
        "0.30000",
        "0.228",
    )


def test_a_bill_cut_before_its_summary_is_refused_whole(tmp_path: Path) -> None:
    cut = "".join(WECHAT_ALL_WITH_REFUND.splitlines(keepends=True)[:3])
    read = read_file(_write(tmp_path, "bill.csv", cut))
    assert [(r.code, r.line) for r in read.rejects] == [(RejectCode.SUMMARY_MISSING, None)]


def test_revoked_payment_is_set_aside_not_settled(tmp_path: Path) -> None:
    text = WECHAT_ALL_WITH_REFUND.replace("`REFUND,", "`REVOKED,").replace(
        "`2,`100.00", "`2,`100.00"
    )
    read = read_file(_write(tmp_path, "bill.csv", text))
    assert [r["txn_type"] for r in read.records] == ["sale"]
    assert any(r.code is RejectCode.NOT_SETTLED and r.value == "REVOKED" for r in read.rejects)


def _xlsx(path: Path, text: str, *, ids_as_numbers: bool = False) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("账单")
    for r, line in enumerate(text.splitlines()):
        for c, cell in enumerate(line.split(",")):
            if ids_as_numbers and cell.startswith("`42000"):
                sheet.write_number(r, c, float(cell[1:]))
            else:
                sheet.write_string(r, c, cell)
    book.close()
    return path


def test_wechat_trade_bill_saved_as_xlsx_reads_like_the_csv(tmp_path: Path) -> None:
    csv_read = read_file(_write(tmp_path, "bill.csv", WECHAT_ALL_WITH_REFUND))
    xlsx_read = read_file(_xlsx(tmp_path / "bill.xlsx", WECHAT_ALL_WITH_REFUND))
    assert xlsx_read.format == WECHAT_TRADEBILL.name
    assert xlsx_read.identification.reads_text is False
    strip = [{k: v for k, v in r.items() if k != "src_line"} for r in csv_read.records]
    assert [{k: v for k, v in r.items() if k != "src_line"} for r in xlsx_read.records] == strip
    assert not xlsx_read.rejects


def test_order_number_stored_as_a_spreadsheet_number_is_rejected_not_guessed(
    tmp_path: Path,
) -> None:
    read = read_file(_xlsx(tmp_path / "bill.xlsx", WECHAT_ALL_WITH_REFUND, ids_as_numbers=True))
    assert {r.code for r in read.rejects} >= {RejectCode.ID_AS_NUMBER}
    assert not read.records


def test_personal_exports_name_their_owner_and_set_aside_neutral_entries() -> None:
    wx = read_file(sample("wechat_alipay_bills/wechat_personal_export.csv"))
    assert {r["account_no"] for r in wx.records} == {"微信:测试"}
    assert wx.records[0]["amount"] == "-28.16" and wx.records[1]["amount"] == "0.35"
    assert {r.code for r in wx.rejects} == {RejectCode.NEUTRAL_ENTRY}
    ali = read_file(sample("wechat_alipay_bills/alipay_personal_export_gb18030.csv"))
    assert {r["account_no"] for r in ali.records} == {"支付宝:xx@gmail.com"}
    closed = [r.line for r in ali.rejects if r.code is RejectCode.NOT_SETTLED]
    assert closed == [31, 33]


def test_fund_flow_bill_says_plainly_that_it_names_no_account() -> None:
    read = read_file(sample("wechat_alipay_bills/wechatpay_merchant_fundflowbill_BASIC.csv"))
    assert read.kind is Kind.BANK_STATEMENT
    assert {r["account_no"] for r in read.records} == {"微信支付商户账户（账单未注明商户号）"}
    assert [r["amount"] for r in read.records] == ["-0.01", "-0.01"]
    assert [r["balance"] for r in read.records] == ["0.22", "0.21"]


def _head(path: Path) -> Unrecognised | object:
    from daozhang.ingest.base import FileHead
    from daozhang.ingest.encoding import decode_head, scan_file

    scan = scan_file(path)
    decoded = decode_head(scan.head, utf8_valid=scan.utf8_valid)
    head = FileHead(
        path=path,
        size=scan.size,
        head=scan.head,
        text=decoded[0] if decoded else None,
        encoding=decoded[1] if decoded else None,
    )
    return detect(head, FORMATS)


def test_bills_do_not_claim_canonical_or_bank_files() -> None:
    for name in ("cn_bank_statement/icbc_debit_v1.csv", "cn_bank_statement/cmb_debit.csv"):
        found = _head(sample(name))
        assert getattr(found, "format", None) not in BILL_FORMATS, name


def test_a_trade_bill_missing_its_fee_column_is_explained(tmp_path: Path) -> None:
    text = WECHAT_ALL_WITH_REFUND.replace(",手续费,", ",其他,")
    found = _head(_write(tmp_path, "bill.csv", text))
    assert isinstance(found, Unrecognised)
    assert found.candidates[0].format == WECHAT_TRADEBILL.name
    assert found.candidates[0].missing == ("手续费",)


def _all_samples() -> list[Path]:
    return [sample(n) for n in SAMPLES if n.endswith(".csv")] + [
        DERIVED / n for n in DERIVED_SAMPLES
    ]


def _read_quietly(data: bytes, suffix: str) -> FileRead | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"junk{suffix}"
        path.write_bytes(data)
        try:
            return read_file(path, BILL_FORMATS)
        except (AssertionError, UndecodableFileError):  # not recognised, or not text: refused
            return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 5), cut=st.floats(0, 1), junk=st.binary(max_size=40))
def test_truncated_or_junked_bills_give_rejects_never_an_exception(
    which: int, cut: float, junk: bytes
) -> None:
    data = _all_samples()[which].read_bytes()
    at = int(len(data) * cut)
    for variant in (data[:at], data[:at] + junk + data[at:], data[:at] + junk):
        read = _read_quietly(variant, ".csv")
        if read is not None and all(r.line is not None for r in read.rejects):
            # every record is either in the table or named by a reject
            assert read.rows_read == len(read.records) + len({r.line for r in read.rejects})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0, 1), junk=st.binary(max_size=40))
def test_truncated_or_junked_xlsx_gives_rejects_never_an_exception(cut: float, junk: bytes) -> None:
    data = sample("wechat_alipay_bills/wechat_personal_export.xlsx").read_bytes()
    at = int(len(data) * cut)
    _read_quietly(data[:at] + junk + data[at:], ".xlsx")
