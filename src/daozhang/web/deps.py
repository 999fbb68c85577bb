"""Who is asking, in what language, and may they: the dependencies every route declares.

Pages are signed in with a session cookie (HttpOnly, SameSite=Lax, Secure
over https) and every POST carries the session's CSRF token, in the form
(``csrf_token``) or, from htmx and our scripts, in the ``X-CSRF-Token``
header. The API is signed in with ``Authorization: Bearer dz_...`` only:
no cookie is looked at there, so no CSRF token is needed (a browser never
adds that header by itself).

Each request builds its :class:`Viewer` afresh from the database: a role
changed, a user disabled or a merchant taken away counts at the next
request. What a viewer may see is :attr:`Viewer.scope`; every query,
export and upload passes it down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from daozhang.report.explain import LANGS
from daozhang.service import users as svc
from daozhang.web.errors import LoginRequiredError, WebError

if TYPE_CHECKING:
    from daozhang.web.app import Site

__all__ = [
    "API_ONLY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "Admin",
    "ApiAdmin",
    "ApiOperator",
    "ApiViewer",
    "Operator",
    "PageViewer",
    "PostAdmin",
    "PostOperator",
    "PostViewer",
    "Viewer",
    "api_lang",
    "api_viewer",
    "client_address",
    "page_lang",
    "page_viewer",
    "site_of",
]

SESSION_COOKIE = "dz_session"
LANG_COOKIE = "dz_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
API_ONLY = "/api/"


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in user and what they may see; ``session`` None for an API token."""

    user: svc.User
    scope: svc.MerchantScope
    lang: str
    session: svc.LoginSession | None = None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session is not None else ""

    @property
    def can_operate(self) -> bool:
        return svc.can_operate(self.user)

    @property
    def is_admin(self) -> bool:
        return svc.can_edit_settings(self.user)


def page_lang(request: Request) -> str:
    """``?lang=`` (remembered in a cookie by the middleware), else the cookie, else Chinese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return "zh"


def api_lang(request: Request) -> str:
    """``?lang=``, else English when the client's Accept-Language starts with it, else Chinese."""
    chosen = request.query_params.get("lang")
    if chosen in LANGS:
        return chosen
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "zh"


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def page_viewer(request: Request) -> Viewer:
    """The signed-in user of a page; without a valid session, off to the login page."""
    cached = getattr(request.state, "viewer", None)
    if isinstance(cached, Viewer):
        return cached
    token = request.cookies.get(SESSION_COOKIE, "")
    site = site_of(request)
    session = svc.session_user(site.ws, token) if token else None
    if session is None:
        raise LoginRequiredError()
    viewer = Viewer(
        user=session.user,
        scope=svc.merchant_scope(site.ws, session.user),
        lang=page_lang(request),
        session=session,
    )
    request.state.viewer = viewer
    return viewer


_bearer = HTTPBearer(auto_error=False, description="An API token: `daozhang tokens create`.")


def api_viewer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    """The user an API token acts as; 401 without a valid, unrevoked token."""
    cached = getattr(request.state, "viewer", None)
    if isinstance(cached, Viewer):
        return cached
    site = site_of(request)
    user = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        user = svc.token_user(site.ws, credentials.credentials)
    if user is None:
        raise WebError(401, "api_token_needed", headers={"WWW-Authenticate": "Bearer"})
    viewer = Viewer(user=user, scope=svc.merchant_scope(site.ws, user), lang=api_lang(request))
    request.state.viewer = viewer
    return viewer


async def _csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def post_viewer(request: Request, viewer: Annotated[Viewer, Depends(page_viewer)]) -> Viewer:
    """A signed-in user's POST, with the session's CSRF token; 403 without it."""
    given = await _csrf_given(request)
    if viewer.session is None or not svc.csrf_matches(viewer.session, given):
        raise WebError(403, "csrf_failed")
    return viewer


def _operator(viewer: Viewer) -> Viewer:
    if not viewer.can_operate:
        raise WebError(403, "need_operator")
    return viewer


def _admin(viewer: Viewer) -> Viewer:
    if not viewer.is_admin:
        raise WebError(403, "need_admin")
    return viewer


def page_operator(viewer: Annotated[Viewer, Depends(page_viewer)]) -> Viewer:
    return _operator(viewer)


def page_admin(viewer: Annotated[Viewer, Depends(page_viewer)]) -> Viewer:
    return _admin(viewer)


def post_operator(viewer: Annotated[Viewer, Depends(post_viewer)]) -> Viewer:
    return _operator(viewer)


def post_admin(viewer: Annotated[Viewer, Depends(post_viewer)]) -> Viewer:
    return _admin(viewer)


def api_operator(viewer: Annotated[Viewer, Depends(api_viewer)]) -> Viewer:
    return _operator(viewer)


def api_admin(viewer: Annotated[Viewer, Depends(api_viewer)]) -> Viewer:
    return _admin(viewer)


PageViewer = Annotated[Viewer, Depends(page_viewer)]
Operator = Annotated[Viewer, Depends(page_operator)]
Admin = Annotated[Viewer, Depends(page_admin)]
PostViewer = Annotated[Viewer, Depends(post_viewer)]
PostOperator = Annotated[Viewer, Depends(post_operator)]
PostAdmin = Annotated[Viewer, Depends(post_admin)]
ApiViewer = Annotated[Viewer, Depends(api_viewer)]
ApiOperator = Annotated[Viewer, Depends(api_operator)]
ApiAdmin = Annotated[Viewer, Depends(api_admin)]
