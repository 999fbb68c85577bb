"""``daozhang users``, ``orgs`` and ``tokens`` as an installer types them.

Run in-process (typer's CliRunner) so that argon2 can be made cheap; what
is checked is what a user sees: Chinese messages, exit codes 0 and 2,
never a traceback, and never a password on the screen.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner, Result

import daozhang.service.users as svc
from daozhang.cli.main import app
from daozhang.store.workspace import Workspace

PASSWORD = "very-secret-9"
PROVIDER = "杭州某某服务商"
MID_A, MID_B = "898340153990001", "898340153990002"


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        svc, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "shop"


def _run(home: Path, *args: str, stdin: str | None = None, lang: str = "zh") -> Result:
    result = CliRunner().invoke(
        app, ["--home", str(home), "--lang", lang, *args], input=stdin, env={"COLUMNS": "200"}
    )
    # A user's mistake is a message and an exit code, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert PASSWORD not in result.stdout + result.stderr
    return result


def _add(home: Path, name: str = "li.hong", *more: str) -> Result:
    return _run(
        home,
        "users",
        "add",
        "--org",
        PROVIDER,
        "--role",
        "operator",
        name,
        *more,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )


def _json(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_adding_a_user_asks_for_the_password_twice_and_creates_the_organisation(
    home: Path,
) -> None:
    added = _run(
        home,
        "users",
        "add",
        "--org",
        PROVIDER,
        "--role",
        "operator",
        "li.hong",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert added.exit_code == 0, added.output
    assert f"已新建机构 {PROVIDER}" in added.stdout
    assert "已创建用户 li.hong（机构：杭州某某服务商，角色：操作员）" in added.stdout
    (user,) = _json(_run(home, "users", "list", "--format", "json"))
    assert (user["username"], user["org"], user["role"], user["status"]) == (
        "li.hong",
        PROVIDER,
        "operator",
        "enabled",
    )
    with Workspace.open(home, env={}) as ws:
        assert svc.authenticate(ws, "li.hong", PASSWORD, "127.0.0.1").username == "li.hong"


def test_passwords_that_differ_change_nothing(home: Path) -> None:
    result = _run(
        home, "users", "add", "--org", PROVIDER, "li.hong", stdin=f"{PASSWORD}\n{PASSWORD}x\n"
    )
    assert result.exit_code == 2
    assert "两次输入的密码不一致" in result.stderr
    assert _json(_run(home, "users", "list", "--format", "json")) == []
    assert _json(_run(home, "orgs", "list", "--format", "json")) == []


def test_input_ending_at_the_prompt_cancels_and_changes_nothing(home: Path) -> None:
    for stdin in ("", f"{PASSWORD}\n"):
        result = _run(home, "users", "add", "--org", PROVIDER, "li.hong", stdin=stdin)
        assert result.exit_code == 2 and "已取消，未做任何更改" in result.stderr
    assert _json(_run(home, "orgs", "list", "--format", "json")) == []


def test_a_short_password_is_refused_with_a_clear_message(home: Path) -> None:
    for args, stdin in (
        (["--password-stdin"], "short\n"),
        ([], "short\n"),  # refused at once, not asked again
    ):
        result = _run(home, "users", "add", "--org", PROVIDER, "li.hong", *args, stdin=stdin)
        assert result.exit_code == 2
        assert "密码太短：至少需要 10 个字符（现在只有 5 个）" in result.stderr
        assert "再次输入密码" not in result.stdout + result.stderr
    english = _run(
        home, "users", "add", "--org", PROVIDER, "x", "--password-stdin", stdin="short\n", lang="en"
    )
    assert "at least 10 characters" in english.stderr
    assert _json(_run(home, "users", "list", "--format", "json")) == []


def test_mistakes_exit_2_with_a_message(home: Path) -> None:
    assert _add(home).exit_code == 0
    cases = [
        (_add(home, "LI.HONG"), "用户 li.hong 已存在"),
        (_add(home, "li hong"), "用户名「li hong」只能包含字母、数字和 . _ - @"),
        (_run(home, "users", "add", "--org", PROVIDER, "--role", "boss", "x"), "admin"),
        (
            _run(home, "users", "add", "--org", PROVIDER, "x", "--password-stdin", stdin=""),
            "标准输入中没有密码",
        ),
        (
            _run(home, "users", "passwd", "nobody", "--password-stdin", stdin=PASSWORD),
            "找不到用户 nobody",
        ),
        (_run(home, "users", "disable", "nobody"), "找不到用户 nobody"),
        (_run(home, "orgs", "add", PROVIDER), f"机构 {PROVIDER} 已存在"),
        (_run(home, "orgs", "merchants", "没有这个机构", MID_A), "找不到机构 没有这个机构"),
        (_run(home, "tokens", "create", "--user", "nobody", "--name", "t"), "找不到用户 nobody"),
        (_run(home, "tokens", "revoke", "42"), "找不到编号为 42 的 API 令牌"),
    ]
    for result, message in cases:
        assert result.exit_code == 2, result.output
        assert message in result.stderr, result.stderr


def test_users_list_passwd_disable_and_enable(home: Path) -> None:
    _add(home)
    table = _run(home, "users", "list")
    assert "li.hong" in table.stdout and "操作员" in table.stdout and "启用" in table.stdout
    passwd = _run(home, "users", "passwd", "li.hong", stdin="a new password\na new password\n")
    assert passwd.exit_code == 0 and "已为 li.hong 设置新密码" in passwd.stdout
    disabled = _run(home, "users", "disable", "li.hong")
    assert disabled.exit_code == 0 and "已停用用户 li.hong" in disabled.stdout
    again = _run(home, "users", "disable", "li.hong")
    assert again.exit_code == 0 and "本已停用" in again.stdout
    with Workspace.open(home, env={}) as ws, pytest.raises(svc.InvalidCredentialsError):
        svc.authenticate(ws, "li.hong", "a new password", "127.0.0.1")
    enabled = _run(home, "users", "enable", "li.hong")
    assert enabled.exit_code == 0 and "已重新启用用户 li.hong" in enabled.stdout
    with Workspace.open(home, env={}) as ws:
        assert svc.authenticate(ws, "li.hong", "a new password", "127.0.0.1")
        assert [e.action for e in svc.list_audit(ws)][:3] == [
            "user.login",
            "user.enable",
            "user.disable",
        ]
        assert svc.list_audit(ws)[1].actor.startswith("cli:")


def test_organisations_and_their_merchants(home: Path) -> None:
    assert _run(home, "orgs", "add", "总部", "--all-merchants").exit_code == 0
    made = _run(home, "orgs", "add", "西湖小店")
    assert made.exit_code == 0 and "已新建机构 西湖小店" in made.stdout
    given = _run(home, "orgs", "merchants", "西湖小店", MID_A, MID_B, MID_A)
    assert given.exit_code == 0 and "分配 2 个商户；0 个原已分配" in given.stdout
    bad = _run(home, "orgs", "merchants", "西湖小店", "898340153990003", "12345", "abc")
    assert bad.exit_code == 2 and "商户号应为 15 位数字：12345, abc" in bad.stderr
    listed = _run(home, "orgs", "merchants", "西湖小店")
    assert listed.stdout.split() == [MID_A, MID_B]  # the bad call changed nothing
    removed = _run(home, "orgs", "merchants", "西湖小店", MID_A, "--remove")
    assert removed.exit_code == 0 and "移除 1 个商户" in removed.stdout
    orgs = {o["name"]: o for o in _json(_run(home, "orgs", "list", "--format", "json"))}
    assert orgs["总部"]["all_merchants"] is True
    assert (orgs["西湖小店"]["all_merchants"], orgs["西湖小店"]["merchant_count"]) == (False, 1)
    note = _run(home, "orgs", "merchants", "总部", MID_A)
    assert "可查看全部商户" in note.stdout


def test_a_token_is_printed_once_and_can_be_revoked(home: Path) -> None:
    _add(home)
    created = _run(home, "tokens", "create", "--user", "li.hong", "--name", "对账脚本")
    assert created.exit_code == 0
    token = created.stdout.strip()
    assert token.startswith("dz_") and len(token) > 40  # standard output holds the token only
    assert "只显示这一次" in created.stderr and token not in created.stderr
    with Workspace.open(home, env={}) as ws:
        user = svc.token_user(ws, token)
        assert user is not None and user.username == "li.hong"
    for fmt in ("table", "json", "csv"):
        listed = _run(home, "tokens", "list", "--format", fmt)
        assert (
            token not in listed.stdout
            and token[:7] in listed.stdout
            and "对账脚本" in listed.stdout
        )
    (row,) = _json(_run(home, "tokens", "list", "--format", "json"))
    assert (row["id"], row["username"], row["revoked_at"]) == (1, "li.hong", None)
    assert str(row["created_by"]).startswith("cli:")
    revoked = _run(home, "tokens", "revoke", "1")
    assert revoked.exit_code == 0 and "已撤销 API 令牌 #1（对账脚本）" in revoked.stdout
    assert "已于" in _run(home, "tokens", "revoke", "1").stdout
    assert _json(_run(home, "tokens", "list", "--active", "--format", "json")) == []
    with Workspace.open(home, env={}) as ws:
        assert svc.token_user(ws, token) is None


def test_a_disabled_user_gets_no_token(home: Path) -> None:
    _add(home)
    _run(home, "users", "disable", "li.hong")
    result = _run(home, "tokens", "create", "--user", "li.hong", "--name", "t")
    assert result.exit_code == 2 and "用户 li.hong 已停用" in result.stderr
    assert result.stdout == ""
