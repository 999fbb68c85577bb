"""Helpers for tests that run on either state database (see ``any_db_workspace``)."""

from __future__ import annotations

from daozhang.store.workspace import Workspace

__all__ = ["database_url", "reopen"]


def database_url(ws: Workspace) -> str:
    """The URL of ``ws``'s state database, in full, to open it again elsewhere."""
    return ws.db.url.render_as_string(hide_password=False)


def reopen(ws: Workspace) -> Workspace:
    """``ws`` opened a second time, as another process would: same folder, same database."""
    return Workspace.open(ws.home, database_url=database_url(ws), env={})
