"""The real public sample files the tests read (copied from ../shared/samples).

They sit in the repository so that a fresh clone tests against them; see
``tests/fixtures/samples/SOURCES.md`` for where each came from and its
licence. The jPOS files (AGPL) were left out: nothing here needs them.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def sample(relative: str) -> Path:
    """The sample file at ``relative`` (``"mt940/citi_mt940.txt"``)."""
    path = SAMPLES / relative
    if not path.exists():
        raise FileNotFoundError(path)
    return path
