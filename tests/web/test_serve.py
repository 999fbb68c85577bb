"""``daozhang serve``: loopback by default, and nothing beyond it without an admin."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from daozhang.cli.main import app
from daozhang.cli.serve import DEMO_USER, _ensure_demo_admin, is_loopback
from daozhang.service import users as svc
from daozhang.store.workspace import Workspace


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.10", "10.0.0.1"):
        assert not is_loopback(host), host


def test_serve_refuses_the_network_without_an_admin(tmp_path: Path) -> None:
    home = tmp_path / "shop"
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "--lang", "zh", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "还没有管理员账号" in result.output
    result = runner.invoke(app, ["--home", str(home), "--lang", "en", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "there is no admin account yet" in result.output
    result = runner.invoke(app, ["--home", str(home), "serve", "--demo", "--host", "0.0.0.0"])
    assert result.exit_code == 2


def test_the_demo_admin_gets_a_new_password_each_time(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "shop", env={}) as ws:
        first = _ensure_demo_admin(ws)
        assert svc.authenticate(ws, DEMO_USER, first, "test").role is svc.Role.ADMIN
        second = _ensure_demo_admin(ws)
        assert second != first
        assert svc.authenticate(ws, DEMO_USER, second, "test").all_merchants
        assert svc.has_admin(ws)
