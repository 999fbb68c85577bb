"""``import --account``: a bank export that does not say whose account it is.

An ABC (农业银行) export lists a shop's entries without the account number,
so its records carry the placeholder ``未知账号-农业银行`` and cannot be
matched to the contract's settlement account. The bookkeeper knows the
number and gives it once on import; files that name their account keep it.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import daozhang.ingest.accounts as accounts_module
from daozhang.cli.main import app
from daozhang.domain.records import Kind
from daozhang.ingest.accounts import AccountError, check_account
from daozhang.ingest.fields import field_names
from daozhang.ingest.rejects import RejectCode
from daozhang.service.imports import FileStatus, import_paths
from daozhang.store.record_files import register_record_views
from daozhang.store.workspace import Workspace
from tests.helpers.samples import sample

ABC = sample("cn_bank_statement/abc_debit.csv")  # names no account
CCB = sample("cn_bank_statement/ccb_debit.xls")  # names its account
FUNDFLOW = sample("wechat_alipay_bills/wechatpay_merchant_fundflowbill_BASIC.csv")
ACCOUNT = "6228480099990000111"


def _accounts(ws: Workspace) -> dict[str, set[str]]:
    con = duckdb.connect()
    register_record_views(con, ws, [Kind.BANK_STATEMENT])
    out: dict[str, set[str]] = {}
    for path, account in con.execute(
        "SELECT DISTINCT src_path, account_no FROM bank_statement"
    ).fetchall():
        out.setdefault(Path(path).name, set()).add(account)
    return out


def test_the_docstring_example() -> None:
    assert doctest.testmod(accounts_module).failed == 0


def test_an_abc_export_gets_the_account_the_bookkeeper_gives(workspace: Workspace) -> None:
    report = import_paths(workspace, [ABC, CCB], account=ACCOUNT)

    filled = {f.path.name: f.account_filled for f in report.files}
    assert filled == {"abc_debit.csv": 5, "ccb_debit.xls": 0}
    accounts = _accounts(workspace)
    assert accounts["abc_debit.csv"] == {ACCOUNT}
    assert ACCOUNT not in accounts["ccb_debit.xls"]  # its own account is kept


def test_a_wechat_fund_flow_bill_gets_the_account_too(workspace: Workspace) -> None:
    """The fund-flow bill is read in Python and handed over as Arrow rows: the same rule."""
    report = import_paths(workspace, [FUNDFLOW], account="1900000109")
    (f,) = report.files
    assert f.account_filled == f.rows_imported > 0
    assert _accounts(workspace)[FUNDFLOW.name] == {"1900000109"}


def test_without_the_option_the_placeholder_says_the_account_is_unknown(
    workspace: Workspace,
) -> None:
    report = import_paths(workspace, [ABC, CCB, FUNDFLOW])
    unknown = {f.path.name: f.account_unknown for f in report.files}
    assert unknown == {
        "abc_debit.csv": 5,
        "ccb_debit.xls": 0,
        FUNDFLOW.name: unknown[FUNDFLOW.name],
    }
    assert unknown[FUNDFLOW.name] == report.files[2].rows_imported > 0
    assert _accounts(workspace)["abc_debit.csv"] == {"未知账号-农业银行"}


@pytest.mark.parametrize("text", ["", "   ", "62/28", "1" * 41, "账号"])
def test_what_is_not_an_account_number_is_refused(text: str) -> None:
    with pytest.raises(AccountError):
        check_account(text)


def test_the_command_line_says_which_files_got_the_account(tmp_path: Path) -> None:
    runner = CliRunner()
    home = str(tmp_path / "shop")
    ok = runner.invoke(
        app,
        [
            "--home",
            home,
            "--lang",
            "en",
            "import",
            "--account",
            "6228 4800 9999 0000 111",
            str(ABC),
        ],
        env={"COLUMNS": "250"},
    )
    assert ok.exit_code == 0, ok.output
    assert f"5 entries were booked to account {ACCOUNT}" in ok.output
    again = runner.invoke(
        app,
        ["--home", home, "--lang", "en", "import", "--account", ACCOUNT, str(ABC)],
        env={"COLUMNS": "250"},
    )
    assert "was imported before; --account does not change" in again.output
    other = str(tmp_path / "other")
    forgot = runner.invoke(
        app, ["--home", other, "--lang", "en", "import", str(ABC)], env={"COLUMNS": "250"}
    )
    assert forgot.exit_code == 0
    assert "5 entries are under a placeholder account" in forgot.output
    bad = runner.invoke(
        app, ["--home", home, "--lang", "en", "import", "--account", "62/28", str(CCB)]
    )
    assert bad.exit_code == 2
    assert "is not an account number" in bad.output
    assert "Traceback" not in ok.output + bad.output


def test_a_shop_cannot_book_an_export_to_another_shops_account(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The account typed in is checked like any other: a neighbour's is not in the organisation."""
    contracts = tmp_path / "contracts.csv"
    contracts.write_text(
        ",".join(field_names(Kind.CONTRACTS))
        + "\n102100000000001,上海某某餐饮有限公司,5812,银联商务,6228480099990000111,"
        "上海某某餐饮,ABC,T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01\n"
        "102100000000002,隔壁面馆,5812,银联商务,6228480099990000222,隔壁面馆,ABC,"
        "T1,23:00,0.50,20.00,0.60,0.38,0.38,0.38,2026-01-01\n",
        encoding="utf-8",
    )
    assert import_paths(workspace, [contracts]).exit_code == 0
    shop = ["102100000000001"]

    theirs = import_paths(workspace, [ABC], allowed_merchants=shop, account="6228480099990000222")
    (f,) = theirs.files
    assert (f.rows_imported, f.rows_rejected) == (0, 5)
    assert {r.code for r in f.rejects} == {RejectCode.NOT_IN_ORGANISATION}

    mine = import_paths(workspace, [ABC], allowed_merchants=shop, account=ACCOUNT)
    assert mine.files[0].status is FileStatus.ALREADY_IMPORTED  # the same file, once only
