"""``/api/v1``: the same answers as the pages and the CLI, as JSON, for tools with a token.

Authentication is ``Authorization: Bearer dz_...`` (``daozhang tokens
create``) and nothing else: no cookie is read, so no CSRF token is needed.
Every list is paginated (``?page=&per_page=``, at most 500 a page) and
answers ``{"items": [...], "page", "per_page", "total"}``. Exceptions are
exactly :func:`daozhang.service.exceptions.exception_record`, the objects
``daozhang exceptions --format json`` prints. Amounts are yuan strings
("1234.50"), never floats. Errors are ``{"error": {"code", "message"}}``.
``?lang=en`` (or ``Accept-Language: en``) for English; Chinese by default.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from daozhang.errors import DaozhangError
from daozhang.report.explain import title
from daozhang.service import exceptions as exc_svc
from daozhang.service import overview as ov_svc
from daozhang.service.imports import FileReport, ImportReport
from daozhang.service.report import MerchantDay, daily_report
from daozhang.store import repo
from daozhang.store.exception_query import Sort, Status, count_runs
from daozhang.store.exception_query import list_runs as query_runs
from daozhang.web.deps import ApiOperator, ApiViewer, api_viewer, site_of
from daozhang.web.errors import WebError
from daozhang.web.jobs import JobBusyError, JobKind, JobState
from daozhang.web.params import exception_filters, parse_date
from daozhang.web.render import display_path, yuan
from daozhang.web.routes.imports import (
    form_account,
    run_import_job,
    run_reconcile_job,
    save_uploads,
    visible_import_ids,
)
from daozhang.web.routes.overview import step_reason

__all__ = ["add_openapi_route", "router"]

router = APIRouter(dependencies=[Depends(api_viewer)])

MAX_PER_PAGE = 500

Page = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number.")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page.")]
Lang = Annotated[str | None, Query(pattern="^(zh|en)$", description="zh (default) or en.")]


def _json(body: dict[str, Any]) -> JSONResponse:
    """``body`` as JSON, as it is: the busiest lists skip FastAPI's validation and
    re-encoding of their return value, a recursive walk that cost more than the
    query under twenty clients at once."""
    return JSONResponse(body)


def _page(items: Sequence[Any], page: int, per_page: int) -> dict[str, Any]:
    start = (page - 1) * per_page
    return {
        "items": list(items[start : start + per_page]),
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


# -- exceptions ---------------------------------------------------------------------


@router.get("/exceptions", summary="Exceptions, filtered, sorted and paginated")
def list_exceptions(
    request: Request,
    viewer: ApiViewer,
    type: Annotated[list[str] | None, Query(description="Exception type (repeatable).")] = None,
    merchant_id: Annotated[str | None, Query(max_length=32)] = None,
    terminal_id: Annotated[str | None, Query(max_length=16)] = None,
    date_from: Annotated[str | None, Query(description="YYYY-MM-DD: the day it is about.")] = None,
    date_to: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive.")] = None,
    amount_min: Annotated[str | None, Query(description="Yuan, e.g. 100.00.")] = None,
    amount_max: Annotated[str | None, Query(description="Yuan, inclusive.")] = None,
    status: Annotated[Status, Query()] = Status.OPEN,
    sort: Annotated[Sort, Query()] = Sort.AMOUNT_DESC,
    page: Page = 1,
    per_page: PerPage = 50,
    lang: Lang = None,
) -> JSONResponse:
    """Items are exactly the objects of ``daozhang exceptions --format json``."""
    form = exception_filters(request.query_params)
    found = exc_svc.find_exceptions(
        site_of(request).ws, viewer.scope, form.query, page=page, per_page=per_page
    )
    return _json(
        {
            "items": [exc_svc.exception_record(e, viewer.lang) for e in found.items],
            "page": found.page,
            "per_page": found.per_page,
            "total": found.total,
        }
    )


@router.get("/exceptions/{exception_id}", summary="One exception, with its history")
def get_exception(
    request: Request, viewer: ApiViewer, exception_id: int, lang: Lang = None
) -> dict[str, Any]:
    """The exception's record plus ``history`` (404 also for another organisation's)."""
    ws = site_of(request).ws
    e = exc_svc.scoped_exception(ws, viewer.scope, exception_id)
    if e is None:
        raise WebError(404, "no_such_exception", id=exception_id)
    return exc_svc.exception_detail_record(e, exc_svc.exception_events(ws, e.id), viewer.lang)


# -- merchants, overview, reports ---------------------------------------------------------


def _summary(m: ov_svc.MerchantSummary) -> dict[str, Any]:
    return {
        "merchant_id": m.merchant_id,
        "merchant_name": m.merchant_name,
        "sales": yuan(m.sales_fen),
        "net": yuan(m.net_fen),
        "arrived": yuan(m.arrived_fen),
        "open_exceptions": m.open_exceptions,
        "at_stake": yuan(m.at_stake_fen),
    }


@router.get("/merchants", summary="Merchants with their money and open exceptions")
def list_merchants(
    request: Request, viewer: ApiViewer, page: Page = 1, per_page: PerPage = 50
) -> JSONResponse:
    merchants = ov_svc.list_merchants(site_of(request).ws, viewer.scope)
    body = _page(merchants, page, per_page)
    return _json({**body, "items": [_summary(m) for m in body["items"]]})


def _day_totals(d: ov_svc.DayTotals) -> dict[str, Any]:
    return {
        "day": d.day.isoformat() if d.day else None,
        "sales_count": d.sales_count,
        "sales": yuan(d.sales_fen),
        "refunds": yuan(d.refunds_fen),
        "settled": yuan(d.settled_fen),
        "fee": yuan(d.fee_fen),
        "net": yuan(d.net_fen),
        "paid_out": yuan(d.paid_out_fen),
        "arrived": yuan(d.arrived_fen),
        "outstanding": yuan(d.outstanding_fen),
    }


def _date_param(value: str | None, name: str) -> dt.date | None:
    return parse_date(value, name)


@router.get("/merchants/{merchant_id}", summary="A merchant's money trail, day by day")
def merchant_trail(
    request: Request,
    viewer: ApiViewer,
    merchant_id: str,
    start: str | None = None,
    end: str | None = None,
    lang: Lang = None,
) -> dict[str, Any]:
    """Each business day: sales, settlement, payout and bank steps with their state."""
    trail = ov_svc.merchant_trail(
        site_of(request).ws,
        viewer.scope,
        merchant_id[:32],
        start=_date_param(start, "start"),
        end=_date_param(end, "end"),
    )
    if trail is None:
        raise WebError(404, "no_such_merchant", merchant=merchant_id[:32])
    return {
        "merchant_id": trail.merchant_id,
        "merchant_name": trail.merchant_name,
        "as_of": trail.as_of.isoformat() if trail.as_of else None,
        "run_id": trail.run_id,
        "days": [
            {
                **_day_totals(d.totals),
                "state": d.state.value,
                "steps": [
                    {
                        "step": s.name,
                        "state": s.state.value,
                        "amount": yuan(s.amount_fen),
                        "reason": step_reason(s, d, viewer.lang),
                        "exception_ids": [e.id for e in s.exceptions],
                    }
                    for s in d.steps
                ],
                "payouts": [
                    {
                        "payout_id": p.payout_id,
                        "carried": yuan(p.carried_fen),
                        "amount": yuan(p.amount_fen),
                        "outcome": p.outcome,
                        "disposition": p.disposition,
                        "credit_date": p.credit_date.isoformat() if p.credit_date else None,
                        "attempts": len(p.attempts),
                    }
                    for p in d.payouts
                ],
            }
            for d in trail.days
        ],
        "other_exception_ids": [e.id for e in trail.other_exceptions],
    }


@router.get("/overview", summary="Money per day, money at stake by type, the most urgent")
def overview(
    request: Request,
    viewer: ApiViewer,
    start: str | None = None,
    end: str | None = None,
    lang: Lang = None,
) -> JSONResponse:
    ov = ov_svc.overview(
        site_of(request).ws,
        viewer.scope,
        start=_date_param(start, "start"),
        end=_date_param(end, "end"),
    )
    return _json(
        {
            "start": ov.start.isoformat() if ov.start else None,
            "end": ov.end.isoformat() if ov.end else None,
            "as_of": ov.as_of.isoformat() if ov.as_of else None,
            "run_id": ov.run_id,
            "days": [_day_totals(d) for d in ov.days],
            "total": _day_totals(ov.total),
            "at_stake": [
                {
                    "type": s.type.value,
                    "title": title(s.type, viewer.lang),
                    "count": s.count,
                    "amount": yuan(s.amount_fen),
                }
                for s in ov.at_stake
            ],
            "urgent": [exc_svc.exception_record(e, viewer.lang) for e in ov.urgent],
        }
    )


def _merchant_day(m: MerchantDay, day: dt.date) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "merchant_id": m.merchant_id,
        "merchant_name": m.merchant_name,
        "sales_count": m.sales_count,
        **{
            f.removesuffix("_fen"): yuan(getattr(m, f))
            for f in (
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
        },
        "open_exceptions": m.open_exceptions,
    }


@router.get("/reports/daily", summary="The daily report: expected vs arrived per merchant")
def report(
    request: Request,
    viewer: ApiViewer,
    date: Annotated[str, Query(description="The day of the sales, YYYY-MM-DD.")],
    as_of: Annotated[
        str | None, Query(description="Judge arrivals as of; default last run.")
    ] = None,
    page: Page = 1,
    per_page: PerPage = 50,
) -> dict[str, Any]:
    """The rows of ``daozhang report --date D --format json``, of the viewer's merchants."""
    day = parse_date(date, "date")
    assert day is not None
    try:
        rep = daily_report(site_of(request).ws, date=day, as_of=parse_date(as_of, "as_of"))
    except DaozhangError as exc:
        raise WebError(400, "report_failed", detail=str(exc)) from exc
    rows = [_merchant_day(m, day) for m in rep.merchants if viewer.scope.allows(m.merchant_id)]
    return {
        **_page(rows, page, per_page),
        "date": day.isoformat(),
        "as_of": rep.as_of.isoformat(),
        "warnings": list(rep.warnings),
    }


# -- imports and reconcile runs ---------------------------------------------------------


def _file_result(f: FileReport, lang: str) -> dict[str, Any]:
    i = 0 if lang == "zh" else 1
    return {
        "name": display_path(str(f.path)),
        "status": f.status.value,
        "kind": f.kind.value if f.kind else None,
        "format": f.format,
        "encoding": f.encoding,
        "import_id": f.import_id,
        "rows_read": f.rows_read,
        "rows_imported": f.rows_imported,
        "rows_duplicate": f.rows_duplicate,
        "rows_rejected": f.rows_rejected,
        "account_filled": f.account_filled,
        "account_unknown": f.account_unknown,
        "duplicate_of": f.duplicate_of,
        "problem": f.problem.messages()[i] if f.problem is not None else None,
        "rejects": [
            {"line": r.line, "field": r.field, "value": r.value, "reason": r.messages()[i]}
            for r in f.rejects
        ],
    }


def _import_result(report: ImportReport, lang: str) -> dict[str, Any]:
    t = report.totals
    return {
        "files": [_file_result(f, lang) for f in report.files],
        "rows_read": t.rows_read,
        "rows_imported": t.rows_imported,
        "rows_duplicate": t.rows_duplicate,
        "rows_rejected": t.rows_rejected,
        "exit_code": report.exit_code,
    }


@router.post("/imports", summary="Upload files (or ZIPs) and import them", status_code=200)
def post_import(
    request: Request,
    viewer: ApiOperator,
    files: Annotated[list[UploadFile], File(description="Files or ZIP archives.")],
    account: Annotated[
        str | None,
        Form(
            description=(
                "The account number of bank exports that name none (ABC, CMB debit,"
                " BOCOM); an account the file names is kept."
            )
        ),
    ] = None,
    lang: Lang = None,
) -> JSONResponse:
    """Answers when the import is done, with what became of every file (409 while busy)."""
    site = site_of(request)
    if site.jobs.busy():
        raise WebError(409, "job_busy")
    given = form_account(account)
    saved = save_uploads(files, site.config)
    job = site.jobs.new(
        JobKind.IMPORT,
        org_id=viewer.user.org_id,
        username=viewer.user.username,
        state=JobState.UNPACKING,
    )
    try:
        site.jobs.run_here(job, run_import_job(site.ws, site.config, viewer.user, saved, given))
    except JobBusyError:
        saved.remove()
        raise WebError(409, "job_busy") from None
    problems = [
        {"name": p.name, "reason": _say(p.word, viewer.lang, p.detail)} for p in job.problems
    ]
    if job.state is JobState.FAILED or job.import_report is None:
        raise WebError(
            422 if job.error != "job_failed" else 500,
            job.error or "job_failed",
            detail=job.error_detail,
        )
    body = {**_import_result(job.import_report, viewer.lang), "set_aside": problems}
    return JSONResponse(body)


def _say(word: str, lang: str, detail: str) -> str:
    from daozhang.web.i18n import say

    text = say(word, lang)
    return f"{text} {detail}".strip()


def _import_row(r: repo.ImportRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "path": display_path(r.path),
        "kind": r.kind,
        "format": r.format,
        "encoding": r.encoding,
        "status": r.status,
        "rows_read": r.counts.rows_read,
        "rows_imported": r.counts.rows_imported,
        "rows_duplicate": r.counts.rows_duplicate,
        "rows_rejected": r.counts.rows_rejected,
        "actor": r.actor,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
    }


@router.get("/imports", summary="Imports, newest first")
def list_imports(
    request: Request, viewer: ApiViewer, page: Page = 1, per_page: PerPage = 50
) -> dict[str, Any]:
    ws = site_of(request).ws
    allowed = visible_import_ids(ws, viewer)
    with ws.db.connect() as conn:
        rows = repo.list_imports(conn)
    if allowed is not None:
        rows = [r for r in rows if r.id in allowed]
    return _page([_import_row(r) for r in rows], page, per_page)


class ReconcileRequest(BaseModel):
    as_of: dt.date = Field(description="Judge everything as of this day (YYYY-MM-DD).")


@router.post("/reconcile-runs", summary="Run a reconcile as of a date")
def post_reconcile(request: Request, viewer: ApiOperator, body: ReconcileRequest) -> dict[str, Any]:
    """Answers when the run is done (409 while another import or run is going)."""
    site = site_of(request)
    job = site.jobs.new(
        JobKind.RECONCILE,
        org_id=viewer.user.org_id,
        username=viewer.user.username,
        state=JobState.RECONCILING,
    )
    try:
        site.jobs.run_here(job, run_reconcile_job(site.ws, viewer.user, body.as_of))
    except JobBusyError:
        raise WebError(409, "job_busy") from None
    rep = job.reconcile_report
    if rep is None:
        raise WebError(422, job.error or "reconcile_failed", detail=job.error_detail)
    s = rep.summary
    return {
        "run_id": rep.run_id,
        "as_of": body.as_of.isoformat(),
        "status": "succeeded",
        "found": len(rep.result.findings),
        "opened": s.opened,
        "changed": s.changed,
        "reopened": s.reopened,
        "resolved": s.resolved,
        "warnings": [*rep.calendar_problems, *rep.result.warnings],
    }


@router.get("/reconcile-runs", summary="Reconcile runs, newest first")
def list_runs(
    request: Request, viewer: ApiViewer, page: Page = 1, per_page: PerPage = 50
) -> dict[str, Any]:
    """Runs are of the whole workspace; their counts only for who sees every merchant."""
    with site_of(request).ws.db.connect() as conn:
        total = count_runs(conn)
        runs = query_runs(conn, limit=per_page, offset=(page - 1) * per_page)
    everything = viewer.scope.all_merchants
    items = [
        {
            "id": r.id,
            "as_of": r.as_of.isoformat(),
            "engine": r.engine,
            "status": r.status,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            **(
                {
                    "actor": r.actor,
                    "stats": json.loads(r.stats) if r.stats else None,
                    "message": r.message,
                }
                if everything
                else {}
            ),
        }
        for r in runs
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def add_openapi_route(app: FastAPI) -> None:
    """The schema at ``/api/v1/openapi.json``, for token holders like the rest of the API."""

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi_json(viewer: ApiViewer) -> JSONResponse:
        return JSONResponse(app.openapi())
