"""ZIP files unpacked without trusting them: for ``daozhang import`` and the web upload.

Alipay delivers its bills as ``…csv.zip`` and portals bundle a day's files
in one ZIP, so both the command line and the upload page unpack ZIPs before
importing what is inside. A ZIP comes from outside, so it is unpacked only
as far as it is safe:

* a member's name is made into a relative path of plain parts: no ``..``,
  no absolute path or drive letter, no control characters; the result must
  lie inside the target folder, or the member is set aside;
* symbolic links, folders and encrypted members are set aside;
* names written by Chinese Windows (GBK, without the UTF-8 flag) are read
  as GB18030, so 结算 stays 结算 instead of mojibake;
* at most :attr:`ZipLimits.members` members, and the bytes actually
  unpacked are counted as they are written, never taken from the ZIP's own
  header: past :attr:`ZipLimits.unzipped_bytes` in all, or a member
  unpacking to more than :attr:`ZipLimits.ratio` times its packed size (a
  ZIP bomb), unpacking stops with :class:`ArchiveRejectedError`.

A ZIP is recognised by its name (``.zip``), not its content: an Excel
workbook (.xlsx) is a ZIP too, and is a file to import, not a folder to
unpack. What is unpacked may hold full card numbers (they are masked on
import), so callers unpack into a private temporary folder and delete it
after the import.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "ArchiveProblem",
    "ArchiveRejectedError",
    "Member",
    "ZipLimits",
    "free_name",
    "is_zip",
    "safe_relative_path",
    "unpack_zip",
]

_CHUNK = 1 << 20
_NAME_MAX = 180
# Above this a member's packing ratio is checked (tiny files pack oddly).
_RATIO_FROM_BYTES = 1 << 20
_SKIP_PARTS = frozenset({"__MACOSX"})
_MB = 1 << 20


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """How much a ZIP may unpack to.

    Attributes:
        members: files inside one ZIP.
        unzipped_bytes: what the unpacked files may add up to (shared by
            every ZIP of one import or upload, through the caller's budget).
        ratio: unpacked size over packed size of one member; CSV exports
            pack 5 to 20 times, a ZIP bomb thousands.
    """

    members: int = 20_000
    unzipped_bytes: int = 4096 * _MB
    ratio: int = 200


@dataclass(frozen=True, slots=True)
class ArchiveProblem:
    """A member set aside while unpacking: its name as shown (``x.zip/a.csv``) and why.

    ``word`` is one of ``bad_zip`` (the ZIP itself cannot be read),
    ``bad_member`` (damaged, or an unknown compression; ``detail`` says
    which), ``link``, ``encrypted``, ``bad_name`` (a name that leaves the
    folder or cannot be made safe).
    """

    name: str
    word: str
    detail: str = ""


class ArchiveRejectedError(Exception):
    """The ZIP as a whole is refused: ``word`` is ``zip_members``, ``unzipped_too_large``
    or ``zip_bomb``; ``name`` the ZIP or member, ``detail`` the limit passed."""

    def __init__(self, word: str, name: str = "", detail: str = "") -> None:
        super().__init__(f"{word}: {name} {detail}".strip())
        self.word, self.name, self.detail = word, name, detail


@dataclass(frozen=True, slots=True)
class Member:
    """A file unpacked: where it now is, and its name as shown (``x.zip/a.csv``)."""

    path: Path
    shown: str


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


def free_name(folder: Path, rel: PurePosixPath) -> Path:
    """``folder / rel``, or ``name (2).csv`` and so on when that is taken."""
    target = folder.joinpath(*rel.parts)
    n = 2
    while target.exists():
        target = target.with_name(f"{rel.stem} ({n}){rel.suffix}")
        n += 1
    return target


def is_zip(path: Path) -> bool:
    """Named .zip (a damaged one is then reported as a bad ZIP); see the module doc."""
    return path.suffix.lower() == ".zip"


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; a GBK name (no UTF-8 flag) read back from Python's cp437 guess."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def unpack_zip(
    path: Path,
    shown: str,
    target_dir: Path,
    limits: ZipLimits,
    budget: list[int],
    problems: list[ArchiveProblem],
) -> list[Member]:
    """Unpack the safe members of the ZIP at ``path`` into ``target_dir``.

    Args:
        path: the ZIP.
        shown: its name as the user knows it; members are shown as ``shown/member``.
        target_dir: where the members go (made if need be).
        limits: see :class:`ZipLimits`.
        budget: ``[bytes still allowed]``, shared by the ZIPs of one import
            and lowered as members are written.
        problems: members set aside are appended here (and a ZIP that cannot
            be read at all, as ``bad_zip``).

    Raises:
        ArchiveRejectedError: too many members, too much unpacked, or a ZIP
            bomb. What was unpacked of this ZIP stays in ``target_dir``; the
            caller deletes it.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:  # not a ZIP, cut short, unreadable
        problems.append(ArchiveProblem(shown, "bad_zip", type(exc).__name__))
        return []
    with zf:
        return _unpack(zf, shown, target_dir, limits, budget, problems)


def _unpack(
    zf: zipfile.ZipFile,
    zip_name: str,
    target_dir: Path,
    limits: ZipLimits,
    budget: list[int],
    problems: list[ArchiveProblem],
) -> list[Member]:
    infos = zf.infolist()
    if len(infos) > limits.members:
        raise ArchiveRejectedError("zip_members", zip_name, str(limits.members))
    target_dir.mkdir(parents=True, exist_ok=True)
    root = target_dir.resolve()
    out: list[Member] = []
    for info in infos:
        name = _member_name(info)
        shown = f"{zip_name}/{name}"
        mode = info.external_attr >> 16
        if info.is_dir():
            continue
        if stat.S_ISLNK(mode):
            problems.append(ArchiveProblem(shown, "link"))
            continue
        if info.flag_bits & 0x1:
            problems.append(ArchiveProblem(shown, "encrypted"))
            continue
        rel = safe_relative_path(name)
        if rel is None:
            if not any(p in _SKIP_PARTS for p in name.replace("\\", "/").split("/")):
                problems.append(ArchiveProblem(shown, "bad_name"))
            continue
        target = free_name(target_dir, rel)
        if not target.resolve().is_relative_to(root):
            problems.append(ArchiveProblem(shown, "bad_name"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _extract(zf, info, target, shown, limits, budget)
        except _BadMemberError as exc:
            problems.append(ArchiveProblem(shown, "bad_member", str(exc)))
            continue
        out.append(Member(target, f"{zip_name}/{rel.as_posix()}"))
    return out


class _BadMemberError(Exception):
    """One member cannot be unpacked (damaged, an unknown compression): it is set aside."""


def _extract(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    shown: str,
    limits: ZipLimits,
    budget: list[int],
) -> None:
    allowed_by_ratio = max(info.compress_size, 1) * limits.ratio
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise ArchiveRejectedError(
                        "unzipped_too_large", shown, str(limits.unzipped_bytes // _MB)
                    )
                if written > _RATIO_FROM_BYTES and written > allowed_by_ratio:
                    raise ArchiveRejectedError("zip_bomb", shown)
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        target.unlink(missing_ok=True)
        raise _BadMemberError(type(exc).__name__) from exc
    except ArchiveRejectedError:
        target.unlink(missing_ok=True)
        raise
