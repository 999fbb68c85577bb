"""The same pages and API on PostgreSQL: the same answers as on SQLite, the same boundaries.

The simulated shop is imported and reconciled a second time with its state
in a real PostgreSQL server (tests/helpers/postgres.py); every list, filter,
sort and export must then agree with the SQLite workspace of the session,
apart from the times things happened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daozhang.service import users as svc
from daozhang.service.imports import import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.simulate import SimulationSummary
from daozhang.store.workspace import Workspace
from daozhang.web.app import create_app
from tests.helpers.postgres import PostgresServer
from tests.web.conftest import SimSite
from tests.web.support import TestClient, add_users, contract_merchants, sign_in

pytestmark = pytest.mark.postgresql

# Times differ, and so may ids: a run inserts its new exceptions in no fixed order.
_VARYING = ("id", "opened_at", "resolved_at", "history")


@pytest.fixture(scope="module")
def pg_site(
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
    sim_inputs: SimulationSummary,
) -> Iterator[SimSite]:
    name = postgres_server.create_database()
    ws = Workspace.open(
        tmp_path_factory.mktemp("web-pg") / "shop", database_url=postgres_server.url(name), env={}
    )
    try:
        import_paths(ws, list(sim_inputs.files))
        reconcile_workspace(ws, as_of=sim_inputs.as_of, actor="test")
        merchants = contract_merchants(sim_inputs)
        org_a, org_b = add_users(ws, merchants)
        site = SimSite(ws, create_app(ws), sim_inputs, merchants, org_a, org_b)
        for user in ("boss", "alice"):
            site.tokens[user] = svc.create_api_token(ws, svc.get_user(ws, user), "t").token
        yield site
    finally:
        ws.close()
        postgres_server.drop_database(name)


def _strip(items: list[dict[str, object]]) -> list[dict[str, object]]:
    out = [{k: v for k, v in i.items() if k not in _VARYING} for i in items]
    return sorted(out, key=lambda i: (str(i["type"]), str(i["key"])))


def _order(items: list[dict[str, object]]) -> list[tuple[object, object]]:
    """What the sort is by: equal on both databases, whatever breaks the ties."""
    return [(i["amount"], i["due_date"]) for i in items]


@pytest.mark.parametrize(
    "query",
    [
        "status=all",
        "sort=due_asc",
        "sort=due_desc&type=arrived_late&type=fee_mismatch",
        "sort=amount_asc&amount_min=10.00&amount_max=5000",
        "sort=amount_desc&per_page=7&page=2",
    ],
)
def test_the_api_answers_the_same_on_postgresql(
    pg_site: SimSite, sim_site: SimSite, query: str
) -> None:
    with TestClient(pg_site.app) as pg, TestClient(sim_site.app) as lite:
        a = pg.get(f"/api/v1/exceptions?per_page=500&{query}", headers=pg_site.bearer("boss"))
        b = lite.get(f"/api/v1/exceptions?per_page=500&{query}", headers=sim_site.bearer("boss"))
    assert a.status_code == b.status_code == 200
    assert a.json()["total"] == b.json()["total"]
    assert _strip(a.json()["items"]) == _strip(b.json()["items"])
    assert _order(a.json()["items"]) == _order(b.json()["items"])


def test_the_boundary_holds_on_postgresql(pg_site: SimSite) -> None:
    with TestClient(pg_site.app, raise_server_exceptions=False) as client:
        h = pg_site.bearer("alice")
        items = client.get("/api/v1/exceptions?status=all&per_page=500", headers=h).json()
        assert {i["merchant_id"] for i in items["items"]} <= set(pg_site.org_a)
        boss = pg_site.bearer("boss")
        theirs = client.get(
            f"/api/v1/exceptions?merchant_id={pg_site.org_b[0]}", headers=boss
        ).json()["items"][0]["id"]
        assert client.get(f"/api/v1/exceptions/{theirs}", headers=h).status_code == 404
        assert client.get(f"/api/v1/merchants/{pg_site.org_b[0]}", headers=h).status_code == 404
        sign_in(client, "alice")
        for url in ("/", "/exceptions?sort=due_asc", f"/merchants/{pg_site.org_a[0]}"):
            r = client.get(url)
            assert r.status_code == 200, url
            assert pg_site.org_b[0] not in r.text
        assert client.get(f"/exceptions/{theirs}").status_code == 404
        csv_text = client.get("/exceptions.csv?status=all").content.decode("utf-8-sig")
        assert pg_site.org_a[0] in csv_text and pg_site.org_b[0] not in csv_text
