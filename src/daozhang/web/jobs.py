"""Imports and reconcile runs started from the web: one at a time, in a thread, with progress.

A large import takes minutes; a browser request must not. The page starts
a :class:`Job` and comes back to ask how far it got (htmx polls the job's
status every second). One job runs at a time per app (a second is refused
with "busy"), and an import also holds the workspace's import lock, so an
import started from the command line meanwhile waits its turn rather than
interleaving.

Jobs live in memory: after a restart the import itself is in the
workspace's records (or was rolled back), only its progress page is gone.
A job is shown only to users of the organisation that started it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from daozhang.service.imports import ImportReport
from daozhang.service.runs import ReconcileReport
from daozhang.web.uploads import UploadProblem

__all__ = ["Job", "JobBusyError", "JobKind", "JobManager", "JobState"]

log = logging.getLogger(__name__)

_KEEP = 50


class JobKind(StrEnum):
    IMPORT = "import"
    RECONCILE = "reconcile"


class JobState(StrEnum):
    UNPACKING = "unpacking"
    IMPORTING = "importing"
    RECONCILING = "reconciling"
    DONE = "done"
    FAILED = "failed"


class JobBusyError(Exception):
    """Another import or reconcile is running."""


@dataclass(slots=True, kw_only=True)
class Job:
    """One import or reconcile: who started it, how far it is, and what came of it.

    ``error`` is a key of web/i18n.py (``error_detail`` its parameter) when
    the job as a whole failed; a file that could not be imported is in the
    report, not here.
    """

    id: str
    kind: JobKind
    org_id: int
    username: str
    started_at: dt.datetime
    state: JobState
    names: list[str] = field(default_factory=list)
    done_bytes: int = 0
    total_bytes: int = 0
    problems: list[UploadProblem] = field(default_factory=list)
    import_report: ImportReport | None = None
    reconcile_report: ReconcileReport | None = None
    as_of: dt.date | None = None
    error: str | None = None
    error_detail: str = ""
    back_url: str = "/imports"
    finished_at: dt.datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        if not self.total_bytes:
            return 0
        return min(99, self.done_bytes * 100 // self.total_bytes)


class JobManager:
    """The jobs of one app: at most one running; the last few kept to be looked at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._running: Job | None = None
        self._threads: dict[str, threading.Thread] = {}

    def busy(self) -> bool:
        with self._lock:
            return self._running is not None

    def _claim(self, job: Job) -> None:
        with self._lock:
            if self._running is not None:
                raise JobBusyError(self._running.id)
            self._running = job
            self._jobs[job.id] = job
            while len(self._jobs) > _KEEP:
                self._jobs.popitem(last=False)

    def _release(self, job: Job) -> None:
        with self._lock:
            if self._running is job:
                self._running = None
            self._threads.pop(job.id, None)

    @staticmethod
    def new(kind: JobKind, *, org_id: int, username: str, state: JobState) -> Job:
        return Job(
            id=secrets.token_urlsafe(12),
            kind=kind,
            org_id=org_id,
            username=username,
            started_at=dt.datetime.now(dt.UTC),
            state=state,
        )

    def start(self, job: Job, work: Callable[[Job], None]) -> Job:
        """Run ``work(job)`` in a thread of its own.

        Raises:
            JobBusyError: another job is running; nothing was started.
        """
        self._claim(job)
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"daozhang-{job.kind}-{job.id}", daemon=True
        )
        self._threads[job.id] = thread
        thread.start()
        return job

    def run_here(self, job: Job, work: Callable[[Job], None]) -> Job:
        """Run ``work(job)`` in the calling thread (the API answers when it is done).

        Raises:
            JobBusyError: another job is running.
        """
        self._claim(job)
        self._run(job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        try:
            work(job)
            if not job.finished:
                job.state = JobState.DONE
        except Exception as exc:  # a job's failure is shown on its page, never lost
            log.exception("web job %s (%s) failed", job.id, job.kind)
            job.state = JobState.FAILED
            job.error = job.error or "job_failed"
            job.error_detail = job.error_detail or str(exc)
        finally:
            job.finished_at = dt.datetime.now(dt.UTC)
            self._release(job)

    def get(self, job_id: str, org_id: int) -> Job | None:
        """The job, if it exists and was started by the organisation ``org_id``."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.org_id == org_id else None

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Wait for a job's thread to end (tests, shutdown)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def recent(self, org_id: int) -> list[Job]:
        with self._lock:
            return [j for j in reversed(self._jobs.values()) if j.org_id == org_id]
