"""Writing rows as a rich table, JSON lines or CSV: one place for the three formats."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["FORMATS", "console", "err_console", "write_rows"]

FORMATS = ("table", "json", "csv")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    fmt: str,
    columns: Sequence[tuple[str, str]],
    title: str | None = None,
    csv_fields: Sequence[str] | None = None,
) -> None:
    """Rows as a table (``columns``: field, heading), JSON lines (every field) or CSV.

    JSON and CSV go to standard output untouched by rich, so that other
    tools can read them.
    """
    if fmt == "json":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        fields = list(csv_fields or [c for c, _ in columns])
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in fields})
        return
    table = Table(title=title, show_lines=True, title_justify="left")
    for _, heading in columns:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c, _ in columns))
    console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
