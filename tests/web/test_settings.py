"""Settings: reference data seen per organisation, changed by admins, every change audited."""

from __future__ import annotations

import re
import time

from daozhang.service import users as svc
from daozhang.store.calendar_file import load_overrides
from tests.web.conftest import ClientFor, EmptySite, SimSite
from tests.web.support import TestClient, csrf_of, sign_in


def test_everyone_sees_their_own_merchants_reference_data(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    alice = client_for("alice").get("/settings?tab=contracts").text
    for mid in sim_site.org_a:
        assert mid in alice
    for mid in sim_site.org_b:
        assert mid not in alice
    assert "添加或替换" not in alice  # an operator does not change settings
    boss = client_for("boss")
    page = boss.get("/settings?tab=terminals").text
    assert "终端号" in page and "添加或替换" in page
    assert "维护" in boss.get("/settings?tab=maintenance").text
    assert "节假日" in boss.get("/settings?tab=calendar").text
    assert boss.get("/settings?tab=nothing").status_code == 404


def _wait_done(client: TestClient, location: str) -> str:
    for _ in range(300):
        text = client.get(f"{location}/status").text
        if 'data-state="done"' in text or 'data-state="failed"' in text:
            return text
        time.sleep(0.1)
    raise AssertionError("not finished")


def test_an_admin_replaces_contracts_by_upload_and_it_is_audited(empty_site: EmptySite) -> None:
    client, inputs = empty_site.client, empty_site.inputs
    contracts = next(p for p in inputs.files if p.name == "contracts.csv")
    csrf = csrf_of(client)
    r = client.post(
        "/settings/upload",
        data={"csrf_token": csrf, "tab": "contracts"},
        files={"files": ("contracts.csv", contracts.read_bytes(), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    done = _wait_done(client, r.headers["location"])
    assert 'data-state="done"' in done and "商户合同" in done
    page = client.get("/settings?tab=contracts").text
    first = contracts.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[0]
    assert first in page and "contracts.csv" in page
    audit = client.get("/settings/audit").text
    assert "上传设置文件" in audit and "boss" in audit and "contracts.csv" in audit

    # A transaction file is not a setting: refused whole, nothing imported.
    pos = next(p for p in inputs.files if p.name.startswith("pos_journal_"))
    r = client.post(
        "/settings/upload",
        data={"csrf_token": csrf, "tab": "contracts"},
        files={"files": (pos.name, pos.read_bytes(), "text/csv")},
        follow_redirects=False,
    )
    done = _wait_done(client, r.headers["location"])
    assert 'data-state="failed"' in done and "不是此处可以修改的设置" in done
    assert "POS 交易流水" not in client.get("/imports").text


def test_only_the_installation_admin_edits_the_calendar(empty_site: EmptySite) -> None:
    client, ws = empty_site.client, empty_site.ws
    csrf = csrf_of(client)
    r = client.post(
        "/settings/calendar",
        data={"csrf_token": csrf, "date": "2030-02-02", "kind": "working", "note": "春节调休"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    overrides, problems = load_overrides(ws.calendar_path)
    assert [(o.date.isoformat(), o.working, o.note) for o in overrides] == [
        ("2030-02-02", True, "春节调休")
    ]
    assert not problems
    page = client.get("/settings?tab=calendar").text
    assert "2030-02-02" in page and "春节调休" in page
    r = client.post(
        "/settings/calendar/delete",
        data={"csrf_token": csrf, "date": "2030-02-02"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert load_overrides(ws.calendar_path)[0] == []
    entries = svc.list_audit(ws, action="settings.calendar.set")
    assert entries and entries[0].actor == "boss" and entries[0].target == "2030-02-02"
    assert svc.list_audit(ws, action="settings.calendar.delete")
    assert (
        client.post(
            "/settings/calendar/delete", data={"csrf_token": csrf, "date": "2030-02-02"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/settings/calendar", data={"csrf_token": csrf, "date": "soon", "kind": "working"}
        ).status_code
        == 400
    )

    # The admin of a shop may not change what every merchant's windows depend on.
    with TestClient(empty_site.app, raise_server_exceptions=False) as anna:
        sign_in(anna, "anna")
        r = anna.post(
            "/settings/calendar",
            data={"csrf_token": csrf_of(anna), "date": "2030-02-03", "kind": "holiday"},
        )
        assert r.status_code == 403
        assert "只有系统管理机构的管理员可以修改" in r.text
        assert "添加或修改一天" not in anna.get("/settings?tab=calendar").text
    assert load_overrides(ws.calendar_path)[0] == []


def test_the_audit_log_shows_who_did_what_and_when(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    page = client_for("boss").get("/settings/audit").text
    assert "操作日志" in page
    assert "登录" in page and "添加用户" in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page)
    anna = client_for("anna").get("/settings/audit").text
    assert "bob" not in anna  # another organisation's log


def test_a_shops_admin_changes_only_the_shops_own_contracts(empty_site: EmptySite) -> None:
    """Rows of merchants outside the organisation are set aside, with the reason."""
    contracts = next(p for p in empty_site.inputs.files if p.name == "contracts.csv")
    lines = contracts.read_text(encoding="utf-8-sig").splitlines()
    with TestClient(empty_site.app, raise_server_exceptions=False) as anna:
        sign_in(anna, "anna")  # admin of A 店
        r = anna.post(
            "/settings/upload",
            data={"csrf_token": csrf_of(anna), "tab": "contracts"},
            files={"files": ("contracts.csv", contracts.read_bytes(), "text/csv")},
            follow_redirects=False,
        )
        assert r.status_code == 303
        done = _wait_done(anna, r.headers["location"])
        assert 'data-state="done"' in done
        theirs = [line for line in lines[1:] if line.split(",")[0] not in _org_a(empty_site)]
        assert theirs
        assert f"未导入 {len(theirs)} 行" in done
    page = empty_site.client.get("/settings?tab=contracts").text  # boss sees every merchant
    for line in theirs:
        assert line.split(",")[0] not in page
    for mid in _org_a(empty_site):
        assert mid in page


def _org_a(site: EmptySite) -> list[str]:
    return svc.organisation_merchants(site.ws, "A 店")
