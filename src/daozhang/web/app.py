"""The web dashboard and REST API: ``create_app`` builds both on one workspace.

::

    create_app(Path("./shop"))      # or an open Workspace
    uvicorn.run(app, host="127.0.0.1", port=8000)   # what ``daozhang serve`` does

Pages are server-rendered (Jinja2; htmx and Chart.js served from
``/static/vendor``, nothing from another site). ``/api/v1`` answers JSON to
tools holding an API token, with its OpenAPI schema at
``/api/v1/openapi.json`` (no documentation viewer: the usual ones load
their scripts from a CDN). Every route needs a signed-in user except
``/login`` and ``/static``; see :mod:`daozhang.web.deps`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.exceptions import HTTPException as StarletteHTTPException

from daozhang.store.workspace import Workspace
from daozhang.web.config import WebConfig
from daozhang.web.deps import API_ONLY, api_lang, page_lang
from daozhang.web.errors import ERROR_CODES, LoginRequiredError, UploadTooLargeError, WebError
from daozhang.web.i18n import say
from daozhang.web.jobs import JobManager
from daozhang.web.middleware import WebMiddleware
from daozhang.web.render import make_environment, render

__all__ = ["PUBLIC_PATHS", "UPLOAD_PATHS", "Site", "create_app"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
API_PREFIX = "/api/v1"
UPLOAD_PATHS = ("/imports", f"{API_PREFIX}/imports", "/settings/upload")
PUBLIC_PATHS = ("/login",)
"""Routes a visitor may open without signing in (besides ``/static``)."""


@dataclass(slots=True)
class Site:
    """What every request of one app shares: the workspace, the limits, templates, jobs."""

    ws: Workspace
    config: WebConfig
    templates: Environment
    jobs: JobManager = field(default_factory=JobManager)


def create_app(workspace: Workspace | Path, config: WebConfig | None = None) -> FastAPI:
    """The app for ``workspace`` (a folder is opened, and closed when the app shuts down)."""
    owned = not isinstance(workspace, Workspace)
    ws = Workspace.open(Path(workspace)) if not isinstance(workspace, Workspace) else workspace
    cfg = config or WebConfig()
    app = FastAPI(
        title="daozhang 到账 API",
        version="1",
        description="Where is my money: exceptions, merchants, reports, imports and "
        "reconcile runs. Authenticate with `Authorization: Bearer dz_...` "
        "(`daozhang tokens create`). Exceptions are exactly the fields of "
        "`daozhang exceptions --format json`.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        debug=False,
    )
    app.state.site = Site(ws=ws, config=cfg, templates=make_environment())

    from daozhang.web.routes import api, auth, exceptions, imports, overview, settings

    app.include_router(auth.router)
    app.include_router(overview.router)
    app.include_router(exceptions.router)
    app.include_router(imports.router)
    app.include_router(settings.router)
    app.include_router(api.router, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    api.add_openapi_route(app)
    _add_error_handlers(app)
    app.add_middleware(WebMiddleware, config=cfg, upload_paths=UPLOAD_PATHS)
    app.router.on_startup.append(_limit_threads)
    if owned:
        app.router.on_shutdown.append(ws.close)
    return app


async def _limit_threads() -> None:
    """Run the routes (plain functions, in worker threads) at most two per core at once.

    anyio allows 40 threads by default; on a 2-core machine 40 requests at
    once only take turns at the interpreter lock, and every one of them
    waits: measured with 20 clients on 1M transactions, 4 threads answered
    a quarter more requests, with a shorter tail, than 40.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(2, 2 * (os.cpu_count() or 1))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_ONLY)


def error_response(request: Request, exc: WebError) -> Response:
    """An error as JSON under ``/api/``, else as a page in the user's language."""
    if _wants_json(request):
        lang = api_lang(request)
        message = say(exc.word or f"error_{exc.status}", lang, **exc.params)
        if exc.detail:
            message = f"{message} {exc.detail}".strip()
        return JSONResponse(
            {"error": {"code": exc.code, "message": message}},
            status_code=exc.status,
            headers=exc.headers,
        )
    viewer = getattr(request.state, "viewer", None)
    lang = viewer.lang if viewer is not None else page_lang(request)
    message = say(exc.word, lang, **exc.params) if exc.word else say(f"error_{exc.status}", lang)
    return render(
        request,
        "error.html",
        {
            "status": exc.status,
            "title": say(f"error_title_{exc.status}", lang)
            if exc.status in ERROR_CODES
            else str(exc.status),
            "message": message,
            "detail": exc.detail,
        },
        viewer=viewer,
        status=exc.status,
        headers=exc.headers,
    )


def _add_error_handlers(app: FastAPI) -> None:
    async def web_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebError)
        return error_response(request, exc)

    async def login_required(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        login = "/login" if target == "/" else f"/login?next={_quote(target)}"
        return RedirectResponse(login, status_code=303)

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UploadTooLargeError)
        return error_response(request, WebError(413, "upload_too_large", mb=exc.limit >> 20))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, UploadTooLargeError):
            return await too_large(request, exc.__cause__)
        status = exc.status_code if exc.status_code in ERROR_CODES else 400
        if exc.status_code >= 500:
            status = 500
        return error_response(request, WebError(status, headers=dict(exc.headers or {})))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        for error in exc.errors():
            if isinstance(error.get("ctx", {}).get("error"), UploadTooLargeError):
                return await too_large(request, error["ctx"]["error"])
        fields = ", ".join(
            str(e["loc"][-1]) for e in exc.errors() if e.get("loc") and len(e["loc"]) > 1
        )
        if _wants_json(request):
            return error_response(request, WebError(422, "invalid_params", fields=fields or "-"))
        return error_response(request, WebError(400, "invalid_params", fields=fields or "-"))

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(request, WebError(500))

    app.add_exception_handler(WebError, web_error)
    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(UploadTooLargeError, too_large)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, crashed)


def _quote(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="")
