"""Exceptions filtered, sorted and a page at a time; reconcile runs listed: their SQL.

The web pages, the API and the exports ask the same questions of the
``exceptions`` table ("open fee problems of this merchant over 100 yuan,
soonest due first, page 3"), so the question is one value,
:class:`ExceptionQuery`, and the SQL for it lives here, once. Who may see
what is decided above (``service.users.merchant_scope``) and arrives as
``merchant_ids``: ``None`` for every merchant (and the exceptions that have
none, such as an unmatched bank credit), else exactly those merchants.

Filters that a database index serves (status, type, merchant, ref_date)
come first; sorting always ends on ``id`` so that pages never overlap or
skip a row when amounts tie.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, func, select

from daozhang.store.db import as_utc, as_utc_or_none
from daozhang.store.findings import StoredException, stored_exception
from daozhang.store.tables import exceptions, reconcile_runs

__all__ = [
    "ExceptionPage",
    "ExceptionQuery",
    "RunRow",
    "Sort",
    "Status",
    "count_runs",
    "get_scoped",
    "iter_exceptions",
    "list_runs",
    "page_of_exceptions",
]


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


class Sort(StrEnum):
    """Orders a list can be read in; the default puts the most money first."""

    AMOUNT_DESC = "amount_desc"
    AMOUNT_ASC = "amount_asc"
    DUE_ASC = "due_asc"  # the soonest deadline first; no deadline last
    DUE_DESC = "due_desc"
    OPENED_DESC = "opened_desc"  # the newest first
    OPENED_ASC = "opened_asc"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionQuery:
    """Which exceptions, in what order. Every field narrows; the defaults narrow nothing.

    ``date_from``/``date_to`` (inclusive) are on the day the exception is
    about (the transaction's business day, or the payout's settle date);
    ``amount_min_fen``/``amount_max_fen`` (inclusive) on the money at stake.
    """

    types: tuple[str, ...] = ()
    merchant_id: str | None = None
    terminal_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min_fen: int | None = None
    amount_max_fen: int | None = None
    status: Status = Status.OPEN
    sort: Sort = Sort.AMOUNT_DESC


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionPage:
    items: tuple[StoredException, ...]
    total: int  # how many match, over all pages
    amount_fen: int  # the money at stake over all pages
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _where(q: ExceptionQuery, merchant_ids: Sequence[str] | None) -> list[Any]:
    c = exceptions.c
    where: list[Any] = []
    if q.status is not Status.ALL:
        where.append(c.status == q.status.value)
    if q.types:
        where.append(c.type.in_(list(q.types)))
    if merchant_ids is not None:
        where.append(c.merchant_id.in_(sorted(merchant_ids)))
    if q.merchant_id:
        where.append(c.merchant_id == q.merchant_id)
    if q.terminal_id:
        where.append(c.terminal_id == q.terminal_id)
    if q.date_from is not None:
        where.append(c.ref_date >= q.date_from)
    if q.date_to is not None:
        where.append(c.ref_date <= q.date_to)
    if q.amount_min_fen is not None:
        where.append(c.amount_fen >= q.amount_min_fen)
    if q.amount_max_fen is not None:
        where.append(c.amount_fen <= q.amount_max_fen)
    return where


def _order(sort: Sort) -> list[Any]:
    c = exceptions.c
    match sort:
        case Sort.AMOUNT_DESC:
            keys = [c.amount_fen.desc()]
        case Sort.AMOUNT_ASC:
            keys = [c.amount_fen.asc()]
        case Sort.DUE_ASC:
            keys = [c.due_date.is_(None).asc(), c.due_date.asc(), c.amount_fen.desc()]
        case Sort.DUE_DESC:
            keys = [c.due_date.is_(None).asc(), c.due_date.desc(), c.amount_fen.desc()]
        case Sort.OPENED_DESC:
            keys = [c.opened_at.desc()]
        case Sort.OPENED_ASC:
            keys = [c.opened_at.asc()]
    return [*keys, c.id.asc()]


def _select(q: ExceptionQuery, merchant_ids: Sequence[str] | None) -> Select[Any]:
    return select(exceptions).where(*_where(q, merchant_ids)).order_by(*_order(q.sort))


def page_of_exceptions(
    conn: Connection,
    q: ExceptionQuery,
    *,
    merchant_ids: Sequence[str] | None,
    page: int = 1,
    per_page: int = 50,
) -> ExceptionPage:
    """One page (1-based) of the exceptions ``q`` asks for, with the total count and money."""
    page, per_page = max(1, page), max(1, per_page)
    where = _where(q, merchant_ids)
    total, amount = conn.execute(
        select(func.count(), func.coalesce(func.sum(exceptions.c.amount_fen), 0))
        .select_from(exceptions)
        .where(*where)
    ).one()
    rows = conn.execute(_select(q, merchant_ids).limit(per_page).offset((page - 1) * per_page))
    return ExceptionPage(
        items=tuple(stored_exception(r) for r in rows),
        total=int(total),
        amount_fen=int(amount),
        page=page,
        per_page=per_page,
    )


def iter_exceptions(
    conn: Connection,
    q: ExceptionQuery,
    *,
    merchant_ids: Sequence[str] | None,
    limit: int | None = None,
) -> Iterator[StoredException]:
    """Every exception ``q`` asks for, in its order (exports), at most ``limit``."""
    stmt = _select(q, merchant_ids)
    if limit is not None:
        stmt = stmt.limit(limit)
    for row in conn.execute(stmt):
        yield stored_exception(row)


def get_scoped(
    conn: Connection, exception_id: int, *, merchant_ids: Sequence[str] | None
) -> StoredException | None:
    """The exception, or None when there is none *or* it is of a merchant outside the scope.

    The two look the same on purpose: an id must not tell a user of one shop
    that another shop's exception exists.
    """
    stmt = select(exceptions).where(exceptions.c.id == exception_id)
    if merchant_ids is not None:
        stmt = stmt.where(exceptions.c.merchant_id.in_(sorted(merchant_ids)))
    row = conn.execute(stmt).first()
    return stored_exception(row) if row is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    id: int
    as_of: dt.date
    engine: str
    status: str
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    stats: str | None  # JSON
    warnings: str | None  # JSON list
    message: str | None


def list_runs(conn: Connection, *, limit: int = 50, offset: int = 0) -> list[RunRow]:
    """Reconcile runs, newest first."""
    rows = conn.execute(
        select(reconcile_runs).order_by(reconcile_runs.c.id.desc()).limit(limit).offset(offset)
    )
    return [
        RunRow(
            id=r.id,
            as_of=r.as_of,
            engine=r.engine,
            status=r.status,
            actor=r.actor,
            started_at=as_utc(r.started_at),
            finished_at=as_utc_or_none(r.finished_at),
            stats=r.stats,
            warnings=r.warnings,
            message=r.message,
        )
        for r in rows
    ]


def count_runs(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(reconcile_runs)).scalar_one())
