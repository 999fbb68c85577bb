"""Python exceptions of daozhang: for failures of the machine or of a rule, never of the data.

Problems in a user's data are values (rejected rows with file, line and
reason), collected and reported; these are raised only when a run cannot be
trusted or cannot go on::

    DaozhangError
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
    "EngineError",
    "ReconcileError",
    "WorkspaceError",
]


class DaozhangError(Exception):
    """Base of every error daozhang raises on purpose."""


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
