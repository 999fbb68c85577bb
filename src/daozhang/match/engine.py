"""Where the set-based rules run: one protocol, a DuckDB and a Spark implementation.

The rules are SQL strings in DuckDB's dialect restricted to what Spark means
the same way (no date or timestamp differences, no list aggregates, no
DuckDB-only functions; see DEPENDENCIES.md). An engine materialises each
named step as a table, so later steps and the checks can read it, and hands
small results back as Arrow tables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from daozhang.domain.records import Column

__all__ = ["DuckDBEngine", "Engine", "empty_select"]


class Engine(Protocol):
    """The seam between the rules and the machine that runs them."""

    name: str

    def load_parquet(
        self, name: str, files: Sequence[Path], columns: Sequence[Column], partition: str | None
    ) -> None:
        """Expose Parquet files (Hive partitioned by ``partition``) as table ``name``."""

    def load_arrow(self, name: str, table: pa.Table) -> None:
        """Expose a small in-memory table (calendar, contracts' derived data) as ``name``."""

    def create(self, name: str, sql: str) -> None:
        """Materialise the result of ``sql`` as table ``name`` (replacing it)."""

    def fetch(self, sql: str) -> pa.Table:
        """Run ``sql`` and return its (small) result."""

    def close(self) -> None: ...


def empty_select(columns: Sequence[Column]) -> str:
    """A SELECT with the given columns and no rows: a kind with no files yet."""
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in columns)
    return f"SELECT {cols} WHERE 1 = 0"


class DuckDBEngine:
    """The embedded default: an in-process DuckDB over the workspace's Parquet files.

    With ``on_disk`` the steps' tables live in a database file in
    ``temp_directory`` (deleted on close), not in memory: DuckDB then keeps
    in memory only what ``memory_limit`` allows and reads the rest back from
    disk, so ten million transactions reconcile in the same bound as one
    million. An in-memory database cannot evict its own tables and runs out
    of memory instead, but is half again as fast while they fit.
    """

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str = "600MB",
        temp_directory: Path | None = None,
        threads: int | None = None,
        on_disk: bool = False,
    ) -> None:
        self._file: Path | None = None
        if on_disk:
            if temp_directory is None:
                raise ValueError("a DuckDB engine on disk needs a temp_directory")
            temp_directory.mkdir(parents=True, exist_ok=True)
            self._file = temp_directory / f"engine-{os.getpid()}-{id(self)}.duckdb"
            self._file.unlink(missing_ok=True)
        self.con = duckdb.connect(str(self._file) if self._file else ":memory:")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        if temp_directory is not None:
            temp_directory.mkdir(parents=True, exist_ok=True)
            self.con.execute(f"SET temp_directory = '{_sql_str(str(temp_directory))}'")
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")

    def load_parquet(
        self, name: str, files: Sequence[Path], columns: Sequence[Column], partition: str | None
    ) -> None:
        if not files:
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {empty_select(columns)}")
            return
        listing = ", ".join(f"'{_sql_str(str(f))}'" for f in files)
        hive = ""
        if partition is not None:
            ptype = next(c.sql_type for c in columns if c.name == partition)
            hive = f", hive_partitioning = true, hive_types = {{'{partition}': {ptype}}}"
        select = ", ".join(c.name for c in columns)
        self.con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT {select} FROM read_parquet([{listing}]{hive})"
        )

    def load_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(f"__arrow_{name}", table)
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __arrow_{name}")
        self.con.unregister(f"__arrow_{name}")

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def fetch(self, sql: str) -> pa.Table:
        table: pa.Table = self.con.sql(sql).to_arrow_table()
        return table

    def close(self) -> None:
        self.con.close()
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file.with_name(self._file.name + ".wal").unlink(missing_ok=True)


def _sql_str(text: str) -> str:
    return text.replace("'", "''")
