"""Loading column-mapping profiles: the built-in ones, and a bookkeeper's mistakes named plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from daozhang.domain.records import Kind
from daozhang.ingest.fields import INPUT_FIELDS
from daozhang.ingest.mapped import MappedFormat
from daozhang.ingest.profiles import ProfileError, builtin_profiles, load_profile, parse_profile
from tests.helpers.golden import read_file

GOOD = """
name: my_bank
description: {zh: 某银行流水, en: Some bank}
kind: bank_statement
header: [交易日期, 金额, 余额]
titles:
  account: '账号[:：]\\s*(\\S+)'
fields:
  account_no: {title: account}
  booking_date: {column: 交易日期, formats: ['%Y%m%d']}
  value_date: {column: 交易日期, formats: ['%Y%m%d']}
  amount: 金额
  balance: {column: 余额}
"""


def test_every_builtin_profile_loads_and_maps_the_required_fields_of_its_kind() -> None:
    profiles = builtin_profiles()
    names = {p.name for p in profiles}
    assert {
        "icbc_debit_v1",
        "icbc_debit_v2",
        "icbc_credit",
        "ccb_debit",
        "cmb_debit",
        "cmb_credit",
        "boc_debit",
        "boc_credit",
        "bocom_debit",
        "bocom_credit",
        "abc_debit",
        "spdb_debit",
        "citic_credit",
        "cgb_credit",
        "allinpay_pos",
    } <= names
    for p in profiles:
        required = {f.name for f in INPUT_FIELDS[p.kind] if f.required}
        assert required <= {f.field for f in p.fields}, p.name
        assert p.builtin and p.description_zh and p.description_en


def test_allinpay_profile_yields_settlement_records() -> None:
    (p,) = [p for p in builtin_profiles() if p.name == "allinpay_pos"]
    assert p.kind is Kind.SETTLEMENT
    assert len(p.header) == 34


def test_a_small_profile_reads_with_its_shorthand_column() -> None:
    p = parse_profile(GOOD)
    assert p.field("amount").column == "金额"
    assert p.field("account_no").title == "account"
    assert p.field("booking_date").formats == ("%Y%m%d",)


def _error(text: str) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, origin="mine.yaml")
    return info.value


@pytest.mark.parametrize(
    ("change", "zh_words", "en_words"),
    [
        (("amount: 金额", "amount: {colum: 金额}"), "colum", "unknown key colum in fields.amount"),
        (("kind: bank_statement", "kind: bank"), "kind", "kind must be one of"),
        (("  amount: 金额\n", ""), "amount", "required fields of bank_statement have no mapping"),
        (("'%Y%m%d']}\n  value", "'%Q%Q']}\n  value"), "formats", "not a valid date format"),
        (("{title: account}", "{title: acct}"), "acct", "titles does not define"),
        (("name: my_bank", "name: 'my bank!'"), "name", "name may only hold"),
        (("amount: 金额", "amount: {column: 金额, formats: ['%Y']}"), "formats", "does not apply"),
        (("amount: 金额", "amount: {column: 金额, extract: '(?<=x)1'}"), "extract", "regular"),
        (("amount: 金额", "amount: {column: 金额, constant: '1'}"), "来源", "exactly one source"),
        (("balance: {column: 余额}", "balancex: {column: 余额}"), "balancex", "not a field"),
    ],
)
def test_a_mistake_in_a_profile_names_the_key_in_both_languages(
    change: tuple[str, str], zh_words: str, en_words: str
) -> None:
    old, new = change
    assert old in GOOD
    err = _error(GOOD.replace(old, new, 1))
    assert zh_words in err.zh
    assert en_words in err.en
    assert err.message("zh").startswith("mine.yaml: ")


def test_text_that_is_not_yaml_says_so_with_the_line() -> None:
    err = _error("name: [unclosed\nkind: x\n")
    assert "YAML" in err.en and "line" in err.en
    assert "YAML" in err.zh


def test_an_unreadable_profile_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot be read"):
        load_profile(tmp_path / "missing.yaml")


def test_the_readme_example_profile_is_valid_and_reads_its_layout(tmp_path: Path) -> None:
    """The profile a user copies from the README must work as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "my_bank.yaml"
    path.write_text(example, encoding="utf-8")
    profile = load_profile(path)
    assert profile.name == "my_bank"
    export = tmp_path / "export.csv"
    export.write_text(
        "某银行对公账户交易明细\n账号：31050161393600000123\n"
        "交易日期,借方发生额,贷方发生额,余额,对方户名,对方账号,摘要,流水号\n"
        "20261102,,1228.33,9000.00,通联支付网络服务股份有限公司,1100000001,结算款,S001\n"
        "20261102,50.00,,8950.00,,,手续费,S002\n"
        "合计,50.00,1228.33,,,,,\n",
        encoding="utf-8",
    )
    got = read_file(export, (MappedFormat(profile),))
    assert got.rejects == ()
    assert [(r["account_no"], r["booking_date"], r["amount"]) for r in got.records] == [
        ("31050161393600000123", "2026-11-02", "1228.33"),
        ("31050161393600000123", "2026-11-02", "-50.00"),
    ]
