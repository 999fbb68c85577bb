"""The simulator's bank statements as camt.053 and MT940 read back to the same records."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daozhang.ingest.camt import CAMT
from daozhang.ingest.swift_mt940 import MT940
from daozhang.simulate import simulate
from daozhang.simulate.export_statements import export_camt053, export_mt940
from tests.helpers.golden import read_file

HEADER = (
    "account_no,booking_date,value_date,amount,currency,counterparty_name,"
    "counterparty_account,reference,balance,bank_txn_id\n"
)


def _key(records: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """Records without their line, balance (camt/MT940 give none) and with "" as None."""
    drop = {"src_line", "balance"}
    return sorted(tuple((k, v or None) for k, v in r.items() if k not in drop) for r in records)


@pytest.fixture(scope="module")
def bank_csvs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("sim")
    simulate(out, merchants=4, days=14, seed=5)
    return sorted((out / "bank").glob("*.csv"))  # one of them is GB18030


def test_camt053_export_reads_back_to_the_same_records(
    bank_csvs: list[Path], tmp_path: Path
) -> None:
    xml = tmp_path / "stmt.xml"
    n = export_camt053(bank_csvs, xml)
    read = read_file(xml, (CAMT, MT940))
    original = [r for p in bank_csvs for r in read_file(p).records]
    assert n == len(original) == read.rows_read
    assert read.rejects == ()  # balances add up
    assert _key(read.records) == _key(original)


def test_mt940_export_reads_back_to_the_same_records(bank_csvs: list[Path], tmp_path: Path) -> None:
    sta = tmp_path / "stmt.sta"
    n = export_mt940(bank_csvs, sta)
    read = read_file(sta, (CAMT, MT940))
    original = [r for p in bank_csvs for r in read_file(p).records]
    assert n == len(original) == read.rows_read
    assert read.rejects == ()
    assert _key(read.records) == _key(original)


def test_long_narratives_wrap_at_65_characters_and_read_back_whole(tmp_path: Path) -> None:
    name = "中国银联股份有限公司上海分公司 " * 4 + "A: B"
    ref = "REF " * 30 + ":-"
    csv = tmp_path / "a.csv"
    csv.write_text(
        HEADER + f"6222,2026-03-02,2026-03-02,-7.00,CNY,{name},110,{ref},93.00,X1\n",
        encoding="utf-8",
    )
    sta = tmp_path / "a.sta"
    export_mt940([csv], sta)
    lines = sta.read_text(encoding="utf-8").splitlines()
    assert max(len(ln) for ln in lines if not ln.startswith(":86:")) <= 65
    (rec,) = read_file(sta, (MT940,)).records
    assert rec["counterparty_name"] == name.strip()
    assert rec["reference"] == ref


def test_a_value_mt940_cannot_carry_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text(HEADER + "6222,2026-03-02,2026-03-02,1.00,CNY,A/B,,r,,X1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="counterparty_name"):
        export_mt940([csv], tmp_path / "a.sta")


def test_without_balances_the_statements_chain_from_zero(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text(
        HEADER
        + "6222,2026-03-02,2026-03-02,10.00,CNY,,,,,X1\n"
        + "6222,2026-03-03,2026-03-03,-4.00,CNY,,,,,X2\n",
        encoding="utf-8",
    )
    sta = tmp_path / "a.sta"
    export_mt940([csv], sta)
    text = sta.read_text(encoding="utf-8")
    assert ":60F:C260303CNY10,00" in text and ":62F:C260303CNY6,00" in text
    assert read_file(sta, (MT940,)).rejects == ()


def test_writing_is_fast_enough_for_a_million_entries(tmp_path: Path) -> None:
    rows = 50_000
    csv = tmp_path / "big.csv"
    with csv.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i in range(rows):
            day = 1 + i // 200 % 28
            f.write(f"622{i // 5000},2026-03-{day:02d},2026-03-{day:02d},1.00,CNY,")
            f.write(f"拉卡拉,110,LKL{i},,ICBC{i:012d}\n")
    start = time.perf_counter()
    assert export_camt053([csv], tmp_path / "big.xml") == rows
    assert export_mt940([csv], tmp_path / "big.sta") == rows
    per_million = (time.perf_counter() - start) / rows * 1_000_000
    # "well under a minute" each; generous here because the test machine is shared
    assert per_million < 100, f"{per_million:.0f} s per million entries for both formats"
