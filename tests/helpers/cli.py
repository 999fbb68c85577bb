"""Running ``daozhang`` as a user does: a separate process, Chinese-capable locale, no secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``daozhang --home HOME ARGS...`` in a fresh interpreter; its output and exit code."""
    return subprocess.run(
        [sys.executable, "-m", "daozhang", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
        env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
