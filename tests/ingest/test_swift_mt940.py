"""SWIFT MT940/MT942: every sample, the bookkeeper's edge cases, junk and truncation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.ingest.camt import CAMT
from daozhang.ingest.rejects import RejectCode
from daozhang.ingest.swift_mt940 import MT940
from tests.helpers.golden import check_golden, damaged, read_file
from tests.helpers.samples import SAMPLES, sample

MT_SAMPLES = sorted(
    p for p in (SAMPLES / "mt940").rglob("*") if p.suffix in (".sta", ".txt") and p.is_file()
)
FORMATS = (CAMT, MT940)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stmt.sta"
    path.write_text(text, encoding="utf-8")
    return path


STATEMENT = """{1:F01BKCHCNBJXXXX0000000000}{2:O940BKCHCNBJXXXXN}{4:
:20:D202603010000001
:25:6222001CNY
:28C:1/1
:60F:C260301CNY100,00
:61:2603010301C50,00NTRFNONREF//ICBC0001
:86:/CNTP/110907608810901//拉卡拉支付股份有限公司///REMI/USTD//LKL20260301
000001/
:61:2603010301D20,00NTRFNONREF
:86:电费代扣
:61:2603010301RD5,00NTRFNONREF//ICBC0003
:62F:C260301CNY135,00
-}
"""


@pytest.mark.parametrize("path", MT_SAMPLES, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_mt940_sample_reads_as_its_golden_file(path: Path) -> None:
    read = read_file(path, FORMATS)
    assert read.format == "swift.mt940"
    check_golden(path, read)


def test_a_chinese_bank_statement_maps_every_field(tmp_path: Path) -> None:
    read = read_file(_write(tmp_path, STATEMENT), FORMATS)
    assert read.rejects == ()
    first, second, third = read.records
    assert first == {
        "src_line": 6,
        "account_no": "6222001",  # the currency the bank appended is not the account
        "booking_date": "2026-03-01",
        "value_date": "2026-03-01",
        "amount": "50.00",
        "currency": "CNY",
        "counterparty_name": "拉卡拉支付股份有限公司",
        "counterparty_account": "110907608810901",
        "reference": "LKL20260301000001",
        "balance": None,
        "bank_txn_id": "ICBC0001",
    }
    assert (second["amount"], second["reference"]) == ("-20.00", "电费代扣")
    assert second["bank_txn_id"] == "6222001/D202603010000001/1/2026-03-01#2"
    assert third["amount"] == "5.00"  # RD: a reversed debit is money back in


def test_a_reversed_credit_is_money_out(tmp_path: Path) -> None:
    text = STATEMENT.replace("RD5,00", "RC5,00").replace("C260301CNY135,00", "C260301CNY125,00")
    read = read_file(_write(tmp_path, text), FORMATS)
    assert read.records[2]["amount"] == "-5.00"
    assert read.rejects == ()


def test_30_february_is_rejected_not_moved_to_the_29th() -> None:
    read = read_file(sample("mt940/self-provided/february_30.sta"), FORMATS)
    assert read.records == []
    (rej,) = read.rejects
    assert (rej.line, rej.field, rej.code, rej.value) == (
        6,
        "value_date",
        RejectCode.BAD_DATE,
        "160230",
    )


def test_a_statement_that_does_not_add_up_is_reported_on_its_closing_line(
    tmp_path: Path,
) -> None:
    read = read_file(_write(tmp_path, STATEMENT.replace("CNY135,00", "CNY136,00")), FORMATS)
    assert len(read.records) == 3
    (rej,) = read.rejects
    assert (rej.line, rej.code) == (12, RejectCode.BALANCE_MISMATCH)
    assert rej.detail == "opening 100.00 + entries 35.00 = 135.00 CNY, closing 136.00 CNY"


def test_mt942_interim_entries_are_set_aside_with_a_reason() -> None:
    read = read_file(sample("mt940/mBank/mt942.sta"), FORMATS)
    assert read.records == []
    assert [(r.line, r.code) for r in read.rejects] == [
        (7, RejectCode.INTERIM_ENTRY),
        (13, RejectCode.INTERIM_ENTRY),
        (19, RejectCode.INTERIM_ENTRY),
    ]
    assert read.rows_read == 3


def test_an_unreadable_entry_is_rejected_and_the_others_go_in(tmp_path: Path) -> None:
    text = STATEMENT.replace(":61:2603010301D20,00NTRFNONREF", ":61:26030X0301D20,00NTRF")
    read = read_file(_write(tmp_path, text), FORMATS)
    assert [r["src_line"] for r in read.records] == [6, 11]
    assert [(r.line, r.code) for r in read.rejects] == [(9, RejectCode.UNREADABLE_ROW)]


def test_a_file_cut_off_before_the_closing_balance_is_refused_whole(tmp_path: Path) -> None:
    text = STATEMENT[: STATEMENT.index(":62F:")]
    read = read_file(_write(tmp_path, text), FORMATS)
    assert read.records == []
    assert [(r.line, r.code) for r in read.rejects] == [(None, RejectCode.UNREADABLE_FILE)]


def test_a_bank_reference_used_twice_still_gives_two_ids() -> None:
    read = read_file(sample("mt940/cmxl/mt940.sta"), FORMATS)
    ids = [r["bank_txn_id"] for r in read.records]
    assert len(ids) == len(set(ids))
    assert "55555#2" in ids


def test_the_same_file_twice_gives_the_same_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, STATEMENT)
    assert read_file(path, FORMATS).records == read_file(path, FORMATS).records


def test_a_gb18030_statement_is_read_from_its_utf8_copy(tmp_path: Path) -> None:
    path = tmp_path / "gbk.sta"
    path.write_bytes(STATEMENT.encode("gb18030"))
    read = read_file(path, FORMATS)
    assert read.records[0]["counterparty_name"] == "拉卡拉支付股份有限公司"


def test_identification_is_by_tags_and_a_near_miss_names_what_is_missing() -> None:
    read = read_file(sample("mt940/jejik/ing.sta"), FORMATS)
    assert read.identification.confidence > 0.9
    from daozhang.ingest.base import FileHead

    head = FileHead(path=Path("x"), size=10, head=b":86:x\n", text=":86:x\n", encoding="utf-8")
    ident = MT940.identify(head)
    assert ident.confidence == 0
    assert ":61:" in ident.missing and ident.closeness > 0


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(MT_SAMPLES),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4),
)
def test_junk_and_truncated_mt940_give_rejects_never_an_exception(
    tmp_path: Path, path: Path, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = damaged(path.read_bytes(), cut, flips, keep=1)
    junk = tmp_path / "junk.sta"
    junk.write_bytes(data)
    try:
        read = read_file(junk, FORMATS)
    except AssertionError:
        return  # no longer recognised: the importer reports it
    except Exception as exc:  # the importer refuses undecodable files before any format
        assert type(exc).__name__ == "UndecodableFileError"
        return
    if any(r.line is None for r in read.rejects):
        assert read.rows_read == 0
    for r in read.records:
        assert isinstance(r["src_line"], int) and r["src_line"] >= 1


def test_a_balance_mismatch_is_a_notice_that_sets_no_entry_aside() -> None:
    from daozhang.ingest.rejects import NOTICES

    assert RejectCode.BALANCE_MISMATCH in NOTICES
