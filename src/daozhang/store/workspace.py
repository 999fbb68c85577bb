"""The workspace: one folder that holds everything a shop's reconciliation knows.

::

    <home>/
      daozhang.db              state (SQLite; DAOZHANG_DATABASE_URL may point elsewhere)
      keys/pan.key             32 random bytes: the key of the card-number hash (mode 0600)
      records/<kind>/...       the imported records, Parquet (see record_files.py)
      staging/                 an import's files before they are moved into records/
      tmp/                     DuckDB's spill space
      calendar.csv             bank calendar overrides (store/calendar_file.py)

Opening a workspace creates what is missing, brings the database to the
newest schema, and rolls back any import that was cut off (a crash, a kill,
a power cut) before it committed: its files are deleted and its row says
``rolled_back``. Imports take an exclusive lock on the folder, so two never
interleave; the roll-back only happens when no import holds the lock.

The home folder is, in order: ``--home``, ``$DAOZHANG_HOME``, the per-user
data folder of the platform (:func:`resolve_home`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import duckdb
import platformdirs
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from daozhang.domain.records import Kind
from daozhang.errors import WorkspaceError
from daozhang.store import repo
from daozhang.store.db import make_engine, upgrade_to_head
from daozhang.store.record_files import files_of_import, list_record_files

__all__ = [
    "DATABASE_URL_ENV",
    "HOME_ENV",
    "MEMORY_LIMIT_ENV",
    "ImportLockBusyError",
    "Workspace",
    "resolve_home",
]

HOME_ENV = "DAOZHANG_HOME"
DATABASE_URL_ENV = "DAOZHANG_DATABASE_URL"
MEMORY_LIMIT_ENV = "DAOZHANG_MEMORY_LIMIT"
KEY_BYTES = 32
# DuckDB's share of memory for bulk work: a million-row import then peaks at
# about 0.7 GB for the whole process; more only spills less to tmp/.
DEFAULT_MEMORY_LIMIT = "512MB"


def resolve_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The workspace folder: ``home`` if given, else ``$DAOZHANG_HOME``, else a per-user folder."""
    environ = os.environ if env is None else env
    if home is not None:
        return home.expanduser()
    if environ.get(HOME_ENV):
        return Path(environ[HOME_ENV]).expanduser()
    return platformdirs.user_data_path("daozhang", appauthor=False)


class ImportLockBusyError(WorkspaceError):
    """Another import is running in this workspace."""


class Workspace:
    """An open workspace. Use :meth:`open`; close with :meth:`close` (or ``with``)."""

    def __init__(self, home: Path, db: Engine, *, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        self.home = home
        self.db = db
        self.memory_limit = memory_limit

    # -- paths --------------------------------------------------------------
    @property
    def records_dir(self) -> Path:
        return self.home / "records"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def tmp_dir(self) -> Path:
        return self.home / "tmp"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def key_path(self) -> Path:
        return self.keys_dir / "pan.key"

    @property
    def calendar_path(self) -> Path:
        return self.home / "calendar.csv"

    @property
    def database_path(self) -> Path:
        return self.home / "daozhang.db"

    @property
    def _lock_path(self) -> Path:
        return self.home / ".import.lock"

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(
        cls,
        home: Path,
        *,
        database_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Workspace:
        """Open (creating if need be) the workspace at ``home``.

        Args:
            home: the folder.
            database_url: the state database; default ``$DAOZHANG_DATABASE_URL``,
                else ``daozhang.db`` in the folder.
            env: the environment to read (tests); default ``os.environ``.

        Raises:
            WorkspaceError: the folder cannot be created or the database
                opened or migrated; the message says which.
        """
        environ = os.environ if env is None else env
        home = home.expanduser().absolute()
        try:
            for d in (home, home / "records", home / "staging", home / "tmp"):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace folder {home}: {exc}") from exc
        url = database_url or environ.get(DATABASE_URL_ENV) or f"sqlite:///{home / 'daozhang.db'}"
        try:
            engine = make_engine(url)
            upgrade_to_head(engine)
        except (SQLAlchemyError, OSError, CommandError) as exc:
            raise WorkspaceError(f"cannot open the workspace database: {exc}") from exc
        ws = cls(home, engine, memory_limit=environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT)
        ws.recover()
        return ws

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the card-number key -------------------------------------------------
    def pan_key(self) -> bytes:
        """The key of the card-number hash, created (random, mode 0600) on first use.

        It is never printed or logged. Losing it does not expose anything,
        but cards imported before and after would no longer match, so an
        existing key of the wrong size is an error, never replaced.
        """
        path = self.key_path
        if not path.exists():
            self.keys_dir.mkdir(mode=0o700, exist_ok=True)
            tmp = self.keys_dir / f".pan.key.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, secrets.token_bytes(KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # atomic, and refuses to replace a key made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise WorkspaceError(f"{path} is damaged: expected {KEY_BYTES} bytes, found {len(key)}")
        return key

    # -- records ------------------------------------------------------------
    def record_files(self, kind: Kind, *, partitions: Iterable[str] | None = None) -> list[Path]:
        """The Parquet files of ``kind`` from committed imports (optionally some partitions)."""
        with self.db.connect() as conn:
            committed = repo.committed_import_ids(conn)
        return list_record_files(self.records_dir, kind, committed=committed, partitions=partitions)

    def duckdb(self, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB for bulk work, bounded in memory, spilling inside the workspace.

        The bound is ``memory_limit``, else ``$DAOZHANG_MEMORY_LIMIT`` as read
        when the workspace was opened, else 512MB.

        Raises:
            WorkspaceError: the limit is not one DuckDB understands.
        """
        con = duckdb.connect(":memory:")
        spill = self.tmp_dir / f"duckdb-{os.getpid()}"
        try:
            con.execute("SET memory_limit = ?", [memory_limit or self.memory_limit])
        except duckdb.Error as exc:
            con.close()
            raise WorkspaceError(
                f"memory limit {memory_limit or self.memory_limit!r}: {exc}"
            ) from exc
        con.execute("SET temp_directory = ?", [str(spill)])
        # Row order is carried by src_line, never by the physical order of a
        # table: inserts may run in parallel.
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        return con

    # -- the import lock and recovery ----------------------------------------
    @contextlib.contextmanager
    def import_lock(
        self, *, timeout: float | None = None, on_wait: Callable[[], None] | None = None
    ) -> Iterator[None]:
        """Hold the workspace's import lock (waits up to ``timeout`` seconds; None: forever).

        ``on_wait`` is called once if the lock is not free at once, so that
        whoever waits can say why nothing happens.

        Raises:
            ImportLockBusyError: the lock was not free in time.
        """
        with self._lock_path.open("a+b") as f:
            deadline = None if timeout is None else time.monotonic() + timeout
            waited = False
            while not _try_lock(f):
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                if deadline is not None and time.monotonic() >= deadline:
                    raise ImportLockBusyError(f"another import is running in {self.home}")
                time.sleep(0.1)
            try:
                yield
            finally:
                _unlock(f)

    def recover(self) -> list[int]:
        """Roll back imports that never committed; returns their ids.

        Skipped (returns []) while another process holds the import lock:
        its import is running, not cut off.
        """
        try:
            with self.import_lock(timeout=0):
                return self._recover_locked()
        except ImportLockBusyError:
            return []

    def _recover_locked(self) -> list[int]:
        with self.db.connect() as conn:
            running = repo.running_imports(conn)
        for import_id in running:
            for path in files_of_import(self.records_dir, import_id):
                path.unlink(missing_ok=True)
            with self.db.begin() as conn:
                repo.delete_rejects(conn, import_id=import_id)
                repo.finish_import(
                    conn,
                    import_id=import_id,
                    status="rolled_back",
                    now=dt.datetime.now(dt.UTC),
                    message="interrupted before it committed; rolled back when the workspace "
                    "was next opened",
                )
        # Nothing is importing: whatever is in staging is left over (a
        # transcoded copy of a file may hold card numbers: it must not stay).
        for entry in self.staging_dir.iterdir():
            _remove(entry)
        # DuckDB removes its spill files when it closes; a killed process cannot.
        for entry in self.tmp_dir.glob("duckdb-*"):
            pid = entry.name.removeprefix("duckdb-")
            if pid.isdigit() and not _alive(int(pid)):
                _remove(entry)
        # Nor the database file of a reconcile run on disk (engine-<pid>-<n>.duckdb).
        for entry in self.tmp_dir.glob("duckdb/engine-*"):
            pid = entry.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                _remove(entry)
        return running


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (on Windows, signal 0 is Ctrl-C: assume it does)."""
    if pid == os.getpid() or sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


if sys.platform == "win32":
    import msvcrt

    def _try_lock(f: IO[bytes]) -> bool:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(f: IO[bytes]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
