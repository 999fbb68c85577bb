from __future__ import annotations

import datetime as dt
import threading

import pytest

from daozhang.ingest.rejects import RejectCode, make_reject
from daozhang.store import repo
from daozhang.store.workspace import Workspace

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SHA = "e" * 64


def _commit(ws: Workspace, import_id: int, sha: str = SHA) -> None:
    with ws.db.begin() as conn:
        repo.commit_import(
            conn,
            import_id=import_id,
            file_sha256=sha,
            kind="settlement",
            format="canonical.settlement",
            encoding="gb18030",
            counts=repo.ImportCounts(10, 7, 1, 2),
            now=NOW,
        )


def _start(ws: Workspace, sha: str = SHA) -> int:
    with ws.db.begin() as conn:
        return repo.start_import(conn, path="s.csv", file_sha256=sha, actor="li.lei", now=NOW)


def test_an_import_is_recorded_with_who_when_and_what_became_of_its_rows(
    any_db_workspace: Workspace,
) -> None:
    i = _start(any_db_workspace)
    _commit(any_db_workspace, i)
    with any_db_workspace.db.connect() as conn:
        row = repo.get_import(conn, import_id=i)
        assert repo.find_committed(conn, file_sha256=SHA) == row
    assert row is not None
    assert (row.status, row.actor, row.kind, row.encoding) == (
        "committed",
        "li.lei",
        "settlement",
        "gb18030",
    )
    assert row.counts == repo.ImportCounts(10, 7, 1, 2)
    assert row.started_at == NOW and row.finished_at == NOW


def test_the_database_refuses_to_commit_the_same_file_twice(any_db_workspace: Workspace) -> None:
    first, second = _start(any_db_workspace), _start(any_db_workspace)
    _commit(any_db_workspace, first)
    with pytest.raises(repo.AlreadyCommittedError):
        _commit(any_db_workspace, second)
    with any_db_workspace.db.connect() as conn:
        row = repo.get_import(conn, import_id=second)
    assert row is not None and row.status == "running"


def test_rejects_are_listed_only_for_finished_imports_by_line(any_db_workspace: Workspace) -> None:
    done, running = _start(any_db_workspace), _start(any_db_workspace, "f" * 64)
    with any_db_workspace.db.begin() as conn:
        repo.add_rejects(
            conn,
            import_id=done,
            rejects=[
                make_reject(
                    RejectCode.BAD_DATE, path="s.csv", line=9, field="settle_date", value="x"
                ),
                make_reject(
                    RejectCode.WRONG_FIELD_COUNT, path="s.csv", line=3, value="2", detail="17"
                ),
            ],
        )
        repo.add_rejects(
            conn,
            import_id=running,
            rejects=[make_reject(RejectCode.BAD_ENUM, path="t.csv", line=2)],
        )
    _commit(any_db_workspace, done)
    with any_db_workspace.db.connect() as conn:
        rows = repo.list_rejects(conn)
        assert [r.line for r in rows] == [3, 9]
        assert repo.count_rejects(conn) == 2
        assert repo.count_rejects(conn, code="bad_date") == 1
        assert repo.list_rejects(conn, limit=1, offset=1)[0].line == 9
        assert repo.list_rejects(conn, path="t.csv") == []
    zh, en = rows[0].messages()
    assert zh == "这一行有 2 个字段，表头有 17 个"
    assert en == rows[0].reason == "this row has 2 fields, the header has 17"


def test_a_failed_file_shows_its_whole_file_reject_first(any_db_workspace: Workspace) -> None:
    i = _start(any_db_workspace)
    with any_db_workspace.db.begin() as conn:
        repo.add_rejects(
            conn,
            import_id=i,
            rejects=[make_reject(RejectCode.UNRECOGNISED_FORMAT, path="x.csv", detail="none")],
        )
        repo.finish_import(conn, import_id=i, status="failed", now=NOW, message="not recognised")
    with any_db_workspace.db.connect() as conn:
        (r,) = repo.list_rejects(conn, import_id=i)
        assert r.line is None and r.code == "unrecognised_format"
        assert [x.id for x in repo.list_imports(conn, status="failed")] == [i]


def test_finish_import_cannot_be_used_to_commit(any_db_workspace: Workspace) -> None:
    i = _start(any_db_workspace)
    with any_db_workspace.db.begin() as conn, pytest.raises(ValueError):
        repo.finish_import(conn, import_id=i, status="committed", now=NOW)


def test_two_connections_racing_to_commit_one_file_commit_it_once(
    any_db_workspace: Workspace,
) -> None:
    """Two importers (two processes, two hosts on one PostgreSQL) finish the same file at once.

    The first has claimed the file and not yet committed; the second must
    wait for it and then be refused by the unique constraint, not commit too.
    """
    ws = any_db_workspace
    first, second = _start(ws), _start(ws)
    outcome: list[BaseException | None] = []

    def commit_second() -> None:
        try:
            _commit(ws, second)
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    with ws.db.connect() as conn:
        tx = conn.begin()
        repo.commit_import(
            conn,
            import_id=first,
            file_sha256=SHA,
            kind="settlement",
            format="canonical.settlement",
            encoding="utf-8",
            counts=repo.ImportCounts(1, 1, 0, 0),
            now=NOW,
        )
        racer = threading.Thread(target=commit_second)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second commit did not wait for the first"
        tx.commit()
    racer.join(timeout=30)
    assert not racer.is_alive()
    (error,) = outcome
    assert isinstance(error, repo.AlreadyCommittedError), error
    with ws.db.connect() as conn:
        assert [i.id for i in repo.list_imports(conn, status="committed")] == [first]
        row = repo.get_import(conn, import_id=second)
    assert row is not None and row.status == "running"
