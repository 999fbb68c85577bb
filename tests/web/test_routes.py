"""Every route of the app: none answers without a login, none crosses an organisation's boundary.

The routes are enumerated from the app itself, so a route added later is
checked too: it must either need a login like the others, or be listed in
``PUBLIC`` with a reason, and a route that takes an id or a merchant must
be in ``BOUNDARY`` (asked for another organisation's thing, it says 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts

from daozhang.store.tables import exceptions
from daozhang.web.jobs import JobKind, JobState
from tests.web.conftest import ClientFor, SimSite
from tests.web.support import TestClient

# Who may come without signing in: the sign-in page itself (static files are a Mount).
PUBLIC = {("GET", "/login"), ("POST", "/login")}


def app_routes(site: SimSite) -> Iterator[tuple[str, str]]:
    for route in iter_route_contexts(site.app.routes):
        if route.path is None or route.methods is None:  # /static is a Mount
            continue
        for method in sorted(route.methods):
            yield method, route.path


def test_the_app_has_the_routes_the_issue_asks_for(sim_site: SimSite) -> None:
    paths = {p for _, p in app_routes(sim_site)}
    for wanted in (
        "/",
        "/login",
        "/logout",
        "/merchants/{merchant_id}",
        "/exceptions",
        "/exceptions/{exception_id}",
        "/exceptions.csv",
        "/exceptions.xlsx",
        "/imports",
        "/reconcile",
        "/settings",
        "/settings/audit",
        "/api/v1/exceptions",
        "/api/v1/exceptions/{exception_id}",
        "/api/v1/merchants",
        "/api/v1/reports/daily",
        "/api/v1/overview",
        "/api/v1/imports",
        "/api/v1/reconcile-runs",
        "/api/v1/openapi.json",
    ):
        assert wanted in paths, wanted


def _filled(path: str, merchant: str) -> str:
    return (
        path.replace("{exception_id}", "1")
        .replace("{merchant_id}", merchant)
        .replace("{n}", "0")
        .replace("{job_id}", "nojob")
        .replace("{import_id}", "1")
    )


def test_every_route_needs_a_login(sim_site: SimSite, anonymous: TestClient) -> None:
    checked = 0
    for method, path in app_routes(sim_site):
        if (method, path) in PUBLIC or method == "HEAD":
            continue
        url = _filled(path, sim_site.merchants[0])
        r = anonymous.request(method, url, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
        else:
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/login"), (method, path)
        checked += 1
    assert checked >= 25


def test_the_api_ignores_session_cookies(sim_site: SimSite, client_for: ClientFor) -> None:
    """A signed-in browser cannot call the API with its cookie: no CSRF hole there."""
    browser = client_for("boss")
    assert browser.get("/api/v1/exceptions").status_code == 401


def test_static_files_and_login_are_public(anonymous: TestClient) -> None:
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200
    assert anonymous.get("/static/vendor/htmx.min.js").status_code == 200
    assert anonymous.get("/static/vendor/chart.umd.min.js").status_code == 200


# -- the organisation boundary -----------------------------------------------------


def _exception_of(site: SimSite, merchants: list[str]) -> int:
    with site.ws.db.connect() as conn:
        return int(
            conn.execute(
                sa.select(exceptions.c.id)
                .where(exceptions.c.merchant_id.in_(merchants))
                .order_by(exceptions.c.id)
                .limit(1)
            ).scalar_one()
        )


def _unmatched_credit(site: SimSite) -> int:
    with site.ws.db.connect() as conn:
        return int(
            conn.execute(
                sa.select(exceptions.c.id).where(exceptions.c.merchant_id.is_(None)).limit(1)
            ).scalar_one()
        )


# Every route with an id or a merchant in its path, and how to ask it for B's thing.
BOUNDARY = {
    "/exceptions/{exception_id}",
    "/exceptions/{exception_id}/evidence/{n}",
    "/api/v1/exceptions/{exception_id}",
    "/merchants/{merchant_id}",
    "/merchants/{merchant_id}/record",
    "/api/v1/merchants/{merchant_id}",
    "/imports/jobs/{job_id}",
    "/imports/jobs/{job_id}/status",
    "/imports/{import_id}/rejects",
}


def test_every_route_with_an_id_is_in_the_boundary_check(sim_site: SimSite) -> None:
    with_params = {p for _, p in app_routes(sim_site) if re.search(r"\{\w+\}", p)}
    assert with_params == BOUNDARY


def test_shop_a_asking_for_shop_b_by_id_gets_404(sim_site: SimSite, client_for: ClientFor) -> None:
    alice = client_for("alice")  # A 店
    b_exception = _exception_of(sim_site, sim_site.org_b)
    a_exception = _exception_of(sim_site, sim_site.org_a)
    credit = _unmatched_credit(sim_site)  # no merchant: only all-merchants organisations
    b_merchant, a_merchant = sim_site.org_b[0], sim_site.org_a[0]
    token = sim_site.bearer("alice")

    for eid in (b_exception, credit, 999_999):
        assert alice.get(f"/exceptions/{eid}").status_code == 404
        assert alice.get(f"/exceptions/{eid}/evidence/0").status_code == 404
        r = alice.get(f"/api/v1/exceptions/{eid}", headers=token)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    assert alice.get(f"/exceptions/{a_exception}").status_code == 200
    assert alice.get(f"/exceptions/{a_exception}/evidence/0").status_code == 200
    assert alice.get(f"/api/v1/exceptions/{a_exception}", headers=token).status_code == 200

    for mid in (b_merchant, "000000000000000"):
        assert alice.get(f"/merchants/{mid}").status_code == 404
        assert alice.get(f"/merchants/{mid}/record?path=x&line=1").status_code == 404
        assert alice.get(f"/api/v1/merchants/{mid}", headers=token).status_code == 404
    assert alice.get(f"/merchants/{a_merchant}").status_code == 200
    assert alice.get(f"/api/v1/merchants/{a_merchant}", headers=token).status_code == 200

    # A job started by another organisation is "not found" too.
    job = sim_site.app.state.site.jobs
    other = job.new(JobKind.RECONCILE, org_id=-1, username="x", state=JobState.DONE)
    job.run_here(other, lambda j: None)
    assert alice.get(f"/imports/jobs/{other.id}").status_code == 404
    assert alice.get(f"/imports/jobs/{other.id}/status").status_code == 404
    # Imports made from the command line belong to no shop: only 总部 sees them.
    assert alice.get("/imports/1/rejects").status_code == 404


def test_the_404_for_another_shop_looks_like_the_404_for_nothing(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    alice = client_for("alice")
    b = alice.get(f"/exceptions/{_exception_of(sim_site, sim_site.org_b)}").text
    nothing = alice.get("/exceptions/999999").text
    strip = re.compile(r"\d+")
    assert strip.sub("", b) == strip.sub("", nothing)


def test_lists_and_exports_never_hold_another_shops_rows(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    alice = client_for("alice")
    token = sim_site.bearer("alice")
    forbidden = [*sim_site.org_b]
    pages = [
        alice.get("/").text,
        alice.get("/merchants").text,
        alice.get("/exceptions?status=all").text,
        alice.get("/exceptions.csv?status=all").content.decode("utf-8-sig"),
        alice.get("/settings").text,
        alice.get("/settings?tab=terminals").text,
        alice.get("/api/v1/exceptions?status=all&per_page=500", headers=token).text,
        alice.get("/api/v1/merchants", headers=token).text,
        alice.get("/api/v1/overview", headers=token).text,
        alice.get(
            f"/api/v1/reports/daily?date={sim_site.summary.start.isoformat()}", headers=token
        ).text,
    ]
    for text in pages:
        for mid in forbidden:
            assert mid not in text
    # ... while they do hold A's.
    assert sim_site.org_a[0] in pages[2]
    listed = alice.get("/api/v1/exceptions?status=all&per_page=500", headers=token).json()
    assert listed["total"] > 0
    assert {i["merchant_id"] for i in listed["items"]} <= set(sim_site.org_a)
    xlsx = alice.get("/exceptions.xlsx?status=all").content
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    cells = {str(c.value) for row in book.active.iter_rows() for c in row if c.value}
    assert not cells & set(forbidden)


@pytest.mark.parametrize("username", ["boss", "eve"])
def test_an_all_merchants_organisation_sees_everything(
    sim_site: SimSite, client_for: ClientFor, username: str
) -> None:
    client = client_for(username)
    assert client.get(f"/exceptions/{_unmatched_credit(sim_site)}").status_code == 200
    text = client.get("/merchants").text
    for mid in sim_site.merchants:
        assert mid in text
