"""The exceptions pages: the filtered list, one exception in full, its evidence, exports.

Every query goes through :mod:`daozhang.service.exceptions` with the
viewer's merchant scope: another organisation's exception is "not found"
(404), exactly like one that does not exist, so ids do not leak.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from daozhang.classify.data import playbook
from daozhang.domain.findings import ExceptionType
from daozhang.report.explain import title
from daozhang.service import exceptions as svc
from daozhang.store.exception_query import Sort, Status
from daozhang.store.findings import StoredException
from daozhang.web.deps import PageViewer, page_viewer, site_of
from daozhang.web.errors import WebError
from daozhang.web.exports import csv_chunks, xlsx_bytes
from daozhang.web.i18n import say
from daozhang.web.params import exception_filters, page_number
from daozhang.web.records import KIND_OF_ROLE, find_record
from daozhang.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_viewer)])


def type_choices(lang: str) -> list[tuple[str, str]]:
    return [(t.value, title(t, lang)) for t in ExceptionType]


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, viewer: PageViewer) -> Response:
    site = site_of(request)
    form = exception_filters(request.query_params)
    page = page_number(request.query_params.get("page"))
    found = svc.find_exceptions(
        site.ws, viewer.scope, form.query, page=page, per_page=site.config.per_page
    )
    return render(
        request,
        "exceptions.html",
        {
            "nav": "exceptions",
            "form": form,
            "found": found,
            "records": [svc.exception_record(e, viewer.lang) for e in found.items],
            "type_choices": type_choices(viewer.lang),
            "sorts": [s.value for s in Sort],
            "statuses": [s.value for s in Status],
        },
        viewer=viewer,
    )


def _scoped(request: Request, viewer: PageViewer, exception_id: int) -> StoredException:
    e = svc.scoped_exception(site_of(request).ws, viewer.scope, exception_id)
    if e is None:
        raise WebError(404, "no_such_exception", id=exception_id)
    return e


@router.get("/exceptions/{exception_id}", response_class=HTMLResponse)
def exception_page(request: Request, viewer: PageViewer, exception_id: int) -> Response:
    e = _scoped(request, viewer, exception_id)
    events = svc.exception_events(site_of(request).ws, e.id)
    step = playbook()[e.type]
    lang = viewer.lang
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for n, proof in enumerate(e.evidence):
        groups.setdefault((proof.role, proof.path), []).append((n, proof.line))
    return render(
        request,
        "exception.html",
        {
            "nav": "exceptions",
            "e": e,
            "rec": svc.exception_record(e, lang),
            "history": svc.history_records(events),
            "evidence_groups": [
                {"role": role, "path": path, "lines": lines}
                for (role, path), lines in groups.items()
            ],
            "step": {
                "action": step.action[lang],
                "contact": step.contact[lang],
                "send": step.send[lang],
                "due_working_days": step.due_working_days,
            },
            "overdue": e.status == "open"
            and e.due_date is not None
            and e.due_date < dt.date.today(),
        },
        viewer=viewer,
    )


@router.get("/exceptions/{exception_id}/evidence/{n}", response_class=HTMLResponse)
def evidence_page(request: Request, viewer: PageViewer, exception_id: int, n: int) -> Response:
    """One evidence record of an exception, as imported (scoped through the exception)."""
    e = _scoped(request, viewer, exception_id)
    if n < 0 or n >= len(e.evidence):
        raise WebError(404, "no_such_record")
    proof = e.evidence[n]
    kind = KIND_OF_ROLE.get(proof.role)
    kinds = (kind,) if kind is not None else ()
    found = find_record(
        site_of(request).ws, proof.path, proof.line, kinds=kinds or tuple(KIND_OF_ROLE.values())
    )
    return render(
        request,
        "record.html",
        {
            "nav": "exceptions",
            "path": proof.path,
            "line": proof.line,
            "role": proof.role,
            "found": found,
            "back_url": f"/exceptions/{e.id}",
            "back_label": say("back_to_exception", viewer.lang, id=e.id),
        },
        viewer=viewer,
    )


def _export_name(ext: str) -> str:
    return f"daozhang-exceptions-{dt.date.today().isoformat()}.{ext}"


@router.get("/exceptions.csv")
def export_csv(request: Request, viewer: PageViewer) -> Response:
    """The filtered list (every page of it) as CSV, UTF-8 with BOM for Excel."""
    form = exception_filters(request.query_params)
    items = svc.export_exceptions(site_of(request).ws, viewer.scope, form.query)
    return StreamingResponse(
        csv_chunks(items, viewer.lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )


@router.get("/exceptions.xlsx")
def export_xlsx(request: Request, viewer: PageViewer) -> Response:
    """The filtered list as an Excel workbook (amounts as numbers, ids as text)."""
    form = exception_filters(request.query_params)
    items = svc.export_exceptions(site_of(request).ws, viewer.scope, form.query)
    body = xlsx_bytes(items, viewer.lang, sheet=say("nav_exceptions", viewer.lang))
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("xlsx")}"'},
    )
