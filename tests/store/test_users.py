"""Organisations, users, sessions, tokens, login attempts and audit rows in the state database.

What protects access is a constraint, so these tests go around the service
and check that the database itself refuses: a second user of one name, a
role that does not exist, a merchant number of the wrong length, two
sessions with one hash. Run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from daozhang.store import users as store
from daozhang.store.tables import org_merchants, users
from daozhang.store.workspace import Workspace

NOW = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MID_A, MID_B = "898340153990001", "898340153990002"


def _org(ws: Workspace, name: str = "杭州某某服务商", all_merchants: bool = False) -> int:
    with ws.db.begin() as conn:
        return store.insert_org(conn, name=name, all_merchants=all_merchants, now=NOW)


def _user(ws: Workspace, org_id: int, username: str = "li.hong", role: str = "operator") -> int:
    with ws.db.begin() as conn:
        return store.insert_user(
            conn,
            username=username,
            org_id=org_id,
            role=role,
            password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            now=NOW,
        )


def test_an_organisation_name_and_a_username_are_taken_once(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    org = _org(ws)
    with pytest.raises(store.NameTakenError):
        _org(ws)
    _user(ws, org)
    with pytest.raises(store.NameTakenError):
        _user(ws, org)
    with ws.db.connect() as conn:
        (only,) = store.list_orgs(conn)
    assert (only.name, only.user_count, only.merchant_count) == ("杭州某某服务商", 1, 0)


def test_the_database_refuses_a_role_that_does_not_exist(any_db_workspace: Workspace) -> None:
    org = _org(any_db_workspace)
    with pytest.raises(IntegrityError):
        _user(any_db_workspace, org, role="superuser")


def test_the_database_refuses_a_merchant_number_of_the_wrong_length(
    any_db_workspace: Workspace,
) -> None:
    org = _org(any_db_workspace)
    with pytest.raises(IntegrityError), any_db_workspace.db.begin() as conn:
        conn.execute(sa.insert(org_merchants).values(org_id=org, merchant_id="12345"))


def test_a_merchant_is_given_to_an_organisation_once_and_to_several_organisations(
    any_db_workspace: Workspace,
) -> None:
    ws = any_db_workspace
    shop, provider = _org(ws, "小店"), _org(ws, "服务商")
    with ws.db.begin() as conn:
        assert store.add_org_merchants(conn, org_id=shop, merchant_ids=[MID_B, MID_A]) == [
            MID_A,
            MID_B,
        ]
        assert store.add_org_merchants(conn, org_id=shop, merchant_ids=[MID_A]) == []
        assert store.add_org_merchants(conn, org_id=provider, merchant_ids=[MID_A]) == [MID_A]
    with pytest.raises(IntegrityError), ws.db.begin() as conn:
        conn.execute(sa.insert(org_merchants).values(org_id=shop, merchant_id=MID_A))
    with ws.db.begin() as conn:
        assert store.remove_org_merchants(conn, org_id=shop, merchant_ids=[MID_A, "9" * 15]) == [
            MID_A
        ]
        assert store.org_merchant_ids(conn, org_id=shop) == {MID_B}
        assert store.org_merchant_ids(conn, org_id=provider) == {MID_A}


def test_a_session_hash_and_a_token_hash_are_unique(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    uid = _user(ws, _org(ws))
    with ws.db.begin() as conn:
        store.insert_session(
            conn, token_sha256="a" * 64, user_id=uid, csrf_token="c", now=NOW, expires_at=NOW
        )
        store.insert_api_token(
            conn,
            token_sha256="b" * 64,
            prefix="dz_abcd",
            name="t",
            user_id=uid,
            created_by="cli:root",
            now=NOW,
        )
    with pytest.raises(IntegrityError), ws.db.begin() as conn:
        store.insert_session(
            conn, token_sha256="a" * 64, user_id=uid, csrf_token="d", now=NOW, expires_at=NOW
        )
    with pytest.raises(IntegrityError), ws.db.begin() as conn:
        store.insert_api_token(
            conn,
            token_sha256="b" * 64,
            prefix="dz_abcd",
            name="u",
            user_id=uid,
            created_by="cli:root",
            now=NOW,
        )


def test_times_come_back_as_the_same_instant_in_utc_on_every_database(
    any_db_workspace: Workspace,
) -> None:
    ws = any_db_workspace
    uid = _user(ws, _org(ws))
    local = NOW.astimezone(SHANGHAI)
    with ws.db.begin() as conn:
        store.insert_session(
            conn,
            token_sha256="a" * 64,
            user_id=uid,
            csrf_token="c",
            now=local,
            expires_at=local + dt.timedelta(hours=12),
        )
        store.set_last_login(conn, user_id=uid, now=local)
    with ws.db.connect() as conn:
        found = store.find_session(conn, token_sha256="a" * 64)
        user = store.get_user_by_id(conn, user_id=uid)
    assert found is not None and user is not None
    assert found.created_at == NOW and found.created_at.utcoffset() == dt.timedelta(0)
    assert found.expires_at == NOW + dt.timedelta(hours=12)
    assert user.last_login_at == NOW and user.last_login_at.tzinfo == dt.UTC


def test_a_session_goes_with_its_user_and_expired_ones_are_cleared(
    any_db_workspace: Workspace,
) -> None:
    ws = any_db_workspace
    uid = _user(ws, _org(ws))
    with ws.db.begin() as conn:
        for i, expires in enumerate((NOW - dt.timedelta(seconds=1), NOW + dt.timedelta(hours=1))):
            store.insert_session(
                conn,
                token_sha256=str(i) * 64,
                user_id=uid,
                csrf_token="c",
                now=NOW,
                expires_at=expires,
            )
        assert store.delete_expired_sessions(conn, now=NOW) == 1
        assert store.delete_user_sessions(conn, user_id=uid) == 1


def test_failures_are_counted_newest_first_per_username_and_per_client(
    any_db_workspace: Workspace,
) -> None:
    ws = any_db_workspace
    with ws.db.begin() as conn:
        for minute in range(6):
            store.add_login_attempt(
                conn,
                username="li.hong" if minute % 2 else "wang.fang",
                client="10.0.0.7",
                at=NOW + dt.timedelta(minutes=minute),
                succeeded=False,
            )
        store.add_login_attempt(conn, username="li.hong", client="10.0.0.8", at=NOW, succeeded=True)
    with ws.db.connect() as conn:
        by_user = store.recent_failures(conn, username="li.hong", since=NOW, limit=5)
        by_client = store.recent_failures(conn, client="10.0.0.7", since=NOW, limit=4)
        assert store.last_success_at(conn, username="li.hong") == NOW
        assert store.last_success_at(conn, username="wang.fang") is None
    assert by_user == [NOW + dt.timedelta(minutes=m) for m in (5, 3, 1)]
    assert by_client == [NOW + dt.timedelta(minutes=m) for m in (5, 4, 3, 2)]
    with ws.db.begin() as conn:
        assert store.prune_login_attempts(conn, before=NOW + dt.timedelta(minutes=3)) == 4


def test_disabling_is_reported_once(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    uid = _user(ws, _org(ws), role="admin")
    with ws.db.begin() as conn:
        assert store.count_active_admins(conn) == 1
        assert store.set_disabled(conn, user_id=uid, disabled=True) is True
        assert store.set_disabled(conn, user_id=uid, disabled=True) is False
        assert store.count_active_admins(conn) == 0
        assert conn.execute(sa.select(users.c.disabled)).scalar_one() is True


def test_a_token_is_revoked_once_at_one_time(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    uid = _user(ws, _org(ws))
    with ws.db.begin() as conn:
        tid = store.insert_api_token(
            conn,
            token_sha256="b" * 64,
            prefix="dz_abcd",
            name="对账脚本",
            user_id=uid,
            created_by="cli:root",
            now=NOW,
        )
        assert store.revoke_api_token(conn, token_id=tid, now=NOW) is True
        assert store.revoke_api_token(conn, token_id=tid, now=NOW + dt.timedelta(days=1)) is False
    with ws.db.connect() as conn:
        row = store.find_api_token(conn, token_sha256="b" * 64)
    assert row is not None and row.revoked_at == NOW and row.user.username == "li.hong"
    assert "b" * 64 not in repr(row)  # the hash stays out of logs


def test_audit_rows_are_listed_newest_first_per_organisation(any_db_workspace: Workspace) -> None:
    ws = any_db_workspace
    a, b = _org(ws, "甲"), _org(ws, "乙")
    with ws.db.begin() as conn:
        for i, org in enumerate((a, b, a)):
            store.add_audit(
                conn,
                at=NOW + dt.timedelta(seconds=i),
                actor_user_id=None,
                actor="cli:root",
                org_id=org,
                action="user.add",
                target=f"u{i}",
                detail="{}",
            )
    with ws.db.connect() as conn:
        assert [r.target for r in store.list_audit(conn)] == ["u2", "u1", "u0"]
        assert [r.target for r in store.list_audit(conn, org_id=a)] == ["u2", "u0"]
        newest = store.list_audit(conn, limit=1)[0]
        assert [r.target for r in store.list_audit(conn, before_id=newest.id)] == ["u1", "u0"]
    # Append-only: the store adds and lists audit rows and has nothing that changes or deletes one.
    assert {name for name in store.__all__ if "audit" in name.lower()} == {
        "AuditRow",
        "add_audit",
        "list_audit",
    }
