"""A real PostgreSQL server on loopback for the test session, and a fresh database per test.

The state database must behave the same on SQLite and PostgreSQL, so the
state tests run on both; PostgreSQL here is the real server (Debian's
``postgresql`` package), not a mock. One server is started for the session,
on a free port of 127.0.0.1 and a Unix socket inside its own temporary data
folder, with ``fsync=off`` (a test database need not survive a power cut);
each test gets its own ``CREATE DATABASE`` and it is dropped afterwards.

``initdb`` refuses to run as root (tests and CI do), so as root the server
is run as the ``postgres`` user through ``runuser``, and its data folder is
handed to that user. The binaries are found in ``$DAOZHANG_POSTGRES_BIN``,
else the newest ``/usr/lib/postgresql/*/bin`` (any major version), else on
``PATH``.

The server's zone is deliberately not UTC (Asia/Shanghai, where the shops
are): a ``timestamptz`` then comes back in +08:00, so code that forgets to
normalise times to UTC fails here rather than in production.

No server is left behind: the session fixture stops it at the end, failed
tests or not, and a small watchdog process stops it (immediate shutdown) and
removes its folder when the test process dies without tearing down
(SIGTERM, SIGKILL, a CI timeout): it waits for the end of a pipe only the
test process holds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

__all__ = [
    "BIN_ENV",
    "REQUIRE_ENV",
    "PostgresServer",
    "PostgresUnavailableError",
    "find_bin_dir",
    "postgres_required",
]

BIN_ENV = "DAOZHANG_POSTGRES_BIN"
REQUIRE_ENV = "DAOZHANG_REQUIRE_POSTGRES"
USER = "test"  # the superuser initdb creates; trust authentication on loopback only
SERVER_ZONE = "Asia/Shanghai"
_RUN_AS = "postgres"  # the system user the server runs as when we are root


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL binaries on this machine: the PostgreSQL variants cannot run."""


def postgres_required() -> bool:
    """Whether a missing PostgreSQL must fail the tests (CI) rather than skip them."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    version = bin_dir.parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(p) for p in version.split(".") if p.isdigit()) or (0,)


def find_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``.

    Raises:
        PostgresUnavailableError: none was found; the message says where we looked.
    """
    given = os.environ.get(BIN_ENV)
    if given:
        if (Path(given) / "initdb").is_file():
            return Path(given)
        raise PostgresUnavailableError(f"${BIN_ENV}={given} holds no initdb")
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.is_file()),
        key=_version_key,
    )
    if found:
        return found[-1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailableError(
        "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb and no initdb on "
        f"PATH (apt-get install postgresql, or set ${BIN_ENV})"
    )


# Run by the watchdog: wait until the test process is gone (its end of the
# pipe closes), then stop the server if it still runs and remove its folder.
_WATCHDOG = """
import shutil, subprocess, sys
sys.stdin.buffer.read()
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One throw-away PostgreSQL cluster: :meth:`start`, :meth:`create_database`, :meth:`stop`."""

    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="daozhang-pg-")))
    port: int = 0
    host: str = "127.0.0.1"
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _running: bool = False
    _watchdog: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def _as_server_user(self, args: Sequence[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", _RUN_AS, "--", *args]
        return list(args)

    def _run(self, args: Sequence[str], *, timeout: float = 60) -> None:
        done = subprocess.run(
            self._as_server_user(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return "server log:\n" + "\n".join(self.log_path.read_text().splitlines()[-20:])
        except OSError:
            return ""

    def _pg_ctl(self, *args: str) -> list[str]:
        return [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]

    def _start_watchdog(self) -> None:
        stop = self._as_server_user(self._pg_ctl("-m", "immediate", "stop"))
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self.root), *stop],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C for the tests is not for the watchdog
        )

    def _end_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            if self._watchdog.stdin is not None:
                self._watchdog.stdin.close()
            self._watchdog = None

    def start(self) -> None:
        """initdb and start; the server listens on 127.0.0.1 only, and on a socket in its folder."""
        if os.geteuid() == 0:
            shutil.chown(self.root, user=_RUN_AS, group=None)
        self._start_watchdog()
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        # A port free a moment ago can be taken by the time the server binds
        # it (another test run): try a few.
        for attempt in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses={self.host} -p {self.port} -k {self.data_dir} "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c timezone={SERVER_ZONE} -c max_connections=200"
            )
            try:
                self._run(
                    self._pg_ctl(
                        "-l", str(self.log_path), "-w", "-t", "60", "-o", options, "start"
                    ),
                    timeout=90,
                )
            except RuntimeError:
                self._kill_leftover()
                if attempt == 4:
                    raise
                continue
            self._running = True
            return

    def stop(self) -> None:
        """Stop the server (fast: open sessions are cut) and remove its folder. Idempotent."""
        if self._running:
            try:
                self._run(self._pg_ctl("-m", "fast", "stop"), timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_leftover()
            self._running = False
        self._kill_leftover()
        self._end_watchdog()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_leftover(self) -> None:
        """If a postmaster of this cluster still runs, end it (SIGQUIT: immediate shutdown)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)

    # -- databases ----------------------------------------------------------
    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server (psycopg 3)."""
        return f"postgresql+psycopg://{USER}@{self.host}:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host, port=self.port, user=USER, dbname="postgres", autocommit=True
        )

    def create_database(self, *, encoding: str = "UTF8", template: str = "template0") -> str:
        """A new database, a copy of ``template`` (default: empty); returns its name.

        A copy of a database already migrated to head saves each test the
        migrations (tens of DDL statements): the copy is made by the server,
        file by file, in a few milliseconds.
        """
        name = f"t{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} ENCODING {} LOCALE 'C' TEMPLATE {} STRATEGY FILE_COPY"
                ).format(sql.Identifier(name), sql.Literal(encoding), sql.Identifier(template))
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, cutting any session a test left open (PostgreSQL 13+)."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
