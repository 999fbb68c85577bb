"""Pages from Jinja2 templates, in the viewer's language, with the helpers templates use.

Templates never format money or dates themselves: amounts go through
:func:`daozhang.domain.money.format_yuan` (integer fen in, "1234.50" out),
times are shown in China's time zone, file paths of uploads lose the
temporary folder they were read from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from daozhang.domain.money import format_yuan
from daozhang.web.deps import CSRF_FIELD, Viewer, page_lang
from daozhang.web.i18n import other_lang, say

__all__ = [
    "TEMPLATES",
    "display_path",
    "local_time",
    "make_environment",
    "query_with",
    "render",
    "url_with",
]

TEMPLATES = Path(__file__).with_name("templates")
CHINA = ZoneInfo("Asia/Shanghai")
# Uploads are read from a temporary folder (web/uploads.py); its name means nothing to a user.
_UPLOAD_DIR = re.compile(r"^.*?daozhang-upload-[^/\\]+[/\\]")


def display_path(path: str | None) -> str:
    """A record's file as the user knows it: an upload's own name, not our temporary folder."""
    if not path:
        return ""
    return _UPLOAD_DIR.sub("", path)


def local_time(value: dt.datetime | str | None) -> str:
    """A stored (UTC) time as China's local time, to the minute."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def yuan(fen: int | None) -> str:
    """Fen as yuan ("1234.50"); ``int()`` first, as PostgreSQL sums come back as Decimal."""
    return "" if fen is None else format_yuan(int(fen))


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    env.filters["path"] = display_path
    env.filters["local_time"] = local_time
    return env


def url_with(request: Request, **changes: object) -> str:
    """The current page's address with some query parameters changed (None removes one)."""
    params: list[tuple[str, str]] = [
        (k, v) for k, v in request.query_params.multi_items() if k not in changes
    ]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def query_with(request: Request, **changes: object) -> str:
    """Only the query part (``?a=1``, or nothing) of :func:`url_with`."""
    url = url_with(request, **changes)
    return url[len(request.url.path) :]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` for ``viewer`` (None: not signed in), in their language."""
    from daozhang.web.deps import site_of

    lang = viewer.lang if viewer is not None else page_lang(request)
    env = site_of(request).templates
    ctx: dict[str, Any] = {
        "request": request,
        "viewer": viewer,
        "lang": lang,
        "other_lang": other_lang(lang),
        "t": partial(say, lang=lang),
        "url_with": partial(url_with, request),
        "query_with": partial(query_with, request),
        "today": dt.date.today(),
        "csrf_field": CSRF_FIELD,
        "csrf_token": viewer.csrf_token if viewer is not None else "",
        "max_upload_bytes": site_of(request).config.max_upload_bytes,
        "nav": "",
    }
    ctx.update(context or {})
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))
