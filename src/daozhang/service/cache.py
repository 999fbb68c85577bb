"""Answers kept between runs, for the questions pages ask many times a second.

What the pages ask (the overview, the merchant list, a page of exceptions)
changes only when a run stores its results or an exception changes: every
run replaces the stored totals (store/totals.py) and every change to an
exception writes an ``exception_events`` row. So an answer is kept under its
question and those two markers, read in two primary-key lookups; twenty
people asking at once then cost a dictionary lookup each, not an
aggregation over thousands of rows. The answers are immutable values and
the cache is bounded; a change by another process (a command-line
reconcile) is seen at the next question, since the markers are read from
the database every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

import sqlalchemy as sa

from daozhang.service.users import StateDatabase
from daozhang.store.tables import exception_events
from daozhang.store.totals import totals_run_id

__all__ = ["cached"]

_T = TypeVar("_T")
_SIZE = 512
_LOCK = threading.Lock()
_ANSWERS: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()


def _markers(ws: StateDatabase) -> tuple[int | None, int | None]:
    with ws.db.connect() as conn:
        events = conn.execute(sa.select(sa.func.max(exception_events.c.id))).scalar()
        return totals_run_id(conn), events


def cached(ws: StateDatabase, question: tuple[Hashable, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``'s answer to ``question``, kept until the next run or exception change."""
    key = (str(ws.db.url), _markers(ws), *question)
    with _LOCK:
        if key in _ANSWERS:
            _ANSWERS.move_to_end(key)
            return cast(_T, _ANSWERS[key])
    answer = compute()
    with _LOCK:
        _ANSWERS[key] = answer
        while len(_ANSWERS) > _SIZE:
            _ANSWERS.popitem(last=False)
    return answer
