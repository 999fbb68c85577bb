"""Import files and run reconcile from the browser, with progress; see what was set aside.

An upload (several files, a folder's files, or ZIPs; by drag and drop or
the file picker) is saved to a temporary folder and imported in a
background job (web/jobs.py) with :func:`daozhang.service.imports.import_paths`,
the function behind ``daozhang import``; the page polls the job and then
shows, per file, what it was recognised as, how many rows went in, and the
rows set aside with line, field and reason. A reconcile run is started the
same way. Operators and admins may do both; viewers see the results.

Which imports a user sees: everyone's, for an organisation that sees all
merchants; otherwise the ones their organisation made (recorded in the
audit log with the import ids), since another shop's file names and
rejected rows are that shop's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from daozhang.errors import DaozhangError
from daozhang.ingest.accounts import AccountError, check_account
from daozhang.service import users as users_svc
from daozhang.service.imports import ImportReport, Progress, import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.store import exception_query, repo
from daozhang.store.repo import ImportRow, RejectRow
from daozhang.store.workspace import ImportLockBusyError, Workspace
from daozhang.web.config import WebConfig
from daozhang.web.deps import (
    PageViewer,
    PostOperator,
    Viewer,
    page_viewer,
    site_of,
)
from daozhang.web.errors import WebError
from daozhang.web.jobs import Job, JobBusyError, JobKind, JobManager, JobState
from daozhang.web.params import page_number, parse_date
from daozhang.web.render import display_path, render
from daozhang.web.uploads import (
    SavedUpload,
    UploadRejectedError,
    new_upload_dir,
    save_stream,
    unpack_zips,
)

__all__ = [
    "form_account",
    "import_as",
    "router",
    "run_import_job",
    "run_reconcile_job",
    "save_uploads",
    "visible_import_ids",
]

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_viewer)])

_AUDIT_IMPORT = "import.upload"
_AUDIT_RECONCILE = "reconcile.run"
_REJECTS_PER_PAGE = 100


# -- shared with the API ------------------------------------------------------------


def form_account(value: object) -> str | None:
    """The optional account number of an upload form (``import --account``), checked.

    Raises:
        WebError: a value that cannot be an account number.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return check_account(value)
    except AccountError:
        raise WebError(400, "bad_account") from None


def save_uploads(files: Sequence[UploadFile], config: WebConfig) -> SavedUpload:
    """Write uploaded files into a new temporary folder (ZIPs are unpacked later, in the job).

    Raises:
        WebError: no file, too many files, or more bytes than allowed.
    """
    real = [f for f in files if f.filename]
    if not real:
        raise WebError(400, "upload_empty")
    if len(real) > config.max_files:
        raise WebError(413, "upload_too_many", n=config.max_files)
    upload = SavedUpload(new_upload_dir())
    try:
        left = config.max_upload_bytes
        for f in real:
            before = sum(p.stat().st_size for p in upload.files)
            save_stream(upload.folder, f.filename or "upload", f.file, upload, limit=left)
            left -= sum(p.stat().st_size for p in upload.files) - before
    except UploadRejectedError as exc:
        upload.remove()
        raise WebError(413, exc.word, mb=config.max_upload_bytes >> 20) from exc
    except BaseException:
        upload.remove()
        raise
    return upload


def import_as(
    ws: Workspace,
    user: users_svc.User,
    folder: Path,
    *,
    progress: Progress | None = None,
    dry_run: bool = False,
    account: str | None = None,
) -> ImportReport:
    """:func:`import_paths` as ``user``: recorded as theirs, and only their merchants' rows go in.

    Rows of merchants outside the user's organisation are set aside, with
    the reason, like any other bad row; so are bank entries given an
    ``account`` (for exports that name none) that is not one of theirs.
    """
    return import_paths(
        ws,
        [folder],
        progress=progress,
        dry_run=dry_run,
        actor=user.username,
        allowed_merchants=users_svc.merchant_scope(ws, user).merchant_id_list(),
        account=account,
    )


def run_import_job(
    ws: Workspace,
    config: WebConfig,
    user: users_svc.User,
    upload: SavedUpload,
    account: str | None = None,
) -> Any:
    """The work of an import job: unpack, import with progress, record who did it."""

    def work(job: Job) -> None:
        try:
            job.state = JobState.UNPACKING
            try:
                unpack_zips(upload, config)
            except UploadRejectedError as exc:
                job.state, job.error = JobState.FAILED, exc.word
                job.error_detail = " ".join(x for x in (exc.name, exc.detail) if x)
                return
            finally:
                job.problems = list(upload.problems)
            job.names = [display_path(str(p)) for p in upload.files]
            if not upload.files:
                job.state, job.error = JobState.FAILED, "upload_nothing_to_import"
                return
            try:
                with ws.import_lock(timeout=0):
                    pass
            except ImportLockBusyError:
                job.state, job.error = JobState.FAILED, "import_locked"
                return
            job.state = JobState.IMPORTING

            def progress(done: int, total: int) -> None:
                job.done_bytes, job.total_bytes = done, total

            report = import_as(ws, user, upload.folder, progress=progress, account=account)
            job.import_report = report
            _audit_import(ws, user, report)
            job.state = JobState.DONE
        finally:
            upload.remove()

    return work


def _audit_import(ws: Workspace, user: users_svc.User, report: ImportReport) -> None:
    totals = report.totals
    users_svc.record_audit(
        ws,
        user,
        _AUDIT_IMPORT,
        None,
        {
            "files": len(report.files),
            "import_ids": [f.import_id for f in report.files if f.import_id is not None],
            "rows_imported": totals.rows_imported,
            "rows_rejected": totals.rows_rejected,
        },
    )


def run_reconcile_job(ws: Workspace, user: users_svc.User, as_of: dt.date) -> Any:
    def work(job: Job) -> None:
        job.state = JobState.RECONCILING
        job.as_of = as_of
        try:
            rep = reconcile_workspace(ws, as_of=as_of, actor=user.username)
        except DaozhangError as exc:
            job.state, job.error, job.error_detail = JobState.FAILED, "reconcile_failed", str(exc)
            return
        job.reconcile_report = rep
        s = rep.summary
        users_svc.record_audit(
            ws,
            user,
            _AUDIT_RECONCILE,
            f"run:{rep.run_id}",
            {
                "as_of": as_of.isoformat(),
                "found": len(rep.result.findings),
                "opened": s.opened,
                "resolved": s.resolved,
            },
        )
        job.state = JobState.DONE

    return work


def visible_import_ids(ws: Workspace, viewer: Viewer) -> set[int] | None:
    """Imports the viewer may see: None for all (an all-merchants organisation)."""
    if viewer.scope.all_merchants:
        return None
    ids: set[int] = set()
    before: int | None = None
    for _ in range(20):  # the last 2,000 uploads of the organisation
        entries = users_svc.list_audit(
            ws, viewer=viewer.user, action=_AUDIT_IMPORT, limit=100, before_id=before
        )
        if not entries:
            break
        for entry in entries:
            if entry.org_id == viewer.user.org_id:
                ids.update(int(i) for i in entry.detail.get("import_ids", []))
        before = entries[-1].id
    return ids


def recent_imports(ws: Workspace, viewer: Viewer, *, limit: int) -> list[ImportRow]:
    allowed = visible_import_ids(ws, viewer)
    with ws.db.connect() as conn:
        rows = repo.list_imports(conn, limit=None if allowed is not None else limit)
    if allowed is not None:
        rows = [r for r in rows if r.id in allowed][:limit]
    return rows


def recent_runs(ws: Workspace, *, limit: int) -> list[exception_query.RunRow]:
    with ws.db.connect() as conn:
        return exception_query.list_runs(conn, limit=limit)


def _busy(jobs: JobManager) -> None:
    if jobs.busy():
        raise WebError(409, "job_busy")


# -- pages -------------------------------------------------------------------------


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, viewer: PageViewer) -> Response:
    site = site_of(request)
    runs = recent_runs(site.ws, limit=10)
    last_as_of = next((r.as_of for r in runs if r.status == "succeeded"), None)
    return render(
        request,
        "imports.html",
        {
            "nav": "imports",
            "imports": recent_imports(site.ws, viewer, limit=30),
            "runs": runs,
            "jobs": site.jobs.recent(viewer.user.org_id)[:5],
            "busy": site.jobs.busy(),
            "default_as_of": (last_as_of or dt.date.today()).isoformat(),
        },
        viewer=viewer,
    )


@router.post("/imports")
async def upload(request: Request, viewer: PostOperator) -> Response:
    """Save the uploaded files and start importing them; go to the job's page."""
    site = site_of(request)
    _busy(site.jobs)
    form = await request.form(max_files=site.config.max_files + 1, max_fields=20)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    account = form_account(form.get("account"))
    saved = await run_in_threadpool(save_uploads, files, site.config)
    job = site.jobs.new(
        JobKind.IMPORT,
        org_id=viewer.user.org_id,
        username=viewer.user.username,
        state=JobState.UNPACKING,
    )
    job.names = [f.filename or "" for f in files]
    try:
        site.jobs.start(job, run_import_job(site.ws, site.config, viewer.user, saved, account))
    except JobBusyError:
        saved.remove()
        raise WebError(409, "job_busy") from None
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


@router.post("/reconcile")
async def reconcile(request: Request, viewer: PostOperator) -> Response:
    site = site_of(request)
    form = await request.form(max_fields=20)
    value = form.get("as_of")
    as_of = parse_date(value if isinstance(value, str) else None, "as_of") or dt.date.today()
    job = site.jobs.new(
        JobKind.RECONCILE,
        org_id=viewer.user.org_id,
        username=viewer.user.username,
        state=JobState.RECONCILING,
    )
    job.as_of = as_of
    try:
        site.jobs.start(job, run_reconcile_job(site.ws, viewer.user, as_of))
    except JobBusyError:
        raise WebError(409, "job_busy") from None
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


def _job(request: Request, viewer: Viewer, job_id: str) -> Job:
    job = site_of(request).jobs.get(job_id[:64], viewer.user.org_id)
    if job is None:
        raise WebError(404, "no_such_job")
    return job


def _job_context(job: Job) -> dict[str, Any]:
    return {"job": job, "nav": "imports"}


@router.get("/imports/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, viewer: PageViewer, job_id: str) -> Response:
    job = _job(request, viewer, job_id)
    return render(request, "job.html", _job_context(job), viewer=viewer)


@router.get("/imports/jobs/{job_id}/status", response_class=HTMLResponse)
def job_status(request: Request, viewer: PageViewer, job_id: str) -> Response:
    """The job's progress and, once done, its results (htmx swaps this in every second)."""
    job = _job(request, viewer, job_id)
    return render(request, "_job_status.html", _job_context(job), viewer=viewer)


@router.get("/imports/{import_id}/rejects", response_class=HTMLResponse)
def rejects_page(request: Request, viewer: PageViewer, import_id: int) -> Response:
    site = site_of(request)
    allowed = visible_import_ids(site.ws, viewer)
    if allowed is not None and import_id not in allowed:
        raise WebError(404, "no_such_import", id=import_id)
    page = page_number(request.query_params.get("page"))
    with site.ws.db.connect() as conn:
        row = repo.get_import(conn, import_id=import_id)
        if row is None:
            raise WebError(404, "no_such_import", id=import_id)
        total = repo.count_rejects(conn, import_id=import_id)
        rejects: list[RejectRow] = repo.list_rejects(
            conn,
            import_id=import_id,
            limit=_REJECTS_PER_PAGE,
            offset=(page - 1) * _REJECTS_PER_PAGE,
        )
    return render(
        request,
        "rejects.html",
        {
            "nav": "imports",
            "imp": row,
            "rejects": [(r, r.messages()[0 if viewer.lang == "zh" else 1]) for r in rejects],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // _REJECTS_PER_PAGE)),
        },
        viewer=viewer,
    )
