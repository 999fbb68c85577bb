"""``daozhang import``, ``rejects`` and ``imports``: what went in, what was set aside, and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from daozhang.cli.i18n import say
from daozhang.cli.output import console, err_console, write_rows
from daozhang.cli.profiles import print_fit
from daozhang.ingest.accounts import AccountError, check_account
from daozhang.ingest.base import Format
from daozhang.ingest.iso8583_specs import SpecError
from daozhang.ingest.mapped import MappedFormat
from daozhang.ingest.profiles import ProfileError
from daozhang.service.formats import file_head, find_import_format, workspace_formats
from daozhang.service.imports import FileStatus, ImportReport, import_paths
from daozhang.store import repo
from daozhang.store.workspace import Workspace

__all__ = ["list_imports", "list_rejects", "run_import"]

_STATUS = {
    FileStatus.IMPORTED: ("已导入", "imported"),
    FileStatus.ALREADY_IMPORTED: (
        "此文件已导入过，未重复计入",
        "already imported, not counted again",
    ),
    FileStatus.NOT_RECOGNISED: ("无法识别的文件", "not recognised"),
    FileStatus.FAILED: ("无法读取", "could not be read"),
    FileStatus.NOT_FOUND: ("找不到此路径", "no such path"),
    FileStatus.CHECKED: ("可导入（试运行，未写入）", "would import (dry run, nothing written)"),
}
# Progress bars are drawn only when there is enough to wait for.
_BAR_FROM_BYTES = 8 << 20


def run_import(
    ws: Workspace,
    paths: list[Path],
    *,
    lang: str,
    dry_run: bool,
    profile: str | None = None,
    account: str | None = None,
) -> int:
    """Import ``paths``, show what became of every file, return the exit code.

    With ``profile`` (``import --profile``) every file is read with that one
    column-mapping profile (or ISO 8583 message layout); a file a profile
    does not fit is shown with the columns it expected and those the file has.
    With ``account`` (``import --account``) bank entries that name no account
    get that one, and the files it was used for are listed.
    """
    if account is not None:
        try:
            account = check_account(account)
        except AccountError:
            err_console.print(
                say("bad_account", lang, value=account), style="red", markup=False, highlight=False
            )
            return 2
    formats: tuple[Format, ...] | None = None
    chosen: Format | None = None
    if profile is not None:
        try:
            chosen = find_import_format(ws.home, profile)
        except (ProfileError, SpecError) as exc:
            err_console.print(f"[red]{exc.message(lang)}[/red]", highlight=False)
            return 2
        formats = (chosen,)
    else:
        formats = workspace_formats(ws)
    total = sum(p.stat().st_size for p in _files(paths))
    if total >= _BAR_FROM_BYTES and console.is_terminal:
        with Progress(
            TextColumn("[bold]导入 import[/bold]"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("import", total=total)

            def progress(done: int, all_bytes: int) -> None:
                bar.update(task, completed=done, total=all_bytes)

            report = import_paths(
                ws,
                paths,
                progress=progress,
                dry_run=dry_run,
                on_wait=_waiting(lang),
                formats=formats,
                account=account,
            )
    else:
        report = import_paths(
            ws, paths, dry_run=dry_run, on_wait=_waiting(lang), formats=formats, account=account
        )
    _print_report(report, lang)
    _print_account_use(report, account, lang)
    if isinstance(chosen, MappedFormat):
        _explain_misfits(report, chosen, lang)
    return report.exit_code


def _explain_misfits(report: ImportReport, fmt: MappedFormat, lang: str) -> None:
    """For ``--profile``: what the profile expected of each file it did not fit."""
    for f in report.files:
        if f.status is not FileStatus.NOT_RECOGNISED:
            continue
        try:
            fit = fmt.fit(file_head(f.path))
        except OSError:
            continue
        err_console.print(f"{f.path}:", highlight=False, markup=False)
        print_fit(fmt.profile.name, fit, lang)


def _print_account_use(report: ImportReport, account: str | None, lang: str) -> None:
    """Bank exports that name no account: which got ``--account``, which still need one.

    A file is imported once (by its content), so an account given when the
    same file is imported again changes nothing: that is said too.
    """
    for f in report.files:
        if f.account_filled:
            key = "account_used"
        elif f.account_unknown:
            key = "account_unknown"
        elif account is not None and f.status is FileStatus.ALREADY_IMPORTED:
            key = "account_not_again"
        else:
            continue
        n = f.account_filled or f.account_unknown
        err_console.print(
            say(key, lang, account=account, n=n, path=str(f.path)), highlight=False, markup=False
        )
    if account is not None and not any(f.account_filled for f in report.files):
        err_console.print(say("account_unused", lang, account=account), highlight=False)


def _waiting(lang: str) -> Callable[[], None]:
    def say_waiting() -> None:
        err_console.print(
            "另一个导入正在进行，等它完成后开始……"
            if lang == "zh"
            else "Another import is running; this one starts when it is done..."
        )

    return say_waiting


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(f for f in p.rglob("*") if f.is_file())
    return out


# Past this many files the table shows one line per kind of file, not per file.
_GROUP_FROM_FILES = 20


def _print_report(report: ImportReport, lang: str) -> None:
    if len(report.files) > _GROUP_FROM_FILES:
        _print_grouped(report, lang)
    else:
        _print_files(report, lang)
    _print_totals(report, lang)


def _print_files(report: ImportReport, lang: str) -> None:
    zh = lang == "zh"
    rows = []
    for f in report.files:
        what = _STATUS[f.status][0 if zh else 1]
        if f.problem is not None:
            what += ": " + f.problem.messages()[0 if zh else 1]
        rows.append(
            {
                "file": str(f.path),
                "format": " / ".join(x for x in (f.format, f.encoding) if x) or "-",
                "rows_imported": f.rows_imported,
                "rows_duplicate": f.rows_duplicate,
                "rows_rejected": f.rows_rejected,
                "status": what,
            }
        )
    write_rows(
        rows,
        fmt="table",
        columns=[
            ("file", say("file", lang)),
            ("format", say("format", lang)),
            ("rows_imported", say("rows_imported", lang)),
            ("rows_duplicate", say("rows_duplicate", lang)),
            ("rows_rejected", say("rows_rejected", lang)),
            ("status", say("status", lang)),
        ],
    )


def _print_grouped(report: ImportReport, lang: str) -> None:
    """One line per (kind, status): a provider importing a month of daily files reads this."""
    zh = lang == "zh"
    groups: dict[tuple[str, str], list[int]] = {}
    for f in report.files:
        what = _STATUS[f.status][0 if zh else 1]
        g = groups.setdefault((f.format or "-", what), [0, 0, 0, 0])
        g[0] += 1
        g[1] += f.rows_imported
        g[2] += f.rows_duplicate
        g[3] += f.rows_rejected
    write_rows(
        [
            {
                "format": fmt,
                "files": n,
                "rows_imported": imported,
                "rows_duplicate": dup,
                "rows_rejected": rejected,
                "status": what,
            }
            for (fmt, what), (n, imported, dup, rejected) in sorted(groups.items())
        ],
        fmt="table",
        columns=[
            ("format", say("format", lang)),
            ("files", "文件数" if zh else "Files"),
            ("rows_imported", say("rows_imported", lang)),
            ("rows_duplicate", say("rows_duplicate", lang)),
            ("rows_rejected", say("rows_rejected", lang)),
            ("status", say("status", lang)),
        ],
    )
    for f in report.files:
        if f.problem is not None:
            err_console.print(f"[yellow]{f.path}: {f.problem.messages()[0 if zh else 1]}[/yellow]")


def _print_totals(report: ImportReport, lang: str) -> None:
    zh = lang == "zh"
    t = report.totals
    notices = sum(f.notices for f in report.files)
    if zh:
        console.print(
            f"共读取 {t.rows_read} 行：导入 {t.rows_imported}，已导入过 {t.rows_duplicate}，"
            f"拒收 {t.rows_rejected}。"
            + (f"另有 {notices} 条提示（行已导入，但请核对）。" if notices else "")
        )
    else:
        console.print(
            f"{t.rows_read} rows read: {t.rows_imported} imported, {t.rows_duplicate} already in, "
            f"{t.rows_rejected} rejected."
            + (f" {notices} notices (rows imported, but check them)." if notices else "")
        )
    shown = [r for f in report.files for r in f.rejects][:10]
    for r in shown:
        where = f"{r.path}:{r.line}" if r.line is not None else r.path
        err_console.print(f"[yellow]{where}: {r.messages()[0 if zh else 1]}[/yellow]")
    if t.rows_rejected + notices > len(shown):
        err_console.print(
            "其余被拒收的行见 `daozhang rejects`。"
            if zh
            else "See `daozhang rejects` for the rest."
        )


def list_rejects(ws: Workspace, *, lang: str, fmt: str, import_id: int | None) -> None:
    with ws.db.connect() as conn:
        items = repo.list_rejects(conn, import_id=import_id)
    if fmt == "table" and not items:
        console.print(say("no_rejects", lang))
        return
    zh = lang == "zh"
    rows = [
        {
            "import_id": r.import_id,
            "path": r.path,
            "line": r.line,
            "field": r.field,
            "value": r.value,
            "code": r.code,
            "reason": r.messages()[0 if zh else 1],
            "raw": r.raw,
        }
        for r in items
    ]
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("path", say("file", lang)),
            ("line", say("line", lang)),
            ("field", say("field", lang)),
            ("value", say("value", lang)),
            ("reason", say("reason", lang)),
        ],
        csv_fields=["import_id", "path", "line", "field", "value", "code", "reason", "raw"],
    )


def list_imports(ws: Workspace, *, lang: str, fmt: str) -> None:
    with ws.db.connect() as conn:
        items = repo.list_imports(conn)
    rows = [
        {
            "id": i.id,
            "path": i.path,
            "kind": i.kind,
            "format": i.format,
            "encoding": i.encoding,
            "status": i.status,
            "rows_read": i.counts.rows_read,
            "rows_imported": i.counts.rows_imported,
            "rows_duplicate": i.counts.rows_duplicate,
            "rows_rejected": i.counts.rows_rejected,
            "actor": i.actor,
            "started_at": i.started_at.isoformat(timespec="seconds"),
        }
        for i in items
    ]
    write_rows(
        rows,
        fmt=fmt,
        columns=[
            ("id", "#"),
            ("path", say("file", lang)),
            ("kind", say("format", lang)),
            ("status", say("status", lang)),
            ("rows_imported", say("rows_imported", lang)),
            ("rows_duplicate", say("rows_duplicate", lang)),
            ("rows_rejected", say("rows_rejected", lang)),
            ("actor", "by"),
            ("started_at", "at"),
        ],
    )
