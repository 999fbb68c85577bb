"""Signing in and out: ``/login`` (the only page without a session) and ``/logout``.

The login form is protected from cross-site posting by a double-submit
token: a random value in a short-lived cookie and in the form, which must
agree (there is no session yet whose token it could carry). Failed logins
are counted by :func:`daozhang.service.users.authenticate`; when it says
to wait, the page says how long, and ``Retry-After`` does too.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from daozhang.service import users as svc
from daozhang.web.deps import (
    SESSION_COOKIE,
    PostViewer,
    client_address,
    page_lang,
    site_of,
)
from daozhang.web.i18n import say, wait_words
from daozhang.web.render import render

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "dz_login"


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (never ``//evil`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ch in target for ch in "\r\n\\"):
        return "/"
    return target


def _secure(request: Request) -> bool:
    forced = site_of(request).config.secure_cookies
    return forced if forced is not None else request.url.scheme == "https"


def _login_page(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "username": username, "error": error, "login_token": token},
        status=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page (a signed-in user goes straight on)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and svc.session_user(site_of(request).ws, token) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    login_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    lang = page_lang(request)
    target = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), login_token.encode()):
        return _login_page(
            request,
            next_url=target,
            username=username,
            error=say("login_expired", lang),
            status=403,
        )
    site = site_of(request)
    try:
        user = svc.authenticate(site.ws, username, password, client_address(request))
    except svc.LoginThrottledError as exc:
        return _login_page(
            request,
            next_url=target,
            username=username,
            error=say("login_throttled", lang, wait=wait_words(exc.retry_after, lang)),
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except svc.InvalidCredentialsError:
        return _login_page(
            request,
            next_url=target,
            username=username,
            error=say("login_failed", lang),
            status=401,
        )
    session = svc.start_session(site.ws, user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, viewer: PostViewer) -> Response:
    """End the session (in the database, not only the cookie) and go to the login page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        svc.end_session(site_of(request).ws, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
