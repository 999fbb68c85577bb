"""Reading one file as the importer would, and checking it against its golden file.

``read_file`` recognises a file among the formats (or takes the one given),
reads it into an in-memory DuckDB exactly as an import does (the same
transcoding, the same table contract) and returns its canonical records and
rejects. ``check_golden`` compares them with the expected records stored
beside the sample as ``<sample>.expected.jsonl`` (one JSON object per line:
each record's ``src_line`` and input fields, then each reject's line, field
and code). Set ``DAOZHANG_UPDATE_GOLDEN=1`` to (re)write a golden file after
checking by eye that the new records are right; a golden file nobody reads
proves nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from daozhang.domain.records import Kind
from daozhang.ingest.base import Format, Identification, ReadContext
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import scan_file
from daozhang.ingest.registry import FORMATS, Unrecognised, detect
from daozhang.ingest.rejects import Reject
from daozhang.ingest.sources import file_head, source_file

TEST_PAN_KEY = b"golden-files-pan-key-0123456789a"


@dataclass(frozen=True)
class FileRead:
    format: str
    kind: Kind
    identification: Identification
    rows_read: int
    records: list[dict[str, object]]
    rejects: tuple[Reject, ...]


def read_file(path: Path, formats: Sequence[Format] = FORMATS) -> FileRead:
    """``path`` recognised among ``formats`` and read; raises if nothing claims it."""
    scan = scan_file(path)
    found = detect(file_head(path, scan), formats)
    if isinstance(found, Unrecognised):
        raise AssertionError(f"{path} not recognised; closest: {found.describe()}")
    fmt = found.format
    with tempfile.TemporaryDirectory(prefix="daozhang-golden-") as tmp:
        source = source_file(
            path, scan, reads_text=found.identification.reads_text, workdir=Path(tmp)
        )
        con = duckdb.connect()
        try:
            set_pan_key(con, TEST_PAN_KEY)
            result = fmt.read(ReadContext(con=con, table="golden_raw"), source)
            exists = con.sql(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'golden_raw'"
            ).fetchall()[0][0]
            records: list[dict[str, object]] = []
            if exists:
                rel = con.sql("SELECT * FROM golden_raw ORDER BY src_line")
                names = rel.columns
                records = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
        finally:
            con.close()
    return FileRead(
        format=fmt.name,
        kind=fmt.kind,
        identification=found.identification,
        rows_read=result.rows_read,
        records=records,
        rejects=result.rejects,
    )


def golden_path(sample: Path) -> Path:
    return sample.with_name(sample.name + ".expected.jsonl")


def _lines(read: FileRead) -> list[str]:
    out = [json.dumps({"format": read.format, "rows_read": read.rows_read}, ensure_ascii=False)]
    out += [json.dumps(r, ensure_ascii=False, default=str) for r in read.records]
    out += [
        json.dumps(
            {"reject": {"line": r.line, "field": r.field, "code": str(r.code)}},
            ensure_ascii=False,
        )
        for r in read.rejects
    ]
    return out


def check_golden(sample: Path, read: FileRead) -> None:
    """Assert ``read`` equals the golden file beside ``sample`` (or write it, see above)."""
    path = golden_path(sample)
    got = _lines(read)
    if os.environ.get("DAOZHANG_UPDATE_GOLDEN") == "1":
        path.write_text("\n".join(got) + "\n", encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}: run with DAOZHANG_UPDATE_GOLDEN=1, then check it"
    expected = path.read_text(encoding="utf-8").splitlines()
    assert got == expected


def damaged(data: bytes, cut: float, flips: Sequence[tuple[float, int]], *, keep: int) -> bytes:
    """``data`` with bytes overwritten (``flips``: where 0..1, which byte), then cut short.

    For the junk tests of every format: at least ``keep`` bytes are left.
    """
    out = bytearray(data)
    for where, byte in flips:
        out[int(where * (len(out) - 1))] = byte
    return bytes(out[: max(keep, int(len(out) * cut))])
