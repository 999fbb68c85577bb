"""ZIP files on import: Alipay's ``…csv.zip`` and a portal's day bundled in one ZIP.

The members are imported as if they had been given one by one, and are
named as the user knows them (``bills.zip/账单/x.csv``), in the import
record, in the report and in every reject. What cannot be unpacked safely
is set aside with the reason; nothing unpacked stays on disk.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daozhang.cli.main import app
from daozhang.ingest.rejects import RejectCode
from daozhang.service.archives import ArchiveProblem, ZipLimits, unpack_zip
from daozhang.service.imports import FileStatus, import_paths
from daozhang.store import repo
from daozhang.store.workspace import Workspace
from tests.helpers.samples import sample

WECHAT = sample("wechat_alipay_bills/wechatpay_merchant_tradebill_ALL.csv")
ALIPAY = sample("wechat_alipay_bills/alipay_personal_export_gb18030.csv")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Unpacking happens under the system's temporary folder: here, one we can inspect."""
    tmp = tmp_path / "system-tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def _zip(path: Path, members: dict[str, bytes | Path], *, encrypted: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data.read_bytes() if isinstance(data, Path) else data)
    if encrypted:  # zipfile cannot encrypt: set the flag bit in both headers, as a tool would
        raw = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = raw.find(signature)
            while at >= 0:
                raw[at + offset] |= 0x1
                at = raw.find(signature, at + 4)
        path.write_bytes(bytes(raw))
    return path


def test_alipay_bill_delivered_as_csv_zip_is_imported_under_its_zip_name(
    workspace: Workspace, tmp_path: Path, private_tmp: Path
) -> None:
    bundle = _zip(tmp_path / "20261105.csv.zip", {"账单/wechat.csv": WECHAT, "alipay.csv": ALIPAY})
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "wechat.csv").write_bytes(WECHAT.read_bytes())
    (loose / "alipay.csv").write_bytes(ALIPAY.read_bytes())
    alone = import_paths(workspace, [loose], dry_run=True)

    report = import_paths(workspace, [bundle])

    names = {str(f.path): f for f in report.files}
    assert set(names) == {f"{bundle}/账单/wechat.csv", f"{bundle}/alipay.csv"}
    assert all(f.status is FileStatus.IMPORTED for f in report.files)
    by_name = {f.path.name: f for f in alone.files}
    for f in report.files:  # the same as the loose files
        twin = by_name[f.path.name]
        assert (f.format, f.counts.rows_read, f.counts.rows_rejected) == (
            twin.format,
            twin.counts.rows_read,
            twin.counts.rows_rejected,
        )
    with workspace.db.connect() as conn:
        stored = {i.path for i in repo.list_imports(conn)}
        rejects = repo.list_rejects(conn)
    assert stored == set(names)
    assert rejects and {r.path for r in rejects} <= set(names)  # named as the user knows them
    assert list(private_tmp.iterdir()) == []  # nothing unpacked stays on disk


def test_members_that_cannot_be_unpacked_safely_are_set_aside_with_the_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    bundle = _zip(
        tmp_path / "day.zip",
        {"../../escape.csv": b"a,b\n1,2\n", "ok/wechat.csv": WECHAT, "__MACOSX/._x": b"junk"},
    )
    locked = _zip(tmp_path / "locked.zip", {"secret.csv": b"a,b\n"}, encrypted=True)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 cut short")

    report = import_paths(workspace, [bundle, locked, broken])

    outcome = {str(f.path): (f.status, f.problem.code if f.problem else None) for f in report.files}
    assert outcome == {
        f"{bundle}/ok/wechat.csv": (FileStatus.IMPORTED, None),
        f"{bundle}/../../escape.csv": (FileStatus.FAILED, RejectCode.ARCHIVE_UNSAFE_MEMBER),
        f"{locked}/secret.csv": (FileStatus.FAILED, RejectCode.ARCHIVE_ENCRYPTED),
        str(broken): (FileStatus.FAILED, RejectCode.ARCHIVE_DAMAGED),
    }
    assert report.exit_code == 1  # something usable went in, something was set aside
    assert not (tmp_path / "escape.csv").exists()


def test_a_zip_bomb_imports_nothing_of_itself_and_says_why(
    workspace: Workspace, tmp_path: Path
) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"a.csv": WECHAT, "zeros.csv": b"0" * (8 << 20)})

    report = import_paths(workspace, [bomb])

    (only,) = report.files
    assert only.status is FileStatus.FAILED
    assert only.problem is not None and only.problem.code is RejectCode.ARCHIVE_TOO_LARGE
    assert only.problem.detail == f"> {ZipLimits().ratio}x"
    assert report.exit_code == 2


def test_unpack_zip_reads_gbk_names_written_by_chinese_windows(tmp_path: Path) -> None:
    path = tmp_path / "gbk.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("js01.csv", b"a\n")  # as long as 结算 in GBK; renamed, as Windows writes
    path.write_bytes(path.read_bytes().replace(b"js01.csv", "结算.csv".encode("gbk")))
    problems: list[ArchiveProblem] = []

    members = unpack_zip(path, "gbk.zip", tmp_path / "out", ZipLimits(), [1 << 20], problems)

    assert [m.shown for m in members] == ["gbk.zip/结算.csv"]
    assert members[0].path.read_bytes() == b"a\n"
    assert problems == []


def test_the_command_line_imports_a_zip(tmp_path: Path) -> None:
    bundle = _zip(tmp_path / "bill.csv.zip", {"wechat.csv": WECHAT})
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "shop"), "--lang", "en", "import", str(bundle)],
        env={"COLUMNS": "250"},
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    assert "wechat.tradebill" in result.output
    assert "bill.csv.zip/wechat.csv" in result.output
