from __future__ import annotations

import datetime as dt

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
    workspace: Workspace,
) -> None:
    i = _start(workspace)
    _commit(workspace, i)
    with workspace.db.connect() as conn:
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


def test_the_database_refuses_to_commit_the_same_file_twice(workspace: Workspace) -> None:
    first, second = _start(workspace), _start(workspace)
    _commit(workspace, first)
    with pytest.raises(repo.AlreadyCommittedError):
        _commit(workspace, second)
    with workspace.db.connect() as conn:
        row = repo.get_import(conn, import_id=second)
    assert row is not None and row.status == "running"


def test_rejects_are_listed_only_for_finished_imports_by_line(workspace: Workspace) -> None:
    done, running = _start(workspace), _start(workspace, "f" * 64)
    with workspace.db.begin() as conn:
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
    _commit(workspace, done)
    with workspace.db.connect() as conn:
        rows = repo.list_rejects(conn)
        assert [r.line for r in rows] == [3, 9]
        assert repo.count_rejects(conn) == 2
        assert repo.count_rejects(conn, code="bad_date") == 1
        assert repo.list_rejects(conn, limit=1, offset=1)[0].line == 9
        assert repo.list_rejects(conn, path="t.csv") == []
    zh, en = rows[0].messages()
    assert zh == "这一行有 2 个字段，表头有 17 个"
    assert en == rows[0].reason == "this row has 2 fields, the header has 17"


def test_a_failed_file_shows_its_whole_file_reject_first(workspace: Workspace) -> None:
    i = _start(workspace)
    with workspace.db.begin() as conn:
        repo.add_rejects(
            conn,
            import_id=i,
            rejects=[make_reject(RejectCode.UNRECOGNISED_FORMAT, path="x.csv", detail="none")],
        )
        repo.finish_import(conn, import_id=i, status="failed", now=NOW, message="not recognised")
    with workspace.db.connect() as conn:
        (r,) = repo.list_rejects(conn, import_id=i)
        assert r.line is None and r.code == "unrecognised_format"
        assert [x.id for x in repo.list_imports(conn, status="failed")] == [i]


def test_finish_import_cannot_be_used_to_commit(workspace: Workspace) -> None:
    i = _start(workspace)
    with workspace.db.begin() as conn, pytest.raises(ValueError):
        repo.finish_import(conn, import_id=i, status="committed", now=NOW)
