"""``daozhang users``, ``orgs`` and ``tokens``: who may use the web app and the API.

The command line acts as whoever holds the workspace folder (recorded in
the audit log as ``cli:<os user>``): it may do anything, and is how the
first admin is made before ``daozhang serve`` listens beyond loopback.
Passwords are asked twice with a hidden prompt, or read from standard input
with ``--password-stdin`` (for scripts); they are never echoed, printed or
passed as an argument (arguments are visible to every user of the machine).
A new API token is the only thing written to standard output, once, so a
script can capture it.

Exit codes: 0 done (also when it was done already: disabling a disabled
user); 2 a mistake (unknown user, short password, bad merchant number...),
with a message and nothing changed.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, Protocol

import typer
from rich.markup import escape

from daozhang.cli.output import FORMATS, console, err_console, write_rows
from daozhang.service import users as svc
from daozhang.store.workspace import Workspace

__all__ = ["orgs_app", "tokens_app", "users_app"]

users_app = typer.Typer(
    help="用户与角色 Users of the web app and API: add, list, passwd, disable, enable.",
    no_args_is_help=True,
)
orgs_app = typer.Typer(
    help="机构 Organisations and the merchants each may see.", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API 令牌 API tokens for tools: create, list, revoke.", no_args_is_help=True
)


class _Cli(Protocol):
    """What the main app leaves in the context (cli/main.py's ``_State``)."""

    home: Path
    lang: str

    def workspace(self) -> Workspace: ...


def _cli(ctx: typer.Context) -> _Cli:
    st: _Cli = ctx.obj
    return st


@contextmanager
def _workspace(ctx: typer.Context) -> Iterator[Workspace]:
    ws = _cli(ctx).workspace()
    try:
        yield ws
    finally:
        ws.close()


def _actor() -> str:
    from daozhang.service.imports import current_actor

    return f"cli:{current_actor()}"


_WORDS: dict[str, tuple[str, str]] = {
    "password": ("密码", "Password"),
    "password_again": ("再次输入密码", "Password again"),
    "passwords_differ": (
        "两次输入的密码不一致，未做任何更改。",
        "The two passwords differ; nothing was changed.",
    ),
    "no_password_stdin": (
        "标准输入中没有密码（--password-stdin 读取第一行）。",
        "No password on standard input (--password-stdin reads the first line).",
    ),
    "cancelled": ("已取消，未做任何更改。", "Cancelled; nothing was changed."),
    "password_short": (
        "密码太短：至少需要 {min} 个字符（现在只有 {n} 个）。未做任何更改。",
        "The password is too short: at least {min} characters are needed (this one has {n}). "
        "Nothing was changed.",
    ),
    "password_long": (
        "密码太长：最多 {max} 个字符。未做任何更改。",
        "The password is too long: at most {max} characters. Nothing was changed.",
    ),
    "name_empty": ("{what}不能为空。", "The {what} is empty."),
    "name_too_long": (
        "{what}「{value}」超过 {limit} 个字符。",
        "{what} {value!r} is over {limit} characters.",
    ),
    "name_characters": (
        "{what}「{value}」只能包含字母、数字和 . _ - @。",
        "{what} {value!r}: only letters, digits and . _ - @ are allowed.",
    ),
    "name_control": (
        "{what}「{value}」含有控制字符。",
        "{what} {value!r} holds control characters.",
    ),
    "what_username": ("用户名", "username"),
    "what_organisation": ("机构名称", "organisation name"),
    "what_token name": ("令牌名称", "token name"),
    "bad_mid": (
        "商户号应为 15 位数字：{values}。未做任何更改。",
        "A merchant number has 15 digits: {values}. Nothing was changed.",
    ),
    "bad_role": (
        "角色只能是 admin、operator 或 viewer。",
        "The role is admin, operator or viewer.",
    ),
    "unknown_user": (
        "找不到用户 {name}（`daozhang users list` 可查看全部用户）。",
        "No user {name} (see `daozhang users list`).",
    ),
    "unknown_org": (
        "找不到机构 {name}（`daozhang orgs list` 可查看全部机构）。",
        "No organisation {name} (see `daozhang orgs list`).",
    ),
    "unknown_token": ("找不到编号为 {id} 的 API 令牌。", "No API token #{id}."),
    "user_exists": (
        "用户 {name} 已存在，未做任何更改。",
        "User {name} exists already; nothing was changed.",
    ),
    "org_exists": ("机构 {name} 已存在。", "Organisation {name} exists already."),
    "user_disabled": ("用户 {name} 已停用。", "User {name} is disabled."),
    "org_created": ("已新建机构 {name}。", "Organisation {name} created."),
    "org_created_all": (
        "已新建机构 {name}，可查看工作区的全部商户。",
        "Organisation {name} created; it sees every merchant of the workspace.",
    ),
    "user_added": (
        "已创建用户 {name}（机构：{org}，角色：{role}）。",
        "User {name} added (organisation {org}, role {role}).",
    ),
    "password_set": (
        "已为 {name} 设置新密码；其 {n} 个登录会话已退出。",
        "New password set for {name}; {n} sessions ended.",
    ),
    "user_disabled_now": (
        "已停用用户 {name}：不能再登录，会话已退出，其 API 令牌不再有效。",
        "User {name} disabled: no more logins, sessions ended, their API tokens stop working.",
    ),
    "user_disabled_already": (
        "用户 {name} 本已停用，未做更改。",
        "User {name} was disabled already.",
    ),
    "user_enabled_now": ("已重新启用用户 {name}。", "User {name} enabled again."),
    "user_enabled_already": (
        "用户 {name} 本已启用，未做更改。",
        "User {name} was enabled already.",
    ),
    "no_users": (
        "还没有用户。用 `daozhang users add --org 机构 --role admin 用户名` 创建第一个管理员。",
        "No users yet. Make the first admin with `daozhang users add --org ORG --role admin NAME`.",
    ),
    "no_orgs": ("还没有机构。", "No organisations yet."),
    "no_tokens": ("没有 API 令牌。", "No API tokens."),
    "merchants_added": (
        "已为机构 {org} 分配 {n} 个商户；{same} 个原已分配。",
        "{n} merchants given to {org}; {same} it had already.",
    ),
    "merchants_removed": (
        "已从机构 {org} 移除 {n} 个商户；{same} 个原本就不属于该机构。",
        "{n} merchants taken from {org}; {same} it did not have.",
    ),
    "sees_all_anyway": (
        "注意：机构 {org} 可查看全部商户，分配与否不影响其可见范围。",
        "Note: {org} sees every merchant whatever is assigned to it.",
    ),
    "no_merchants": ("机构 {org} 还没有分配商户。", "{org} has no merchants assigned."),
    "token_created": (
        "已为 {user} 创建 API 令牌 #{id}（{name}）。令牌只显示这一次，请立即妥善保存：",
        "API token #{id} ({name}) created for {user}. It is shown this once only; keep it safe:",
    ),
    "token_revoked": ("已撤销 API 令牌 #{id}（{name}）。", "API token #{id} ({name}) revoked."),
    "token_revoked_already": (
        "API 令牌 #{id} 已于 {at} 撤销，未做更改。",
        "API token #{id} was revoked already, at {at}.",
    ),
    "role_admin": ("管理员", "admin"),
    "role_operator": ("操作员", "operator"),
    "role_viewer": ("只读", "viewer"),
    "enabled": ("启用", "enabled"),
    "disabled": ("已停用", "disabled"),
    "active": ("有效", "active"),
    "revoked": ("已撤销", "revoked"),
    "all_merchants": ("全部商户", "all merchants"),
    "some_merchants": ("{n} 个商户", "{n} merchants"),
    "h_username": ("用户名", "Username"),
    "h_org": ("机构", "Organisation"),
    "h_role": ("角色", "Role"),
    "h_status": ("状态", "Status"),
    "h_last_login": ("最近登录", "Last login"),
    "h_created": ("创建时间", "Created"),
    "h_merchants": ("可查看", "Sees"),
    "h_users": ("用户数", "Users"),
    "h_name": ("名称", "Name"),
    "h_token": ("令牌", "Token"),
    "h_user": ("用户", "User"),
    "h_created_by": ("创建者", "Created by"),
    "h_last_used": ("最近使用", "Last used"),
    "h_merchant": ("商户号", "Merchant"),
}


def _say(key: str, lang: str, **kw: object) -> str:
    zh, en = _WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**kw) if kw else text


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]{_escape(message)}[/red]")
    raise typer.Exit(2)


def _explain(exc: svc.UsersError, lang: str) -> str:
    """A user's mistake in their language (the service's messages are English, for logs)."""
    if isinstance(exc, svc.WeakPasswordError):
        if exc.length > svc.MAX_PASSWORD_LENGTH:
            return _say("password_long", lang, max=svc.MAX_PASSWORD_LENGTH)
        return _say("password_short", lang, min=exc.min_length, n=exc.length)
    if isinstance(exc, svc.InvalidNameError):
        what = _say(f"what_{exc.what}", lang)
        return _say(f"name_{exc.code}", lang, what=what, value=exc.value, limit=exc.limit)
    if isinstance(exc, svc.InvalidMerchantIdError):
        return _say("bad_mid", lang, values=", ".join(exc.values))
    if isinstance(exc, svc.UnknownUserError):
        return _say("unknown_user", lang, name=exc.username)
    if isinstance(exc, svc.UnknownOrganisationError):
        return _say("unknown_org", lang, name=exc.name)
    if isinstance(exc, svc.UnknownTokenError):
        return _say("unknown_token", lang, id=exc.token_id)
    if isinstance(exc, svc.UserExistsError):
        return _say("user_exists", lang, name=exc.username)
    if isinstance(exc, svc.OrganisationExistsError):
        return _say("org_exists", lang, name=exc.name)
    if isinstance(exc, svc.UserDisabledError):
        return _say("user_disabled", lang, name=exc.username)
    return str(exc)


@contextmanager
def _mistakes(lang: str) -> Iterator[None]:
    """A service's refusal becomes a message and exit code 2, never a traceback."""
    try:
        yield
    except svc.UsersError as exc:
        _fail(_explain(exc, lang))


def _escape(text: str) -> str:
    """Names go into rich markup: a ``[`` in an organisation's name must not start a tag."""
    return escape(text)


def _read_password(lang: str, from_stdin: bool) -> str:
    """The new password: first line of standard input, or asked twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail(_say("no_password_stdin", lang))
        with _mistakes(lang):
            svc.check_password(password)
        return password
    try:
        first: str = typer.prompt(_say("password", lang), hide_input=True, err=True)
        with _mistakes(lang):
            svc.check_password(first)  # before asking again: no point typing it twice
        second: str = typer.prompt(_say("password_again", lang), hide_input=True, err=True)
    except typer.Abort:  # end of input, Ctrl-C, Ctrl-D
        _fail(_say("cancelled", lang))
    if first != second:
        _fail(_say("passwords_differ", lang))
    return first


def _role(role: svc.Role | str, lang: str) -> str:
    return _say(f"role_{svc.Role(role).value}", lang)


def _when(value: dt.datetime | None, fmt: str) -> str | None:
    """Local time to the minute in a table; ISO 8601 with zone for machines."""
    if value is None:
        return None
    if fmt == "table":
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return value.isoformat(timespec="seconds")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


_PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]
_Format = Annotated[str, typer.Option("--format", help="table, json or csv.")]


# -- users ------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The login name, e.g. li.hong.")],
    org: Annotated[str, typer.Option("--org", help="The organisation (created if missing).")],
    role: Annotated[
        str, typer.Option("--role", help="admin, operator or viewer (default viewer).")
    ] = "viewer",
    password_stdin: _PasswordStdin = False,
) -> None:
    """Add a user to an organisation with a role; asks for the password twice."""
    lang = _cli(ctx).lang
    if role not in {r.value for r in svc.Role}:
        raise typer.BadParameter(_say("bad_role", lang), param_hint="--role")
    with _mistakes(lang):
        name = svc.normalise_username(username)
    with _workspace(ctx) as ws, _mistakes(lang):
        if _user_exists(ws, name):  # say so before asking for a password
            raise svc.UserExistsError(name)
        org_is_new = not _org_exists(ws, org)
        password = _read_password(lang, password_stdin)
        user = svc.add_user(ws, name, password, org=org, role=role, actor=_actor(), create_org=True)
    if org_is_new:
        console.print(_say("org_created", lang, name=_escape(user.org_name)))
    console.print(
        _say(
            "user_added",
            lang,
            name=_escape(user.username),
            org=_escape(user.org_name),
            role=_role(user.role, lang),
        )
    )


def _user_exists(ws: Workspace, name: str) -> bool:
    try:
        svc.get_user(ws, name)
    except svc.UserDisabledError:
        return True
    except svc.UnknownUserError:
        return False
    return True


def _org_exists(ws: Workspace, name: str) -> bool:
    try:
        svc.get_organisation(ws, name)
    except svc.UnknownOrganisationError:
        return False
    return True


@users_app.command("list")
def users_list(ctx: typer.Context, fmt: _Format = "table") -> None:
    """Every user: organisation, role, enabled or not, last login."""
    lang = _cli(ctx).lang
    _check_format(fmt)
    with _workspace(ctx) as ws:
        items = svc.list_users(ws)
    if fmt == "table" and not items:
        console.print(_say("no_users", lang))
        return
    rows: list[dict[str, object]] = []
    for u in items:
        row: dict[str, object] = {
            "id": u.id,
            "username": u.username,
            "org": u.org_name,
            "role": u.role.value,
            "status": "disabled" if u.disabled else "enabled",
            "created_at": _when(u.created_at, fmt),
            "last_login_at": _when(u.last_login_at, fmt),
        }
        if fmt == "table":
            row["role"] = _role(u.role, lang)
            row["status"] = _say(str(row["status"]), lang)
        rows.append(row)
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("username", _say("h_username", lang)),
            ("org", _say("h_org", lang)),
            ("role", _say("h_role", lang)),
            ("status", _say("h_status", lang)),
            ("last_login_at", _say("h_last_login", lang)),
            ("created_at", _say("h_created", lang)),
        ],
        csv_fields=["id", "username", "org", "role", "status", "created_at", "last_login_at"],
    )


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Whose password.")],
    password_stdin: _PasswordStdin = False,
) -> None:
    """Set a user's password (asked twice); every session of theirs ends."""
    lang = _cli(ctx).lang
    with _workspace(ctx) as ws, _mistakes(lang):
        try:
            name = svc.get_user(ws, username).username
        except svc.UserDisabledError as exc:
            name = exc.username  # a disabled user may get a password before being enabled
        password = _read_password(lang, password_stdin)
        ended = svc.set_password(ws, name, password, actor=_actor())
    console.print(_say("password_set", lang, name=_escape(name), n=ended))


def _toggle(ctx: typer.Context, username: str, *, disable: bool) -> None:
    lang = _cli(ctx).lang
    change: Callable[..., bool] = svc.disable_user if disable else svc.enable_user
    with _workspace(ctx) as ws, _mistakes(lang):
        changed = change(ws, username, actor=_actor())
    name = _escape(svc.normalise_username(username))
    word = "disabled" if disable else "enabled"
    console.print(_say(f"user_{word}_{'now' if changed else 'already'}", lang, name=name))


@users_app.command("disable")
def users_disable(
    ctx: typer.Context, username: Annotated[str, typer.Argument(help="Who.")]
) -> None:
    """Disable a user: no more logins; sessions end; their API tokens stop working."""
    _toggle(ctx, username, disable=True)


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Who.")]) -> None:
    """Enable a disabled user again."""
    _toggle(ctx, username, disable=False)


# -- organisations ------------------------------------------------------------------


@orgs_app.command("add")
def orgs_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. 杭州某某服务商")],
    all_merchants: Annotated[
        bool,
        typer.Option(
            "--all-merchants",
            help="Sees every merchant of the workspace (the provider running the installation).",
        ),
    ] = False,
) -> None:
    """Add an organisation (a shop, a chain, a service provider)."""
    lang = _cli(ctx).lang
    with _workspace(ctx) as ws, _mistakes(lang):
        org = svc.create_organisation(ws, name, all_merchants=all_merchants, actor=_actor())
    key = "org_created_all" if org.all_merchants else "org_created"
    console.print(_say(key, lang, name=_escape(org.name)))


@orgs_app.command("list")
def orgs_list(ctx: typer.Context, fmt: _Format = "table") -> None:
    """Every organisation: which merchants it sees, how many users it has."""
    lang = _cli(ctx).lang
    _check_format(fmt)
    with _workspace(ctx) as ws:
        items = svc.list_organisations(ws)
    if fmt == "table" and not items:
        console.print(_say("no_orgs", lang))
        return
    rows: list[dict[str, object]] = []
    for o in items:
        row: dict[str, object] = {
            "id": o.id,
            "name": o.name,
            "all_merchants": o.all_merchants,
            "merchant_count": o.merchant_count,
            "user_count": o.user_count,
            "created_at": _when(o.created_at, fmt),
        }
        if fmt == "table":
            row["sees"] = (
                _say("all_merchants", lang)
                if o.all_merchants
                else _say("some_merchants", lang, n=o.merchant_count)
            )
        rows.append(row)
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("name", _say("h_org", lang)),
            ("sees", _say("h_merchants", lang)),
            ("user_count", _say("h_users", lang)),
            ("created_at", _say("h_created", lang)),
        ],
        csv_fields=["id", "name", "all_merchants", "merchant_count", "user_count", "created_at"],
    )


@orgs_app.command("merchants")
def orgs_merchants(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="The organisation.")],
    merchant_ids: Annotated[
        list[str] | None,
        typer.Argument(help="15-digit merchant numbers; none: list the organisation's."),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Take these merchants away instead.")
    ] = False,
) -> None:
    """Give merchants to an organisation (--remove: take them away); without MIDs, list them."""
    lang = _cli(ctx).lang
    with _workspace(ctx) as ws, _mistakes(lang):
        found = svc.get_organisation(ws, org)
        if not merchant_ids:
            current = svc.organisation_merchants(ws, org)
            if found.all_merchants:
                console.print(_say("sees_all_anyway", lang, org=_escape(found.name)))
            if not current:
                console.print(_say("no_merchants", lang, org=_escape(found.name)))
            for mid in current:
                console.print(mid)
            return
        asked = svc.validate_merchant_ids(merchant_ids)
        changed = svc.assign_merchants(ws, org, asked, actor=_actor(), remove=remove)
    key = "merchants_removed" if remove else "merchants_added"
    name = _escape(found.name)
    console.print(_say(key, lang, org=name, n=len(changed), same=len(asked) - len(changed)))
    if found.all_merchants and not remove:
        console.print(_say("sees_all_anyway", lang, org=name))


# -- API tokens -------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What it is for, e.g. 对账脚本.")],
) -> None:
    """Create an API token for a tool; it is printed once, on standard output."""
    lang = _cli(ctx).lang
    with _workspace(ctx) as ws, _mistakes(lang):
        who = svc.get_user(ws, user)
        new = svc.create_api_token(ws, who, name, actor=_actor())
    err_console.print(
        _say("token_created", lang, user=_escape(who.username), id=new.id, name=_escape(new.name))
    )
    sys.stdout.write(new.token + "\n")
    sys.stdout.flush()


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Leave out revoked tokens.")] = False,
    fmt: _Format = "table",
) -> None:
    """API tokens (never the tokens themselves): whose, made by whom, last used, revoked."""
    lang = _cli(ctx).lang
    _check_format(fmt)
    with _workspace(ctx) as ws, _mistakes(lang):
        items = svc.list_api_tokens(ws, username=user, include_revoked=not active)
    if fmt == "table" and not items:
        console.print(_say("no_tokens", lang))
        return
    rows: list[dict[str, object]] = []
    for t in items:
        row: dict[str, object] = {
            "id": t.id,
            "prefix": t.prefix,
            "name": t.name,
            "username": t.username,
            "org": t.org_name,
            "created_by": t.created_by,
            "created_at": _when(t.created_at, fmt),
            "last_used_at": _when(t.last_used_at, fmt),
            "revoked_at": _when(t.revoked_at, fmt),
        }
        if fmt == "table":
            row["prefix"] = f"{t.prefix}…"
            row["status"] = _say("revoked" if t.revoked_at else "active", lang)
        rows.append(row)
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("id", "#"),
            ("prefix", _say("h_token", lang)),
            ("name", _say("h_name", lang)),
            ("username", _say("h_user", lang)),
            ("created_by", _say("h_created_by", lang)),
            ("created_at", _say("h_created", lang)),
            ("last_used_at", _say("h_last_used", lang)),
            ("status", _say("h_status", lang)),
        ],
        csv_fields=[
            "id",
            "prefix",
            "name",
            "username",
            "org",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ],
    )


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="The token's # in the list.")]
) -> None:
    """Revoke an API token: it stops working at once, for good."""
    lang = _cli(ctx).lang
    with _workspace(ctx) as ws, _mistakes(lang):
        changed = svc.revoke_api_token(ws, token_id, actor=_actor())
        info = svc.get_api_token(ws, token_id)
    if changed:
        console.print(_say("token_revoked", lang, id=token_id, name=_escape(info.name)))
    else:
        at = _when(info.revoked_at, "table")
        console.print(_say("token_revoked_already", lang, id=token_id, at=at))
