"""Imports and rejected rows in the state database: the only home for their SQL.

An import row is written ``running`` before any record file exists and is
flipped to ``committed`` in the same transaction that stores its counts and
claims its file (``committed_sha256`` is unique), after its files are in
place. Readers trust only committed imports; an import that never got there
is rolled back by the next workspace open (see :mod:`.workspace`).

Functions take a SQLAlchemy ``Connection`` first and everything else by
keyword, and the caller owns the transaction (``with engine.begin() as conn``).
Times are stored in UTC and read back as aware UTC datetimes on every
database (:func:`daozhang.store.db.as_utc`); text is made storable on every
database (:func:`daozhang.store.db.storable`): a rejected row is exactly the
kind of text that holds NUL bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from daozhang.ingest.rejects import Reject, reject_messages
from daozhang.store.db import as_utc, as_utc_or_none, storable
from daozhang.store.tables import imports
from daozhang.store.tables import rejects as rejects_table

__all__ = [
    "VISIBLE_STATUSES",
    "AlreadyCommittedError",
    "ImportCounts",
    "ImportRow",
    "RejectRow",
    "add_rejects",
    "commit_import",
    "committed_import_ids",
    "count_rejects",
    "delete_rejects",
    "find_committed",
    "finish_import",
    "get_import",
    "list_imports",
    "list_rejects",
    "running_imports",
    "start_import",
]

# Imports whose rejects a user sees: done (with some rows set aside) or
# failed as a whole. A running or rolled-back import shows nothing.
VISIBLE_STATUSES = ("committed", "failed")
_INSERT_BATCH = 5_000


class AlreadyCommittedError(Exception):
    """Another import committed the same file first (the unique SHA-256 said no)."""


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What became of a file's rows: read = imported + duplicate + rejected."""

    rows_read: int = 0
    rows_imported: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRow:
    id: int
    path: str
    file_sha256: str
    kind: str | None
    format: str | None
    encoding: str | None
    status: str
    counts: ImportCounts
    message: str | None
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectRow:
    """A stored reject; :meth:`messages` renders its reason in Chinese and English."""

    id: int
    import_id: int
    path: str
    line: int | None
    field: str | None
    value: str | None
    code: str
    detail: str | None
    reason: str
    raw: str | None

    def messages(self) -> tuple[str, str]:
        return reject_messages(self.code, field=self.field, value=self.value, detail=self.detail)


def _import_row(r: Row[Any]) -> ImportRow:
    return ImportRow(
        id=r.id,
        path=r.path,
        file_sha256=r.file_sha256,
        kind=r.kind,
        format=r.format,
        encoding=r.encoding,
        status=r.status,
        counts=ImportCounts(r.rows_read, r.rows_imported, r.rows_duplicate, r.rows_rejected),
        message=r.message,
        actor=r.actor,
        started_at=as_utc(r.started_at),
        finished_at=as_utc_or_none(r.finished_at),
    )


def start_import(
    conn: Connection, *, path: str, file_sha256: str, actor: str, now: dt.datetime
) -> int:
    """Record that an import of ``path`` has begun; returns its id."""
    result = conn.execute(
        insert(imports).values(
            storable(
                imports,
                {
                    "path": path,
                    "file_sha256": file_sha256,
                    "status": "running",
                    "actor": actor,
                    "started_at": as_utc(now),
                },
            )
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def find_committed(conn: Connection, *, file_sha256: str) -> ImportRow | None:
    """The committed import of the file with this SHA-256, if there is one."""
    row = conn.execute(select(imports).where(imports.c.committed_sha256 == file_sha256)).first()
    return _import_row(row) if row is not None else None


def get_import(conn: Connection, *, import_id: int) -> ImportRow | None:
    row = conn.execute(select(imports).where(imports.c.id == import_id)).first()
    return _import_row(row) if row is not None else None


def list_imports(
    conn: Connection, *, status: str | None = None, limit: int | None = None
) -> list[ImportRow]:
    """Imports, newest first."""
    q = select(imports).order_by(imports.c.id.desc())
    if status is not None:
        q = q.where(imports.c.status == status)
    if limit is not None:
        q = q.limit(limit)
    return [_import_row(r) for r in conn.execute(q)]


def add_rejects(conn: Connection, *, import_id: int, rejects: Iterable[Reject]) -> int:
    """Store rejects of an import, in batches; returns how many."""
    it = iter(rejects)
    total = 0
    while batch := list(islice(it, _INSERT_BATCH)):
        conn.execute(
            insert(rejects_table),
            [
                storable(
                    rejects_table,
                    {
                        "import_id": import_id,
                        "path": r.path,
                        "line": r.line,
                        "field": r.field,
                        "value": r.value,
                        "code": r.code.value,
                        "detail": r.detail,
                        "reason": r.reason,
                        "raw": r.raw,
                    },
                )
                for r in batch
            ],
        )
        total += len(batch)
    return total


def delete_rejects(conn: Connection, *, import_id: int) -> None:
    conn.execute(delete(rejects_table).where(rejects_table.c.import_id == import_id))


def commit_import(
    conn: Connection,
    *,
    import_id: int,
    file_sha256: str,
    kind: str,
    format: str,
    encoding: str,
    counts: ImportCounts,
    now: dt.datetime,
    message: str | None = None,
) -> None:
    """Mark an import committed: from now on its record files count.

    Raises:
        AlreadyCommittedError: the same file was committed by another import
            in the meantime. The caller must roll its own files back.
    """
    try:
        with conn.begin_nested():
            conn.execute(
                update(imports)
                .where(imports.c.id == import_id)
                .values(
                    storable(
                        imports,
                        {
                            "status": "committed",
                            "committed_sha256": file_sha256,
                            "kind": kind,
                            "format": format,
                            "encoding": encoding,
                            "rows_read": counts.rows_read,
                            "rows_imported": counts.rows_imported,
                            "rows_duplicate": counts.rows_duplicate,
                            "rows_rejected": counts.rows_rejected,
                            "message": message,
                            "finished_at": as_utc(now),
                        },
                    )
                )
            )
    except IntegrityError as exc:
        raise AlreadyCommittedError(file_sha256) from exc


def finish_import(
    conn: Connection,
    *,
    import_id: int,
    status: str,
    now: dt.datetime,
    message: str | None = None,
    kind: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    counts: ImportCounts | None = None,
) -> None:
    """End an import that did not commit: ``failed``, ``duplicate_file`` or ``rolled_back``."""
    if status == "committed":
        raise ValueError("use commit_import to commit")
    values: dict[str, object] = {"status": status, "finished_at": as_utc(now), "message": message}
    if kind is not None:
        values["kind"] = kind
    if format is not None:
        values["format"] = format
    if encoding is not None:
        values["encoding"] = encoding
    if counts is not None:
        values.update(
            rows_read=counts.rows_read,
            rows_imported=counts.rows_imported,
            rows_duplicate=counts.rows_duplicate,
            rows_rejected=counts.rows_rejected,
        )
    conn.execute(update(imports).where(imports.c.id == import_id).values(storable(imports, values)))


def running_imports(conn: Connection) -> list[int]:
    """Imports that started and never finished (a crash, a kill), oldest first."""
    q = select(imports.c.id).where(imports.c.status == "running").order_by(imports.c.id)
    return [int(i) for i in conn.execute(q).scalars()]


def committed_import_ids(conn: Connection) -> set[int]:
    q = select(imports.c.id).where(imports.c.status == "committed")
    return {int(i) for i in conn.execute(q).scalars()}


def _reject_filter(*, import_id: int | None, path: str | None, code: str | None) -> list[Any]:
    where: list[Any] = [imports.c.status.in_(VISIBLE_STATUSES)]
    if import_id is not None:
        where.append(rejects_table.c.import_id == import_id)
    if path is not None:
        where.append(rejects_table.c.path == path)
    if code is not None:
        where.append(rejects_table.c.code == code)
    return where


def list_rejects(
    conn: Connection,
    *,
    import_id: int | None = None,
    path: str | None = None,
    code: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RejectRow]:
    """Rejected rows of committed and failed imports, by import, then line.

    Args:
        conn: a connection.
        import_id: only this import's rejects.
        path: only rejects of this file (as it was named when imported).
        code: only this reject code.
        limit: at most this many (None: all).
        offset: skip this many first (for paging).
    """
    q = (
        select(rejects_table)
        .join(imports, imports.c.id == rejects_table.c.import_id)
        .where(*_reject_filter(import_id=import_id, path=path, code=code))
        .order_by(
            rejects_table.c.import_id,
            rejects_table.c.line.is_(None).desc(),
            rejects_table.c.line,
            rejects_table.c.id,
        )
        .offset(offset)
    )
    if limit is not None:
        q = q.limit(limit)
    return [
        RejectRow(
            id=r.id,
            import_id=r.import_id,
            path=r.path,
            line=r.line,
            field=r.field,
            value=r.value,
            code=r.code,
            detail=r.detail,
            reason=r.reason,
            raw=r.raw,
        )
        for r in conn.execute(q)
    ]


def count_rejects(
    conn: Connection,
    *,
    import_id: int | None = None,
    path: str | None = None,
    code: str | None = None,
) -> int:
    """How many rejects :func:`list_rejects` would give without a limit."""
    q = (
        select(func.count())
        .select_from(rejects_table.join(imports, imports.c.id == rejects_table.c.import_id))
        .where(*_reject_filter(import_id=import_id, path=path, code=code))
    )
    return int(conn.execute(q).scalar_one())
