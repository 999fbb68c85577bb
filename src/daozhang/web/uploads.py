"""Uploaded files onto disk, and ZIP files unpacked, without trusting either.

An upload is written into a fresh temporary folder *outside* the workspace
(an import never reads the workspace's own folder), imported from there,
and the folder is deleted afterwards: uploads may hold full card numbers,
which are masked on import and must not stay on disk.

ZIPs are unpacked by :mod:`daozhang.service.archives`, with the limits of
the site's configuration; what it sets aside is listed with the upload.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from daozhang.service.archives import (
    ArchiveProblem,
    ArchiveRejectedError,
    ZipLimits,
    free_name,
    is_zip,
    safe_relative_path,
    unpack_zip,
)
from daozhang.web.config import WebConfig

__all__ = [
    "UPLOAD_PREFIX",
    "SavedUpload",
    "UploadProblem",
    "UploadRejectedError",
    "new_upload_dir",
    "safe_relative_path",
    "save_stream",
    "unpack_zips",
]

UPLOAD_PREFIX = "daozhang-upload-"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class UploadProblem:
    """A file of an upload that was set aside before the import: its name and why."""

    name: str
    word: str  # a key of web/i18n.py
    detail: str = ""


class UploadRejectedError(Exception):
    """The whole upload is refused (too much unpacked, a ZIP bomb): nothing is imported."""

    def __init__(self, word: str, name: str = "", detail: str = "") -> None:
        super().__init__(f"{word}: {name} {detail}".strip())
        self.word, self.name, self.detail = word, name, detail


@dataclass(slots=True)
class SavedUpload:
    """The folder an upload was written to, its files, and what was set aside."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    problems: list[UploadProblem] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def new_upload_dir() -> Path:
    """A fresh, private temporary folder for one upload."""
    return Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))


def save_stream(
    folder: Path, name: str, stream: BinaryIO, upload: SavedUpload, *, limit: int
) -> Path | None:
    """Copy one uploaded file into ``folder`` under its own (made safe) name."""
    rel = safe_relative_path(name or "upload")
    if rel is None:
        upload.problems.append(UploadProblem(name, "upload_bad_name"))
        return None
    target = free_name(folder, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise UploadRejectedError("upload_too_large")
            out.write(chunk)
    upload.files.append(target)
    return target


def unpack_zips(upload: SavedUpload, config: WebConfig) -> None:
    """Replace every ZIP among ``upload.files`` by its safe members (see service/archives.py).

    Raises:
        UploadRejectedError: too many members, too much unpacked, or a ZIP bomb.
    """
    limits = ZipLimits(
        members=config.max_zip_members,
        unzipped_bytes=config.max_unzipped_bytes,
        ratio=config.max_zip_ratio,
    )
    budget = [config.max_unzipped_bytes - sum(p.stat().st_size for p in upload.files)]
    kept: list[Path] = []
    for path in list(upload.files):
        if not is_zip(path):
            kept.append(path)
            continue
        rel_name = path.relative_to(upload.folder).as_posix()
        target_dir = free_name(upload.folder, PurePosixPath(rel_name).with_suffix(""))
        problems: list[ArchiveProblem] = []
        try:
            members = unpack_zip(path, rel_name, target_dir, limits, budget, problems)
        except ArchiveRejectedError as exc:
            raise UploadRejectedError(f"upload_{exc.word}", exc.name, exc.detail) from exc
        finally:
            upload.problems.extend(
                UploadProblem(p.name, f"upload_{p.word}", p.detail) for p in problems
            )
        kept.extend(m.path for m in members)
        path.unlink(missing_ok=True)
    upload.files = kept
