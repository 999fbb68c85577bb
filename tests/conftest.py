"""Fixtures shared by the whole suite: a fresh workspace and a way to write input files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from daozhang.store.workspace import Workspace

WriteCsv = Callable[..., Path]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace in a temporary folder (environment overrides ignored)."""
    ws = Workspace.open(tmp_path / "workspace", env={})
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
