"""``daozhang serve``: the web dashboard and REST API on this workspace.

It listens on 127.0.0.1:8000 by default: only this computer can connect.
Listening on any other address (``--host 0.0.0.0`` to let the shop's other
computers in) is refused, with exit code 2, until an admin account exists
(``daozhang users add --role admin ...``): otherwise the money data would
be on the network with nobody able to manage who sees it.

``--demo`` (``make demo-serve``) is for the demo workspace on one's own
computer: it makes sure a ``demo`` admin of an all-merchants organisation
exists, gives it a fresh random password, prints it, and listens on
loopback only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
from typing import Annotated

import typer

from daozhang.cli.output import console, err_console
from daozhang.store.workspace import Workspace

__all__ = ["DEMO_USER", "is_loopback", "serve"]

DEMO_USER = "demo"
DEMO_ORG = "演示 Demo"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this computer."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


_WORDS = {
    "no_admin": (
        "拒绝在 {host} 上提供服务：还没有管理员账号，局域网中的任何人都可能看到资金数据。\n"
        "请先创建管理员：daozhang --home {home} users add --org 机构名称 --role admin 用户名\n"
        "或者只在本机使用（默认 --host 127.0.0.1）。",
        "Refusing to listen on {host}: there is no admin account yet, so anyone on the network "
        "could see the money data.\n"
        "Create an admin first: daozhang --home {home} users add --org NAME --role admin USER\n"
        "or serve this computer only (the default, --host 127.0.0.1).",
    ),
    "no_users": (
        "提示：还没有任何账号，浏览器中无法登录。请先运行：\n"
        "  daozhang --home {home} users add --org 机构名称 --role admin 用户名",
        "Note: there are no accounts yet, so nobody can sign in. First run:\n"
        "  daozhang --home {home} users add --org NAME --role admin USER",
    ),
    "listening": (
        "到账网页版：http://{url}  （按 Ctrl+C 停止）",
        "daozhang on the web: http://{url}  (Ctrl+C to stop)",
    ),
    "demo_login": (
        "演示账号：用户名 {user}  密码 {password}（每次启动都会换一个新密码）",
        "Demo sign-in: user {user}  password {password} (a new password each start)",
    ),
    "demo_loopback": (
        "--demo 只在本机提供服务（--host 127.0.0.1）。",
        "--demo serves this computer only (--host 127.0.0.1).",
    ),
}


def _say(key: str, lang: str, **kw: object) -> str:
    zh, en = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def _ensure_demo_admin(ws: Workspace) -> str:
    """Make (or reset) the ``demo`` admin; returns its new password."""
    from daozhang.service import users as svc

    password = secrets.token_urlsafe(12)
    actor = "cli:demo-serve"
    try:
        svc.get_user(ws, DEMO_USER)
    except svc.UnknownUserError:
        with contextlib.suppress(svc.OrganisationExistsError):
            svc.create_organisation(ws, DEMO_ORG, all_merchants=True, actor=actor)
        svc.add_user(ws, DEMO_USER, password, org=DEMO_ORG, role="admin", actor=actor)
    else:
        svc.set_password(ws, DEMO_USER, password, actor=actor)
    return password


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this computer only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Sign in as a demo admin (new password printed).")
    ] = False,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Largest upload, in MB (default 512).")
    ] = 512,
) -> None:
    """Serve the web dashboard and the REST API (/api/v1) of this workspace."""
    import uvicorn

    from daozhang.service.users import has_admin, list_users
    from daozhang.web.app import create_app
    from daozhang.web.config import WebConfig

    home = ctx.obj.home
    lang: str = ctx.obj.lang
    ws = Workspace.open(home)
    if demo and not is_loopback(host):
        err_console.print(f"[red]{_say('demo_loopback', lang)}[/red]")
        raise typer.Exit(2)
    if not is_loopback(host) and not has_admin(ws):
        err_console.print(f"[red]{_say('no_admin', lang, host=host, home=home)}[/red]")
        ws.close()
        raise typer.Exit(2)
    if demo:
        password = _ensure_demo_admin(ws)
        console.print(_say("demo_login", lang, user=DEMO_USER, password=password))
    elif not list_users(ws):
        err_console.print(f"[yellow]{_say('no_users', lang, home=home)}[/yellow]")
    shown = f"[{host}]" if ":" in host else host
    console.print(_say("listening", lang, url=f"{shown}:{port}"))
    app = create_app(ws, WebConfig(max_upload_bytes=max_upload_mb << 20))
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    finally:
        ws.close()
