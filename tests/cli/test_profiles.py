"""``daozhang profiles`` and ``import --profile`` as a bookkeeper types them.

Through the real CLI (typer's runner, in-process): Chinese messages by
default, exit 0 when a file fits and 2 when it does not, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from daozhang.cli.main import app
from tests.helpers.samples import sample

CCB = sample("cn_bank_statement/ccb_debit.xls")
ABC = sample("cn_bank_statement/abc_debit.csv")
CMB = sample("cn_bank_statement/cmb_debit.csv")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "shop"


def _run(home: Path, *args: str, lang: str = "zh") -> Result:
    result = CliRunner().invoke(
        app, ["--home", str(home), "--lang", lang, *args], env={"COLUMNS": "250"}
    )
    assert "Traceback" not in result.output
    return result


def test_list_shows_every_builtin_profile_with_its_kind(home: Path) -> None:
    r = _run(home, "profiles", "list", "--format", "csv")
    assert r.exit_code == 0
    assert "icbc_debit_v2,bank_statement" in r.output
    assert "allinpay_pos,settlement" in r.output


def test_show_prints_the_yaml_to_copy(home: Path) -> None:
    r = _run(home, "profiles", "show", "cmb_debit")
    assert r.exit_code == 0
    assert "name: cmb_debit" in r.output and "对手信息" in r.output


def test_show_of_an_unknown_name_lists_the_known_ones(home: Path) -> None:
    r = _run(home, "profiles", "show", "no_such_bank")
    assert r.exit_code == 2
    assert "没有叫这个名字的配置" in r.output and "ccb_debit" in r.output


def test_check_finds_the_profile_shows_records_and_the_balance_break(home: Path) -> None:
    r = _run(home, "profiles", "check", str(CCB))
    assert r.exit_code == 0
    assert "符合配置 ccb_debit" in r.output
    assert "第 6 行" in r.output
    assert "amount=-67" in r.output
    assert "余额不连续" in r.output


def test_check_against_the_wrong_profile_says_expected_and_found_columns(home: Path) -> None:
    r = _run(home, "profiles", "check", str(ABC), "--profile", "cmb_debit", lang="en")
    assert r.exit_code == 2
    assert "Does not fit profile cmb_debit" in r.output
    assert "expected columns: 记账日期" in r.output
    assert "columns found: 交易日期" in r.output
    assert "missing: 记账日期, 货币, 联机余额, 客户摘要" in r.output


def test_import_with_a_profile_reads_what_fits_and_explains_what_does_not(home: Path) -> None:
    r = _run(home, "import", "--profile", "cmb_debit", str(CMB), str(ABC))
    assert r.exit_code == 1
    assert "profile.cmb_debit" in r.output
    assert "无法识别" in r.output
    assert "应有的列：记账日期" in r.output and "缺少：记账日期" in r.output


def test_import_with_an_unknown_profile_is_a_usage_error(home: Path) -> None:
    r = _run(home, "import", "--profile", "nope", str(CMB))
    assert r.exit_code == 2
    assert "没有叫这个名字的配置" in r.output


def test_a_workspace_profile_replaces_the_builtin_and_a_broken_one_is_reported(home: Path) -> None:
    shown = _run(home, "profiles", "show", "cmb_debit").output
    own = home / "profiles"
    own.mkdir(parents=True)
    (own / "cmb_debit.yaml").write_text(
        shown.replace("未知账号-招商银行", "6214830000001111"), encoding="utf-8"
    )
    (own / "broken.yaml").write_text("name: broken\nkind: bank_statement\n", encoding="utf-8")
    listed = _run(home, "profiles", "list")
    assert listed.exit_code == 0
    assert "无法使用的配置" in listed.output and "header" in listed.output
    r = _run(home, "import", str(CMB))
    assert r.exit_code == 0, r.output
    checked = _run(home, "profiles", "check", str(CMB))
    assert "account_no=6214830000001111" in checked.output


def test_check_of_a_missing_file_is_a_plain_message(home: Path) -> None:
    r = _run(home, "profiles", "check", str(home / "nothing.csv"), lang="en")
    assert r.exit_code == 2
    assert "No such file" in r.output


TERMINAL_BIN = Path(__file__).resolve().parents[1] / "fixtures/derived/iso8583/terminal_day.bin"


def test_import_with_a_message_layout_file_reads_a_switch_capture(
    home: Path, tmp_path: Path
) -> None:
    """An acquirer's own ISO 8583 layout, given as a file, reads its binary capture."""
    layout = tmp_path / "acme_switch.yaml"
    layout.write_text(
        "name: acme_switch\nbase: cup_pos\nframing: length_prefixed\n"
        "length_prefix: {bytes: 2, encoding: binary}\nheader_length: 11\n",
        encoding="utf-8",
    )
    r = _run(home, "import", "--profile", str(layout), str(TERMINAL_BIN))
    assert r.exit_code in (0, 1), r.output
    assert "iso8583.acme_switch" in r.output


def test_a_broken_message_layout_is_a_usage_error_naming_the_key(
    home: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "bad_switch.yaml"
    layout.write_text("name: bad\nbase: cup_pos\nframing: carrier_pigeon\n", encoding="utf-8")
    r = _run(home, "import", "--profile", str(layout), str(TERMINAL_BIN))
    assert r.exit_code == 2
    assert "framing" in r.output
