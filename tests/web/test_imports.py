"""Uploading files and ZIPs, the import job and its progress, rejects, reconcile; unsafe ZIPs."""

from __future__ import annotations

import io
import re
import stat
import time
import zipfile
from pathlib import Path

import pytest

from daozhang.web.app import create_app
from daozhang.web.config import WebConfig
from daozhang.web.jobs import JobKind, JobState
from daozhang.web.uploads import (
    SavedUpload,
    UploadRejectedError,
    new_upload_dir,
    safe_relative_path,
    unpack_zips,
)
from tests.helpers.samples import sample
from tests.web.conftest import EmptySite
from tests.web.support import TestClient, csrf_of, sign_in


def _zip_of(paths: list[Path], root: Path, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, p.relative_to(root).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def _wait(client: TestClient, job_url: str) -> str:
    for _ in range(600):
        status = client.get(f"{job_url}/status").text
        if 'data-state="done"' in status or 'data-state="failed"' in status:
            return status
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def _bad_pos(inputs: list[Path]) -> bytes:
    """A POS journal with one amount that is not an amount (line 3)."""
    pos = next(p for p in inputs if p.name.startswith("pos_journal_"))
    lines = pos.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("amount")] = "12.3.4"
    cells[header.index("rrn")] = "999999999999"
    return ("\n".join([lines[0], ",".join(cells)]) + "\n").encode()


def test_upload_a_zip_watch_it_import_see_rejects_then_reconcile(empty_site: EmptySite) -> None:
    client, inputs = empty_site.client, empty_site.inputs
    root = Path(inputs.truth).parent
    abc = sample("cn_bank_statement/abc_debit.csv").read_bytes()  # names no account
    extra = {"extra/pos_bad.csv": _bad_pos(list(inputs.files)), "extra/农行.csv": abc}
    data = _zip_of(list(inputs.files), root, extra)
    csrf = csrf_of(client)
    page = client.get("/imports").text
    assert "把文件拖到这里" in page and 'type="file" name="files"' in page
    assert 'name="account"' in page  # for bank exports that name no account
    bad = client.post("/imports", data={"csrf_token": csrf_of(client), "account": "6/2"})
    assert bad.status_code == 400 and "账号只能有数字" in bad.text
    r = client.post(
        "/imports",
        data={"csrf_token": csrf},
        files={"files": ("导出 2026-09.zip", data, "application/zip")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    job_url = r.headers["location"]
    assert re.fullmatch(r"/imports/jobs/[\w-]+", job_url)
    assert "hx-get" in client.get(job_url).text or "data-state" in client.get(job_url).text
    done = _wait(client, job_url)
    assert 'data-state="done"' in done, done[:2000]
    assert "hx-trigger" not in done  # polling stops once done
    assert "POS 交易流水" in done and "收单结算文件" in done and "银行流水" in done
    assert "导出 2026-09/contracts.csv" in done  # the ZIP's own names, not a temporary folder
    assert "daozhang-upload-" not in done
    assert "第 2 行" in done and "amount" in done  # the rejected row: line, field, reason
    assert "文件没有写账号：5 笔流水暂记在占位账号下" in done
    rejects = re.search(r'href="(/imports/\d+/rejects)"', done)
    assert rejects
    page = client.get(rejects[1]).text
    assert "12.3.4" in page and "不是以元为单位" in page

    r = client.post(
        "/reconcile",
        data={"csrf_token": csrf, "as_of": inputs.as_of.isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = _wait(client, r.headers["location"])
    assert 'data-state="done"' in done and "对账完成" in done
    overview = client.get("/").text
    assert "还没有对账结果" not in overview and "今天需要您处理" in overview
    audit = client.get("/settings/audit").text
    assert "导入文件" in audit and "运行对账" in audit


def test_one_job_at_a_time(empty_site: EmptySite) -> None:
    jobs = empty_site.app.state.site.jobs
    job = jobs.new(JobKind.RECONCILE, org_id=1, username="x", state=JobState.RECONCILING)
    started = []
    release = __import__("threading").Event()

    def work(j: object) -> None:
        started.append(j)
        release.wait(10)

    jobs.start(job, work)
    try:
        csrf = csrf_of(empty_site.client)
        r = empty_site.client.post(
            "/reconcile", data={"csrf_token": csrf, "as_of": "2026-09-28"}, follow_redirects=False
        )
        assert r.status_code == 409 and "正在进行另一个导入或对账" in r.text
        r = empty_site.client.post(
            "/imports",
            data={"csrf_token": csrf},
            files={"files": ("a.csv", b"x", "text/csv")},
        )
        assert r.status_code == 409
    finally:
        release.set()
        jobs.wait(job.id, 10)
    assert not jobs.busy()


def test_uploads_over_the_limit_are_refused_clearly(empty_site: EmptySite) -> None:
    app = create_app(empty_site.ws, WebConfig(max_upload_bytes=1000))
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "boss")
        csrf = csrf_of(client)
        r = client.post(
            "/imports",
            data={"csrf_token": csrf},
            files={"files": ("big.csv", b"x" * 5000, "text/csv")},
        )
        assert r.status_code == 413
        assert "上传的文件太大" in r.text and "Traceback" not in r.text
        token = None
        from daozhang.service import users as svc

        token = svc.create_api_token(empty_site.ws, svc.get_user(empty_site.ws, "ops"), "t").token
        r = client.post(
            "/api/v1/imports",
            headers={"Authorization": f"Bearer {token}"},
            files={"files": ("big.csv", b"x" * 5000, "text/csv")},
        )
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "too_large"
    # An ordinary form may not be large either.
    r = empty_site.client.post("/reconcile", data={"csrf_token": "x" * (2 << 20)})
    assert r.status_code == 413


def test_the_api_imports_and_reconciles(empty_site: EmptySite) -> None:
    from daozhang.service import users as svc

    ws, inputs = empty_site.ws, empty_site.inputs
    token = svc.create_api_token(ws, svc.get_user(ws, "ops"), "script").token
    h = {"Authorization": f"Bearer {token}"}
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in inputs.files]
    files.append(("files", ("notes.txt", "随便写的笔记".encode(), "text/plain")))
    with TestClient(empty_site.app) as client:
        r = client.post("/api/v1/imports?lang=en", headers=h, files=files)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        by_name = {f["name"]: f for f in body["files"]}
        assert by_name["contracts.csv"]["kind"] == "contracts"
        assert by_name["contracts.csv"]["status"] == "imported"
        assert by_name["notes.txt"]["status"] == "not_recognised"
        assert by_name["notes.txt"]["problem"]
        assert body["rows_imported"] > 1000
        again = client.post("/api/v1/imports", headers=h, files=files[:1]).json()
        assert again["files"][0]["status"] == "already_imported"
        r = client.post("/api/v1/reconcile-runs", headers=h, json={"as_of": str(inputs.as_of)})
        assert r.status_code == 200, r.text[:500]
        run = r.json()
        assert run["status"] == "succeeded" and run["found"] >= 19
        listed = client.get("/api/v1/reconcile-runs", headers=h).json()
        assert listed["items"][0]["id"] == run["run_id"]
        assert (
            client.post("/api/v1/reconcile-runs", headers=h, json={"as_of": "x"}).status_code == 422
        )


def test_real_exports_upload_as_they_are_downloaded(empty_site: EmptySite) -> None:
    """A bank's .xls, a camt.053, a WeChat Pay bill and a terminal log, through the API."""
    from daozhang.service import users as svc

    ws = empty_site.ws
    token = svc.create_api_token(ws, svc.get_user(ws, "ops"), "script").token
    h = {"Authorization": f"Bearer {token}"}
    real = {
        "交易明细.xls": sample("cn_bank_statement/ccb_debit.xls"),
        "camt053.xml": sample("camt053/camt053.v2.minimal.xml"),
        "bill.csv": sample("wechat_alipay_bills/wechatpay_merchant_tradebill_ALL.csv"),
        "pos.log": Path(__file__).resolve().parents[1]
        / "fixtures/derived/iso8583/terminal_day.log",
    }
    files = [
        ("files", (name, path.read_bytes(), "application/octet-stream"))
        for name, path in real.items()
    ]
    with TestClient(empty_site.app) as client:
        r = client.post("/api/v1/imports?lang=en", headers=h, files=files)
        assert r.status_code == 200, r.text[:500]
        by_name = {f["name"]: f for f in r.json()["files"]}
    assert {n: (f["format"], f["kind"]) for n, f in by_name.items()} == {
        "交易明细.xls": ("profile.ccb_debit", "bank_statement"),
        "camt053.xml": ("iso20022.camt", "bank_statement"),
        "bill.csv": ("wechat.tradebill", "settlement"),
        "pos.log": ("iso8583.cup_pos", "pos_journal"),
    }
    assert all(f["rows_imported"] > 0 for f in by_name.values())


def test_an_abc_export_uploads_with_the_account_the_bookkeeper_types(
    empty_site: EmptySite,
) -> None:
    """ABC's export names no account: the form's (and the API's) account is booked to it."""
    from daozhang.service import users as svc

    ws = empty_site.ws
    token = svc.create_api_token(ws, svc.get_user(ws, "ops"), "script").token
    h = {"Authorization": f"Bearer {token}"}
    abc = sample("cn_bank_statement/abc_debit.csv")
    files = [("files", ("农行流水.csv", abc.read_bytes(), "text/csv"))]
    with TestClient(empty_site.app) as client:
        bad = client.post(
            "/api/v1/imports?lang=en", headers=h, files=files, data={"account": "6/2"}
        )
        assert bad.status_code == 400
        assert "account number" in bad.text
        r = client.post(
            "/api/v1/imports", headers=h, files=files, data={"account": "6228 4800 9999 0000 111"}
        )
        assert r.status_code == 200, r.text[:500]
        (f,) = r.json()["files"]
    assert (f["format"], f["account_filled"], f["rows_imported"]) == ("profile.abc_debit", 5, 5)
    assert f["account_unknown"] == 0


def test_a_shop_sees_its_own_uploads_only(empty_site: EmptySite) -> None:
    from daozhang.service import users as svc

    ws, inputs = empty_site.ws, empty_site.inputs
    contracts = next(p for p in inputs.files if p.name == "contracts.csv")
    alice = {
        "Authorization": f"Bearer {svc.create_api_token(ws, svc.get_user(ws, 'alice'), 't').token}"
    }
    bob = {
        "Authorization": f"Bearer {svc.create_api_token(ws, svc.get_user(ws, 'bob'), 't').token}"
    }
    with TestClient(empty_site.app) as client:
        r = client.post(
            "/api/v1/imports",
            headers=alice,
            files={"files": ("contracts.csv", contracts.read_bytes(), "text/csv")},
        )
        assert r.status_code == 200
        import_id = r.json()["files"][0]["import_id"]
        assert [i["id"] for i in client.get("/api/v1/imports", headers=alice).json()["items"]] == [
            import_id
        ]
        assert client.get("/api/v1/imports", headers=bob).json()["total"] == 0
        sign_in(client, "bob")
        assert client.get(f"/imports/{import_id}/rejects").status_code == 404
        client.cookies.clear()
        sign_in(client, "alice")
        assert client.get(f"/imports/{import_id}/rejects").status_code == 200


# -- ZIPs that must not be trusted --------------------------------------------------


def _saved_zip(
    members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED
) -> SavedUpload:
    upload = SavedUpload(new_upload_dir())
    path = upload.folder / "upload.zip"
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    upload.files.append(path)
    return upload


def test_zip_paths_cannot_leave_the_folder() -> None:
    upload = _saved_zip(
        {
            "../../evil.csv": b"a",
            "/abs/evil.csv": b"b",
            "C:\\Windows\\evil.csv": b"c",
            "ok/good.csv": b"d",
            "__MACOSX/._good.csv": b"e",
        }
    )
    try:
        unpack_zips(upload, WebConfig())
        names = sorted(p.relative_to(upload.folder).as_posix() for p in upload.files)
        assert names == ["upload/Windows/evil.csv", "upload/abs/evil.csv", "upload/ok/good.csv"]
        assert [p.name for p in upload.problems] == ["upload.zip/../../evil.csv"]
        for p in upload.folder.rglob("*"):
            assert p.resolve().is_relative_to(upload.folder.resolve())
    finally:
        upload.remove()
    assert safe_relative_path("a/../b") is None
    assert str(safe_relative_path("a\x00b/c.csv")) == "ab/c.csv"


def test_zip_links_and_gbk_names() -> None:
    upload = SavedUpload(new_upload_dir())
    path = upload.folder / "u.zip"
    with zipfile.ZipFile(path, "w") as zf:
        link = zipfile.ZipInfo("link.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("js01.csv", b"x")  # as long as 结算 in GBK; renamed below, as Windows writes
    raw = path.read_bytes().replace(b"js01.csv", "结算.csv".encode("gbk"))
    path.write_bytes(raw)
    upload.files.append(path)
    try:
        unpack_zips(upload, WebConfig())
        assert [p.name for p in upload.files] == ["结算.csv"]
        assert upload.problems[0].word == "upload_link"
    finally:
        upload.remove()


def test_zip_bombs_and_too_many_members_stop_the_upload() -> None:
    bomb = _saved_zip({"bomb.csv": b"0" * (8 << 20)})
    try:
        with pytest.raises(UploadRejectedError) as err:
            unpack_zips(bomb, WebConfig(max_zip_ratio=50))
        assert err.value.word == "upload_zip_bomb"
    finally:
        bomb.remove()
    big = _saved_zip({"a.csv": b"1" * 4000, "b.csv": b"2" * 4000})
    try:
        with pytest.raises(UploadRejectedError) as err:
            unpack_zips(big, WebConfig(max_unzipped_bytes=5000))
        assert err.value.word == "upload_unzipped_too_large"
    finally:
        big.remove()
    many = _saved_zip({f"{i}.csv": b"x" for i in range(30)})
    try:
        with pytest.raises(UploadRejectedError) as err:
            unpack_zips(many, WebConfig(max_zip_members=10))
        assert err.value.word == "upload_zip_members"
    finally:
        many.remove()


def test_a_broken_zip_is_set_aside_not_fatal() -> None:
    upload = SavedUpload(new_upload_dir())
    path = upload.folder / "broken.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    upload.files.append(path)
    try:
        unpack_zips(upload, WebConfig())
        assert upload.files == []
        assert upload.problems[0].word == "upload_bad_zip"
    finally:
        upload.remove()
