"""Signing in and out, cookies, CSRF, throttling, API tokens, roles."""

from __future__ import annotations

import datetime as dt
import re

from daozhang.service import users as svc
from daozhang.web.routes.auth import safe_next
from tests.web.conftest import ClientFor, EmptySite, SimSite
from tests.web.support import PASSWORD, TestClient, csrf_of, sign_in


def test_signing_in_sets_a_safe_session_cookie_and_goes_on(sim_site: SimSite) -> None:
    with TestClient(sim_site.app) as client:
        r = client.get("/exceptions?type=fee_mismatch", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fexceptions%3Ftype%3Dfee_mismatch"
        page = client.get(r.headers["location"])
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        nxt = re.search(r'name="next" value="([^"]+)"', page.text)
        assert nxt
        r = client.post(
            "/login",
            data={
                "username": "Alice",  # usernames are case-insensitive
                "password": PASSWORD,
                "login_token": token.group(1),
                "next": nxt.group(1).replace("&amp;", "&"),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/exceptions?type=fee_mismatch"
        cookie = next(v for k, v in r.headers.multi_items() if v.startswith("dz_session="))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # plain http on loopback
        assert client.get("/").status_code == 200


def test_cookies_are_secure_over_https(sim_site: SimSite) -> None:
    with TestClient(sim_site.app, base_url="https://testserver") as client:
        page = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        r = client.post(
            "/login",
            data={"username": "bob", "password": PASSWORD, "login_token": token.group(1)},
            follow_redirects=False,
        )
        cookie = next(v for k, v in r.headers.multi_items() if v.startswith("dz_session="))
        assert "Secure" in cookie


def test_next_never_leaves_the_site() -> None:
    assert safe_next("/exceptions?x=1") == "/exceptions?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "", None, "javascript:x"):
        assert safe_next(bad) == "/"


def test_a_wrong_password_says_so_in_the_users_language(anonymous: TestClient) -> None:
    page = anonymous.get("/login?lang=en")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    r = anonymous.post(
        "/login",
        data={"username": "alice", "password": "wrong-password!", "login_token": token.group(1)},
    )
    assert r.status_code == 401
    assert "Wrong username or password." in r.text
    assert "dz_session" not in r.headers.get("set-cookie", "")


def test_a_login_form_without_its_token_is_refused(anonymous: TestClient) -> None:
    r = anonymous.post("/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 403
    assert "登录页面已过期" in r.text


def test_too_many_failures_are_throttled_with_retry_after(empty_site: EmptySite) -> None:
    with TestClient(empty_site.app) as client:
        for _ in range(svc.THROTTLE.max_user_failures):
            page = client.get("/login")
            token = re.search(r'name="login_token" value="([^"]+)"', page.text)
            assert token
            r = client.post(
                "/login",
                data={"username": "bob", "password": "not the password", "login_token": token[1]},
            )
            assert r.status_code == 401
        page = client.get("/login?lang=zh")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        # Even the right password waits now.
        r = client.post(
            "/login", data={"username": "bob", "password": PASSWORD, "login_token": token[1]}
        )
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
        assert "登录失败次数过多" in r.text and "分钟后再试" in r.text


def test_logout_ends_the_session_in_the_database(sim_site: SimSite) -> None:
    with TestClient(sim_site.app) as client:
        sign_in(client, "eve")
        csrf = csrf_of(client)
        cookie = client.cookies.get("dz_session")
        assert cookie and svc.session_user(sim_site.ws, cookie) is not None
        r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert svc.session_user(sim_site.ws, cookie) is None
        client.cookies.set("dz_session", cookie)  # a copy of the old cookie is worth nothing
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(sim_site: SimSite, client_for: ClientFor) -> None:
    boss = client_for("boss")
    csrf = csrf_of(boss)
    for path, data in (
        ("/logout", {}),
        ("/reconcile", {"as_of": "2026-01-01"}),
        ("/settings/calendar", {"date": "2030-01-01", "kind": "holiday"}),
    ):
        r = boss.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, path
        assert "操作没有执行" in r.text
        r = boss.post(path, data={**data, "csrf_token": "not-the-token"}, follow_redirects=False)
        assert r.status_code == 403, path
    # htmx and scripts send it in a header; a wrong one is refused the same way.
    r = boss.post("/logout", headers={"X-CSRF-Token": csrf + "x"}, follow_redirects=False)
    assert r.status_code == 403
    assert boss.get("/").status_code == 200  # still signed in: nothing was done


def test_api_token_works_and_a_revoked_one_does_not(
    sim_site: SimSite, anonymous: TestClient
) -> None:
    user = svc.get_user(sim_site.ws, "eve")
    new = svc.create_api_token(sim_site.ws, user, "script")
    headers = {"Authorization": f"Bearer {new.token}"}
    assert anonymous.get("/api/v1/exceptions", headers=headers).status_code == 200
    svc.revoke_api_token(sim_site.ws, new.id, actor="cli:test")
    r = anonymous.get("/api/v1/exceptions", headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
    for bad in ("Bearer dz_nothing", "Basic Ym9zczpwdw==", "dz_nothing", ""):
        assert (
            anonymous.get("/api/v1/exceptions", headers={"Authorization": bad}).status_code == 401
        )


def test_roles_viewers_read_operators_import_admins_change_settings(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    eve = client_for("eve")  # viewer
    csrf = csrf_of(eve)
    assert eve.get("/imports").status_code == 200
    assert "只读" in eve.get("/imports").text
    r = eve.post("/reconcile", data={"csrf_token": csrf, "as_of": "2026-09-28"})
    assert r.status_code == 403 and "只读账号不能导入或对账" in r.text
    assert eve.get("/settings/audit").status_code == 403
    r = eve.post(
        "/settings/calendar", data={"csrf_token": csrf, "date": "2030-01-01", "kind": "holiday"}
    )
    assert r.status_code == 403
    r = eve.post(
        "/api/v1/reconcile-runs", json={"as_of": "2026-09-28"}, headers=sim_site.bearer("eve")
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ops = client_for("ops")
    assert ops.get("/settings/audit").status_code == 403
    alice_admin = client_for("anna")  # admin of a shop: may read the audit log of her shop
    assert alice_admin.get("/settings/audit").status_code == 200


def test_a_disabled_user_is_out_at_the_next_request(
    empty_site: EmptySite,
) -> None:
    with TestClient(empty_site.app) as client:
        sign_in(client, "ops")
        assert client.get("/").status_code == 200
        svc.disable_user(empty_site.ws, "ops", actor="cli:test", now=dt.datetime.now(dt.UTC))
        assert client.get("/", follow_redirects=False).status_code == 303
