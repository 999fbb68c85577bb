"""The same rules on Spark: the engine for workspaces too big for one machine.

The rules are written once, in DuckDB's dialect (see :mod:`daozhang.match.engine`).
This engine transpiles each SQL string with SQLGlot to Spark SQL, materialises
every step as a temporary view over data Spark keeps (memory, then local
disk), and hands results back as Arrow tables typed the way DuckDB types
them, so the pipeline cannot tell the engines apart.

What has to be held in place for the two engines to mean the same thing:

* **Local wall-clock time.** DuckDB's ``TIMESTAMP`` has no time zone; nor has
  Spark's ``TIMESTAMP_NTZ``, while Spark's plain ``TIMESTAMP`` is an instant
  shown in the session zone. Every timestamp here is ``TIMESTAMP_NTZ``: the
  Parquet files (written by DuckDB with ``isAdjustedToUTC=false``) are read
  with an explicit schema saying so, Arrow tables are loaded with one,
  ``spark.sql.timestampType`` makes SQL casts produce it (SQLGlot already
  writes ``TIMESTAMP_NTZ``), and the session zone is Asia/Shanghai in case
  anything still meets an instant.
* **Hive partitions.** The workspace's Parquet files sit in ``txn_date=…/``
  folders and do not hold the partition column; Spark reads it from the
  folder names below ``basePath``, typed by the schema, as DuckDB does with
  ``hive_types``.
* **Errors, not wrong numbers.** ANSI mode on: an overflow or a bad cast
  fails the step, as it does in DuckDB, instead of wrapping or giving NULL.

The date-arithmetic and list-aggregate differences SQLGlot does not catch
(DEPENDENCIES.md) are avoided by the rules themselves; the test that runs the
whole pipeline on both engines over the same files is what keeps it so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as st

from daozhang.domain.records import Column
from daozhang.errors import EngineError

__all__ = ["LOCAL_TIME_ZONE", "SparkEngine", "local_spark_session", "to_spark_sql"]

# Naive local times in the records mean this zone (records.py).
LOCAL_TIME_ZONE = "Asia/Shanghai"

_LOOPBACK = "127.0.0.1"

# The column types of records.Column, as Spark types.
_SPARK_TYPES: dict[str, st.DataType] = {
    "VARCHAR": st.StringType(),
    "BIGINT": st.LongType(),
    "INTEGER": st.IntegerType(),
    "DATE": st.DateType(),
    "TIMESTAMP": st.TimestampNTZType(),
    "BOOLEAN": st.BooleanType(),
}

# Session settings that decide what the SQL means. Set on every engine's own
# session too: a new session does not inherit the runtime settings of the
# session it came from, and a session handed in may have been set otherwise.
_SEMANTIC_CONF = {
    "spark.sql.session.timeZone": LOCAL_TIME_ZONE,
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
}

# Below this much Parquet input, a run is many different queries, each run
# once over small tables, and Spark's machinery for big data costs more than
# it saves: compiling Java code for every query and stage (Janino), and
# re-planning each query after every stage (adaptive execution). Then
# expressions are interpreted and plans fixed. On the 19-type test workspace
# (cold JVM, 2 cores) interpreting cut the JVM's CPU from about 70 to 40 s and
# fixed plans the wall time from about 47 to 30 s; the demo workspace (18 000
# POS rows) went from 57 to 48 s. The findings are the same either way.
# Above it, Spark's defaults hold (adaptive execution also turns a join with
# a small checkpointed step into a broadcast). ``factoryMode`` is an internal
# Spark setting; its values are stable since Spark 3.0.
_SMALL_INPUT_BYTES = 256 * 2**20
_SIZE_CONF = {
    "small": {
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        "spark.sql.adaptive.enabled": "false",
    },
    "large": {
        "spark.sql.codegen.wholeStage": "true",
        "spark.sql.codegen.factoryMode": "FALLBACK",
        "spark.sql.adaptive.enabled": "true",
    },
}


def local_spark_session(
    temp_directory: Path | None = None,
    *,
    master: str = "local[*]",
    shuffle_partitions: int = 4,
    driver_memory: str = "2g",
    quick_jit: bool = True,
) -> SparkSession:
    """Start (or join) a local Spark session fit to run the rules on this machine.

    Bound to loopback with no UI: a reconcile holds card hashes and amounts,
    and nothing about it should listen on a network interface. No
    ``spark.jars.packages``: that would download, and runs are offline. Few
    shuffle partitions: a local run has few cores, and the rules' steps are
    small next to their inputs. ``temp_directory`` takes Spark's spill files
    and its (unused) warehouse folder, which would otherwise land in the
    working directory.

    ``quick_jit`` has the JVM compile Spark's own code quickly rather than
    well (C1 only): a local reconcile is a few minutes of many different
    short queries, where the optimising compiler's work never pays back (a
    cold run of the test workspace: about half the CPU). Turn it off for a
    long run over large data.
    """
    os.environ["SPARK_LOCAL_IP"] = _LOOPBACK  # read by the JVM's launcher
    builder: Any = (
        SparkSession.builder.master(master)
        .appName("daozhang")
        .config("spark.driver.host", _LOOPBACK)
        .config("spark.driver.bindAddress", _LOOPBACK)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # The plan text of every query is rendered for listeners even without
        # a UI; the simple form is the cheap one.
        .config("spark.sql.ui.explainMode", "simple")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
    )
    if quick_jit:
        builder = builder.config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
    for key, value in _SEMANTIC_CONF.items():
        builder = builder.config(key, value)
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.local.dir", str(temp_directory)).config(
            "spark.sql.warehouse.dir", str(temp_directory / "warehouse")
        )
    session: SparkSession = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@lru_cache(maxsize=1024)
def to_spark_sql(sql: str) -> str:
    """One rule statement in DuckDB's dialect, as Spark SQL.

    The rule texts are fixed (run-wide values come from the ``params``
    table), so each is transpiled once per process.
    """
    try:
        statements = sqlglot.transpile(sql, read="duckdb", write="spark")
    except sqlglot.errors.SqlglotError as exc:
        raise EngineError(f"cannot translate a rule to Spark SQL: {exc}") from exc
    if len(statements) != 1:
        raise EngineError(f"a rule must be one statement, got {len(statements)}")
    return str(statements[0])


class SparkEngine:
    """The rules on a Spark session: each step a materialised temporary view.

    Give it a ``spark`` session to share one JVM between engines (tests, a
    long-lived service); the engine then works in its own child session, so
    two engines' tables never meet, and ``close`` releases what it kept and
    leaves the shared session running. Without one, it starts a local
    session (:func:`local_spark_session`, spilling to ``temp_directory``) and
    stops it on ``close``.
    """

    name = "spark"

    def __init__(
        self,
        *,
        spark: SparkSession | None = None,
        temp_directory: Path | None = None,
        shuffle_partitions: int = 4,
    ) -> None:
        if spark is None:
            # Joining a session someone else in this process started: not ours to stop.
            self._owns_session = SparkContext._active_spark_context is None
            spark = local_spark_session(temp_directory, shuffle_partitions=shuffle_partitions)
        else:
            self._owns_session = False
        self._base: SparkSession = spark
        # A child session: its own temporary views and settings, the same JVM.
        self.spark: SparkSession = spark.newSession()
        for key, value in _SEMANTIC_CONF.items():
            self.spark.conf.set(key, value)
        self.spark.conf.set("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        self._input_bytes = 0
        self._tune_to_size()
        self._kept: dict[str, DataFrame] = {}  # materialised steps, to release
        self._views: set[str] = set()
        self._closed = False

    def load_parquet(
        self, name: str, files: Sequence[Path], columns: Sequence[Column], partition: str | None
    ) -> None:
        schema = _schema(columns)
        if not files:
            frame = self.spark.createDataFrame([], schema)
        else:
            parts = [
                self._read_parquet(group, base, schema)
                for base, group in _by_partition_base(files, partition).items()
            ]
            frame = parts[0]
            for more in parts[1:]:
                frame = frame.unionByName(more)
            self._input_bytes += sum(Path(f).stat().st_size for f in files)
            self._tune_to_size()
        # A view over the files, as in DuckDB: the inputs stay on disk and
        # each step reads only the columns it needs.
        self._register(name, frame.select(*(c.name for c in columns)), materialise=False)

    def load_arrow(self, name: str, table: pa.Table) -> None:
        schema = st.StructType(
            [st.StructField(f.name, _arrow_to_spark(f.type), True) for f in table.schema]
        )
        self._register(name, self.spark.createDataFrame(table, schema=schema), materialise=True)

    def create(self, name: str, sql: str) -> None:
        self._register(name, self.spark.sql(to_spark_sql(sql)), materialise=True)

    def fetch(self, sql: str) -> pa.Table:
        table: pa.Table = self.spark.sql(to_spark_sql(sql)).toArrow()
        return _as_duckdb_types(table)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for frame in self._kept.values():
            _release(frame)
        self._kept.clear()
        for view in self._views:
            self.spark.catalog.dropTempView(view)
        self._views.clear()
        if self._owns_session:
            self._base.stop()

    def _tune_to_size(self) -> None:
        size = "small" if self._input_bytes < _SMALL_INPUT_BYTES else "large"
        for key, value in _SIZE_CONF[size].items():
            self.spark.conf.set(key, value)

    def _read_parquet(
        self, files: list[Path], base: Path | None, schema: st.StructType
    ) -> DataFrame:
        reader: Any = self.spark.read.schema(schema)
        if base is not None:
            # The partition column comes from the folder names below basePath,
            # typed by the schema (DATE), as DuckDB's hive_types does.
            reader = reader.option("basePath", str(base))
        frame: DataFrame = reader.parquet(*(str(f) for f in files))
        return frame

    def _register(self, name: str, frame: DataFrame, *, materialise: bool) -> None:
        """Expose ``frame`` as ``name``; a materialised one is computed now and kept.

        A step is computed once, kept by Spark (memory, then local disk) and
        cut from the plan that made it: a local checkpoint. Cutting matters.
        A merely cached step keeps its plan inside the next step's plan, and
        so on down the pipeline; Spark renders that whole tree as text for
        every query, and at the payout fallback rounds the text outgrew the
        driver's memory. Computing at once also makes a broken step fail at
        its own ``create``, which names it.

        The price: a checkpoint has no row count, so Spark cannot plan a
        broadcast join from it up front; adaptive execution switches to one
        once it has seen the sizes (on large inputs, see ``_SIZE_CONF``). And
        on a cluster, an executor lost mid-run takes its blocks with it: the
        run fails (it is not silently recomputed) and must be started again.
        """
        if materialise:
            frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._views.add(name)
        # Released only now: the new step may have been computed from the old.
        old = self._kept.pop(name, None)
        if old is not None:
            _release(old)
        if materialise:
            self._kept[name] = frame


def _release(frame: DataFrame) -> None:
    """Free the blocks a local checkpoint holds, without waiting for the JVM's garbage collector."""
    plan = frame._jdf.queryExecution().logical()
    if plan.nodeName() == "LogicalRDD":
        plan.rdd().unpersist(False)


def _schema(columns: Sequence[Column]) -> st.StructType:
    try:
        return st.StructType([st.StructField(c.name, _SPARK_TYPES[c.sql_type]) for c in columns])
    except KeyError as exc:
        raise EngineError(f"no Spark type for column type {exc.args[0]}") from exc


def _by_partition_base(
    files: Sequence[Path], partition: str | None
) -> dict[Path | None, list[Path]]:
    """Group files by the folder their Hive partition folders hang from.

    ``…/pos_journal/txn_date=2026-11-05/import-3-0.parquet`` has base
    ``…/pos_journal``. A file with no ``partition=`` folder in its path holds
    the partition column itself (base None).
    """
    groups: dict[Path | None, list[Path]] = {}
    prefix = f"{partition}=" if partition is not None else None
    for f in map(Path, files):
        base: Path | None = None
        if prefix is not None:
            for parent in f.parents:
                if parent.name.startswith(prefix):
                    base = parent.parent
                    break
        groups.setdefault(base, []).append(f)
    return groups


def _arrow_to_spark(t: pa.DataType) -> st.DataType:
    """The Spark type for an Arrow column loaded with ``load_arrow``.

    Naive Arrow timestamps are local wall-clock times and must stay so
    (TIMESTAMP_NTZ); left to itself Spark would read them as instants.
    """
    if pa.types.is_timestamp(t):
        return st.TimestampType() if t.tz is not None else st.TimestampNTZType()
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        return st.DateType()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return st.StringType()
    if pa.types.is_boolean(t):
        return st.BooleanType()
    if pa.types.is_int64(t):
        return st.LongType()
    if pa.types.is_int32(t):
        return st.IntegerType()
    if pa.types.is_int16(t):
        return st.ShortType()
    if pa.types.is_int8(t):
        return st.ByteType()
    if pa.types.is_float64(t):
        return st.DoubleType()
    if pa.types.is_decimal(t):
        return st.DecimalType(t.precision, t.scale)
    if pa.types.is_null(t):
        return st.NullType()
    raise EngineError(f"no Spark type for Arrow type {t}")


def _as_duckdb_types(table: pa.Table) -> pa.Table:
    """A Spark result with the column types DuckDB would give it.

    Timestamps come back naive (wall clock): an instant, if Spark produced
    one, is shown in the local zone first. Fields are nullable and carry no
    Spark metadata, as DuckDB's are.
    """
    columns: list[Any] = []
    fields: list[pa.Field[Any]] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = _wall_clock(column)
        columns.append(column)
        fields.append(pa.field(field.name, column.type, nullable=True))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _wall_clock(instants: Any) -> Any:
    """Instants as the local zone's naive wall-clock times."""
    return pc.local_timestamp(instants.cast(pa.timestamp("us", tz=LOCAL_TIME_ZONE)))
