"""One ASGI layer around the app: body limits, the language cookie, security headers.

Written as plain ASGI (not ``BaseHTTPMiddleware``) because it must count an
upload's bytes as they arrive, before anything spools them to disk, and
must not buffer streamed downloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daozhang.report.explain import LANGS
from daozhang.web.config import WebConfig
from daozhang.web.deps import LANG_COOKIE
from daozhang.web.errors import UploadTooLargeError

__all__ = ["SECURITY_HEADERS", "WebMiddleware"]

# No script, style or connection from anywhere but this server; no inline
# script; never shown inside another site's frame.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        b"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_LANG_MAX_AGE = 365 * 24 * 3600


class WebMiddleware:
    """Limits request bodies, remembers ``?lang=``, adds security and cache headers.

    A body over its limit is refused with 413 before it is read when its
    Content-Length says so, and stopped as soon as the count passes the
    limit otherwise (:class:`UploadTooLargeError`, turned into the same 413).
    Pages and API answers are never cached (they show money and may be on
    a shared shop computer); static files are, for an hour.
    """

    def __init__(self, app: ASGIApp, config: WebConfig, upload_paths: Iterable[str]) -> None:
        self.app = app
        self.config = config
        self.upload_paths = frozenset(upload_paths)

    def _limit(self, path: str) -> int:
        if path in self.upload_paths:
            return self.config.max_upload_bytes
        return self.config.max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self._limit(path)
        length = _header(scope, b"content-length")
        # Said to be too large: refused at the first read, before a byte is taken.
        announced_too_large = length is not None and length.isdigit() and int(length) > limit
        lang = _query_lang(scope)
        is_static = path.startswith("/static/")

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            if announced_too_large:
                raise UploadTooLargeError(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise UploadTooLargeError(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in names:
                        headers.append((name, value))
                if b"cache-control" not in names:
                    cache = b"public, max-age=3600" if is_static else b"no-store"
                    headers.append((b"cache-control", cache))
                if lang is not None:
                    cookie = SimpleCookie()
                    cookie[LANG_COOKIE] = lang
                    cookie[LANG_COOKIE]["path"] = "/"
                    cookie[LANG_COOKIE]["max-age"] = _LANG_MAX_AGE
                    cookie[LANG_COOKIE]["samesite"] = "Lax"
                    headers.append((b"set-cookie", cookie.output(header="").strip().encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, counted_receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _query_lang(scope: Scope) -> str | None:
    raw = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(raw).get("lang", [])
    return (
        values[-1]
        if values and values[-1] in LANGS and not scope["path"].startswith("/api/")
        else None
    )
