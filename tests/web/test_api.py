"""``/api/v1``: the CLI's JSON contract, pagination, and the same functions as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from daozhang.service.exceptions import CONTRACT_FIELDS
from tests.web.conftest import SimSite
from tests.web.support import TestClient


def _cli_json(site: SimSite, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "daozhang", "--home", str(site.ws.home), "--lang", "zh", *args],
        capture_output=True,
        text=True,
        check=True,
        env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_exceptions_are_exactly_the_clis_json(sim_site: SimSite, anonymous: TestClient) -> None:
    r = anonymous.get("/api/v1/exceptions?per_page=500&lang=zh", headers=sim_site.bearer("boss"))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"items", "page", "per_page", "total"}
    cli = _cli_json(sim_site, "exceptions", "--format", "json")
    assert body["total"] == len(cli)
    by_id = {rec["id"]: rec for rec in cli}
    for item in body["items"]:
        assert set(CONTRACT_FIELDS) <= set(item)
        assert item == by_id[item["id"]]


def test_pagination_and_filters(sim_site: SimSite, anonymous: TestClient) -> None:
    h = sim_site.bearer("boss")
    everything = anonymous.get("/api/v1/exceptions?per_page=500", headers=h).json()
    page1 = anonymous.get("/api/v1/exceptions?per_page=10&page=1", headers=h).json()
    page2 = anonymous.get("/api/v1/exceptions?per_page=10&page=2", headers=h).json()
    assert page1["total"] == page2["total"] == everything["total"]
    assert (page1["page"], page1["per_page"]) == (1, 10)
    assert [i["id"] for i in page1["items"] + page2["items"]] == [
        i["id"] for i in everything["items"][:20]
    ]
    fee = anonymous.get("/api/v1/exceptions?type=fee_mismatch", headers=h).json()
    assert fee["total"] == 3 and {i["type"] for i in fee["items"]} == {"fee_mismatch"}
    assert anonymous.get("/api/v1/exceptions?per_page=501", headers=h).status_code == 422
    r = anonymous.get("/api/v1/exceptions?type=nope", headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    en = anonymous.get("/api/v1/exceptions?type=fee_mismatch&lang=en", headers=h).json()
    assert en["items"][0]["title"] == "Fee differs from the contract"


def test_exception_detail_has_history(sim_site: SimSite, anonymous: TestClient) -> None:
    h = sim_site.bearer("boss")
    first = anonymous.get("/api/v1/exceptions?per_page=1", headers=h).json()["items"][0]
    detail = anonymous.get(f"/api/v1/exceptions/{first['id']}", headers=h).json()
    assert {k: v for k, v in detail.items() if k != "history"} == first
    assert detail["history"][0]["event"] == "opened"
    assert detail["history"][0]["detail"] == {}


def test_merchants_overview_and_daily_report(sim_site: SimSite, anonymous: TestClient) -> None:
    h = sim_site.bearer("boss")
    merchants = anonymous.get("/api/v1/merchants", headers=h).json()
    assert {m["merchant_id"] for m in merchants["items"]} == set(sim_site.merchants)
    assert merchants["total"] == len(sim_site.merchants)
    trail = anonymous.get(f"/api/v1/merchants/{sim_site.merchants[0]}", headers=h).json()
    assert trail["days"] and {s["step"] for s in trail["days"][0]["steps"]} == {
        "sales",
        "settlement",
        "payout",
        "bank",
    }
    ov = anonymous.get("/api/v1/overview", headers=h).json()
    assert ov["days"] and ov["urgent"] and ov["at_stake"]
    assert set(CONTRACT_FIELDS) <= set(ov["urgent"][0])
    day = sim_site.summary.start.isoformat()
    report = anonymous.get(f"/api/v1/reports/daily?date={day}", headers=h).json()
    cli = _cli_json(sim_site, "report", "--date", day, "--format", "json")
    assert report["total"] == len(cli)
    for mine, theirs in zip(report["items"], cli, strict=True):
        for key, value in theirs.items():
            assert str(mine[key]) == str(value), key
    assert anonymous.get("/api/v1/reports/daily?date=x", headers=h).status_code == 400


def test_openapi_schema_is_served_to_token_holders(
    sim_site: SimSite, anonymous: TestClient
) -> None:
    assert anonymous.get("/api/v1/openapi.json").status_code == 401
    schema = anonymous.get("/api/v1/openapi.json", headers=sim_site.bearer("eve")).json()
    paths = set(schema["paths"])
    assert "/api/v1/exceptions" in paths and "/api/v1/imports" in paths
    assert not any(p.startswith(("/settings", "/login")) for p in paths)
    assert "HTTPBearer" in json.dumps(schema["components"]["securitySchemes"])
    # No documentation viewer that would load scripts from a CDN.
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert anonymous.get(path, follow_redirects=False).status_code in (303, 404)


def test_runs_and_imports_lists(sim_site: SimSite, anonymous: TestClient) -> None:
    boss = anonymous.get("/api/v1/reconcile-runs", headers=sim_site.bearer("boss")).json()
    assert boss["total"] >= 1 and boss["items"][0]["status"] == "succeeded"
    assert "stats" in boss["items"][0]
    bob = anonymous.get("/api/v1/reconcile-runs", headers=sim_site.bearer("bob")).json()
    assert "stats" not in bob["items"][0]  # workspace-wide counts: not a shop's business
    imports = anonymous.get("/api/v1/imports?per_page=5", headers=sim_site.bearer("boss")).json()
    assert imports["total"] == len(sim_site.summary.files) and len(imports["items"]) == 5
    mine = anonymous.get("/api/v1/imports", headers=sim_site.bearer("bob")).json()
    assert mine["total"] == 0  # the command line's imports belong to no shop
