"""A file made ready for the formats: its head to recognise it by, its source to read.

The importer, ``daozhang profiles check`` and the tests' golden-file reader
must see a file exactly alike (the same decoding of its head, the same
UTF-8 copy of GB18030 or UTF-16 text, the same line counts), so the two
steps live here once.
"""

from __future__ import annotations

from pathlib import Path

from daozhang.ingest.base import FileHead, SourceFile
from daozhang.ingest.encoding import BINARY, FileScan, decode_head, prepare_text

__all__ = ["file_head", "source_file"]


def file_head(path: Path, scan: FileScan) -> FileHead:
    """What the formats look at to recognise ``path``: its head bytes and, if text, its text."""
    decoded = decode_head(scan.head, utf8_valid=scan.utf8_valid)
    return FileHead(
        path=path,
        size=scan.size,
        head=scan.head,
        text=decoded[0] if decoded else None,
        encoding=decoded[1] if decoded else None,
    )


def source_file(path: Path, scan: FileScan, *, reads_text: bool, workdir: Path) -> SourceFile:
    """``path`` ready for a format: a UTF-8 text (copied into ``workdir`` if need be) or bytes.

    Raises:
        UndecodableFileError: the format reads text and the file is not text.
    """
    if not reads_text:
        return SourceFile(
            path=path, data_path=path, sha256=scan.sha256, encoding=BINARY, lines=scan.lines
        )
    prepared = prepare_text(path, scan, workdir=workdir)
    return SourceFile(
        path=path,
        data_path=prepared.data_path,
        sha256=scan.sha256,
        encoding=prepared.encoding,
        lines=prepared.lines or scan.lines,
        bad_lines=prepared.bad_lines,
    )
