"""Import files into a workspace: ``daozhang import PATH...`` without the printing.

For each file, in a stable order (folders recursively, sorted, hidden files
skipped): recognise the format from the content, read it, normalise it, set
aside the bad rows with their line and reason, store the good rows that are
not stored yet, and commit. What happened to every row is counted:

    rows_read = rows_imported + rows_duplicate + rows_rejected

Nothing is half-done: a file's records are written to ``staging/``, moved
into ``records/`` and only then is the import committed in the database; a
file that fails at any point leaves the workspace as it was (see
store/workspace.py for the crash case).

The exit code follows DESIGN.md section 6: 0 when every file was imported
(or was already) with no row rejected, 1 when some rows or files were set
aside but something usable went in, 2 when nothing usable was found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path

import duckdb

from daozhang.domain.records import Kind
from daozhang.ingest.base import FileHead, ReadContext, ReadResult, SourceFile
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import (
    FileScan,
    UndecodableFileError,
    decode_head,
    prepare_text,
    scan_file,
)
from daozhang.ingest.registry import Unrecognised, detect
from daozhang.ingest.rejects import (
    REJECT_MESSAGES,
    Reject,
    RejectCode,
    make_reject,
    mask_pans,
    reject_messages,
)
from daozhang.normalise.normalise import NormaliseResult, iter_rejects, normalise
from daozhang.normalise.normalise import drop as drop_normalised
from daozhang.store import repo
from daozhang.store.record_files import files_of_import, publish, stage_new_records
from daozhang.store.repo import ImportCounts
from daozhang.store.workspace import Workspace

__all__ = [
    "REJECT_MESSAGES",
    "FileReport",
    "FileStatus",
    "ImportReport",
    "Progress",
    "current_actor",
    "import_paths",
    "iter_input_files",
    "reject_messages",
]

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in total) over all files, as the import goes."""

MAX_REJECTS_IN_REPORT = 200
# How much of a file's progress each phase stands for: reading the bytes once
# (hash, encoding), then reading the records, then the rest.
_SCAN, _READ = 0.25, 0.65

_RAW, _NORM, _NORM_REJECTS = "__import_raw", "__import_norm", "__import_norm_rejects"


class FileStatus(StrEnum):
    IMPORTED = "imported"  # committed; some rows may be rejected or already there
    ALREADY_IMPORTED = "already_imported"  # this very file (same SHA-256) is in already
    NOT_RECOGNISED = "not_recognised"  # no format knows it
    FAILED = "failed"  # recognised, but the file as a whole could not be read
    NOT_FOUND = "not_found"  # the path does not exist
    CHECKED = "checked"  # dry run: would be imported as reported


@dataclass(frozen=True, slots=True, kw_only=True)
class FileReport:
    """What became of one file.

    Attributes:
        path: the file as found.
        status: see :class:`FileStatus`.
        sha256, size: the file's identity and size (None/0 when unreadable).
        kind, format, encoding: what it was recognised as.
        import_id: its import in the database (None for a dry run or a missing path).
        counts: rows read, imported, already imported, rejected.
        problem: why the file as a whole was not imported (a whole-file reject).
        rejects: the first rejected rows (all are in the database: ``list_rejects``).
        duplicate_of: the earlier import that already holds this exact file.
        seconds: how long the file took.
    """

    path: Path
    status: FileStatus
    sha256: str | None = None
    size: int = 0
    kind: Kind | None = None
    format: str | None = None
    encoding: str | None = None
    import_id: int | None = None
    counts: ImportCounts = field(default_factory=ImportCounts)
    problem: Reject | None = None
    rejects: tuple[Reject, ...] = ()
    duplicate_of: int | None = None
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return self.counts.rows_read

    @property
    def rows_imported(self) -> int:
        return self.counts.rows_imported

    @property
    def rows_duplicate(self) -> int:
        return self.counts.rows_duplicate

    @property
    def rows_rejected(self) -> int:
        return self.counts.rows_rejected

    @property
    def usable(self) -> bool:
        """True when the file is, or already was, in the workspace (or would be)."""
        return self.status in (FileStatus.IMPORTED, FileStatus.ALREADY_IMPORTED, FileStatus.CHECKED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    files: tuple[FileReport, ...]
    dry_run: bool
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime

    @property
    def totals(self) -> ImportCounts:
        return ImportCounts(
            rows_read=sum(f.counts.rows_read for f in self.files),
            rows_imported=sum(f.counts.rows_imported for f in self.files),
            rows_duplicate=sum(f.counts.rows_duplicate for f in self.files),
            rows_rejected=sum(f.counts.rows_rejected for f in self.files),
        )

    @property
    def exit_code(self) -> int:
        """0 all good; 1 some rows or files set aside, the rest in; 2 nothing usable."""
        if not any(f.usable for f in self.files):
            return 2
        if any(not f.usable or f.counts.rows_rejected for f in self.files):
            return 1
        return 0


def current_actor() -> str:
    """The OS user running the import, for the record."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def iter_input_files(
    paths: Iterable[Path], *, exclude: Path | None = None
) -> Iterator[tuple[Path, bool]]:
    """``(path, exists)`` for every file to import, each once, in a stable order.

    A folder gives its files recursively in sorted order, skipping hidden
    files and folders (names starting with ``.``) and anything inside
    ``exclude`` (the workspace itself, when a user imports the folder that
    holds it). A file named explicitly is taken even if hidden.
    """
    seen: set[Path] = set()
    skip = exclude.resolve() if exclude is not None else None

    def fresh(p: Path) -> bool:
        key = p.resolve()
        if key in seen or (skip is not None and key.is_relative_to(skip)):
            return False
        seen.add(key)
        return True

    for given in paths:
        if given.is_dir():
            for dirpath, dirnames, filenames in os.walk(given):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    p = Path(dirpath) / name
                    if not name.startswith(".") and p.is_file() and fresh(p):
                        yield p, True
        elif given.is_file():
            if fresh(given):
                yield given, True
        else:
            yield given, False


class _Progress:
    """Bytes done over all files; each file's phases map onto its share."""

    def __init__(self, callback: Progress | None, total: int) -> None:
        self._cb = callback
        self.total = max(total, 1)
        self.base = 0
        self._last = -1

    def at(self, file_size: int, fraction: float) -> None:
        done = min(self.base + int(file_size * min(max(fraction, 0.0), 1.0)), self.total)
        if self._cb is not None and done > self._last:
            self._last = done
            self._cb(done, self.total)

    def file_done(self, file_size: int) -> None:
        self.at(file_size, 1.0)
        self.base += file_size


def import_paths(
    workspace: Workspace,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import every file in ``paths`` (files and folders, any mix) into ``workspace``.

    Args:
        workspace: an open workspace.
        paths: files and folders.
        progress: called with (bytes done, bytes in total) as the import goes.
        dry_run: recognise, read and count everything, write nothing.

    Returns:
        An :class:`ImportReport`: one :class:`FileReport` per file and the
        exit code. A user's bad file never raises; a broken machine (disk
        full, database gone) does, after rolling the current file back.
    """
    started = dt.datetime.now(dt.UTC)
    actor = current_actor()
    files = list(iter_input_files(paths, exclude=workspace.home))
    sizes = {p: _size(p) if exists else 0 for p, exists in files}
    meter = _Progress(progress, sum(sizes.values()))
    reports: list[FileReport] = []
    with workspace.import_lock():
        con = workspace.duckdb()
        try:
            set_pan_key(con, workspace.pan_key())
            for path, exists in files:
                if not exists:
                    reports.append(FileReport(path=path, status=FileStatus.NOT_FOUND))
                    continue
                t0 = time.monotonic()
                one = _FileImport(workspace, con, path, actor, dry_run, meter, sizes[path])
                report = one.run()
                meter.file_done(sizes[path])
                reports.append(dataclasses.replace(report, seconds=time.monotonic() - t0))
        finally:
            con.close()
    return ImportReport(
        files=tuple(reports),
        dry_run=dry_run,
        actor=actor,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
    )


def _size(path: Path) -> int:
    """A file's size, 0 when it cannot be read (then its import says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _FileImport:
    """One file through the pipeline; every exit leaves the workspace consistent."""

    def __init__(
        self,
        ws: Workspace,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        actor: str,
        dry_run: bool,
        meter: _Progress,
        size: int,
    ) -> None:
        self.ws, self.con, self.path, self.actor = ws, con, path, actor
        self.dry_run, self.meter, self.size = dry_run, meter, size
        self.import_id: int | None = None
        self.workdir: Path | None = None
        self.norm: NormaliseResult | None = None

    # -- the whole-file outcomes ---------------------------------------------
    def _give_up(
        self,
        status: FileStatus,
        reject: Reject,
        scan: FileScan | None,
        *,
        kind: Kind | None = None,
        format: str | None = None,
        encoding: str | None = None,
    ) -> FileReport:
        """The file as a whole is not imported: record why (unless a dry run)."""
        if self.import_id is not None:
            with self.ws.db.begin() as conn:
                repo.add_rejects(conn, import_id=self.import_id, rejects=[reject])
                repo.finish_import(
                    conn,
                    import_id=self.import_id,
                    status="failed",
                    now=_now(),
                    message=reject.reason,
                    kind=kind.value if kind else None,
                    format=format,
                    encoding=encoding,
                )
        return FileReport(
            path=self.path,
            status=status,
            sha256=scan.sha256 if scan else None,
            size=scan.size if scan else self.size,
            kind=kind,
            format=format,
            encoding=encoding,
            import_id=self.import_id,
            problem=reject,
        )

    def run(self) -> FileReport:
        path_str = str(self.path)
        try:
            scan = scan_file(
                self.path,
                progress=lambda n: self.meter.at(self.size, _SCAN * n / max(self.size, 1)),
            )
        except OSError as exc:
            reject = make_reject(
                RejectCode.UNREADABLE_FILE, path=path_str, detail=exc.strerror or str(exc)
            )
            return FileReport(path=self.path, status=FileStatus.FAILED, problem=reject)

        with self.ws.db.connect() as conn:
            earlier = repo.find_committed(conn, file_sha256=scan.sha256)
        if earlier is not None:
            return self._already(scan, earlier.id)

        if not self.dry_run:
            with self.ws.db.begin() as conn:
                self.import_id = repo.start_import(
                    conn, path=path_str, file_sha256=scan.sha256, actor=self.actor, now=_now()
                )
        try:
            return self._run(scan)
        except (duckdb.Error, OSError) as exc:
            # The machine, not the data: a full disk, memory, a file gone
            # while read. This file is rolled back; the others go on.
            detail = mask_pans(f"{type(exc).__name__}: {exc}")  # error text may quote data
            self._roll_back(message=detail)
            reject = make_reject(RejectCode.UNREADABLE_FILE, path=path_str, detail=detail)
            if self.import_id is not None:
                with self.ws.db.begin() as conn:
                    repo.add_rejects(conn, import_id=self.import_id, rejects=[reject])
            return FileReport(
                path=self.path,
                status=FileStatus.FAILED,
                sha256=scan.sha256,
                size=scan.size,
                import_id=self.import_id,
                problem=reject,
            )
        except BaseException:
            self._roll_back(message="the import stopped on an error and was rolled back")
            raise
        finally:
            self._clean()

    def _already(self, scan: FileScan, earlier: int) -> FileReport:
        import_id = None
        if not self.dry_run:
            with self.ws.db.begin() as conn:
                import_id = repo.start_import(
                    conn, path=str(self.path), file_sha256=scan.sha256, actor=self.actor, now=_now()
                )
                repo.finish_import(
                    conn,
                    import_id=import_id,
                    status="duplicate_file",
                    now=_now(),
                    message=f"the same file (SHA-256) was imported already as import {earlier}",
                )
        return FileReport(
            path=self.path,
            status=FileStatus.ALREADY_IMPORTED,
            sha256=scan.sha256,
            size=scan.size,
            import_id=import_id,
            duplicate_of=earlier,
        )

    def _run(self, scan: FileScan) -> FileReport:
        path_str = str(self.path)
        if scan.lines.content_lines == 0:
            return self._give_up(
                FileStatus.NOT_RECOGNISED, make_reject(RejectCode.EMPTY_FILE, path=path_str), scan
            )
        decoded = decode_head(scan.head, utf8_valid=scan.utf8_valid)
        if decoded is None:
            return self._give_up(
                FileStatus.NOT_RECOGNISED,
                make_reject(RejectCode.UNDECODABLE_FILE, path=path_str),
                scan,
            )
        head = FileHead(
            path=self.path, size=scan.size, head=scan.head, text=decoded[0], encoding=decoded[1]
        )
        found = detect(head)
        if isinstance(found, Unrecognised):
            reject = make_reject(
                RejectCode.UNRECOGNISED_FORMAT, path=path_str, detail=found.describe()
            )
            return self._give_up(FileStatus.NOT_RECOGNISED, reject, scan)
        fmt = found.format
        kind = fmt.kind

        tag = str(self.import_id) if self.import_id is not None else f"dry-{os.getpid()}"
        self.workdir = self.ws.staging_dir / tag
        try:
            prepared = prepare_text(self.path, scan, workdir=self.workdir)
        except UndecodableFileError as exc:
            reject = make_reject(RejectCode.UNDECODABLE_FILE, path=path_str, detail=str(exc))
            return self._give_up(FileStatus.FAILED, reject, scan, kind=kind, format=fmt.name)
        source = SourceFile(
            path=self.path,
            data_path=prepared.data_path,
            sha256=scan.sha256,
            encoding=prepared.encoding,
            lines=scan.lines,
            bad_lines=prepared.bad_lines,
        )
        ctx = ReadContext(
            con=self.con,
            table=_RAW,
            progress=lambda f: self.meter.at(self.size, _SCAN + _READ * f),
        )
        read = fmt.read(ctx, source)
        whole = next((r for r in read.rejects if r.line is None), None)
        if whole is not None:
            return self._give_up(
                FileStatus.FAILED,
                whole,
                scan,
                kind=kind,
                format=fmt.name,
                encoding=prepared.encoding,
            )
        norm = normalise(self.con, kind, _RAW, out_table=_NORM, rejects_table=_NORM_REJECTS)
        self.norm = norm
        self.con.execute(f"DROP TABLE {_RAW}")
        staged = stage_new_records(
            self.con,
            kind=kind,
            table=_NORM,
            import_id=self.import_id or 0,
            src_file=scan.sha256,
            src_path=path_str,
            existing=lambda parts: self.ws.record_files(kind, partitions=parts),
            staging_root=None if self.dry_run else self.workdir / "records",
        )
        counts = ImportCounts(
            rows_read=read.rows_read,
            rows_imported=staged.new_rows,
            rows_duplicate=staged.duplicate_rows,
            rows_rejected=len({r.line for r in read.rejects}) + norm.rejected_rows,
        )
        sample = self._store_rejects(read, norm, path_str)
        report = FileReport(
            path=self.path,
            status=FileStatus.CHECKED if self.dry_run else FileStatus.IMPORTED,
            sha256=scan.sha256,
            size=scan.size,
            kind=kind,
            format=fmt.name,
            encoding=prepared.encoding,
            import_id=self.import_id,
            counts=counts,
            rejects=sample,
        )
        if self.dry_run or self.import_id is None:
            return report
        assert self.workdir is not None
        publish(self.workdir / "records", staged.files, self.ws.records_dir)
        with self.ws.db.begin() as conn:
            try:
                repo.commit_import(
                    conn,
                    import_id=self.import_id,
                    file_sha256=scan.sha256,
                    kind=kind.value,
                    format=fmt.name,
                    encoding=prepared.encoding,
                    counts=counts,
                    now=_now(),
                )
            except repo.AlreadyCommittedError:
                committed = None
            else:
                committed = self.import_id
        if committed is None:
            # Another process committed this very file first: ours goes.
            self._roll_back(
                status="duplicate_file",
                message="the same file was committed by another import first",
            )
            with self.ws.db.connect() as conn:
                earlier = repo.find_committed(conn, file_sha256=scan.sha256)
            return FileReport(
                path=self.path,
                status=FileStatus.ALREADY_IMPORTED,
                sha256=scan.sha256,
                size=scan.size,
                import_id=self.import_id,
                duplicate_of=earlier.id if earlier else None,
            )
        return report

    def _store_rejects(
        self, read: ReadResult, norm: NormaliseResult, path: str
    ) -> tuple[Reject, ...]:
        """Keep every reject in the database (not a dry run) and return the first ones."""
        all_rejects = _merge_by_line(
            read.rejects, iter_rejects(self.con, norm.rejects_table, path=path)
        )
        sample: list[Reject] = []

        def tap(items: Iterable[Reject]) -> Iterator[Reject]:
            for r in items:
                if len(sample) < MAX_REJECTS_IN_REPORT:
                    sample.append(r)
                yield r

        if self.import_id is not None and not self.dry_run:
            with self.ws.db.begin() as conn:
                repo.add_rejects(conn, import_id=self.import_id, rejects=tap(all_rejects))
        else:
            sample = list(islice(all_rejects, MAX_REJECTS_IN_REPORT))
            for _ in all_rejects:  # the DuckDB cursor must be drained before the next query
                pass
        return tuple(sample)

    def _roll_back(self, *, message: str, status: str = "failed") -> None:
        """Undo this file if it has not committed: its record files, its rejects.

        A committed import is never touched: once the database says so, its
        files are the workspace's.
        """
        if self.import_id is None:
            return
        with self.ws.db.connect() as conn:
            row = repo.get_import(conn, import_id=self.import_id)
        if row is None or row.status != "running":
            return
        for p in files_of_import(self.ws.records_dir, self.import_id):
            p.unlink(missing_ok=True)
        with self.ws.db.begin() as conn:
            repo.delete_rejects(conn, import_id=self.import_id)
            repo.finish_import(
                conn, import_id=self.import_id, status=status, now=_now(), message=message
            )

    def _clean(self) -> None:
        if self.norm is not None:
            drop_normalised(self.con, self.norm)
        self.con.execute(f"DROP TABLE IF EXISTS {_RAW}")
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _merge_by_line(first: Iterable[Reject], second: Iterable[Reject]) -> Iterator[Reject]:
    """Two line-ordered streams of rejects as one, in line order (whole-file ones first)."""
    a, b = iter(first), iter(second)
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and (x.line or 0) <= (y.line or 0)):
            assert x is not None
            yield x
            x = next(a, None)
        else:
            yield y
            y = next(b, None)
