"""Import files into a workspace: ``daozhang import PATH...`` without the printing.

For each file, in a stable order (folders recursively, sorted, hidden files
skipped): recognise the format from the content, read it, normalise it, set
aside the bad rows with their line and reason, store the good rows that are
not stored yet, and commit. Files of one kind are normalised and stored in
batches (see :class:`_ImportRun`), with the same result as one by one. What
happened to every row is counted:

    rows_read = rows_imported + rows_duplicate + rows_rejected

Nothing is half-done: a batch's records are written to ``staging/``, moved
into ``records/`` and only then are its imports committed in the database,
in one transaction; a file that fails at any point leaves the workspace as
it was, and so does a batch (see store/workspace.py for the crash case).

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
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from daozhang.domain.records import Kind
from daozhang.ingest.accounts import fill_account, fill_account_rows, unknown_accounts
from daozhang.ingest.base import Format, ReadContext, ReadResult, ident, raw_query
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import (
    FileScan,
    UndecodableFileError,
    guess_encoding,
    scan_file,
)
from daozhang.ingest.fields import field_names
from daozhang.ingest.registry import Unrecognised, detect
from daozhang.ingest.rejects import (
    NOTICES,
    REJECT_MESSAGES,
    Reject,
    RejectCode,
    make_reject,
    mask_pans,
    reject_messages,
)
from daozhang.ingest.sources import file_head, source_file
from daozhang.normalise.normalise import (
    FILE_COLUMN,
    NormaliseResult,
    iter_rejects,
    normalise,
    rejected_rows_by_file,
)
from daozhang.normalise.normalise import drop as drop_normalised
from daozhang.service.archives import (
    ArchiveProblem,
    ArchiveRejectedError,
    ZipLimits,
    is_zip,
    unpack_zip,
)
from daozhang.service.formats import workspace_formats
from daozhang.store import repo
from daozhang.store.record_files import BatchFile, files_of_imports, publish, stage_batch
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
READERS = max(1, min(4, os.cpu_count() or 1))
"""Files read side by side (each read is single-threaded to number its lines)."""
BATCH_BYTES = 64 << 20
"""Files are read until this many bytes wait to be stored, then stored together."""
BATCH_FILES = 200
"""...or until this many files wait: most are a table of their own, and a statement over
a union of thousands of tables costs more per table (and DuckDB memory) the more there are."""

# How much of a file's progress its reading stands for (its batch is the
# rest), and how much of that is reading the bytes once (hash, encoding).
_READING, _SCAN = 0.8, 0.25

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
        notices: findings about imported rows that set nothing aside (a running
            balance that breaks: an entry may be missing); they are stored
            and listed with the rejects, and make the exit code 1.
        account_filled: bank entries that named no account and were given
            the one of ``import --account`` (see ingest/accounts.py).
        account_unknown: bank entries that name no account and got none:
            they are stored under a placeholder (``未知账号-<bank>``).
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
    notices: int = 0
    account_filled: int = 0
    account_unknown: int = 0
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
        """0 all good; 1 rows or files set aside (or a notice), the rest in; 2 nothing usable."""
        if not any(f.usable for f in self.files):
            return 2
        if any(not f.usable or f.counts.rows_rejected or f.notices for f in self.files):
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
    """Bytes done over all files: a file's reading is most of its share, its batch the rest.

    Files are read side by side, so each one's reading is tracked by its
    slot; the callback may be called from a reading thread.
    """

    def __init__(self, callback: Progress | None, total: int) -> None:
        self._cb = callback
        self.total = max(total, 1)
        self._done = 0.0
        self._reading: dict[int, float] = {}
        self._last = -1
        self._lock = threading.Lock()

    def _report(self) -> None:
        value = min(int(self._done + sum(self._reading.values())), self.total)
        if self._cb is not None and value > self._last:
            self._last = value
            self._cb(value, self.total)

    def reading(self, slot: int, file_size: int, fraction: float) -> None:
        """File ``slot`` is ``fraction`` read."""
        with self._lock:
            self._reading[slot] = file_size * _READING * min(max(fraction, 0.0), 1.0)
            self._report()

    def read(self, slot: int, file_size: int) -> None:
        """File ``slot`` is read (or done with): its reading share is done."""
        with self._lock:
            self._reading.pop(slot, None)
            self._done += file_size * _READING
            self._report()

    def advance(self, n: float) -> None:
        """The rest of some files' shares (their batch is stored, or they ended early)."""
        with self._lock:
            self._done += n
            self._report()


def import_paths(
    workspace: Workspace,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    allowed_merchants: Collection[str] | None = None,
    on_wait: Callable[[], None] | None = None,
    formats: Sequence[Format] | None = None,
    account: str | None = None,
) -> ImportReport:
    """Import every file in ``paths`` (files and folders, any mix) into ``workspace``.

    A ``.zip`` among them is unpacked into a private temporary folder (see
    service/archives.py), deleted afterwards, and each member is imported
    as ``<zip>/<member>``: recorded, reported and named in its rejects so.

    Args:
        workspace: an open workspace.
        paths: files and folders.
        progress: called with (bytes done, bytes in total) as the import goes.
        dry_run: recognise, read and count everything, write nothing.
        actor: who imports, as recorded; default the operating-system user.
        allowed_merchants: the merchants the uploader's organisation may
            import (None: any). Rows of other merchants, and bank entries on
            accounts that are not the settlement account of an allowed
            merchant's stored contract, are set aside as
            ``not_in_organisation``: one organisation cannot write another's
            records.
        on_wait: called once when another import holds the workspace and
            this one waits for it.
        formats: the formats a file may be recognised as (default: every
            format the workspace knows, its own column profiles included).
            One format (``import --profile``) reads every file as that
            format, and a file it does not fit says what it expected.
        account: the account number of bank exports that do not name
            theirs (``import --account``); entries that name one keep it.

    Returns:
        An :class:`ImportReport`: one :class:`FileReport` per file and the
        exit code. A user's bad file never raises; a broken machine (disk
        full, database gone) does, after rolling back what had not committed.
    """
    started = dt.datetime.now(dt.UTC)
    actor = actor or current_actor()
    with tempfile.TemporaryDirectory(prefix="daozhang-unzip-") as unzip_dir:
        inputs = _unzipped(iter_input_files(paths, exclude=workspace.home), Path(unzip_dir))
        reports = _import_inputs(
            workspace,
            inputs,
            progress=progress,
            dry_run=dry_run,
            actor=actor,
            allowed_merchants=allowed_merchants,
            on_wait=on_wait,
            formats=formats,
            account=account,
        )
    return ImportReport(
        files=reports,
        dry_run=dry_run,
        actor=actor,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
    )


def _import_inputs(
    workspace: Workspace,
    inputs: Sequence[_Input],
    *,
    progress: Progress | None,
    dry_run: bool,
    actor: str,
    allowed_merchants: Collection[str] | None,
    on_wait: Callable[[], None] | None,
    formats: Sequence[Format] | None,
    account: str | None,
) -> tuple[FileReport, ...]:
    meter = _Progress(progress, sum(i.size for i in inputs))
    with workspace.import_lock(on_wait=on_wait):
        con = workspace.duckdb()
        try:
            scope = None
            if allowed_merchants is not None:
                scope = _scope_table(workspace, con, allowed_merchants)
            run = _ImportRun(
                workspace,
                con,
                actor=actor,
                dry_run=dry_run,
                meter=meter,
                formats=formats if formats is not None else workspace_formats(workspace),
                scope_table=scope,
                account=account,
            )
            try:
                run.read_all(inputs)
                run.flush()
            except BaseException:
                run.abandon()
                raise
            return run.reports()
        finally:
            con.close()


@dataclass(frozen=True, slots=True)
class _Input:
    """A file to import: ``path`` as the user knows it, read from ``source``.

    They differ for a file inside a ZIP: ``downloads/bill.csv.zip/bill.csv``
    is read from where it was unpacked, and is recorded, reported and
    named in its rejects by the first. ``problem`` is set when the file
    could not even be unpacked.
    """

    path: Path
    source: Path
    exists: bool
    size: int
    problem: Reject | None = None


_ARCHIVE_CODES = {
    "bad_zip": RejectCode.ARCHIVE_DAMAGED,
    "bad_member": RejectCode.ARCHIVE_DAMAGED,
    "encrypted": RejectCode.ARCHIVE_ENCRYPTED,
    "link": RejectCode.ARCHIVE_UNSAFE_MEMBER,
    "bad_name": RejectCode.ARCHIVE_UNSAFE_MEMBER,
}


def _unzipped(files: Iterable[tuple[Path, bool]], folder: Path) -> list[_Input]:
    """The files to import, each ZIP among them replaced by its members (unpacked to ``folder``).

    A ZIP is unpacked as service/archives.py says; a member it sets aside,
    or a ZIP refused as a whole (a ZIP bomb), is an input with its
    ``problem``, reported like an unreadable file.
    """
    limits = ZipLimits()
    budget = [limits.unzipped_bytes]
    out: list[_Input] = []
    for n, (path, exists) in enumerate(files):
        if not (exists and is_zip(path)):
            out.append(_Input(path, path, exists, _size(path) if exists else 0))
            continue
        problems: list[ArchiveProblem] = []
        target = folder / str(n)
        try:
            members = unpack_zip(path, str(path), target, limits, budget, problems)
        except ArchiveRejectedError as exc:
            shutil.rmtree(target, ignore_errors=True)
            limit = {
                "zip_members": f"> {limits.members} files",
                "unzipped_too_large": f"> {limits.unzipped_bytes >> 20} MB",
                "zip_bomb": f"> {limits.ratio}x",
            }[exc.word]
            reject = make_reject(RejectCode.ARCHIVE_TOO_LARGE, path=str(path), detail=limit)
            out.append(_Input(path, path, True, _size(path), reject))
            continue
        out.extend(_Input(Path(m.shown), m.path, True, _size(m.path)) for m in members)
        for problem in problems:
            reject = make_reject(
                _ARCHIVE_CODES[problem.word], path=problem.name, detail=problem.detail or None
            )
            out.append(_Input(Path(problem.name), path, True, 0, reject))
    return out


_SCOPE = "__import_scope"


def _scope_table(ws: Workspace, con: duckdb.DuckDBPyConnection, merchants: Collection[str]) -> str:
    """The merchants and settlement accounts an organisation may import, as a table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_SCOPE} (merchant_id VARCHAR, account_no VARCHAR)")
    con.executemany(f"INSERT INTO {_SCOPE} VALUES (?, NULL)", [[m] for m in sorted(merchants)])
    contracts = ws.record_files(Kind.CONTRACTS)
    if contracts:
        listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in contracts)
        con.execute(
            f"INSERT INTO {_SCOPE} SELECT DISTINCT NULL, settlement_account "
            f"FROM read_parquet([{listing}]) "
            f"WHERE merchant_id IN (SELECT merchant_id FROM {_SCOPE} WHERE merchant_id IS NOT NULL)"
        )
    return _SCOPE


def _size(path: Path) -> int:
    """A file's size, 0 when it cannot be read (then its import says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# charset-normalizer's names for what GB18030 reads.
_GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312", "cp936", "hz"})


@dataclass(frozen=True, slots=True)
class _GiveUp:
    """The file as a whole is not imported, and why."""

    status: FileStatus
    reject: Reject
    kind: Kind | None = None
    format: str | None = None
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class _Read:
    """The file is read into ``read.table``: the raw columns of ``kind``."""

    kind: Kind
    format: str
    encoding: str
    read: ReadResult
    rows: pa.Table | None = None  # the records, when not in ``read.table`` (few, read in Python)
    account_filled: int = 0
    account_unknown: int = 0


@dataclass(frozen=True, slots=True)
class _FileRead:
    """What reading one file found, before anything of it is recorded."""

    slot: int
    path: Path
    size: int
    seconds: float
    scan: FileScan | None = None
    outcome: _GiveUp | _Read | None = None  # None: not read (missing, or committed already)
    committed: int | None = None  # the committed import that holds this very file


@dataclass(slots=True)
class _Pending:
    """A file read into its own table, waiting for its kind's batch to be stored."""

    slot: int  # its place in the report
    path: Path
    table: str  # its rows as read (the raw columns of its kind)
    scan: FileScan
    format: str
    encoding: str
    import_id: int | None
    read: ReadResult
    read_seconds: float
    rows: pa.Table | None = None  # the records as Arrow rows, when there is no table
    account_filled: int = 0
    account_unknown: int = 0


class _ImportRun:
    """The files of one ``import`` command, read side by side and stored in batches.

    Every file is recognised and read on its own (its lines numbered, its
    unreadable rows set aside) into a table of its own, by
    :data:`READERS` threads on cursors of one DuckDB (reading a CSV file
    with its line numbers is single-threaded, so files are read in
    parallel instead); a small file read in Python (a daily bill) comes
    back as Arrow rows instead, because a table of its own would cost more
    than its rows (see ``ReadContext.deferred``). Results are taken in the
    order of the files. A
    kind's files are then normalised, compared with what is stored and
    written as Parquet together, and their imports commit in one
    transaction: a statement costs about the same for a file of ten rows as
    for one of ten thousand, and a provider's day is hundreds of small files
    (a bank statement per account), so one statement per batch rather than
    per file is most of the speed. Batches are bounded by
    :data:`BATCH_BYTES` and :data:`BATCH_FILES`, and files in flight by the
    readers, so that memory is bounded.

    Atomic per batch: until its imports commit, a batch's Parquet files do
    not count, and a process killed before that is rolled back when the
    workspace is next opened (their imports are still ``running``).
    """

    def __init__(
        self,
        ws: Workspace,
        con: duckdb.DuckDBPyConnection,
        *,
        actor: str,
        dry_run: bool,
        meter: _Progress,
        formats: Sequence[Format],
        scope_table: str | None = None,
        account: str | None = None,
    ) -> None:
        self.ws, self.con, self.actor, self.dry_run, self.meter = ws, con, actor, dry_run, meter
        self.formats = formats
        self.scope_table = scope_table
        self.account = account
        self.pan_key = ws.pan_key()
        set_pan_key(con, self.pan_key)  # small files' cards are masked in the batch's statement
        self.slots: list[FileReport | None] = []
        self.pending: dict[Kind, list[_Pending]] = {}
        self.pending_bytes = 0
        # Files of this run by SHA-256: a second copy is the first one again.
        self.in_run: dict[str, _Pending | int | None] = {}
        self.unclaimed: list[str] = []  # tables read but not yet taken (for abandon)

    # -- reading, side by side ------------------------------------------------
    def read_all(self, files: Sequence[_Input]) -> None:
        """Read every file, taking the results in order as they come."""
        self.slots = [None] * len(files)
        in_flight: deque[Future[_FileRead]] = deque()
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="daozhang-read") as pool:
            try:
                for slot, file in enumerate(files):
                    in_flight.append(pool.submit(self._read_one, slot, file))
                    if len(in_flight) > READERS:
                        self._take(in_flight.popleft().result())
                while in_flight:
                    self._take(in_flight.popleft().result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                for future in in_flight:
                    if future.done() and not future.cancelled() and future.exception() is None:
                        outcome = future.result().outcome
                        if isinstance(outcome, _Read):
                            self.unclaimed.append(outcome.read.table)
                raise

    def _read_one(self, slot: int, file: _Input) -> _FileRead:
        """In a reading thread: scan, recognise and read ``file``; nothing recorded yet."""
        t0 = time.monotonic()
        path, size = file.path, file.size
        if file.problem is not None:
            outcome = _GiveUp(FileStatus.FAILED, file.problem)
            return _FileRead(slot=slot, path=path, size=size, seconds=0.0, outcome=outcome)
        if not file.exists:
            return _FileRead(slot=slot, path=path, size=size, seconds=0.0)
        path_str = str(path)
        try:
            scan = scan_file(
                file.source,
                progress=lambda n: self.meter.reading(slot, size, _SCAN * n / max(size, 1)),
            )
        except OSError as exc:
            reject = make_reject(
                RejectCode.UNREADABLE_FILE, path=path_str, detail=exc.strerror or str(exc)
            )
            outcome = _GiveUp(FileStatus.FAILED, reject)
            return _FileRead(slot=slot, path=path, size=size, seconds=0.0, outcome=outcome)
        with self.ws.db.connect() as conn:
            earlier = repo.find_committed(conn, file_sha256=scan.sha256)
        if earlier is not None:
            return _FileRead(
                slot=slot, path=path, size=size, seconds=0.0, scan=scan, committed=earlier.id
            )
        cur = self.con.cursor()
        workdir = self.ws.staging_dir / f"read-{os.getpid()}-{slot}"
        table = f"{_RAW}_{slot}"
        try:
            set_pan_key(cur, self.pan_key)
            found = self._recognise_and_read(cur, file, slot, scan, workdir, table)
        except (duckdb.Error, OSError) as exc:
            # The machine, not the data: a full disk, memory, a file gone
            # while read. This file fails; the others go on.
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            detail = mask_pans(f"{type(exc).__name__}: {exc}")  # error text may quote data
            reject = make_reject(RejectCode.UNREADABLE_FILE, path=path_str, detail=detail)
            found = _GiveUp(FileStatus.FAILED, reject)
        finally:
            cur.close()
            shutil.rmtree(workdir, ignore_errors=True)  # a transcoded copy holds card numbers
        return _FileRead(
            slot=slot,
            path=path,
            size=size,
            seconds=time.monotonic() - t0,
            scan=scan,
            outcome=found,
        )

    def _recognise_and_read(
        self,
        cur: duckdb.DuckDBPyConnection,
        file: _Input,
        slot: int,
        scan: FileScan,
        workdir: Path,
        table: str,
    ) -> _GiveUp | _Read:
        path_str, size = str(file.path), file.size
        if scan.lines.content_lines == 0:
            return _GiveUp(
                FileStatus.NOT_RECOGNISED, make_reject(RejectCode.EMPTY_FILE, path=path_str)
            )
        head = file_head(file.source, scan)
        found = detect(head, self.formats)
        if isinstance(found, Unrecognised):
            # Not UTF-8 and nothing recognised: maybe another encoding (Big5
            # still "decodes" as GB18030, into nonsense). Name it if sure.
            guess = guess_encoding(scan.head) if not scan.utf8_valid else None
            if guess is not None and guess not in _GB_FAMILY:
                reject = make_reject(RejectCode.UNSUPPORTED_ENCODING, path=path_str, detail=guess)
            elif head.text is None and not found.candidates:
                reject = make_reject(RejectCode.UNDECODABLE_FILE, path=path_str)
            else:
                reject = make_reject(
                    RejectCode.UNRECOGNISED_FORMAT, path=path_str, detail=found.describe()
                )
            return _GiveUp(FileStatus.NOT_RECOGNISED, reject)
        fmt = found.format
        try:
            source = source_file(
                file.source, scan, reads_text=found.identification.reads_text, workdir=workdir
            )
        except UndecodableFileError as exc:
            reject = make_reject(RejectCode.UNDECODABLE_FILE, path=path_str, detail=str(exc))
            return _GiveUp(FileStatus.FAILED, reject, kind=fmt.kind, format=fmt.name)
        deferred: list[pa.Table] = []
        ctx = ReadContext(
            con=cur,
            table=table,
            progress=lambda f: self.meter.reading(slot, size, _SCAN + (1 - _SCAN) * f),
            deferred=deferred,
        )
        read = fmt.read(ctx, source)
        rows = deferred[0] if deferred else None  # or the records are in ``table``
        if file.source != file.path:  # a ZIP's member: its rejects name it as the user does
            here = str(source.path)
            read = dataclasses.replace(
                read,
                rejects=tuple(
                    dataclasses.replace(r, path=path_str) if r.path == here else r
                    for r in read.rejects
                ),
            )
        whole = next((r for r in read.rejects if r.line is None), None)
        if whole is not None:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            return _GiveUp(
                FileStatus.FAILED, whole, kind=fmt.kind, format=fmt.name, encoding=source.encoding
            )
        filled = unknown = 0
        if fmt.kind is Kind.BANK_STATEMENT:
            if rows is not None:
                rows, unknown = fill_account_rows(cur, rows, self.account)
                filled, unknown = (unknown, 0) if self.account is not None else (0, unknown)
            elif self.account is not None:
                filled = fill_account(cur, table, self.account)
            else:
                unknown = unknown_accounts(cur, table)
        return _Read(
            kind=fmt.kind,
            format=fmt.name,
            encoding=source.encoding,
            read=read,
            rows=rows,
            account_filled=filled,
            account_unknown=unknown,
        )

    def _take(self, got: _FileRead) -> None:
        """In order, in the main thread: record what reading a file found."""
        if isinstance(got.outcome, _Read):
            self.unclaimed.append(got.outcome.read.table)
        report = self._record(got)
        self.meter.read(got.slot, got.size)
        if report is not None:  # the file ended here
            self.meter.advance(got.size * (1 - _READING))
            self.slots[got.slot] = dataclasses.replace(report, seconds=got.seconds)
            return
        self.pending_bytes += got.size
        waiting = sum(len(batch) for batch in self.pending.values())
        if self.pending_bytes >= BATCH_BYTES or waiting >= BATCH_FILES:
            self.flush()

    def _record(self, got: _FileRead) -> FileReport | None:
        """The report of a file that ends here, or None when it waits in a batch."""
        scan = got.scan
        if scan is None:
            if isinstance(got.outcome, _GiveUp):  # could not even be read
                return FileReport(
                    path=got.path, status=FileStatus.FAILED, problem=got.outcome.reject
                )
            return FileReport(path=got.path, status=FileStatus.NOT_FOUND)
        if got.committed is not None:
            return self._already(got.path, scan, got.committed)
        if scan.sha256 in self.in_run:
            if isinstance(got.outcome, _Read):
                self._drop_tables([got.outcome.read.table])
            earlier = self.in_run[scan.sha256]
            if isinstance(earlier, _Pending):
                self._start_imports([earlier])
                earlier = earlier.import_id
            return self._already(got.path, scan, earlier)
        import_id = None
        outcome = got.outcome
        if isinstance(outcome, _GiveUp):
            if not self.dry_run:
                with self.ws.db.begin() as conn:
                    import_id = repo.start_import(
                        conn,
                        path=str(got.path),
                        file_sha256=scan.sha256,
                        actor=self.actor,
                        now=_now(),
                    )
                    repo.add_rejects(conn, import_id=import_id, rejects=[outcome.reject])
                    repo.finish_import(
                        conn,
                        import_id=import_id,
                        status="failed",
                        now=_now(),
                        message=outcome.reject.reason,
                        kind=outcome.kind.value if outcome.kind else None,
                        format=outcome.format,
                        encoding=outcome.encoding,
                    )
            return FileReport(
                path=got.path,
                status=outcome.status,
                sha256=scan.sha256,
                size=scan.size,
                kind=outcome.kind,
                format=outcome.format,
                encoding=outcome.encoding,
                import_id=import_id,
                problem=outcome.reject,
            )
        assert isinstance(outcome, _Read)
        self.unclaimed.remove(outcome.read.table)
        pending = _Pending(
            slot=got.slot,
            path=got.path,
            table=outcome.read.table,
            scan=scan,
            format=outcome.format,
            encoding=outcome.encoding,
            import_id=None,  # given when its batch is stored (see _start_imports)
            read=outcome.read,
            read_seconds=got.seconds,
            rows=outcome.rows,
            account_filled=outcome.account_filled,
            account_unknown=outcome.account_unknown,
        )
        self.pending.setdefault(outcome.kind, []).append(pending)
        self.in_run[scan.sha256] = pending
        return None

    def _start_imports(self, batch: Sequence[_Pending]) -> None:
        """Record that the batch's imports have begun (``running``), in one transaction.

        Done when the batch is about to be stored rather than as each file
        is read: one commit for hundreds of small files instead of one each.
        Until then nothing of the file is written, so there is nothing to
        roll back if the run stops before.
        """
        todo = [p for p in batch if p.import_id is None]
        if self.dry_run or not todo:
            return
        with self.ws.db.begin() as conn:
            for p in todo:
                p.import_id = repo.start_import(
                    conn, path=str(p.path), file_sha256=p.scan.sha256, actor=self.actor, now=_now()
                )

    def _drop_tables(self, tables: Iterable[str]) -> None:
        for table in tables:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
            if table in self.unclaimed:
                self.unclaimed.remove(table)

    def _already(self, path: Path, scan: FileScan, earlier: int | None) -> FileReport:
        import_id = None
        if not self.dry_run:
            with self.ws.db.begin() as conn:
                import_id = repo.start_import(
                    conn, path=str(path), file_sha256=scan.sha256, actor=self.actor, now=_now()
                )
                repo.finish_import(
                    conn,
                    import_id=import_id,
                    status="duplicate_file",
                    now=_now(),
                    message=f"the same file (SHA-256) was imported already as import {earlier}",
                )
        return FileReport(
            path=path,
            status=FileStatus.ALREADY_IMPORTED,
            sha256=scan.sha256,
            size=scan.size,
            import_id=import_id,
            duplicate_of=earlier,
        )

    # -- storing, batch by batch -----------------------------------------------
    def flush(self) -> None:
        """Store every waiting batch, one kind at a time."""
        for kind in list(self.pending):
            batch = self.pending[kind]
            view = _batch_view(self.con, kind, batch)
            try:
                self._store(kind, batch, view)
            finally:
                self._drop_batch(batch)
            for p in batch:  # a later copy needs only the id, not what was read
                self.in_run[p.scan.sha256] = p.import_id
            del self.pending[kind]
        self.pending_bytes = 0

    def _drop_batch(self, batch: list[_Pending]) -> None:
        for p in batch:
            self.con.execute(f"DROP VIEW IF EXISTS {_batch_name(p.table)}")
            self.con.unregister(_rows_name(p.table))
        self._drop_tables(p.table for p in batch if p.rows is None)

    def _store(self, kind: Kind, batch: list[_Pending], table: str) -> None:
        """Normalise, stage, publish and commit the files of ``table``, a batch's view."""
        t0 = time.monotonic()
        self._start_imports(batch)
        ids = [p.import_id for p in batch]
        live = [i for i in ids if i is not None]
        tag = f"batch-{min(live)}" if live else f"dry-{os.getpid()}-batch"
        workdir = self.ws.staging_dir / tag
        norm: NormaliseResult | None = None
        failed: str | None = None  # why the machine failed the batch
        try:
            norm = normalise(
                self.con,
                kind,
                table,
                out_table=_NORM,
                rejects_table=_NORM_REJECTS,
                batch=True,
                scope_table=self.scope_table,
            )
            staged = stage_batch(
                self.con,
                kind=kind,
                table=_NORM,
                files=[
                    BatchFile(n, p.import_id or 0, p.scan.sha256, str(p.path))
                    for n, p in enumerate(batch)
                ],
                existing=lambda parts: self.ws.record_files(kind, partitions=parts),
                staging_root=None if self.dry_run else workdir / "records",
            )
            rejected = rejected_rows_by_file(self.con, _NORM_REJECTS)
            counts = [
                ImportCounts(
                    rows_read=p.read.rows_read,
                    rows_imported=staged.new_rows[n],
                    rows_duplicate=staged.duplicate_rows[n],
                    rows_rejected=len({r.line for r in p.read.rejects if r.code not in NOTICES})
                    + rejected.get(n, 0),
                )
                for n, p in enumerate(batch)
            ]
            if not live:
                samples = [
                    self._sample_rejects(n, p, None, n in rejected) for n, p in enumerate(batch)
                ]
            else:
                publish(workdir / "records", staged.files, self.ws.records_dir)
                with self.ws.db.begin() as conn:
                    samples = [
                        self._sample_rejects(n, p, conn, n in rejected) for n, p in enumerate(batch)
                    ]
                    for p, c in zip(batch, counts, strict=True):
                        assert p.import_id is not None
                        repo.commit_import(
                            conn,
                            import_id=p.import_id,
                            file_sha256=p.scan.sha256,
                            kind=kind.value,
                            format=p.format,
                            encoding=p.encoding,
                            counts=c,
                            now=_now(),
                        )
        except (duckdb.Error, OSError, repo.AlreadyCommittedError) as exc:
            if isinstance(exc, repo.AlreadyCommittedError):
                detail = "another import committed one of these files at the same time"
            else:
                detail = mask_pans(f"{type(exc).__name__}: {exc}")  # error text may quote data
            failed = detail
        except BaseException:
            self._roll_back(ids, message="the import stopped on an error and was rolled back")
            raise
        finally:
            if norm is not None:
                drop_normalised(self.con, norm)
            shutil.rmtree(workdir, ignore_errors=True)
        if failed is not None:
            if len(batch) == 1:
                self._fail_batch(batch, failed)
            else:
                self._store_one_by_one(kind, batch)
            return
        # The batch's own time is shared by its files in proportion to their size.
        spent = time.monotonic() - t0
        total = sum(p.scan.size for p in batch) or 1
        for p, c, sample in zip(batch, counts, samples, strict=True):
            self.slots[p.slot] = FileReport(
                path=p.path,
                status=FileStatus.CHECKED if self.dry_run else FileStatus.IMPORTED,
                sha256=p.scan.sha256,
                size=p.scan.size,
                kind=kind,
                format=p.format,
                encoding=p.encoding,
                import_id=p.import_id,
                counts=c,
                rejects=sample,
                notices=sum(1 for r in p.read.rejects if r.code in NOTICES),
                account_filled=p.account_filled,
                account_unknown=p.account_unknown,
                seconds=p.read_seconds + spent * p.scan.size / total,
            )
        self.meter.advance(total * (1 - _READING))

    def _sample_rejects(
        self, number: int, p: _Pending, conn: Connection | None, normalise_rejected: bool
    ) -> tuple[Reject, ...]:
        """Store a file's rejects (when ``conn`` is given) and return the first ones.

        ``normalise_rejected`` says whether normalising set aside rows of this
        file; most files have none, and not asking saves a query per file.
        """
        path = str(p.path)
        normalised: Iterable[Reject] = (
            iter_rejects(self.con, _NORM_REJECTS, path=path, file=number)
            if normalise_rejected
            else ()
        )
        every = _merge_by_line(p.read.rejects, normalised)
        sample: list[Reject] = []

        def tap(items: Iterable[Reject]) -> Iterator[Reject]:
            for r in items:
                if len(sample) < MAX_REJECTS_IN_REPORT:
                    sample.append(r)
                yield r

        if conn is not None and p.import_id is not None:
            repo.add_rejects(conn, import_id=p.import_id, rejects=tap(every))
        else:
            sample = list(islice(every, MAX_REJECTS_IN_REPORT))
            for _ in every:  # the DuckDB cursor must be drained before the next query
                pass
        return tuple(sample)

    def _store_one_by_one(self, kind: Kind, batch: list[_Pending]) -> None:
        """A batch failed on the machine (a full disk): try its files one at a time.

        What was published is removed first (nothing committed); then each
        file succeeds or fails on its own, as if imported alone.
        """
        ids = {p.import_id for p in batch if p.import_id is not None}
        for path in files_of_imports(self.ws.records_dir, ids):
            path.unlink(missing_ok=True)
        for p in batch:
            self._store(kind, [p], _batch_view(self.con, kind, [p]))

    def _fail_batch(self, batch: list[_Pending], detail: str) -> None:
        """The machine failed the batch: every file of it is rolled back and says why."""
        rejects = {
            p.import_id: make_reject(RejectCode.UNREADABLE_FILE, path=str(p.path), detail=detail)
            for p in batch
        }
        self._roll_back([p.import_id for p in batch], message=detail, rejects=rejects)
        for p in batch:
            self.slots[p.slot] = FileReport(
                path=p.path,
                status=FileStatus.FAILED,
                sha256=p.scan.sha256,
                size=p.scan.size,
                import_id=p.import_id,
                problem=rejects[p.import_id],
                seconds=p.read_seconds,
            )
        self.meter.advance(sum(p.scan.size for p in batch) * (1 - _READING))

    def _roll_back(
        self,
        import_ids: Sequence[int | None],
        *,
        message: str,
        rejects: Mapping[int | None, Reject] | None = None,
    ) -> None:
        """Undo imports that have not committed: their record files, their rejects.

        A committed import is never touched: once the database says so, its
        files are the workspace's. ``rejects`` says, per import, why it failed.
        """
        running: list[int] = []
        with self.ws.db.connect() as conn:
            for import_id in import_ids:
                if import_id is None:
                    continue
                row = repo.get_import(conn, import_id=import_id)
                if row is not None and row.status == "running":
                    running.append(import_id)
        if not running:
            return
        wanted = set(running)
        for path in files_of_imports(self.ws.records_dir, wanted):
            path.unlink(missing_ok=True)
        with self.ws.db.begin() as conn:
            for import_id in running:
                repo.delete_rejects(conn, import_id=import_id)
                reject = (rejects or {}).get(import_id)
                if reject is not None:
                    repo.add_rejects(conn, import_id=import_id, rejects=[reject])
                repo.finish_import(
                    conn, import_id=import_id, status="failed", now=_now(), message=message
                )

    def abandon(self) -> None:
        """The run stops on an error: roll back everything that has not committed."""
        ids = [p.import_id for batch in self.pending.values() for p in batch]
        self._roll_back(ids, message="the import stopped on an error and was rolled back")
        for batch in self.pending.values():
            self._drop_batch(batch)
        self.pending.clear()
        self._drop_tables(list(self.unclaimed))

    def reports(self) -> tuple[FileReport, ...]:
        assert not self.pending, "flush() before reports()"
        out = tuple(r for r in self.slots if r is not None)
        assert len(out) == len(self.slots)
        return out


def _batch_name(table: str) -> str:
    return f"{table}__batch"


def _rows_name(table: str) -> str:
    return f"{table}__rows"


def _batch_view(con: duckdb.DuckDBPyConnection, kind: Kind, batch: list[_Pending]) -> str:
    """A view of the batch's files, one after the other, each numbered by FILE_COLUMN.

    Files read into tables of their own are joined as they are; files read
    as Arrow rows (small ones, see ``ReadContext.deferred``) are put
    together into one registered Arrow table and go through
    :func:`raw_query` once, which masks their card numbers.
    """
    name = _batch_name(batch[0].table)
    parts = [
        f"SELECT CAST({n} AS INTEGER) AS {FILE_COLUMN}, * FROM {p.table}"
        for n, p in enumerate(batch)
        if p.rows is None
    ]
    small = [(n, p.rows) for n, p in enumerate(batch) if p.rows is not None]
    if small:
        rows = pa.concat_tables(
            t.append_column(FILE_COLUMN, pa.array([n] * t.num_rows, pa.int32())) for n, t in small
        )
        view = _rows_name(batch[0].table)
        con.register(view, rows)
        sources = {f: ident(f) for f in field_names(kind)}
        parts.append(raw_query(kind, view, sources, passthrough=(FILE_COLUMN, "src_line")))
    union = " UNION ALL BY NAME ".join(f"({part})" for part in parts)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {union}")
    return name


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
