"""Uploaded files onto disk, and ZIP files unpacked, without trusting either.

An upload is written into a fresh temporary folder *outside* the workspace
(an import never reads the workspace's own folder), imported from there,
and the folder is deleted afterwards: uploads may hold full card numbers,
which are masked on import and must not stay on disk.

A ZIP is unpacked only as far as it is safe:

* a member's name is made into a relative path of plain parts: no ``..``,
  no absolute path or drive letter, no control characters; the result must
  lie inside the target folder, or the member is set aside;
* symbolic links, folders and encrypted members are set aside;
* names written by Chinese Windows (GBK, without the UTF-8 flag) are read
  as GB18030, so 结算 stays 结算 instead of mojibake;
* at most ``max_zip_members`` members, and the bytes actually unpacked are
  counted as they are written, never taken from the ZIP's own header: past
  ``max_unzipped_bytes`` in all, or a member unpacking to more than
  ``max_zip_ratio`` times its packed size (a ZIP bomb), the upload stops.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

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
_NAME_MAX = 180
# Above this a member's packing ratio is checked (tiny files pack oddly).
_RATIO_FROM_BYTES = 1 << 20
_SKIP_PARTS = frozenset({"__MACOSX"})


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


_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(name: str) -> PurePosixPath | None:
    """``name`` as a relative path of safe parts, or None when it cannot be made one.

    >>> safe_relative_path("exports/结算/2026-11-05.csv")
    PurePosixPath('exports/结算/2026-11-05.csv')
    >>> safe_relative_path("../../etc/passwd") is None
    True
    >>> safe_relative_path("C:\\\\Users\\\\a.csv")
    PurePosixPath('Users/a.csv')
    """
    text = unicodedata.normalize("NFC", name).replace("\\", "/")
    text = _DRIVE.sub("", text)
    parts: list[str] = []
    for raw in text.split("/"):
        part = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
        if part in ("", "."):
            continue
        if part == ".." or part in _SKIP_PARTS:
            return None
        parts.append(part[:_NAME_MAX])
    if not parts:
        return None
    return PurePosixPath(*parts)


def _free_name(folder: Path, rel: PurePosixPath) -> Path:
    """``folder / rel``, or ``name (2).csv`` and so on when that is taken."""
    target = folder.joinpath(*rel.parts)
    n = 2
    while target.exists():
        target = target.with_name(f"{rel.stem} ({n}){rel.suffix}")
        n += 1
    return target


def save_stream(
    folder: Path, name: str, stream: BinaryIO, upload: SavedUpload, *, limit: int
) -> Path | None:
    """Copy one uploaded file into ``folder`` under its own (made safe) name."""
    rel = safe_relative_path(name or "upload")
    if rel is None:
        upload.problems.append(UploadProblem(name, "upload_bad_name"))
        return None
    target = _free_name(folder, rel)
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


def _is_zip(path: Path) -> bool:
    """Named .zip (a damaged one is then reported as a bad ZIP).

    Not by content: an Excel workbook (.xlsx) is a ZIP too, and is a file
    to import, not a folder to unpack.
    """
    return path.suffix.lower() == ".zip"


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; a GBK name (no UTF-8 flag) read back from Python's cp437 guess."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def unpack_zips(upload: SavedUpload, config: WebConfig) -> None:
    """Replace every ZIP among ``upload.files`` by its safe members (see the module doc).

    Raises:
        UploadRejectedError: too many members, too much unpacked, or a ZIP bomb.
    """
    budget = [config.max_unzipped_bytes - sum(p.stat().st_size for p in upload.files)]
    kept: list[Path] = []
    for path in list(upload.files):
        if not _is_zip(path):
            kept.append(path)
            continue
        rel_name = path.relative_to(upload.folder).as_posix()
        target_dir = _free_name(upload.folder, PurePosixPath(rel_name).with_suffix(""))
        try:
            with zipfile.ZipFile(path) as zf:
                kept.extend(_unpack(zf, rel_name, target_dir, upload, config, budget))
        except zipfile.BadZipFile:
            upload.problems.append(UploadProblem(rel_name, "upload_bad_zip"))
        path.unlink(missing_ok=True)
    upload.files = kept


def _unpack(
    zf: zipfile.ZipFile,
    zip_name: str,
    target_dir: Path,
    upload: SavedUpload,
    config: WebConfig,
    budget: list[int],
) -> Iterable[Path]:
    infos = zf.infolist()
    if len(infos) > config.max_zip_members:
        raise UploadRejectedError("upload_zip_members", zip_name, str(config.max_zip_members))
    root = target_dir.resolve()
    out: list[Path] = []
    for info in infos:
        name = _member_name(info)
        shown = f"{zip_name}/{name}"
        mode = info.external_attr >> 16
        if info.is_dir():
            continue
        if stat.S_ISLNK(mode):
            upload.problems.append(UploadProblem(shown, "upload_link"))
            continue
        if info.flag_bits & 0x1:
            upload.problems.append(UploadProblem(shown, "upload_encrypted"))
            continue
        rel = safe_relative_path(name)
        if rel is None:
            if not any(p in _SKIP_PARTS for p in name.replace("\\", "/").split("/")):
                upload.problems.append(UploadProblem(shown, "upload_bad_name"))
            continue
        target = _free_name(target_dir, rel)
        if not target.resolve().is_relative_to(root):
            upload.problems.append(UploadProblem(shown, "upload_bad_name"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _extract(zf, info, target, shown, config, budget)
        except _BadMemberError as exc:
            upload.problems.append(UploadProblem(shown, "upload_bad_member", str(exc)))
            continue
        out.append(target)
    return out


class _BadMemberError(Exception):
    """One member cannot be unpacked (damaged, an unknown compression): it is set aside."""


def _extract(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    shown: str,
    config: WebConfig,
    budget: list[int],
) -> None:
    allowed_by_ratio = max(info.compress_size, 1) * config.max_zip_ratio
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise UploadRejectedError(
                        "upload_unzipped_too_large", shown, str(config.max_unzipped_bytes >> 20)
                    )
                if written > _RATIO_FROM_BYTES and written > allowed_by_ratio:
                    raise UploadRejectedError("upload_zip_bomb", shown)
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        target.unlink(missing_ok=True)
        raise _BadMemberError(type(exc).__name__) from exc
    except UploadRejectedError:
        target.unlink(missing_ok=True)
        raise
