"""Fixtures shared by the whole suite: a fresh workspace and a way to write input files.

State tests run on both databases the product supports: ``any_db_workspace``
and ``any_db_url`` are parametrized over ``sqlite`` (the embedded default)
and ``postgresql`` (a real server started once for the session, a fresh
database per test; see tests/helpers/postgres.py). Without PostgreSQL on the
machine the ``postgresql`` variants are skipped with the reason, unless
``DAOZHANG_REQUIRE_POSTGRES=1`` (CI), where they fail instead.
``-m "not postgresql"`` leaves them out.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from daozhang.store.db import make_engine, upgrade_to_head
from daozhang.store.workspace import Workspace
from tests.helpers.postgres import (
    REQUIRE_ENV,
    PostgresServer,
    PostgresUnavailableError,
    find_bin_dir,
    postgres_required,
)

WriteCsv = Callable[..., Path]
NewDatabaseUrl = Callable[[], str]

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs on a real PostgreSQL server (tests/helpers/postgres.py)"
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace in a temporary folder (environment overrides ignored)."""
    ws = Workspace.open(tmp_path / "workspace", env={})
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, started on first use, always stopped at the end."""
    try:
        bin_dir = find_bin_dir()
    except PostgresUnavailableError as exc:
        if postgres_required():
            pytest.fail(f"{exc}; {REQUIRE_ENV} is set, so this is an error", pytrace=False)
        pytest.skip(str(exc))
    server = PostgresServer(bin_dir)
    atexit.register(server.stop)  # in case the session is cut short; stop() is idempotent
    try:
        server.start()
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server: PostgresServer) -> str:
    """A database of the session's server migrated to head: the template of workspaces' ones."""
    name = postgres_server.create_database()
    engine = make_engine(postgres_server.url(name))
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()  # a template must have no sessions when it is copied
    return name


@pytest.fixture
def new_postgres_url(postgres_server: PostgresServer) -> Iterator[NewDatabaseUrl]:
    """Make fresh, empty databases on the session's server; all are dropped after the test."""
    made: list[str] = []

    def new() -> str:
        made.append(postgres_server.create_database())
        return postgres_server.url(made[-1])

    try:
        yield new
    finally:
        for name in made:
            postgres_server.drop_database(name)


@pytest.fixture
def postgres_url(new_postgres_url: NewDatabaseUrl) -> str:
    """The URL of a fresh, empty PostgreSQL database of this test's own."""
    return new_postgres_url()


@pytest.fixture(params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the test runs once on each."""
    return str(request.param)


@pytest.fixture
def new_db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> NewDatabaseUrl:
    """Make fresh, empty state databases of this test's kind (SQLite files or PostgreSQL)."""
    if db_kind == "postgresql":
        new: NewDatabaseUrl = request.getfixturevalue("new_postgres_url")
        return new
    files = iter(range(1, 1_000_000))
    return lambda: f"sqlite:///{tmp_path / f'state-{next(files)}.db'}"


@pytest.fixture
def any_db_url(new_db_url: NewDatabaseUrl) -> str:
    """A fresh, empty state database: an SQLite file, then a PostgreSQL database."""
    return new_db_url()


@pytest.fixture
def any_db_workspace(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Workspace]:
    """A new, empty workspace whose state is in SQLite (its own file), then in PostgreSQL.

    The PostgreSQL database is a fresh copy of one already migrated (the
    migrations themselves are tested from empty in tests/store/test_migrations.py).
    """
    if db_kind == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = server.create_database(template=request.getfixturevalue("postgres_migrated"))
        request.addfinalizer(lambda: server.drop_database(name))
        url: str | None = server.url(name)
    else:
        url = None
    ws = Workspace.open(tmp_path / "workspace", database_url=url, env={})
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write a CSV file under ``tmp_path/exports`` from a header and rows of strings.

    ``write_csv("pos.csv", "a,b", ["1,2", "3,4"], encoding="gb18030", bom=False,
    newline="\\n")`` returns the path. Rows are written as given (no quoting
    added), so a test can write exactly the malformed line it wants.
    """

    def write(
        name: str,
        header: str,
        rows: Sequence[str] = (),
        *,
        encoding: str = "utf-8",
        bom: bool = False,
        newline: str = "\n",
    ) -> Path:
        path = tmp_path / "exports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = newline.join([header, *rows]) + newline
        data = text.encode(encoding)
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return path

    return write
