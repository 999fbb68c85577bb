"""Settings: contracts, terminals, maintenance windows, the calendar override; the audit log.

Everyone in an organisation may look (contracts and terminals of their own
merchants; maintenance windows and the calendar are the banks' and the
state's, the same for all). Admins change them:

* contracts and terminals by uploading a file in the canonical format: the
  rows are imported like any other (a row for the same merchant and
  effective date, or terminal and status date, replaces the earlier one:
  the last imported wins). A file that is not of these kinds is refused
  whole, with what it was recognised as, and nothing is imported.
* maintenance windows and calendar days change every merchant's arrival
  windows, whoever they belong to: only an admin of an organisation that
  sees all merchants (who runs the installation) may change them.

Every change is written to the audit log with who and when; admins read it
at ``/settings/audit``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from daozhang.domain.calendar import Override
from daozhang.domain.records import Kind
from daozhang.service import users as users_svc
from daozhang.service.imports import FileStatus
from daozhang.store.calendar_file import (
    CalendarFileError,
    add_override,
    load_overrides,
    write_overrides,
)
from daozhang.web.deps import Admin, PageViewer, PostAdmin, Viewer, page_viewer, site_of
from daozhang.web.errors import WebError
from daozhang.web.jobs import Job, JobBusyError, JobKind, JobState
from daozhang.web.params import page_number, parse_date
from daozhang.web.records import cutoff_text, reference_rows
from daozhang.web.render import display_path, render
from daozhang.web.routes.imports import import_as, save_uploads
from daozhang.web.uploads import SavedUpload, UploadRejectedError, unpack_zips

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_viewer)])

TABS = ("contracts", "terminals", "maintenance", "calendar")
_AUDIT_PAGE = 100


def _installation_admin(viewer: Viewer) -> bool:
    return viewer.is_admin and viewer.scope.all_merchants


def _may_upload(viewer: Viewer) -> bool:
    """Admins (an organisation's own: rows of other merchants are set aside on import)."""
    return viewer.is_admin


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, viewer: PageViewer) -> Response:
    site = site_of(request)
    tab = request.query_params.get("tab") or "contracts"
    if tab not in TABS:
        raise WebError(404, "no_such_page")
    page = page_number(request.query_params.get("page"))
    ctx: dict[str, Any] = {
        "nav": "settings",
        "tab": tab,
        "tabs": TABS,
        "may_upload": _may_upload(viewer),
        "may_edit_calendar": _installation_admin(viewer),
        "cutoff_text": cutoff_text,
    }
    if tab == "calendar":
        overrides, problems = load_overrides(site.ws.calendar_path)
        ctx.update(overrides=overrides, problems=problems)
    else:
        kind = Kind(tab)
        ctx["ref"] = reference_rows(
            site.ws,
            kind,
            merchant_ids=viewer.scope.merchant_id_list(),
            page=page,
            per_page=site.config.per_page,
        )
        ctx["may_upload_kind"] = ctx["may_upload"] and (
            kind is not Kind.MAINTENANCE or _installation_admin(viewer)
        )
    return render(request, "settings.html", ctx, viewer=viewer)


def _settings_import(site: Any, viewer: Viewer, upload: SavedUpload, tab: str) -> Any:
    ws = site.ws
    allowed = {Kind.CONTRACTS, Kind.TERMINALS}
    if _installation_admin(viewer):
        allowed.add(Kind.MAINTENANCE)

    def work(job: Job) -> None:
        try:
            job.state = JobState.UNPACKING
            try:
                unpack_zips(upload, site.config)
            except UploadRejectedError as exc:
                job.state, job.error = JobState.FAILED, exc.word
                return
            job.problems = list(upload.problems)
            job.names = [display_path(str(p)) for p in upload.files]
            if not upload.files:
                job.state, job.error = JobState.FAILED, "upload_nothing_to_import"
                return
            check = import_as(ws, viewer.user, upload.folder, dry_run=True)
            wrong = [
                f
                for f in check.files
                if f.status is not FileStatus.CHECKED or f.kind not in allowed
            ]
            if wrong:
                job.import_report = check
                job.state, job.error = JobState.FAILED, "settings_wrong_files"
                job.error_detail = ", ".join(display_path(str(f.path)) for f in wrong)
                return
            job.state = JobState.IMPORTING

            def progress(done: int, total: int) -> None:
                job.done_bytes, job.total_bytes = done, total

            report = import_as(ws, viewer.user, upload.folder, progress=progress)
            job.import_report = report
            users_svc.record_audit(
                ws,
                viewer.user,
                "settings.upload",
                tab,
                {
                    "files": [display_path(str(f.path)) for f in report.files],
                    "kinds": sorted({str(f.kind) for f in report.files if f.kind}),
                    "import_ids": [f.import_id for f in report.files if f.import_id is not None],
                    "rows_imported": report.totals.rows_imported,
                    "rows_rejected": report.totals.rows_rejected,
                },
            )
            job.state = JobState.DONE
        finally:
            upload.remove()

    return work


@router.post("/settings/upload")
async def settings_upload(request: Request, viewer: PostAdmin) -> Response:
    """Add or replace contracts, terminals (or maintenance windows) from uploaded files."""
    site = site_of(request)
    if not _may_upload(viewer):
        raise WebError(403, "need_installation_admin")
    if site.jobs.busy():
        raise WebError(409, "job_busy")
    form = await request.form(max_files=site.config.max_files + 1, max_fields=20)
    tab = str(form.get("tab") or "contracts")
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    saved = await run_in_threadpool(save_uploads, files, site.config)
    job = site.jobs.new(
        JobKind.IMPORT,
        org_id=viewer.user.org_id,
        username=viewer.user.username,
        state=JobState.UNPACKING,
    )
    job.back_url = f"/settings?tab={tab if tab in TABS else 'contracts'}"
    try:
        await run_in_threadpool(site.jobs.run_here, job, _settings_import(site, viewer, saved, tab))
    except JobBusyError:
        saved.remove()
        raise WebError(409, "job_busy") from None
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


def _calendar_admin(viewer: Viewer) -> None:
    if not _installation_admin(viewer):
        raise WebError(403, "need_installation_admin")


@router.post("/settings/calendar")
async def calendar_set(request: Request, viewer: PostAdmin) -> Response:
    """Declare a day a bank working day or a holiday (replacing what the file said of it)."""
    _calendar_admin(viewer)
    site = site_of(request)
    form = await request.form(max_fields=20)
    day = parse_date(str(form.get("date") or ""), "date")
    kind = str(form.get("kind") or "")
    note = str(form.get("note") or "").strip()[:100] or None
    if day is None or kind not in ("working", "holiday"):
        raise WebError(400, "calendar_bad_input")
    path = site.ws.calendar_path
    before = {o.date: o for o in load_overrides(path)[0]}.get(day)
    try:
        problems = add_override(path, Override(date=day, working=kind == "working", note=note))
    except CalendarFileError as exc:
        raise WebError(409, "calendar_file_broken", detail=str(exc)) from None
    users_svc.record_audit(
        site.ws,
        viewer.user,
        "settings.calendar.set",
        day.isoformat(),
        {
            "kind": kind,
            "note": note,
            "before": None
            if before is None
            else {"kind": "working" if before.working else "holiday", "note": before.note},
            "problems": problems[:5],
        },
    )
    return RedirectResponse("/settings?tab=calendar", status_code=303)


@router.post("/settings/calendar/delete")
async def calendar_delete(request: Request, viewer: PostAdmin) -> Response:
    """Remove a day from the override file (the calendar package decides it again)."""
    _calendar_admin(viewer)
    site = site_of(request)
    form = await request.form(max_fields=20)
    day = parse_date(str(form.get("date") or ""), "date")
    path = site.ws.calendar_path
    overrides, problems = load_overrides(path)
    if problems:
        raise WebError(409, "calendar_file_broken", detail=problems[0])
    gone = [o for o in overrides if o.date == day]
    if day is None or not gone:
        raise WebError(404, "calendar_no_such_day")
    write_overrides(path, [o for o in overrides if o.date != day])
    users_svc.record_audit(
        site.ws,
        viewer.user,
        "settings.calendar.delete",
        day.isoformat(),
        {"kind": "working" if gone[0].working else "holiday", "note": gone[0].note},
    )
    return RedirectResponse("/settings?tab=calendar", status_code=303)


@router.get("/settings/audit", response_class=HTMLResponse)
def audit_page(request: Request, viewer: Admin) -> Response:
    """Who changed what and when (an organisation's admin sees their organisation's)."""
    before_text = request.query_params.get("before") or ""
    before = int(before_text) if before_text.isdigit() else None
    entries = users_svc.list_audit(
        site_of(request).ws, viewer=viewer.user, limit=_AUDIT_PAGE, before_id=before
    )
    return render(
        request,
        "audit.html",
        {
            "nav": "settings",
            "entries": entries,
            "next_before": entries[-1].id if len(entries) == _AUDIT_PAGE else None,
            "today": dt.date.today(),
        },
        viewer=viewer,
    )
