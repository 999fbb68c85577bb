"""``daozhang profiles list|show|check``: the column-mapping profiles, and whether a file fits one.

A bookkeeper with a new bank export asks two questions: "does daozhang
know this layout?" (``check FILE``: which profile fits, the header row it
found, the first records it would import and the rows it would set aside)
and "how do I describe mine?" (``show NAME``: a built-in profile's YAML, to
copy into ``<home>/profiles/`` and edit). Exit codes: 0 fits, 2 does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Protocol

import typer

from daozhang.cli.output import console, err_console, write_rows
from daozhang.ingest.mapped import Fit
from daozhang.ingest.profiles import ProfileError
from daozhang.service.formats import (
    PROFILES_DIR,
    ProfileCheck,
    check_file,
    find_profile,
    workspace_profiles,
)

__all__ = ["print_fit", "profiles_app"]

profiles_app = typer.Typer(
    help="列映射配置 Column-mapping profiles for bank and acquirer exports: list, show, check.",
    no_args_is_help=True,
)


class _Cli(Protocol):
    home: Path
    lang: str


def _cli(ctx: typer.Context) -> _Cli:
    st: _Cli = ctx.obj
    return st


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]", markup=True, highlight=False)
    return typer.Exit(2)


@profiles_app.command("list")
def list_profiles(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Every profile: the built-in ones and the workspace's own (<home>/profiles/*.yaml)."""
    st = _cli(ctx)
    found = workspace_profiles(st.home)
    zh = st.lang == "zh"
    rows = [
        {
            "name": p.name,
            "kind": p.kind.value,
            "source": ("内置" if zh else "built-in") if p.builtin else p.origin,
            "description": p.description(st.lang),
        }
        for p in found.profiles
    ]
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("name", "名称" if zh else "Name"),
            ("kind", "记录类型" if zh else "Kind"),
            ("description", "说明" if zh else "Description"),
            ("source", "来源" if zh else "Source"),
        ],
    )
    for problem in found.problems:
        err_console.print(
            ("[yellow]无法使用的配置 " if zh else "[yellow]Unusable profile ")
            + problem.message(st.lang)
            + "[/yellow]",
            highlight=False,
        )


@profiles_app.command("show")
def show_profile(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A profile name or a YAML file.")],
) -> None:
    """A profile's YAML: copy it to <home>/profiles/ and edit it for your own layout."""
    st = _cli(ctx)
    try:
        profile = find_profile(st.home, name)
    except ProfileError as exc:
        raise _fail(exc.message(st.lang)) from None
    # Plain text, not rich markup: a YAML pattern like [0-9] is not a style.
    typer.echo(profile.text.rstrip("\n"))
    if profile.builtin:
        hint = (
            f"# 要修改：复制到 {st.home / PROFILES_DIR}/{profile.name}.yaml 再编辑"
            "（同名时工作区的优先）"
            if st.lang == "zh"
            else f"# To change it: copy it to {st.home / PROFILES_DIR}/{profile.name}.yaml "
            "and edit (the workspace's wins over a built-in of the same name)"
        )
        err_console.print(hint, highlight=False, markup=False)


@profiles_app.command("check")
def check_profile(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The export file to check.")],
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Check only this profile (a name or a YAML file)."),
    ] = None,
    sample: Annotated[int, typer.Option("--rows", help="How many records to show.", min=0)] = 5,
) -> None:
    """Which profile fits FILE (or whether --profile does), and what reading it would give."""
    st = _cli(ctx)
    zh = st.lang == "zh"
    if not file.is_file():
        raise _fail(f"找不到文件：{file}" if zh else f"No such file: {file}")
    try:
        result = check_file(st.home, file, profile, sample=sample)
    except ProfileError as exc:
        raise _fail(exc.message(st.lang)) from None
    except OSError as exc:
        raise _fail(f"无法读取文件：{exc}" if zh else f"The file cannot be read: {exc}") from None
    if result is None:
        raise _fail(
            "没有任何配置和这个文件相近；用 `daozhang profiles show` 参考一个内置配置写一个。"
            if zh
            else "No profile is even close to this file; write one, starting from "
            "`daozhang profiles show` of a built-in profile."
        )
    _print_check(result, st.lang)
    raise typer.Exit(0 if result.fits else 2)


def print_fit(name: str, fit: Fit, lang: str) -> None:
    """The header row found and the expected columns it lacks (also for ``import --profile``)."""
    zh = lang == "zh"
    expected = ", ".join(fit.expected)
    found = ", ".join(c for c in fit.found if c) or ("（无）" if zh else "(none)")
    where = (
        (f"第 {fit.line} 行" if zh else f"line {fit.line}")
        if fit.line is not None
        else ("没有找到" if zh else "not found")
    )
    lines = [
        (f"配置 {name}：表头行 {where}" if zh else f"Profile {name}: header row {where}"),
        (f"  应有的列：{expected}" if zh else f"  expected columns: {expected}"),
        (f"  找到的列：{found}" if zh else f"  columns found: {found}"),
    ]
    if fit.missing:
        missing = ", ".join(fit.missing)
        lines.append(f"  缺少：{missing}" if zh else f"  missing: {missing}")
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _print_check(result: ProfileCheck, lang: str) -> None:
    zh = lang == "zh"
    p = result.profile
    if result.fits:
        console.print(
            f"符合配置 {p.name}（{p.description(lang)}，{p.kind.value}）"
            if zh
            else f"Fits profile {p.name} ({p.description(lang)}, {p.kind.value})",
            highlight=False,
            markup=False,
        )
    else:
        console.print(
            f"不符合配置 {p.name}（最接近的）"
            if zh
            else f"Does not fit profile {p.name} (closest)",
            highlight=False,
            markup=False,
        )
    print_fit(p.name, result.fit, lang)
    if not result.fits:
        return
    console.print(
        f"共 {result.rows_read} 行数据；前 {len(result.records)} 条记录："
        if zh
        else f"{result.rows_read} data rows; the first {len(result.records)} records:",
        highlight=False,
        markup=False,
    )
    for rec in result.records:
        text = ", ".join(f"{k}={v}" for k, v in rec.items() if v is not None)
        console.print("  " + text, highlight=False, markup=False)
    if result.rejects:
        console.print(
            f"{len(result.rejects)} 个问题：" if zh else f"{len(result.rejects)} problems:",
            highlight=False,
            markup=False,
        )
        for r in result.rejects[:20]:
            where = f"{r.line}" if r.line is not None else "-"
            msg = r.messages()[0 if zh else 1]
            console.print(
                f"  {'行' if zh else 'line'} {where}: {msg}", highlight=False, markup=False
            )
