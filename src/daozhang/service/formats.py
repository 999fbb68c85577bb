"""The formats a workspace's files may be recognised as.

Every built-in format (canonical CSV, bank statements, bills, message logs,
the built-in column profiles), then the column profiles the workspace keeps
in its ``profiles`` folder, so that a layout a user described once is
recognised in every later import, from the command line and the web alike.

A workspace profile with the name of a built-in one replaces it (a user who
copied ``cmb_debit`` to put in their account number wants theirs used). A
broken profile file does not stop imports: it is left out and reported by
:func:`workspace_profiles`, which ``daozhang profiles list`` shows.

The same folder (and ``import --profile FILE``) takes ISO 8583 message
layouts for a switch or acquirer with its own (see
:mod:`daozhang.ingest.iso8583_specs`): a YAML file with ``framing`` or
``base`` and no ``kind`` is a message layout, not a column profile.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from daozhang.ingest import sources
from daozhang.ingest.base import FileHead, Format, ReadContext
from daozhang.ingest.cards import set_pan_key
from daozhang.ingest.encoding import scan_file
from daozhang.ingest.iso8583_log import format_from_spec_file
from daozhang.ingest.iso8583_specs import SpecError
from daozhang.ingest.mapped import Fit, MappedFormat
from daozhang.ingest.profiles import Profile, ProfileError, builtin_profiles, load_profile
from daozhang.ingest.registry import FORMATS
from daozhang.ingest.rejects import Reject
from daozhang.store.workspace import Workspace

__all__ = [
    "PROFILES_DIR",
    "ProfileCheck",
    "WorkspaceProfiles",
    "check_file",
    "file_head",
    "find_import_format",
    "find_profile",
    "is_message_spec",
    "workspace_formats",
    "workspace_profiles",
]

PROFILES_DIR = "profiles"


@dataclass(frozen=True, slots=True)
class WorkspaceProfiles:
    """Every usable profile (built-in, then the workspace's) and the broken files."""

    profiles: tuple[Profile, ...]
    problems: tuple[ProfileError, ...]


def is_message_spec(path: Path) -> bool:
    """Whether the YAML file ``path`` is an ISO 8583 message layout rather than a profile."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and "kind" not in doc and ("framing" in doc or "base" in doc)


def _own_files(home: Path) -> list[Path]:
    folder = home / PROFILES_DIR
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _own_descriptions(home: Path) -> tuple[list[Profile], list[ProfileError], list[Format]]:
    """The workspace's own profiles, the ones that cannot be used (and why), and its layouts.

    One pass over ``profiles/``: a YAML file is either an ISO 8583 message
    layout or a column profile. A layout that cannot be used is left out
    here; ``import --profile FILE`` names its problem.
    """
    profiles: list[Profile] = []
    problems: list[ProfileError] = []
    layouts: list[Format] = []
    for path in _own_files(home):
        if is_message_spec(path):
            try:
                layouts.append(format_from_spec_file(path))
            except SpecError:
                continue
        else:
            try:
                profiles.append(load_profile(path))
            except ProfileError as exc:
                problems.append(exc)
    return profiles, problems, layouts


def workspace_profiles(home: Path) -> WorkspaceProfiles:
    """The profiles of the workspace at ``home``: built-in ones replaced by same-named own ones."""
    own, problems, _ = _own_descriptions(home)
    names = {p.name for p in own}
    merged = [p for p in builtin_profiles() if p.name not in names] + own
    return WorkspaceProfiles(tuple(merged), tuple(problems))


def workspace_formats(workspace: Workspace) -> tuple[Format, ...]:
    """The formats to recognise ``workspace``'s imports by, built-in ones first."""
    own, _, layouts = _own_descriptions(workspace.home)
    if not own and not layouts:
        return FORMATS
    names = {f"profile.{p.name}" for p in own} | {f.name for f in layouts}
    kept = tuple(f for f in FORMATS if f.name not in names)
    return (*kept, *(MappedFormat(p) for p in own), *layouts)


def find_import_format(home: Path, name_or_file: str) -> Format:
    """The format ``import --profile`` asks for: a column profile or a message layout.

    Raises:
        ProfileError, SpecError: no such profile, or the file cannot be used
            (both say why in Chinese and English: ``message(lang)``).
    """
    path = Path(name_or_file)
    if path.is_file() and is_message_spec(path):
        return format_from_spec_file(path)
    return MappedFormat(find_profile(home, name_or_file))


def find_profile(home: Path, name_or_file: str) -> Profile:
    """The profile called ``name_or_file``, or the profile in that file.

    Raises:
        ProfileError: no such profile, or the file is not a valid profile.
    """
    path = Path(name_or_file)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise ProfileError(name_or_file, "找不到这个配置文件", "no such profile file")
        return load_profile(path)
    found = workspace_profiles(home)
    for p in found.profiles:
        if p.name == name_or_file:
            return p
    known = ", ".join(p.name for p in found.profiles)
    raise ProfileError(
        name_or_file,
        f"没有叫这个名字的配置（可用：{known}）",
        f"no profile of that name (known: {known})",
    )


@dataclass(frozen=True, slots=True)
class ProfileCheck:
    """What ``profiles check`` shows about one file and one profile.

    ``fit`` is where the header is and what it lacks; ``records`` and
    ``rejects`` are what reading the file with the profile gives (empty when
    it does not fit). ``records`` hold canonical texts, card numbers masked.
    """

    profile: Profile
    fit: Fit
    confidence: float
    rows_read: int
    records: tuple[dict[str, object], ...]
    rejects: tuple[Reject, ...]

    @property
    def fits(self) -> bool:
        return self.fit.fits and self.confidence > 0


def file_head(path: Path) -> FileHead:
    """The head of ``path`` as the importer decodes it, for recognising it."""
    return sources.file_head(path, scan_file(path))


def check_file(
    home: Path, path: Path, profile: str | None = None, *, sample: int = 5
) -> ProfileCheck | None:
    """Which profile fits ``path`` (or whether ``profile`` does), read as the importer would.

    Without ``profile`` every profile of the workspace is tried and the best
    fitting one (or, when none fits, the closest) is checked; None when no
    profile is even close.

    Raises:
        ProfileError: ``profile`` names no profile or a broken file.
        OSError: ``path`` cannot be read.
    """
    head = file_head(path)
    if profile is not None:
        candidates: list[MappedFormat] = [MappedFormat(find_profile(home, profile))]
    else:
        candidates = [MappedFormat(p) for p in workspace_profiles(home).profiles]
    answers = [(f, f.identify(head)) for f in candidates]
    answers.sort(key=lambda a: (-a[1].confidence, -a[1].closeness))
    if not answers or (profile is None and answers[0][1].closeness == 0):
        return None
    fmt, ident = answers[0]
    fit = fmt.fit(head)
    if not (fit.fits and ident.confidence > 0):
        return ProfileCheck(fmt.profile, fit, ident.confidence, 0, (), ())
    with tempfile.TemporaryDirectory(prefix="daozhang-check-") as tmp:
        source = sources.source_file(
            path, scan_file(path), reads_text=ident.reads_text, workdir=Path(tmp)
        )
        con = duckdb.connect()
        try:
            set_pan_key(con, secrets.token_bytes(32))  # hashes are not shown
            result = fmt.read(ReadContext(con=con, table="checked"), source)
            records: list[dict[str, object]] = []
            exists = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'checked'"
            ).fetchone()
            if exists and exists[0]:
                rel = con.execute(f"SELECT * FROM checked ORDER BY src_line LIMIT {int(sample)}")
                names = [d[0] for d in rel.description]
                hidden = {"card_hash", "card_state"}
                records = [
                    {k: v for k, v in zip(names, row, strict=True) if k not in hidden}
                    for row in rel.fetchall()
                ]
        finally:
            con.close()
    return ProfileCheck(
        fmt.profile, fit, ident.confidence, result.rows_read, tuple(records), result.rejects
    )
