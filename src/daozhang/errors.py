"""Python exceptions of daozhang: for failures of the machine or of a rule, never of the data.

Problems in a user's data are values (rejected rows with file, line and
reason), collected and reported; these are raised only when a run cannot be
trusted or cannot go on::

    DaozhangError
    ├── DescriptionError      a file a user wrote to describe their data cannot be used
    │   ├── ProfileError        a column-mapping profile (ingest/profiles.py)
    │   └── SpecError           an ISO 8583 message layout (ingest/iso8583_specs.py)
    ├── WorkspaceError        the workspace folder or database cannot be used
    ├── EngineError           the bulk engine (DuckDB, Spark) failed to run a rule
    └── ReconcileError        a reconcile run cannot be trusted
        ├── ConservationError   a record is unaccounted for, or accounted for twice
        └── ClassifierError     a rule failed; nothing of the run is kept
"""

from __future__ import annotations

__all__ = [
    "ClassifierError",
    "ConservationError",
    "DaozhangError",
    "DescriptionError",
    "EngineError",
    "ReconcileError",
    "WorkspaceError",
]


class DaozhangError(Exception):
    """Base of every error daozhang raises on purpose."""


class DescriptionError(DaozhangError):
    """A file a user wrote to describe their data (a profile, a message layout) is unusable.

    Its author is a bookkeeper or an operations engineer, not us: ``zh`` and
    ``en`` say which key is wrong and why, and the message names the file.
    """

    def __init__(self, source: str, zh: str, en: str) -> None:
        super().__init__(f"{source}: {en}")
        self.source = source
        self.zh = zh
        self.en = en

    def message(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``), with the file it is about."""
        return f"{self.source}: {self.zh if lang == 'zh' else self.en}"


class WorkspaceError(DaozhangError):
    """The workspace cannot be opened, migrated or written."""


class EngineError(DaozhangError):
    """The engine failed to run a step; the message names the step."""


class ReconcileError(DaozhangError):
    """A reconcile run failed and was not recorded as a result."""


class ConservationError(ReconcileError):
    """A conservation check failed: some input is unaccounted for, or counted twice.

    ``violations`` lists each failed check in words.
    """

    def __init__(self, violations: list[str]) -> None:
        super().__init__("conservation check failed: " + "; ".join(violations))
        self.violations = violations


class ClassifierError(ReconcileError):
    """A classifier raised; the run stops rather than report a partial truth."""
