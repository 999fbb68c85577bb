"""Read the worked example out of a classifier's docstring.

The notation (see ``daozhang/classify/base.py``) is canonical CSV files
written inline, an as-of date and the exceptions expected, so the example a
reader sees in a rule's spec is exactly what its test runs.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WorkedExample:
    files: dict[str, str]  # file name -> CSV text
    as_of: dt.date
    finds: frozenset[tuple[str, str, str]]  # (type, key, amount in yuan)
    other: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lines of `others` heads

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in self.files.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths


def parse(doc: str, *, others: tuple[str, ...] = ()) -> WorkedExample:
    """Parse the part of ``doc`` after its ``::`` marker.

    ``others``: further line heads the example uses for what it expects
    (``day:``, ``payout:``), kept as text for the test; with them, ``finds``
    lines are optional.
    """
    body = textwrap.dedent(doc.split("::", 1)[1])
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    as_of: dt.date | None = None
    finds: set[tuple[str, str, str]] = set()
    other: dict[str, list[str]] = {h: [] for h in others}
    for line in body.splitlines():
        if not line.strip():
            continue
        if line.startswith(" ") and current is not None:
            current.append(line.strip())
            continue
        current = None
        head, _, rest = line.partition(":")
        if head.endswith(".csv"):
            current = files.setdefault(head, [])
        elif head == "as_of":
            as_of = dt.date.fromisoformat(rest.strip())
        elif head == "finds":
            type_, key, amount = rest.split()
            finds.add((type_, key, amount))
        elif head in other:
            other[head].append(rest.strip())
        else:
            raise ValueError(f"unknown line in worked example: {line!r}")
    if as_of is None or not (finds or any(other.values())):
        raise ValueError("a worked example needs an as_of and at least one finds line")
    return WorkedExample(
        files={name: "\n".join(lines) + "\n" for name, lines in files.items()},
        as_of=as_of,
        finds=frozenset(finds),
        other={h: tuple(lines) for h, lines in other.items()},
    )
