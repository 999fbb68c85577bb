"""Writing records that a Python parser produced into a format's table.

Formats whose parsing is done by a library (mt-940, pyiso8583, an XML
parser, calamine) or by walking a bank's export row by row produce their
records in Python. :class:`RowSink` takes them one at a time, as canonical
field texts with their source position, and writes them to ``ctx.table`` in
Arrow batches, through :func:`~daozhang.ingest.base.raw_query` so the card
number is masked in the same statement that stores it. Memory stays
bounded by the batch, whatever the file's size. For the importer, a file of
at most :data:`SMALL` records is handed over as Arrow rows instead
(``ReadContext.deferred``), and masked in the statement that stores its
whole batch of files.

>>> import duckdb
>>> from daozhang.ingest.base import ReadContext
>>> con = duckdb.connect()
>>> sink = RowSink(ReadContext(con=con, table="t"), Kind.TERMINALS)
>>> sink.add(2, {"terminal_id": "T1", "status": "active"})
>>> sink.close()
1
>>> con.sql("SELECT src_line, terminal_id, status, reason FROM t").fetchall()
[(2, 'T1', 'active', None)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from daozhang.domain.records import Kind
from daozhang.ingest.base import ReadContext, ident, raw_query
from daozhang.ingest.fields import field_names

__all__ = ["SMALL", "RowSink"]

_BATCH = 65_536
SMALL = 1_024
"""Records a sink may hand over as Arrow rows (see :meth:`RowSink.close`): a daily
bill or one account's statement, for which a table of its own costs more than the rows."""


class RowSink:
    """Collects a format's records and writes them to its table, batch by batch.

    The table always exists after :meth:`close`, empty when no record came,
    so the importer handles a file of nothing but rejects like any other.
    """

    def __init__(self, ctx: ReadContext, kind: Kind, *, batch: int = _BATCH) -> None:
        self._ctx = ctx
        self._kind = kind
        self._fields = field_names(kind)
        self._batch = batch
        self._lines: list[int] = []
        self._values: dict[str, list[str | None]] = {f: [] for f in self._fields}
        self._created = False
        self._rows = 0

    @property
    def rows(self) -> int:
        """Records added so far."""
        return self._rows

    def add(self, line: int, values: Mapping[str, str | None]) -> None:
        """One record: ``line`` is its source position, ``values`` its input fields.

        Fields not in ``values`` are empty (NULL); a name that is not an
        input field of the kind is a bug in the format, so it raises.
        """
        unknown = values.keys() - self._values.keys()
        if unknown:
            raise KeyError(f"not input fields of {self._kind}: {sorted(unknown)}")
        self._lines.append(line)
        for name, column in self._values.items():
            column.append(values.get(name))
        self._rows += 1
        if len(self._lines) >= self._batch:
            self._flush()

    def close(self) -> int:
        """Write what is left (creating the table if need be); the number of records.

        A file of at most :data:`SMALL` records, read for the importer
        (``ctx.deferred`` given), is handed over as Arrow rows instead of
        a table of its own; its card numbers are masked when the importer
        stores the batch.
        """
        deferred = self._ctx.deferred
        if deferred is not None and not self._created and len(self._lines) <= SMALL:
            deferred.append(self._arrow())
            return self._rows
        if self._lines or not self._created:
            self._flush()
        return self._rows

    def _arrow(self) -> pa.Table:
        arrays: dict[str, pa.Array[Any]] = {"src_line": pa.array(self._lines, pa.int64())}
        for name in self._fields:
            arrays[name] = pa.array(self._values[name], pa.string())
        return pa.table(arrays)

    def _flush(self) -> None:
        batch = self._arrow()
        view = f"__sink_{self._ctx.table}"
        con = self._ctx.con
        con.register(view, batch)
        # Columns with no value in the batch are left to raw_query's NULLs:
        # a batch without card numbers (a WeChat or Alipay bill never has
        # one) then does not pay for masking them.
        n = len(self._lines)
        sources = {f: ident(f) for f in self._fields if batch.column(f).null_count < n}
        try:
            select = raw_query(self._kind, view, sources)
            if self._created:
                con.execute(f"INSERT INTO {self._ctx.table} {select}")
            else:
                con.execute(f"CREATE TABLE {self._ctx.table} AS {select}")
                self._created = True
        finally:
            con.unregister(view)
        self._lines = []
        self._values = {f: [] for f in self._fields}
