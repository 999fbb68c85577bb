"""An import killed at the worst moment leaves the workspace as it was.

The worst moment: the record files are already moved into ``records/`` and
the database has not yet committed the import. A real process is killed
there (SIGKILL, no clean-up code runs), then the workspace is reopened. On
PostgreSQL the killed process also leaves a session behind that the server
must end and roll back.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from daozhang.domain.records import Kind
from daozhang.service.imports import FileStatus, import_paths
from daozhang.store import repo
from daozhang.store.record_files import list_record_files
from daozhang.store.workspace import Workspace

SETTLEMENT_HEADER = (
    "acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,txn_time,"
    "txn_type,channel,card,amount,fee,net_amount,settle_date,payout_id"
)


def _settlement(tmp_path: Path) -> Path:
    """Two settle dates: two partition files, so a kill can fall between them."""
    rows = [
        f"银联商务,102100000000001,某某餐饮,5812,T0000001,000001,{i:06d},6000000{i:05d},"
        f"2026-03-01T10:{i:02d}:00,sale,debit_card,,100.00,0.50,99.50,2026-03-0{2 + i % 2},P{i}"
        for i in range(6)
    ]
    path = tmp_path / "exports" / "settlement.csv"
    path.parent.mkdir()
    path.write_text("\n".join([SETTLEMENT_HEADER, *rows, "bad,row"]) + "\n", encoding="utf-8")
    return path


KILL_AFTER_MOVE = """
import os, signal, sys
from pathlib import Path
import daozhang.service.imports as svc
from daozhang.store.workspace import Workspace

real_publish = svc.publish

def publish_then_die(*args, **kwargs):
    real_publish(*args, **kwargs)          # every file is now in records/ ...
    os.kill(os.getpid(), signal.SIGKILL)   # ... and the database never hears of it

svc.publish = publish_then_die
ws = Workspace.open(Path(sys.argv[1]), database_url=sys.argv[3] or None, env={})
svc.import_paths(ws, [Path(sys.argv[2])])
"""

EXIT_BETWEEN_FILES = """
import os, sys
from pathlib import Path
import daozhang.store.record_files as rf
import daozhang.service.imports as svc
from daozhang.store.workspace import Workspace

real_fsync = rf._fsync_file
calls = []

def fsync_then_exit_on_second_file(path):
    calls.append(path)
    if len(calls) == 2:                    # the first partition file is moved, not the second
        os._exit(3)
    real_fsync(path)

rf._fsync_file = fsync_then_exit_on_second_file
ws = Workspace.open(Path(sys.argv[1]), database_url=sys.argv[3] or None, env={})
svc.import_paths(ws, [Path(sys.argv[2])])
"""


def _parquet_on_disk(home: Path) -> list[Path]:
    return sorted((home / "records").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("script", "returncode", "files_left", "database"),
    [
        (KILL_AFTER_MOVE, -signal.SIGKILL, 2, "sqlite"),
        (EXIT_BETWEEN_FILES, 3, 1, "sqlite"),
        pytest.param(
            KILL_AFTER_MOVE, -signal.SIGKILL, 2, "postgresql", marks=pytest.mark.postgresql
        ),
    ],
    ids=["sigkill-after-files-moved", "exit-between-two-files", "sigkill-postgresql"],
)
def test_an_import_killed_before_commit_is_rolled_back_on_next_open(
    tmp_path: Path,
    script: str,
    returncode: int,
    files_left: int,
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    home = tmp_path / "shop"
    source = _settlement(tmp_path)
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    Workspace.open(home, database_url=url, env={}).close()  # created, empty
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(home), str(source), url or ""],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == returncode, done.stderr

    # The worst moment was reached: files sit in records/, uncommitted.
    assert len(_parquet_on_disk(home)) == files_left

    ws = Workspace.open(home, database_url=url, env={})  # recovery runs here
    with ws.db.connect() as conn:
        (row,) = repo.list_imports(conn)
        assert row.status == "rolled_back"
        assert repo.count_rejects(conn) == 0
        assert (
            list_record_files(
                ws.records_dir, Kind.SETTLEMENT, committed=repo.committed_import_ids(conn)
            )
            == []
        )
    assert _parquet_on_disk(home) == []
    assert list(ws.staging_dir.iterdir()) == []

    # And the same file imports cleanly afterwards, in full.
    report = import_paths(ws, [source])
    (f,) = report.files
    assert f.status is FileStatus.IMPORTED
    assert (f.counts.rows_imported, f.counts.rows_rejected) == (6, 1)
    assert len(ws.record_files(Kind.SETTLEMENT)) == 2
    ws.close()
