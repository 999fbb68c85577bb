from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import duckdb
import platformdirs
import pytest

from daozhang.domain.records import Kind, stored_columns
from daozhang.errors import WorkspaceError
from daozhang.store import repo
from daozhang.store.record_files import register_record_views
from daozhang.store.workspace import ImportLockBusyError, Workspace, resolve_home
from tests.helpers.postgres import PostgresServer
from tests.helpers.state import database_url, reopen

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def test_home_is_the_option_then_the_environment_then_the_user_folder(tmp_path: Path) -> None:
    env = {"DAOZHANG_HOME": str(tmp_path / "from-env")}
    assert resolve_home(tmp_path / "given", env) == tmp_path / "given"
    assert resolve_home(None, env) == tmp_path / "from-env"
    assert resolve_home(None, {}) == platformdirs.user_data_path("daozhang", appauthor=False)


def test_a_new_workspace_has_its_folders_and_database(workspace: Workspace) -> None:
    for p in (workspace.records_dir, workspace.staging_dir, workspace.tmp_dir):
        assert p.is_dir()
    assert workspace.database_path.is_file()
    assert workspace.calendar_path == workspace.home / "calendar.csv"


def test_database_url_from_the_environment_is_used(tmp_path: Path, any_db_url: str) -> None:
    ws = Workspace.open(tmp_path / "ws", env={"DAOZHANG_DATABASE_URL": any_db_url})
    try:
        assert database_url(ws) == any_db_url
        with ws.db.connect() as conn:
            assert repo.list_imports(conn) == []  # migrated there
    finally:
        ws.close()
    assert not (tmp_path / "ws" / "daozhang.db").exists()


def test_an_unusable_database_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError):
        Workspace.open(tmp_path / "ws", database_url="sqlite:////nonexistent/dir/x.db")


@pytest.mark.postgresql
def test_an_unreachable_postgresql_database_is_a_workspace_error(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    with pytest.raises(WorkspaceError, match="cannot open the workspace database"):
        Workspace.open(tmp_path / "ws", database_url=postgres_server.url("no_such_db"), env={})


def test_card_key_is_created_once_private_and_kept(workspace: Workspace) -> None:
    key = workspace.pan_key()
    assert len(key) == 32
    assert stat.S_IMODE(workspace.key_path.stat().st_mode) == 0o600
    assert workspace.pan_key() == key
    assert Workspace.open(workspace.home, env={}).pan_key() == key


def test_a_damaged_key_is_never_silently_replaced(workspace: Workspace) -> None:
    workspace.pan_key()
    workspace.key_path.write_bytes(b"short")
    with pytest.raises(WorkspaceError, match="damaged"):
        workspace.pan_key()
    assert workspace.key_path.read_bytes() == b"short"


def _file(ws: Workspace, rel: str) -> Path:
    p = ws.records_dir / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"PAR1")
    return p


def test_record_files_are_only_those_of_committed_imports(any_db_workspace: Workspace) -> None:
    workspace = any_db_workspace
    with workspace.db.begin() as conn:
        done = repo.start_import(conn, path="a.csv", file_sha256="a" * 64, actor="t", now=NOW)
        running = repo.start_import(conn, path="b.csv", file_sha256="b" * 64, actor="t", now=NOW)
        repo.commit_import(
            conn,
            import_id=done,
            file_sha256="a" * 64,
            kind="pos_journal",
            format="canonical.pos_journal",
            encoding="utf-8",
            counts=repo.ImportCounts(1, 1, 0, 0),
            now=NOW,
        )
    mine = _file(workspace, f"pos_journal/txn_date=2026-03-01/import-{done}-0.parquet")
    _file(workspace, f"pos_journal/txn_date=2026-03-01/import-{running}-0.parquet")
    _file(workspace, "pos_journal/txn_date=2026-03-01/notes.txt")
    other_day = _file(workspace, f"pos_journal/txn_date=2026-03-02/import-{done}-0.parquet")
    assert workspace.record_files(Kind.POS_JOURNAL) == [mine, other_day]
    assert workspace.record_files(Kind.POS_JOURNAL, partitions=["2026-03-02"]) == [other_day]
    assert workspace.record_files(Kind.SETTLEMENT) == []


def test_views_of_an_empty_workspace_have_every_column_typed(workspace: Workspace) -> None:
    con = duckdb.connect()
    register_record_views(con, workspace)
    for kind in Kind:
        described = con.execute(f"DESCRIBE {kind.value}").fetchall()
        assert [(r[0], r[1]) for r in described] == [
            (c.name, c.sql_type) for c in stored_columns(kind)
        ]
        assert con.execute(f"SELECT count(*) FROM {kind.value}").fetchone() == (0,)


def test_one_import_at_a_time(workspace: Workspace) -> None:
    other = Workspace.open(workspace.home, env={})
    with (
        workspace.import_lock(),
        pytest.raises(ImportLockBusyError),
        other.import_lock(timeout=0.2),
    ):
        pass
    with other.import_lock(timeout=0.2):
        pass


def test_a_waiting_import_says_so_once(workspace: Workspace) -> None:
    other = Workspace.open(workspace.home, env={})
    told: list[str] = []
    with (
        workspace.import_lock(),
        pytest.raises(ImportLockBusyError),
        other.import_lock(timeout=0.3, on_wait=lambda: told.append("waiting")),
    ):
        pass
    assert told == ["waiting"]
    with other.import_lock(timeout=0.2, on_wait=lambda: told.append("again")):
        pass
    assert told == ["waiting"]  # a free lock is taken without a word


def test_opening_rolls_back_an_import_that_never_committed(any_db_workspace: Workspace) -> None:
    workspace = any_db_workspace
    with workspace.db.begin() as conn:
        cut = repo.start_import(conn, path="c.csv", file_sha256="c" * 64, actor="t", now=NOW)
    left = _file(workspace, f"settlement/settle_date=2026-03-02/import-{cut}-0.parquet")
    (workspace.staging_dir / str(cut)).mkdir()
    (workspace.staging_dir / str(cut) / "transcoded.csv").write_text("x")
    with reopen(workspace) as again:
        assert again.record_files(Kind.SETTLEMENT) == []
    assert not left.exists()
    assert list(workspace.staging_dir.iterdir()) == []
    with workspace.db.connect() as conn:
        row = repo.get_import(conn, import_id=cut)
    assert row is not None and row.status == "rolled_back"
    assert row.finished_at is not None and row.finished_at.utcoffset() == dt.timedelta(0)


def test_no_roll_back_while_another_process_imports(any_db_workspace: Workspace) -> None:
    workspace = any_db_workspace
    with workspace.db.begin() as conn:
        live = repo.start_import(conn, path="d.csv", file_sha256="d" * 64, actor="t", now=NOW)
    staged = _file(workspace, f"terminals/import-{live}-0.parquet")
    with workspace.import_lock(), reopen(workspace) as again:
        assert again.recover() == []
    assert staged.exists()
    with workspace.db.connect() as conn:
        assert repo.running_imports(conn) == [live]


def test_bulk_memory_is_bounded_and_can_be_raised_for_a_big_server(tmp_path: Path) -> None:
    small = Workspace.open(tmp_path / "a", env={}).duckdb()
    assert small.execute("SELECT current_setting('memory_limit')").fetchall() == [("488.2 MiB",)]
    big = Workspace.open(tmp_path / "b", env={"DAOZHANG_MEMORY_LIMIT": "2GB"}).duckdb()
    assert big.execute("SELECT current_setting('memory_limit')").fetchall() == [("1.8 GiB",)]
    spill = big.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    assert spill.startswith(str(tmp_path / "b" / "tmp"))
    with pytest.raises(WorkspaceError, match="memory limit"):
        Workspace.open(tmp_path / "c", env={"DAOZHANG_MEMORY_LIMIT": "lots"}).duckdb()


def test_a_killed_reconciles_database_file_is_removed_on_next_open(tmp_path: Path) -> None:
    import os

    home = tmp_path / "shop"
    Workspace.open(home, env={}).close()
    engines = home / "tmp" / "duckdb"
    engines.mkdir(parents=True, exist_ok=True)
    dead = engines / "engine-999999999-1.duckdb"  # no such process
    running = engines / f"engine-{os.getpid()}-1.duckdb"  # a reconcile of a live process
    dead.write_bytes(b"x")
    running.write_bytes(b"x")
    Workspace.open(home, env={}).close()
    assert not dead.exists() and running.exists()


@pytest.mark.postgresql
def test_a_postgresql_database_that_is_not_utf8_is_refused_before_anything_is_written(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    name = postgres_server.create_database(encoding="SQL_ASCII")
    try:
        with pytest.raises(WorkspaceError, match="UTF8"):
            Workspace.open(tmp_path / "ws", database_url=postgres_server.url(name), env={})
    finally:
        postgres_server.drop_database(name)
