"""``daozhang simulate`` and ``daozhang demo``: a realistic workspace, and the whole job on it."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from daozhang.cli.i18n import say
from daozhang.cli.imports import run_import
from daozhang.cli.output import console, err_console, write_rows
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import format_yuan
from daozhang.report.explain import title
from daozhang.service.exceptions import exception_record
from daozhang.service.runs import reconcile_workspace
from daozhang.simulate import SimulationSummary, simulate
from daozhang.simulate.real_formats import deliver_in_real_formats
from daozhang.store import findings as findings_repo
from daozhang.store.workspace import Workspace

__all__ = ["run_demo", "run_simulate"]


def run_simulate(out: Path, *, merchants: int, days: int, seed: int, lang: str) -> None:
    summary = simulate(out, merchants=merchants, days=days, seed=seed)
    _print_simulation(summary, lang)


def _print_simulation(s: SimulationSummary, lang: str) -> None:
    rows = sum(s.counts.values())
    planted = sum(s.planted.values())
    if lang == "zh":
        console.print(
            f"已生成模拟数据：{s.start} 至 {s.end}，共 {len(s.files)} 个文件、{rows} 行，"
            f"埋入 {planted} 个异常（答案见 {s.truth}）。对账日：{s.as_of}。"
        )
    else:
        console.print(
            f"Simulated {s.start} to {s.end}: {len(s.files)} files, {rows} rows, {planted} "
            f"planted exceptions (the answers are in {s.truth}). Reconcile as of {s.as_of}."
        )


def run_demo(home: Path, *, lang: str) -> int:
    """Simulate, import, reconcile and report on the workspace at ``home``."""
    zh = lang == "zh"
    # Beside the workspace, not in it: an import never reads the workspace's own folder.
    inputs = home.parent / f"{home.name}-input"
    summary = deliver_in_real_formats(simulate(inputs, merchants=12, days=28, seed=7))
    _print_simulation(summary, lang)
    console.print(
        "其中两个银行账户的流水是 camt.053 和 MT940，维护公告是 iCalendar，"
        "第一天的 POS 流水是终端的 ISO 8583 报文日志：导入时按内容识别。"
        if zh
        else "Two bank statements come as camt.053 and MT940, the maintenance notices as "
        "iCalendar and the first day's POS journal as the terminals' ISO 8583 message log: "
        "the import recognises each by its content."
    )
    ws = Workspace.open(home)
    console.rule("1. 导入 import" if zh else "1. Import")
    code = run_import(ws, list(summary.files), lang=lang, dry_run=False)
    console.rule("2. 对账 reconcile" if zh else "2. Reconcile")
    rep = reconcile_workspace(ws, as_of=summary.as_of)
    found = Counter(f.type.value for f in rep.result.findings)
    rows = [
        {
            "type": title(t, lang),
            "found": found[t.value],
            "planted": summary.planted.get(t.value, 0),
            "amount": format_yuan(sum(f.amount_fen for f in rep.result.findings if f.type is t)),
        }
        for t in ExceptionType
    ]
    write_rows(
        rows,
        fmt="table",
        columns=[
            ("type", say("type", lang)),
            ("found", "发现" if zh else "Found"),
            ("planted", "埋入" if zh else "Planted"),
            ("amount", say("amount", lang)),
        ],
    )
    exact = _compare_with_truth(summary.truth, rep.result.findings)
    console.print(exact[0] if zh else exact[1])
    for w in rep.result.warnings:
        err_console.print(f"[yellow]{say('warning', lang)}: {w}[/yellow]")
    console.rule("3. 最需要处理的异常 most urgent" if zh else "3. What needs you first")
    with ws.db.connect() as conn:
        top = findings_repo.list_exceptions(conn, limit=5)
    write_rows(
        [exception_record(e, lang) for e in top],
        fmt="table",
        columns=[
            ("id", "#"),
            ("title", say("type", lang)),
            ("amount", say("amount", lang)),
            ("explanation", say("explanation", lang)),
            ("due_date", say("due", lang)),
        ],
    )
    late = [f for f in rep.result.findings if f.type is ExceptionType.ARRIVED_LATE]
    day = dt.date.fromisoformat(str(late[0].facts["ref_date"])) if late else summary.start
    console.rule(("4. 日报 " if zh else "4. Daily report ") + day.isoformat())
    from daozhang.cli.main import app

    app(
        ["--home", str(home), "--lang", lang, "report", "--date", day.isoformat()],
        standalone_mode=False,
    )
    console.rule()
    h = str(home)
    if zh:
        console.print(
            "接下来可以试试：\n"
            f"  daozhang --home {h} exceptions                 # 全部异常\n"
            f"  daozhang --home {h} show 1                     # 单个异常的证据和处理记录\n"
            f"  daozhang --home {h} exceptions --format json   # 给其他工具用\n"
            f"  daozhang --home {h} --lang en exceptions       # English\n"
            "在浏览器中查看：make demo-serve，然后打开 http://127.0.0.1:8000"
            f"（或 daozhang --home {h} serve --demo，会显示演示账号和密码）"
        )
    else:
        console.print(
            "Next, try:\n"
            f"  daozhang --home {h} exceptions                 # every exception\n"
            f"  daozhang --home {h} show 1                     # evidence and history of one\n"
            f"  daozhang --home {h} exceptions --format json   # for other tools\n"
            f"  daozhang --home {h} --lang zh exceptions       # 中文\n"
            "In a browser: make demo-serve, then open http://127.0.0.1:8000"
            f" (or daozhang --home {h} serve --demo, which prints a demo sign-in)"
        )
    return code if code != 1 else 0


def _compare_with_truth(truth: Path, findings: object) -> tuple[str, str]:
    expected = set()
    for line in truth.read_text(encoding="utf-8").splitlines():
        if line.strip():
            t = json.loads(line)
            expected.add((t["type"], t["key"]))
    got = {(f.type.value, f.key) for f in findings}  # type: ignore[attr-defined]
    missed, extra = expected - got, got - expected
    if not missed and not extra:
        return (
            f"与模拟的答案完全一致：{len(expected)} 个异常全部找到，没有误报。",
            f"Exactly the simulation's answer: all {len(expected)} exceptions found, none false.",
        )
    return (
        f"与答案不一致：漏掉 {len(missed)} 个，误报 {len(extra)} 个。",
        f"Differs from the answer: {len(missed)} missed, {len(extra)} false.",
    )
