"""Who may see and do what: logins, throttling, sessions, API tokens, roles, merchant scopes, audit.

Written as the situations of a provider (杭州某某服务商, sees every
merchant) and the shops it looks after, on SQLite and PostgreSQL. Time is
passed in (``now=``), so throttling and expiry are tested to the second
without waiting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import daozhang.service.users as svc
from daozhang.service.users import Role, User
from daozhang.store.tables import api_tokens, audit_log, login_attempts, sessions, users
from daozhang.store.workspace import Workspace

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
CLI = "cli:test"
PASSWORD = "正确的密码 correct horse"
MID_A, MID_B, MID_C = "898340153990001", "898340153990002", "898340153990003"
PROVIDER, SHOP, OTHER_SHOP = "杭州某某服务商", "西湖小店", "滨江小店"


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """argon2 with tiny parameters: the same code, milliseconds instead of a tenth of a second."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(svc, "PASSWORD_HASHER", hasher)
    return hasher


@pytest.fixture
def ws(any_db_workspace: Workspace) -> Workspace:
    """A provider that sees everything, two shops with their merchants, and their users."""
    w = any_db_workspace
    svc.create_organisation(w, PROVIDER, all_merchants=True, actor=CLI, now=T0)
    svc.create_organisation(w, SHOP, actor=CLI, now=T0)
    svc.create_organisation(w, OTHER_SHOP, actor=CLI, now=T0)
    svc.assign_merchants(w, SHOP, [MID_A, MID_B], actor=CLI, now=T0)
    svc.assign_merchants(w, OTHER_SHOP, [MID_B, MID_C], actor=CLI, now=T0)
    for name, org, role in (
        ("boss", PROVIDER, Role.ADMIN),
        ("ops", PROVIDER, Role.OPERATOR),
        ("shop.admin", SHOP, Role.ADMIN),
        ("li.hong", SHOP, Role.OPERATOR),
        ("viewer", SHOP, Role.VIEWER),
        ("other.admin", OTHER_SHOP, Role.ADMIN),
    ):
        svc.add_user(w, name, PASSWORD, org=org, role=role, actor=CLI, now=T0)
    return w


def _user(ws: Workspace, name: str) -> User:
    return svc.get_user(ws, name)


def _actions(ws: Workspace) -> list[str]:
    return [e.action for e in reversed(svc.list_audit(ws, limit=1000))]


# -- users and passwords -----------------------------------------------------------


def test_a_user_is_added_to_a_new_organisation_and_the_password_is_never_stored(
    any_db_workspace: Workspace,
) -> None:
    ws = any_db_workspace
    user = svc.add_user(
        ws, "Li.Hong", PASSWORD, org=PROVIDER, role="operator", actor=CLI, create_org=True
    )
    assert (user.username, user.org_name, user.role, user.all_merchants) == (
        "li.hong",
        PROVIDER,
        Role.OPERATOR,
        False,
    )
    with ws.db.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
        everything = " ".join(
            str(v)
            for t in ("users", "audit_log")
            for r in conn.execute(sa.text(f"SELECT * FROM {t}"))
            for v in r
        )
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in everything and "correct horse" not in everything
    audit = svc.list_audit(ws)
    assert [(e.action, e.target, e.actor) for e in reversed(audit)] == [
        ("org.create", PROVIDER, CLI),
        ("user.add", "li.hong", CLI),
    ]
    assert audit[0].detail == {"org": PROVIDER, "role": "operator"}
    assert audit[0].org_id == user.org_id


def test_a_refused_user_changes_nothing(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    with pytest.raises(svc.WeakPasswordError) as short:
        svc.add_user(
            ws, "li.hong", "123456789", org=SHOP, role="viewer", actor=CLI, create_org=True
        )
    assert (short.value.length, short.value.min_length) == (9, 10)
    with pytest.raises(svc.UnknownOrganisationError):
        svc.add_user(ws, "li.hong", PASSWORD, org=SHOP, role="viewer", actor=CLI)
    with pytest.raises(svc.InvalidInputError):
        svc.add_user(ws, "li.hong", PASSWORD, org=SHOP, role="boss", actor=CLI, create_org=True)
    for bad in ("", "li hong", "x" * 65, "li'hong", "<script>"):
        with pytest.raises(svc.InvalidNameError):
            svc.add_user(ws, bad, PASSWORD, org=SHOP, role="viewer", actor=CLI, create_org=True)
    assert svc.list_organisations(ws) == [] and svc.list_users(ws) == [] and _actions(ws) == []


def test_a_username_is_one_user_however_it_is_typed(ws: Workspace) -> None:
    for same in (
        "LI.HONG",
        " li.hong ",
        "ｌｉ．ｈｏｎｇ",
    ):  # the last in full-width, as an IME types it
        with pytest.raises(svc.UserExistsError):
            svc.add_user(ws, same, PASSWORD, org=SHOP, role="viewer", actor=CLI)
    assert svc.authenticate(ws, "ＬＩ.Hong", PASSWORD, "10.0.0.1", now=T0).username == "li.hong"


def test_a_password_typed_in_full_width_is_the_same_password(ws: Workspace) -> None:
    svc.set_password(ws, "viewer", "abcdef123456", actor=CLI)
    assert svc.authenticate(ws, "viewer", "ａｂｃｄｅｆ１２３４５６", "10.0.0.1", now=T0)


def test_login_with_the_right_password_records_it(ws: Workspace) -> None:
    user = svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0)
    assert (user.username, user.org_name, user.role) == ("li.hong", SHOP, Role.OPERATOR)
    (info,) = [u for u in svc.list_users(ws) if u.username == "li.hong"]
    assert info.last_login_at == T0
    login = svc.list_audit(ws, action="user.login")[0]
    assert (login.actor, login.actor_user_id, login.org_id) == ("li.hong", user.id, user.org_id)
    assert login.detail == {"client": "10.0.0.1", "rehashed": False}


def test_unknown_user_wrong_password_and_disabled_user_get_the_same_answer(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(svc, "PASSWORD_HASHER", Spy(time_cost=1, memory_cost=8, parallelism=1))
    svc.disable_user(ws, "viewer", actor=CLI)
    answers = []
    for name, password in (
        ("nobody", PASSWORD),
        ("li.hong", "wrong password"),
        ("viewer", PASSWORD),
    ):
        with pytest.raises(svc.InvalidCredentialsError) as exc:
            svc.authenticate(ws, name, password, "10.0.0.1", now=T0)
        answers.append(str(exc.value))
    assert len(set(answers)) == 1
    assert len(verified) == 3  # an unknown user costs a verification too (against a dummy hash)
    assert "nobody" not in answers[0] and PASSWORD not in answers[0]


def test_a_hash_made_with_old_parameters_is_renewed_at_login(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(svc, "PASSWORD_HASHER", stronger)
    svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0)
    with ws.db.connect() as conn:
        stored = conn.execute(
            sa.select(users.c.password_hash).where(users.c.username == "li.hong")
        ).scalar_one()
    assert not stronger.check_needs_rehash(stored)
    assert svc.list_audit(ws, action="user.login")[0].detail["rehashed"] is True
    assert svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0)  # and it still works


# -- throttling -------------------------------------------------------------------------


def _fail(ws: Workspace, name: str, client: str, at: dt.datetime) -> None:
    with pytest.raises(svc.InvalidCredentialsError):
        svc.authenticate(ws, name, "wrong password", client, now=at)


def test_five_failures_for_a_username_lock_it_for_the_rest_of_fifteen_minutes(
    ws: Workspace,
) -> None:
    for minute in range(5):
        _fail(ws, "li.hong", f"10.0.0.{minute}", T0 + dt.timedelta(minutes=minute))
    at = T0 + dt.timedelta(minutes=6)
    with pytest.raises(svc.LoginThrottledError) as locked:
        svc.authenticate(ws, "li.hong", PASSWORD, "10.9.9.9", now=at)  # even the right password
    assert locked.value.retry_after == 9 * 60  # the first failure leaves the window at T0+15m
    # Others are not locked out by it.
    assert svc.authenticate(ws, "viewer", PASSWORD, "10.0.0.1", now=at)
    just_before = T0 + dt.timedelta(minutes=15) - dt.timedelta(seconds=1)
    with pytest.raises(svc.LoginThrottledError) as still:
        svc.authenticate(ws, "li.hong", PASSWORD, "10.9.9.9", now=just_before)
    assert still.value.retry_after == 1
    assert svc.authenticate(ws, "li.hong", PASSWORD, "10.9.9.9", now=T0 + dt.timedelta(minutes=15))


def test_refused_attempts_are_not_counted_and_do_not_extend_the_lock(ws: Workspace) -> None:
    for second in range(5):
        _fail(ws, "li.hong", "10.0.0.1", T0 + dt.timedelta(seconds=second))
    for minute in range(1, 15):
        with pytest.raises(svc.LoginThrottledError):
            svc.authenticate(
                ws, "li.hong", "wrong", "10.0.0.1", now=T0 + dt.timedelta(minutes=minute)
            )
    with ws.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(login_attempts)).scalar() == 5
    assert svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0 + dt.timedelta(minutes=16))


def test_a_successful_login_clears_the_count_for_the_username(ws: Workspace) -> None:
    for minute in range(4):
        _fail(ws, "li.hong", "10.0.0.1", T0 + dt.timedelta(minutes=minute))
    svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0 + dt.timedelta(minutes=4))
    for minute in range(5, 9):
        _fail(ws, "li.hong", "10.0.0.1", T0 + dt.timedelta(minutes=minute))
    assert svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0 + dt.timedelta(minutes=9))


def test_one_address_trying_many_usernames_is_locked_out(ws: Workspace) -> None:
    policy = svc.THROTTLE
    for i in range(policy.max_client_failures):
        _fail(ws, f"guess{i}", "203.0.113.5", T0 + dt.timedelta(seconds=i))
    at = T0 + dt.timedelta(minutes=1)
    with pytest.raises(svc.LoginThrottledError):
        svc.authenticate(ws, "li.hong", PASSWORD, "203.0.113.5", now=at)
    # The user, from their own address, is not locked out by someone else's guessing.
    assert svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=at)


def test_the_throttle_holds_across_processes(ws: Workspace, tmp_path: Path) -> None:
    url = ws.db.url.render_as_string(hide_password=False)
    others = [Workspace.open(tmp_path / f"p{i}", database_url=url, env={}) for i in range(5)]
    try:
        for minute, other in enumerate(others):
            _fail(other, "li.hong", "10.0.0.1", T0 + dt.timedelta(minutes=minute))
    finally:
        for other in others:
            other.close()
    with pytest.raises(svc.LoginThrottledError):
        svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.2", now=T0 + dt.timedelta(minutes=5))


def test_the_throttle_policy_can_be_tightened(ws: Workspace) -> None:
    policy = svc.ThrottlePolicy(window=dt.timedelta(hours=1), max_user_failures=2)
    for minute in range(2):
        _fail(ws, "li.hong", "10.0.0.1", T0 + dt.timedelta(minutes=minute))
    with pytest.raises(svc.LoginThrottledError) as locked:
        svc.authenticate(
            ws, "li.hong", PASSWORD, "10.0.0.1", now=T0 + dt.timedelta(minutes=30), policy=policy
        )
    assert locked.value.retry_after == 30 * 60


# -- sessions ---------------------------------------------------------------------------


def test_a_session_is_found_by_its_token_which_is_stored_only_as_a_hash(ws: Workspace) -> None:
    user = svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0)
    new = svc.start_session(ws, user, now=T0)
    assert new.token != new.csrf_token and len(new.token) >= 43
    assert new.token not in repr(new)
    found = svc.session_user(ws, new.token, now=T0 + dt.timedelta(minutes=5))
    assert found is not None and found.user == user and found.csrf_token == new.csrf_token
    with ws.db.connect() as conn:
        (row,) = conn.execute(sa.select(sessions)).all()
    assert row.token_sha256 == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in [str(v) for v in row]
    assert svc.session_user(ws, new.token[:-1], now=T0) is None
    assert svc.session_user(ws, "", now=T0) is None


def test_a_session_expires_when_idle_and_slides_while_used_up_to_its_maximum_age(
    ws: Workspace,
) -> None:
    user = _user(ws, "li.hong")
    idle = svc.start_session(ws, user, now=T0)
    assert svc.session_user(ws, idle.token, now=T0 + svc.SESSION_IDLE) is None
    assert svc.session_user(ws, idle.token, now=T0) is None  # and it is gone for good
    busy = svc.start_session(ws, user, now=T0)
    at = T0
    while at + svc.SESSION_IDLE - dt.timedelta(hours=1) < T0 + svc.SESSION_MAX_AGE:
        at += svc.SESSION_IDLE - dt.timedelta(hours=1)
        found = svc.session_user(ws, busy.token, now=at)
        assert found is not None, at
        assert found.expires_at == min(at + svc.SESSION_IDLE, T0 + svc.SESSION_MAX_AGE)
    assert svc.session_user(ws, busy.token, now=T0 + svc.SESSION_MAX_AGE) is None


def test_logout_ends_the_session(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    new = svc.start_session(ws, user, now=T0)
    assert svc.end_session(ws, new.token, now=T0) is True
    assert svc.session_user(ws, new.token, now=T0) is None
    assert svc.end_session(ws, new.token, now=T0) is False
    assert svc.list_audit(ws, limit=1)[0].action == "user.logout"


def test_a_new_password_or_disabling_ends_every_session(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    first, second = svc.start_session(ws, user, now=T0), svc.start_session(ws, user, now=T0)
    other = svc.start_session(ws, _user(ws, "viewer"), now=T0)
    assert svc.set_password(ws, "li.hong", "a new password", actor=CLI, now=T0) == 2
    assert svc.session_user(ws, first.token, now=T0) is None
    assert svc.session_user(ws, second.token, now=T0) is None
    assert svc.session_user(ws, other.token, now=T0) is not None
    svc.disable_user(ws, "viewer", actor=CLI, now=T0)
    assert svc.session_user(ws, other.token, now=T0) is None


def test_the_csrf_token_must_match(ws: Workspace) -> None:
    new = svc.start_session(ws, _user(ws, "li.hong"), now=T0)
    found = svc.session_user(ws, new.token, now=T0)
    assert found is not None
    assert svc.csrf_matches(found, new.csrf_token)
    assert not svc.csrf_matches(found, None)
    assert not svc.csrf_matches(found, "")
    assert not svc.csrf_matches(found, new.csrf_token + "x")


# -- API tokens -------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_hashed_and_acts_as_its_user(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    new = svc.create_api_token(ws, user, "对账脚本", now=T0)
    assert new.token.startswith("dz_") and new.token.startswith(new.prefix)
    assert len(new.prefix) == 7 and new.token not in repr(new)
    assert svc.token_user(ws, new.token, now=T0 + dt.timedelta(hours=1)) == user
    (info,) = svc.list_api_tokens(ws)
    assert (info.name, info.username, info.created_by, info.last_used_at) == (
        "对账脚本",
        "li.hong",
        "li.hong",
        T0 + dt.timedelta(hours=1),
    )
    with ws.db.connect() as conn:
        (row,) = conn.execute(sa.select(api_tokens)).all()
        audit = " ".join(str(v) for r in conn.execute(sa.select(audit_log)) for v in r)
    assert row.token_sha256 == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in [str(v) for v in row] and new.token not in audit


def test_a_token_created_is_found_and_no_other_string_is(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    token = svc.create_api_token(ws, user, "tool", now=T0).token
    assert svc.token_user(ws, token, now=T0) == user

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        st.one_of(
            st.text(max_size=80),
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                min_size=43,
                max_size=43,
            ).map(lambda s: "dz_" + s),
            st.integers(0, len(token) - 1).map(lambda i: token[:i] + token[i + 1 :]),
            st.integers(0, len(token) - 1).map(
                lambda i: token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
            ),
        )
    )
    def no_other_string(s: str) -> None:
        if s != token:
            assert svc.token_user(ws, s, now=T0) is None

    no_other_string()


def test_a_revoked_token_stops_working_for_good(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    new = svc.create_api_token(ws, user, "tool", now=T0)
    assert svc.revoke_api_token(ws, new.id, actor=CLI, now=T0) is True
    assert svc.token_user(ws, new.token, now=T0) is None
    assert svc.revoke_api_token(ws, new.id, actor=CLI, now=T0) is False
    assert svc.get_api_token(ws, new.id).revoked_at == T0
    with pytest.raises(svc.UnknownTokenError):
        svc.revoke_api_token(ws, 999, actor=CLI)


def test_a_disabled_user_cannot_log_in_or_use_a_token_until_enabled(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    new = svc.create_api_token(ws, user, "tool", now=T0)
    assert svc.disable_user(ws, "li.hong", actor=CLI) is True
    assert svc.disable_user(ws, "li.hong", actor=CLI) is False
    assert svc.token_user(ws, new.token, now=T0) is None
    with pytest.raises(svc.InvalidCredentialsError):
        svc.authenticate(ws, "li.hong", PASSWORD, "10.0.0.1", now=T0)
    with pytest.raises(svc.UserDisabledError):
        svc.get_user(ws, "li.hong")
    with pytest.raises(svc.UserDisabledError):
        svc.create_api_token(ws, user, "another", actor=CLI)
    assert svc.enable_user(ws, "li.hong", actor=CLI) is True
    assert svc.token_user(ws, new.token, now=T0) == user


# -- roles and who may do what -----------------------------------------------------------


def test_roles_say_who_reads_who_operates_and_who_edits_settings(ws: Workspace) -> None:
    table = {
        name: (
            svc.can_read(_user(ws, name)),
            svc.can_operate(_user(ws, name)),
            svc.can_edit_settings(_user(ws, name)),
            svc.can_manage_users(_user(ws, name)),
            svc.can_manage_organisations(_user(ws, name)),
        )
        for name in ("boss", "ops", "shop.admin", "li.hong", "viewer")
    }
    assert table == {
        "boss": (True, True, True, True, True),
        "ops": (True, True, False, False, False),
        "shop.admin": (True, True, True, True, False),
        "li.hong": (True, True, False, False, False),
        "viewer": (True, False, False, False, False),
    }


def test_a_shop_admin_manages_their_own_users_only(ws: Workspace) -> None:
    admin = _user(ws, "shop.admin")
    svc.add_user(ws, "new.cashier", PASSWORD, org=SHOP, role="viewer", actor=admin)
    svc.set_password(ws, "li.hong", "another password", actor=admin)
    with pytest.raises(svc.PermissionDeniedError):
        svc.add_user(ws, "spy", PASSWORD, org=OTHER_SHOP, role="admin", actor=admin)
    with pytest.raises(svc.PermissionDeniedError):
        svc.add_user(ws, "spy", PASSWORD, org="新机构", role="admin", actor=admin, create_org=True)
    with pytest.raises(svc.PermissionDeniedError):
        svc.disable_user(ws, "other.admin", actor=admin)
    with pytest.raises(svc.PermissionDeniedError):
        svc.set_password(ws, "other.admin", "a password I know", actor=admin)
    with pytest.raises(svc.PermissionDeniedError):
        svc.create_api_token(ws, _user(ws, "other.admin"), "backdoor", actor=admin)
    with pytest.raises(svc.PermissionDeniedError):
        svc.disable_user(ws, "shop.admin", actor=admin)  # not yourself: nobody would be left
    assert {u.org_name for u in svc.list_users(ws, viewer=admin)} == {SHOP}
    assert svc.organisation_merchants(ws, OTHER_SHOP) == [MID_B, MID_C]  # untouched


def test_only_who_runs_the_installation_creates_organisations_and_assigns_merchants(
    ws: Workspace,
) -> None:
    for name in ("shop.admin", "ops", "li.hong"):
        actor = _user(ws, name)
        with pytest.raises(svc.PermissionDeniedError):
            svc.assign_merchants(ws, SHOP, [MID_C], actor=actor)
        with pytest.raises(svc.PermissionDeniedError):
            svc.create_organisation(ws, "新机构", actor=actor)
    boss = _user(ws, "boss")
    assert svc.assign_merchants(ws, SHOP, [MID_C], actor=boss) == [MID_C]
    svc.add_user(ws, "x.admin", PASSWORD, org="新机构", role="admin", actor=boss, create_org=True)
    svc.disable_user(ws, "other.admin", actor=boss)
    assert {u.org_name for u in svc.list_users(ws, viewer=boss)} == {
        PROVIDER,
        SHOP,
        OTHER_SHOP,
        "新机构",
    }


def test_operators_and_viewers_manage_only_their_own_password_and_tokens(ws: Workspace) -> None:
    me, other = _user(ws, "viewer"), _user(ws, "li.hong")
    svc.set_password(ws, "viewer", "my own new password", actor=me)
    mine = svc.create_api_token(ws, me, "mine")
    theirs = svc.create_api_token(ws, other, "theirs")
    with pytest.raises(svc.PermissionDeniedError):
        svc.set_password(ws, "li.hong", "a password I know", actor=me)
    with pytest.raises(svc.PermissionDeniedError):
        svc.revoke_api_token(ws, theirs.id, actor=me)
    with pytest.raises(svc.PermissionDeniedError):
        svc.create_api_token(ws, other, "as someone else", actor=me)
    assert [t.name for t in svc.list_api_tokens(ws, viewer=me)] == ["mine"]
    assert svc.list_api_tokens(ws, viewer=me, username="li.hong") == []
    assert svc.revoke_api_token(ws, mine.id, actor=me) is True
    shop_admin = _user(ws, "shop.admin")
    assert {t.name for t in svc.list_api_tokens(ws, viewer=shop_admin)} == {"mine", "theirs"}
    assert svc.list_api_tokens(ws, viewer=_user(ws, "other.admin")) == []
    assert svc.revoke_api_token(ws, theirs.id, actor=shop_admin) is True


def test_serve_needs_an_enabled_admin(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    assert svc.has_admin(ws) is False
    svc.add_user(ws, "ops", PASSWORD, org=SHOP, role="operator", actor=CLI, create_org=True)
    assert svc.has_admin(ws) is False
    svc.add_user(ws, "boss", PASSWORD, org=SHOP, role="admin", actor=CLI)
    assert svc.has_admin(ws) is True
    svc.disable_user(ws, "boss", actor=CLI)
    assert svc.has_admin(ws) is False


# -- merchant scopes ------------------------------------------------------------------


def test_each_organisation_sees_its_own_merchants_and_the_provider_sees_all(ws: Workspace) -> None:
    shop = svc.merchant_scope(ws, _user(ws, "viewer"))
    other = svc.merchant_scope(ws, _user(ws, "other.admin"))
    provider = svc.merchant_scope(ws, _user(ws, "ops"))
    assert shop == svc.MerchantScope.only([MID_A, MID_B])
    assert (shop.allows(MID_A), shop.allows(MID_C), shop.allows(None)) == (True, False, False)
    assert (other.allows(MID_A), other.allows(MID_B)) == (False, True)  # MID_B: both shops'
    assert provider.all_merchants and provider.allows("999999999999999") and provider.allows(None)
    assert shop.merchant_id_list() == [MID_A, MID_B] and provider.merchant_id_list() is None
    svc.assign_merchants(ws, SHOP, [MID_A], actor=CLI, remove=True)
    assert svc.merchant_scope(ws, _user(ws, "viewer")) == svc.MerchantScope.only([MID_B])


def test_an_organisation_with_no_merchants_sees_nothing(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    user = svc.add_user(ws, "new", PASSWORD, org="空机构", role="admin", actor=CLI, create_org=True)
    scope = svc.merchant_scope(ws, user)
    assert scope == svc.MerchantScope.only(()) and not scope.allows(MID_A)
    assert scope.merchant_id_list() == []


_MIDS = st.sampled_from([MID_A, MID_B, MID_C, "898340153990004", "898340153990005"])


def test_the_sql_filter_agrees_with_the_membership_test(any_db_workspace: Workspace) -> None:
    probe = sa.Table(
        "scope_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("merchant_id", sa.String(32), nullable=True),
    )
    probe.create(any_db_workspace.db)
    with any_db_workspace.db.begin() as conn:
        rows = [MID_A, MID_B, MID_C, "898340153990004", "898340153990005", None, None, MID_A]
        conn.execute(sa.insert(probe), [{"id": i, "merchant_id": m} for i, m in enumerate(rows)])

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.booleans(), st.frozensets(_MIDS))
    def agrees(all_merchants: bool, mids: frozenset[str]) -> None:
        scope = svc.MerchantScope(all_merchants, mids)
        with any_db_workspace.db.connect() as conn:
            got = set(
                conn.execute(
                    sa.select(probe.c.id).where(scope.sql_filter(probe.c.merchant_id))
                ).scalars()
            )
        assert got == {i for i, m in enumerate(rows) if scope.allows(m)}

    agrees()


@given(st.booleans(), st.frozensets(_MIDS), st.one_of(st.none(), _MIDS))
def test_a_scope_without_all_merchants_never_sees_a_record_without_a_merchant(
    all_merchants: bool, mids: frozenset[str], mid: str | None
) -> None:
    scope = svc.MerchantScope(all_merchants, mids)
    assert scope.allows(mid) == (all_merchants or (mid is not None and mid in mids))


# -- organisations and the audit log ------------------------------------------------------


def test_merchant_numbers_are_checked_before_anything_changes(ws: Workspace) -> None:
    before = _actions(ws)
    with pytest.raises(svc.InvalidMerchantIdError) as bad:
        svc.assign_merchants(
            ws, SHOP, [MID_C, "12345", "８９８３４０１５３９９０００６", "abc"], actor=CLI
        )
    assert bad.value.values == ["12345", "８９８３４０１５３９９０００６", "abc"]
    assert svc.organisation_merchants(ws, SHOP) == [MID_A, MID_B] and _actions(ws) == before
    with pytest.raises(svc.UnknownOrganisationError):
        svc.assign_merchants(ws, "没有这个机构", [MID_C], actor=CLI)
    assert svc.assign_merchants(ws, SHOP, [MID_A, f" {MID_C} ", MID_C], actor=CLI) == [MID_C]
    assert svc.assign_merchants(ws, SHOP, [MID_A], actor=CLI) == []
    assert _actions(ws) == [*before, "org.merchants.assign"]  # nothing changed, nothing recorded


def test_an_organisation_is_created_once(ws: Workspace) -> None:
    with pytest.raises(svc.OrganisationExistsError):
        svc.create_organisation(ws, f" {SHOP} ", actor=CLI)
    with pytest.raises(svc.InvalidNameError):
        svc.create_organisation(ws, "bad\x00name", actor=CLI)
    orgs = {o.name: o for o in svc.list_organisations(ws)}
    assert (orgs[SHOP].merchant_count, orgs[SHOP].user_count) == (2, 3)
    assert orgs[PROVIDER].all_merchants and not orgs[SHOP].all_merchants
    assert [o.name for o in svc.list_organisations(ws, viewer=_user(ws, "viewer"))] == [SHOP]


def test_every_change_is_in_the_audit_log_with_who_and_for_which_organisation(
    ws: Workspace,
) -> None:
    boss, shop_admin = _user(ws, "boss"), _user(ws, "shop.admin")
    token = svc.create_api_token(ws, _user(ws, "li.hong"), "tool", actor=shop_admin)
    svc.revoke_api_token(ws, token.id, actor=shop_admin)
    svc.set_password(ws, "viewer", "a brand new one", actor=shop_admin)
    svc.disable_user(ws, "viewer", actor=boss)
    svc.enable_user(ws, "viewer", actor=boss)
    tail = list(reversed(svc.list_audit(ws, limit=5)))
    assert [(e.action, e.actor, e.target) for e in tail] == [
        ("token.create", "shop.admin", f"token:{token.id}"),
        ("token.revoke", "shop.admin", f"token:{token.id}"),
        ("user.password", "shop.admin", "viewer"),
        ("user.disable", "boss", "viewer"),
        ("user.enable", "boss", "viewer"),
    ]
    assert {e.org_id for e in tail} == {shop_admin.org_id}  # the organisation acted on
    assert tail[0].detail == {"name": "tool", "prefix": token.prefix, "user": "li.hong"}
    assert tail[0].actor_user_id == shop_admin.id
    # The shop's admin reads their organisation's log; the provider's admin reads all of it.
    assert {e.org_id for e in svc.list_audit(ws, viewer=shop_admin, limit=1000)} == {
        shop_admin.org_id
    }
    assert len(svc.list_audit(ws, viewer=boss, limit=1000)) == len(_actions(ws))


def test_an_audit_row_commits_with_the_change_it_records_or_not_at_all(ws: Workspace) -> None:
    user = _user(ws, "li.hong")
    before = len(_actions(ws))
    with pytest.raises(RuntimeError), ws.db.begin() as conn:
        svc.record_audit(conn, user, "case.close", "exception:12", {"note": "已退款"}, now=T0)
        raise RuntimeError("the change failed")
    assert len(_actions(ws)) == before
    row_id = svc.record_audit(ws, user, "settings.change", "grace", {"from": 1, "to": 2}, now=T0)
    (entry,) = svc.list_audit(ws, limit=1)
    assert (entry.id, entry.at, entry.org_id, entry.detail) == (
        row_id,
        T0,
        user.org_id,
        {"from": 1, "to": 2},
    )
