"""``daozhang``: where is my money, from the command line (DESIGN.md section 6).

Every command is a thin layer over a service function that the API calls
too; what is printed is decided here, what is true is decided there. A
user's mistake gets a clear message and an exit code, never a traceback:

* 0 — success;
* 1 — some input rows were rejected (the rest went in; ``daozhang rejects``);
* 2 — a usage error, nothing usable, or a run that cannot be trusted.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from daozhang.cli.i18n import default_lang, say
from daozhang.cli.output import FORMATS, console, err_console, write_rows
from daozhang.cli.profiles import profiles_app
from daozhang.cli.serve import serve
from daozhang.cli.users import orgs_app, tokens_app, users_app
from daozhang.domain.findings import ExceptionType, Finding
from daozhang.domain.money import format_yuan
from daozhang.errors import DaozhangError
from daozhang.report.explain import title
from daozhang.service.exceptions import CONTRACT_FIELDS, exception_record
from daozhang.service.report import daily_report
from daozhang.service.runs import ENGINES, reconcile_workspace
from daozhang.store import findings as findings_repo
from daozhang.store.workspace import Workspace, resolve_home

__all__ = ["app", "main"]

app = typer.Typer(
    name="daozhang",
    help="到账 daozhang: follow card and QR money from the POS terminal to the bank account.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class _State:
    home: Path
    lang: str

    def workspace(self) -> Workspace:
        return Workspace.open(self.home)


def _state(ctx: typer.Context) -> _State:
    state = ctx.obj
    assert isinstance(state, _State)
    return state


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="The workspace folder (default: $DAOZHANG_HOME, else a per-user data folder).",
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="zh or en (default: from the locale, else zh).")
    ] = None,
) -> None:
    chosen = lang or default_lang()
    if chosen not in ("zh", "en"):
        raise typer.BadParameter("choose zh or en", param_hint="--lang")
    ctx.obj = _State(home=resolve_home(home), lang=chosen)


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders, any mix.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what each file is, write nothing.")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help=(
                "Read every file with this column-mapping profile (a name or a YAML file),"
                " or an ISO 8583 message layout file."
            ),
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help=(
                "The account number of bank exports that do not name theirs"
                " (ABC, CMB debit, BOCOM, a WeChat Pay fund-flow bill); an account"
                " the file names is kept."
            ),
        ),
    ] = None,
) -> None:
    """Import every file in PATHS (ZIPs unpacked): the format is recognised from the content."""
    from daozhang.cli.imports import run_import

    st = _state(ctx)
    code = run_import(
        st.workspace(), paths, lang=st.lang, dry_run=dry_run, profile=profile, account=account
    )
    raise typer.Exit(code)


@app.command()
def reconcile(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default today.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")] = "duckdb",
    grace: Annotated[
        int, typer.Option("--grace", help="Arrival grace in bank working days.", min=0)
    ] = 1,
) -> None:
    """Match everything imported and find every payment that did not arrive or arrived wrong."""
    st = _state(ctx)
    day = _date(as_of, "--as-of") if as_of else dt.date.today()
    if engine not in ENGINES:
        raise typer.BadParameter(f"choose one of {', '.join(ENGINES)}", param_hint="--engine")
    try:
        rep = reconcile_workspace(st.workspace(), as_of=day, engine_name=engine, grace=grace)
    except DaozhangError as exc:
        raise _fail(str(exc)) from exc
    s = rep.summary
    console.print(
        say(
            "run_done",
            st.lang,
            run=rep.run_id,
            as_of=day.isoformat(),
            found=len(rep.result.findings),
            opened=s.opened,
            changed=s.changed,
            reopened=s.reopened,
            resolved=s.resolved,
        )
    )
    for w in [*rep.calendar_problems, *rep.result.warnings]:
        err_console.print(f"[yellow]{say('warning', st.lang)}: {w}[/yellow]")
    _print_by_type(rep.result.findings, st.lang)


def _print_by_type(findings: tuple[Finding, ...], lang: str) -> None:
    counts: Counter[ExceptionType] = Counter()
    money: Counter[ExceptionType] = Counter()
    for f in findings:
        counts[f.type] += 1
        money[f.type] += f.amount_fen
    rows = [
        {"type": title(t, lang), "count": counts[t], "amount": format_yuan(money[t])}
        for t in ExceptionType
        if counts[t]
    ]
    if rows:
        write_rows(
            rows,
            fmt="table",
            columns=[
                ("type", say("type", lang)),
                ("count", say("count", lang)),
                ("amount", say("amount", lang)),
            ],
        )


@app.command()
def exceptions(
    ctx: typer.Context,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only this type (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Resolved ones too, with when and why.")
    ] = False,
    merchant: Annotated[str | None, typer.Option("--merchant", help="Only this MID.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
) -> None:
    """List the exceptions, most money at stake first."""
    st = _state(ctx)
    _check_format(fmt)
    known = {t.value for t in ExceptionType}
    for t in types or []:
        if t not in known:
            raise typer.BadParameter(
                f"unknown type {t!r}; one of: {', '.join(sorted(known))}", param_hint="--type"
            )
    ws = st.workspace()
    with ws.db.connect() as conn:
        items = findings_repo.list_exceptions(
            conn,
            types=types or (),
            include_resolved=include_resolved,
            merchant_ids=[merchant] if merchant else None,
            limit=limit,
        )
    records = [exception_record(e, st.lang) for e in items]
    if fmt == "table" and not records:
        console.print(say("no_exceptions", st.lang))
        return
    columns = [
        ("id", "#"),
        ("title", say("type", st.lang)),
        ("merchant_id", say("merchant", st.lang)),
        ("amount", say("amount", st.lang)),
        ("explanation", say("explanation", st.lang)),
        ("next_action", say("next_action", st.lang)),
        ("due_date", say("due", st.lang)),
    ]
    if include_resolved:
        columns += [("status", say("status", st.lang)), ("resolution", say("resolution", st.lang))]
    write_rows(
        records,
        fmt=fmt,
        columns=columns,
        csv_fields=[*CONTRACT_FIELDS, "id", "key", "status", "resolution"],
    )
    if fmt == "table":
        total = sum(e.amount_fen for e in items)
        console.print(say("exceptions_total", st.lang, n=len(items), amount=format_yuan(total)))


@app.command()
def show(
    ctx: typer.Context,
    exception_id: Annotated[int, typer.Argument(help="The exception's number (#).")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """One exception in full: explanation, next step, evidence and history."""
    st = _state(ctx)
    ws = st.workspace()
    with ws.db.connect() as conn:
        e = findings_repo.get_exception(conn, exception_id)
        events = findings_repo.list_events(conn, exception_id) if e else []
    if e is None:
        raise _fail(say("not_found", st.lang, id=exception_id))
    rec = exception_record(e, st.lang)
    rec["history"] = [
        {k: ev[k] for k in ("at", "event", "actor", "run_id", "detail")} for ev in events
    ]
    if _check_format(fmt) == "json":
        write_rows([rec], fmt="json", columns=[])
        return
    console.print(f"[bold]#{e.id} {rec['title']}[/bold]  ({e.type.value}, {e.key})")
    for label, field in (
        ("amount", "amount"),
        ("explanation", "explanation"),
        ("next_action", "next_action"),
        ("due", "due_date"),
        ("status", "status"),
        ("resolution", "resolution"),
    ):
        if rec.get(field):
            console.print(f"[bold]{say(label, st.lang)}[/bold]: {rec[field]}")
    console.print(f"[bold]{say('evidence', st.lang)}[/bold]:")
    for proof in e.evidence:
        console.print(f"  {proof.role:<12} {proof.path}:{proof.line}")
    console.print(f"[bold]{say('history', st.lang)}[/bold]:")
    for event in events:
        console.print(
            f"  {event['at']}  {event['event']:<9} {event['actor']}  run {event['run_id']}"
        )


@app.command()
def report(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="The day of the sales, YYYY-MM-DD.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge arrivals as of; default the last run.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Expected vs arrived for one day, per merchant, with the money at stake."""
    st = _state(ctx)
    _check_format(fmt)
    day = _date(date, "--date")
    try:
        rep = daily_report(
            st.workspace(), date=day, as_of=_date(as_of, "--as-of") if as_of else None
        )
    except DaozhangError as exc:
        raise _fail(str(exc)) from exc
    lang = st.lang
    money = (
        "sales_fen",
        "refunds_fen",
        "settled_fen",
        "fee_fen",
        "net_fen",
        "paid_out_fen",
        "arrived_fen",
        "outstanding_fen",
        "at_stake_fen",
    )
    rows = []
    for m in (*rep.merchants, rep.total()):
        row: dict[str, object] = {
            "date": day.isoformat(),
            "merchant_id": m.merchant_id if m.merchant_id != "*" else say("total", lang),
            "merchant_name": m.merchant_name,
            "sales_count": m.sales_count,
            "open_exceptions": m.open_exceptions,
        }
        for f in money:
            row[f.removesuffix("_fen")] = format_yuan(getattr(m, f))
        rows.append(row)
    if fmt != "table":
        rows = rows[:-1]  # machines add up for themselves
    write_rows(
        rows,
        fmt=fmt,
        title=say("report_title", lang, date=day.isoformat(), as_of=rep.as_of.isoformat()),
        columns=[
            ("merchant_id", say("merchant", lang)),
            ("merchant_name", ""),
            ("sales", say("sales", lang)),
            ("refunds", say("refunds", lang)),
            ("settled", say("settled", lang)),
            ("fee", say("fee", lang)),
            ("net", say("net", lang)),
            ("paid_out", say("paid_out", lang)),
            ("arrived", say("arrived", lang)),
            ("outstanding", say("outstanding", lang)),
            ("open_exceptions", say("open", lang)),
            ("at_stake", say("amount", lang)),
        ],
        csv_fields=[
            "date",
            "merchant_id",
            "merchant_name",
            "sales_count",
            *[f.removesuffix("_fen") for f in money],
            "open_exceptions",
        ],
    )
    for w in rep.warnings:
        err_console.print(f"[yellow]{say('warning', lang)}: {w}[/yellow]")


@app.command()
def rejects(
    ctx: typer.Context,
    import_id: Annotated[int | None, typer.Option("--import", help="Only this import.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """The rows set aside on import: file, line, field, value and why."""
    from daozhang.cli.imports import list_rejects

    st = _state(ctx)
    list_rejects(st.workspace(), lang=st.lang, fmt=_check_format(fmt), import_id=import_id)


@app.command()
def imports(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Every import: which file, recognised as what, how many rows went in, by whom."""
    from daozhang.cli.imports import list_imports

    st = _state(ctx)
    list_imports(st.workspace(), lang=st.lang, fmt=_check_format(fmt))


@app.command()
def simulate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="The folder to write the files into.")],
    merchants: Annotated[int, typer.Option("--merchants", min=4)] = 12,
    days: Annotated[int, typer.Option("--days", min=14)] = 28,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """Write a realistic simulated set of input files, with planted exceptions and their answers."""
    from daozhang.cli.demo import run_simulate

    st = _state(ctx)
    run_simulate(out, merchants=merchants, days=days, seed=seed, lang=st.lang)


@app.command()
def demo(ctx: typer.Context) -> None:
    """Build a realistic sample workspace in --home and run everything on it."""
    from daozhang.cli.demo import run_demo

    st = _state(ctx)
    try:
        code = run_demo(st.home, lang=st.lang)
    except DaozhangError as exc:
        raise _fail(str(exc)) from exc
    raise typer.Exit(code)


calendar_app = typer.Typer(help="The bank calendar: holidays and make-up working days (调休).")
app.add_typer(calendar_app, name="calendar")
app.add_typer(users_app, name="users")
app.add_typer(profiles_app, name="profiles")
app.add_typer(orgs_app, name="orgs")
app.add_typer(tokens_app, name="tokens")
app.command("serve")(serve)


@calendar_app.command("show")
def calendar_show(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Which days are bank working days, and where each answer comes from."""
    from daozhang.service.runs import load_calendar

    st = _state(ctx)
    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first or (last - first).days > 3660:
        raise typer.BadParameter("--to must be on or after --from, within ten years")
    cal, problems = load_calendar(st.home)
    zh = st.lang == "zh"
    rows = [
        {
            "date": d.date.isoformat(),
            "weekday": "一二三四五六日"[d.date.weekday()] if zh else d.date.strftime("%a"),
            "working": ("上班" if zh else "working") if d.working else ("休息" if zh else "off"),
            "name": (d.name_zh if zh else d.name) or "",
            "source": d.source,
        }
        for d in cal.days(first, last)
    ]
    write_rows(
        rows,
        fmt=_check_format(fmt),
        columns=[
            ("date", "日期" if zh else "Date"),
            ("weekday", "星期" if zh else "Day"),
            ("working", "银行工作日" if zh else "Bank day"),
            ("name", "节日" if zh else "Holiday"),
            ("source", "来源" if zh else "Source"),
        ],
    )
    for p in problems:
        err_console.print(f"[yellow]{say('warning', st.lang)}: {p}[/yellow]")
    unknown = cal.unknown_between(first, last)
    if unknown:
        err_console.print(
            f"[yellow]{say('warning', st.lang)}: "
            + (
                f"日历不知道 {unknown[0]} 至 {unknown[-1]} 的安排，暂按周一至周五上班计算；"
                "请用 `daozhang calendar set` 补充。"
                if zh
                else f"the calendar does not know {unknown[0]} to {unknown[-1]}; Monday to "
                "Friday are assumed working. Add the official days with `daozhang calendar set`."
            )
            + "[/yellow]"
        )


@calendar_app.command("set")
def calendar_set(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Argument(help="working or holiday")],
    note: Annotated[str | None, typer.Option("--note", help="e.g. 春节调休")] = None,
) -> None:
    """Declare a day a bank working day or a holiday (written to the workspace's calendar.csv)."""
    from daozhang.domain.calendar import Override
    from daozhang.store.calendar_file import CALENDAR_FILE, CalendarFileError, add_override

    st = _state(ctx)
    if kind not in ("working", "holiday"):
        raise typer.BadParameter("choose working or holiday", param_hint="KIND")
    override = Override(date=_date(day, "DAY"), working=kind == "working", note=note)
    st.home.mkdir(parents=True, exist_ok=True)
    try:
        problems = add_override(st.home / CALENDAR_FILE, override)
    except CalendarFileError as exc:
        raise _fail(str(exc)) from exc
    for p in problems:
        err_console.print(f"[yellow]{say('warning', st.lang)}: {p}[/yellow]")
    console.print(f"{override.date} {kind} -> {st.home / CALENDAR_FILE}")


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint=option) from None


def main() -> None:
    """The console entry point: runs the app and turns our own errors into messages."""
    try:
        app()
    except DaozhangError as exc:
        err_console.print(f"[red]{exc}[/red]")
        sys.exit(2)
