"""Reading what a page's address or a form says: dates, yuan, exception filters.

HTML forms send an empty field as ``""``, which FastAPI's own date and
number parameters refuse; the pages take text and read it here, turning a
value that cannot be read into a clear 400 page, never a crash. The API
reads its query parameters through the same functions, so that a filter
means the same in both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import MoneyError, parse_yuan
from daozhang.store.exception_query import ExceptionQuery, Sort, Status
from daozhang.web.errors import WebError

__all__ = [
    "FILTER_KEYS",
    "FilterForm",
    "exception_filters",
    "page_number",
    "parse_date",
    "parse_yuan_fen",
]

FILTER_KEYS = (
    "type",
    "merchant_id",
    "terminal_id",
    "date_from",
    "date_to",
    "amount_min",
    "amount_max",
    "status",
    "sort",
)
_MAX_PAGE = 1_000_000


def parse_date(value: str | None, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` or nothing; anything else is a 400 naming the field."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise WebError(400, "bad_date", field=name, value=value[:40]) from None


def parse_yuan_fen(value: str | None, name: str) -> int | None:
    """An amount in yuan (``1234.50``) as integer fen, or nothing."""
    if value is None or not value.strip():
        return None
    try:
        fen = parse_yuan(value.strip())
    except MoneyError:
        raise WebError(400, "bad_amount", field=name, value=value[:40]) from None
    if fen < 0:
        raise WebError(400, "bad_amount", field=name, value=value[:40])
    return fen


def page_number(value: str | int | None) -> int:
    if value is None or value == "":
        return 1
    try:
        page = int(value)
    except ValueError:
        raise WebError(400, "bad_page") from None
    if page < 1 or page > _MAX_PAGE:
        raise WebError(400, "bad_page")
    return page


@dataclass(frozen=True, slots=True)
class FilterForm:
    """The filter as the form shows it back (text as typed) and as the query runs it."""

    query: ExceptionQuery
    values: Mapping[str, str]
    types: tuple[str, ...]

    @property
    def active(self) -> bool:
        return any(self.values.get(k) for k in FILTER_KEYS if k not in ("status", "sort")) or (
            self.query.status is not Status.OPEN
        )


def _one(params: QueryParams, key: str, limit: int = 64) -> str:
    return (params.get(key) or "").strip()[:limit]


def exception_filters(params: QueryParams) -> FilterForm:
    """The exception filter of a page's or the API's query string.

    ``type`` may repeat (or hold several types separated by commas);
    ``status`` is open (default), resolved or all; ``sort`` one of
    :class:`Sort` (default: most money first).
    """
    raw_types: Sequence[str] = params.getlist("type")
    types: list[str] = []
    known = {t.value for t in ExceptionType}
    for item in raw_types:
        for t in item.split(","):
            t = t.strip()
            if not t:
                continue
            if t not in known:
                raise WebError(400, "bad_type", value=t[:48])
            if t not in types:
                types.append(t)
    status_text = _one(params, "status") or Status.OPEN.value
    try:
        status = Status(status_text)
    except ValueError:
        raise WebError(400, "bad_status", value=status_text) from None
    sort_text = _one(params, "sort") or Sort.AMOUNT_DESC.value
    try:
        sort = Sort(sort_text)
    except ValueError:
        raise WebError(400, "bad_sort", value=sort_text) from None
    values = {k: _one(params, k) for k in FILTER_KEYS if k != "type"}
    query = ExceptionQuery(
        types=tuple(types),
        merchant_id=values["merchant_id"] or None,
        terminal_id=values["terminal_id"] or None,
        date_from=parse_date(values["date_from"], "date_from"),
        date_to=parse_date(values["date_to"], "date_to"),
        amount_min_fen=parse_yuan_fen(values["amount_min"], "amount_min"),
        amount_max_fen=parse_yuan_fen(values["amount_max"], "amount_max"),
        status=status,
        sort=sort,
    )
    return FilterForm(query=query, values=values, types=tuple(types))
