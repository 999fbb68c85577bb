"""Organisations, users, sessions, API tokens, login attempts and the audit log: their SQL.

Rules about who may do what live in :mod:`daozhang.service.users`; this
module only reads and writes rows. The database keeps the invariants
(store/tables.py): a name, a username, a session's or token's hash is
unique; a role is one of three. Secrets never reach this module: sessions
and tokens arrive as their SHA-256, passwords as their argon2 hash.

Functions take a SQLAlchemy ``Connection`` first and everything else by
keyword, and the caller owns the transaction (``with engine.begin() as
conn``). Times go in as UTC and come back as aware UTC datetimes
(:func:`daozhang.store.db.as_utc`). The audit log is append-only: there is
no function here that changes or deletes one of its rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    delete,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from daozhang.store.db import as_utc, as_utc_or_none
from daozhang.store.tables import (
    api_tokens,
    audit_log,
    login_attempts,
    org_merchants,
    organisations,
    sessions,
    users,
)

__all__ = [
    "ApiTokenRow",
    "AuditRow",
    "NameTakenError",
    "OrgRow",
    "SessionRow",
    "UserRow",
    "add_audit",
    "add_login_attempt",
    "add_org_merchants",
    "count_active_admins",
    "delete_expired_sessions",
    "delete_session",
    "delete_user_sessions",
    "find_api_token",
    "find_session",
    "get_api_token",
    "get_org",
    "get_org_by_id",
    "get_user",
    "get_user_by_id",
    "insert_api_token",
    "insert_org",
    "insert_session",
    "insert_user",
    "last_success_at",
    "list_api_tokens",
    "list_audit",
    "list_orgs",
    "list_users",
    "org_merchant_ids",
    "prune_login_attempts",
    "recent_failures",
    "remove_org_merchants",
    "revoke_api_token",
    "set_disabled",
    "set_last_login",
    "set_password_hash",
    "touch_api_token",
    "touch_session",
]


class NameTakenError(Exception):
    """The name (of an organisation, a username) is taken: the unique constraint said no."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgRow:
    id: int
    name: str
    all_merchants: bool
    created_at: dt.datetime
    merchant_count: int = 0
    user_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRow:
    """A user with their organisation; the hash is left out of ``repr`` so it is never logged."""

    id: int
    username: str
    org_id: int
    org_name: str
    all_merchants: bool
    role: str
    password_hash: str = field(repr=False)
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRow:
    id: int
    token_sha256: str = field(repr=False)
    csrf_token: str = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    user: UserRow


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiTokenRow:
    id: int
    token_sha256: str = field(repr=False)
    prefix: str
    name: str
    created_by: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    user: UserRow


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor_user_id: int | None
    actor: str
    org_id: int | None
    action: str
    target: str | None
    detail: str | None  # JSON object


def _key(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# -- organisations -------------------------------------------------------------


def _org_row(r: Row[Any]) -> OrgRow:
    m = r._mapping
    return OrgRow(
        id=m["id"],
        name=m["name"],
        all_merchants=bool(m["all_merchants"]),
        created_at=as_utc(m["created_at"]),
        merchant_count=int(m.get("merchant_count") or 0),
        user_count=int(m.get("user_count") or 0),
    )


def insert_org(conn: Connection, *, name: str, all_merchants: bool, now: dt.datetime) -> int:
    """A new organisation; returns its id.

    Raises:
        NameTakenError: an organisation of that name exists (also one made meanwhile).
    """
    try:
        with conn.begin_nested():
            return _key(
                conn.execute(
                    insert(organisations).values(
                        name=name, all_merchants=all_merchants, created_at=as_utc(now)
                    )
                )
            )
    except IntegrityError as exc:
        if get_org(conn, name=name) is None:
            raise  # another constraint said no
        raise NameTakenError(name) from exc


def get_org(conn: Connection, *, name: str) -> OrgRow | None:
    row = conn.execute(select(organisations).where(organisations.c.name == name)).first()
    return _org_row(row) if row is not None else None


def get_org_by_id(conn: Connection, *, org_id: int) -> OrgRow | None:
    row = conn.execute(select(organisations).where(organisations.c.id == org_id)).first()
    return _org_row(row) if row is not None else None


def list_orgs(conn: Connection, *, org_id: int | None = None) -> list[OrgRow]:
    """Organisations by name (only one with ``org_id``), with how many merchants and users."""
    merchants = (
        select(func.count())
        .where(org_merchants.c.org_id == organisations.c.id)
        .scalar_subquery()
        .label("merchant_count")
    )
    members = (
        select(func.count())
        .where(users.c.org_id == organisations.c.id)
        .scalar_subquery()
        .label("user_count")
    )
    q = select(organisations, merchants, members).order_by(organisations.c.name)
    if org_id is not None:
        q = q.where(organisations.c.id == org_id)
    return [_org_row(r) for r in conn.execute(q)]


def org_merchant_ids(conn: Connection, *, org_id: int) -> set[str]:
    q = select(org_merchants.c.merchant_id).where(org_merchants.c.org_id == org_id)
    return set(conn.execute(q).scalars())


def add_org_merchants(conn: Connection, *, org_id: int, merchant_ids: Iterable[str]) -> list[str]:
    """Give the merchants to the organisation; returns those it did not have yet, sorted."""
    new = sorted(set(merchant_ids) - org_merchant_ids(conn, org_id=org_id))
    if new:
        conn.execute(insert(org_merchants), [{"org_id": org_id, "merchant_id": mid} for mid in new])
    return new


def remove_org_merchants(
    conn: Connection, *, org_id: int, merchant_ids: Iterable[str]
) -> list[str]:
    """Take the merchants from the organisation; returns those it had, sorted."""
    gone = sorted(set(merchant_ids) & org_merchant_ids(conn, org_id=org_id))
    if gone:
        conn.execute(
            delete(org_merchants).where(
                org_merchants.c.org_id == org_id, org_merchants.c.merchant_id.in_(gone)
            )
        )
    return gone


# -- users ------------------------------------------------------------------------


def _user_select() -> Select[Any]:
    return select(
        users.c.id,
        users.c.username,
        users.c.org_id,
        organisations.c.name.label("org_name"),
        organisations.c.all_merchants,
        users.c.role,
        users.c.password_hash,
        users.c.disabled,
        users.c.created_at,
        users.c.last_login_at,
    ).join(organisations, organisations.c.id == users.c.org_id)


def _user_row(m: Any, prefix: str = "") -> UserRow:
    return UserRow(
        id=m[f"{prefix}id"],
        username=m[f"{prefix}username"],
        org_id=m[f"{prefix}org_id"],
        org_name=m[f"{prefix}org_name"],
        all_merchants=bool(m[f"{prefix}all_merchants"]),
        role=m[f"{prefix}role"],
        password_hash=m[f"{prefix}password_hash"],
        disabled=bool(m[f"{prefix}disabled"]),
        created_at=as_utc(m[f"{prefix}created_at"]),
        last_login_at=as_utc_or_none(m[f"{prefix}last_login_at"]),
    )


def insert_user(
    conn: Connection,
    *,
    username: str,
    org_id: int,
    role: str,
    password_hash: str,
    now: dt.datetime,
) -> int:
    """A new user; returns the id.

    Raises:
        NameTakenError: the username is taken (also by a user made meanwhile).
    """
    try:
        with conn.begin_nested():
            return _key(
                conn.execute(
                    insert(users).values(
                        username=username,
                        org_id=org_id,
                        role=role,
                        password_hash=password_hash,
                        created_at=as_utc(now),
                    )
                )
            )
    except IntegrityError as exc:
        if get_user(conn, username=username) is None:
            raise  # another constraint said no: a role, an organisation
        raise NameTakenError(username) from exc


def get_user(conn: Connection, *, username: str) -> UserRow | None:
    row = conn.execute(_user_select().where(users.c.username == username)).first()
    return _user_row(row._mapping) if row is not None else None


def get_user_by_id(conn: Connection, *, user_id: int) -> UserRow | None:
    row = conn.execute(_user_select().where(users.c.id == user_id)).first()
    return _user_row(row._mapping) if row is not None else None


def list_users(conn: Connection, *, org_id: int | None = None) -> list[UserRow]:
    """Users by organisation and username; only one organisation's with ``org_id``."""
    q = _user_select().order_by(organisations.c.name, users.c.username)
    if org_id is not None:
        q = q.where(users.c.org_id == org_id)
    return [_user_row(r._mapping) for r in conn.execute(q)]


def set_password_hash(conn: Connection, *, user_id: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def set_disabled(conn: Connection, *, user_id: int, disabled: bool) -> bool:
    """Disable or enable; True when that changed anything."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.disabled == (not disabled))
        .values(disabled=disabled)
    )
    return bool(result.rowcount)


def set_last_login(conn: Connection, *, user_id: int, now: dt.datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=as_utc(now)))


def count_active_admins(conn: Connection) -> int:
    q = (
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled == false())
    )
    return int(conn.execute(q).scalar_one())


# -- sessions -------------------------------------------------------------------


def insert_session(
    conn: Connection,
    *,
    token_sha256: str,
    user_id: int,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> int:
    now = as_utc(now)
    return _key(
        conn.execute(
            insert(sessions).values(
                token_sha256=token_sha256,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=as_utc(expires_at),
                last_seen_at=now,
            )
        )
    )


def find_session(conn: Connection, *, token_sha256: str) -> SessionRow | None:
    """The session with this hash and its user (whatever its expiry: the caller judges)."""
    u = _user_select().subquery()
    q = (
        select(sessions, *[c.label(f"u_{c.name}") for c in u.c])
        .join(u, u.c.id == sessions.c.user_id)
        .where(sessions.c.token_sha256 == token_sha256)
    )
    row = conn.execute(q).first()
    if row is None:
        return None
    m = row._mapping
    return SessionRow(
        id=m["id"],
        token_sha256=m["token_sha256"],
        csrf_token=m["csrf_token"],
        created_at=as_utc(m["created_at"]),
        expires_at=as_utc(m["expires_at"]),
        last_seen_at=as_utc(m["last_seen_at"]),
        user=_user_row(m, "u_"),
    )


def touch_session(
    conn: Connection, *, session_id: int, now: dt.datetime, expires_at: dt.datetime
) -> None:
    conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id)
        .values(last_seen_at=as_utc(now), expires_at=as_utc(expires_at))
    )


def delete_session(conn: Connection, *, token_sha256: str) -> bool:
    result = conn.execute(delete(sessions).where(sessions.c.token_sha256 == token_sha256))
    return bool(result.rowcount)


def delete_user_sessions(conn: Connection, *, user_id: int) -> int:
    return int(conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount)


def delete_expired_sessions(conn: Connection, *, now: dt.datetime) -> int:
    result = conn.execute(delete(sessions).where(sessions.c.expires_at <= as_utc(now)))
    return int(result.rowcount)


# -- API tokens -------------------------------------------------------------------


def insert_api_token(
    conn: Connection,
    *,
    token_sha256: str,
    prefix: str,
    name: str,
    user_id: int,
    created_by: str,
    now: dt.datetime,
) -> int:
    return _key(
        conn.execute(
            insert(api_tokens).values(
                token_sha256=token_sha256,
                prefix=prefix,
                name=name,
                user_id=user_id,
                created_by=created_by,
                created_at=as_utc(now),
            )
        )
    )


def _tokens_select() -> Select[Any]:
    u = _user_select().subquery()
    return select(api_tokens, *[c.label(f"u_{c.name}") for c in u.c]).join(
        u, u.c.id == api_tokens.c.user_id
    )


def _token_row(r: Row[Any]) -> ApiTokenRow:
    m = r._mapping
    return ApiTokenRow(
        id=m["id"],
        token_sha256=m["token_sha256"],
        prefix=m["prefix"],
        name=m["name"],
        created_by=m["created_by"],
        created_at=as_utc(m["created_at"]),
        last_used_at=as_utc_or_none(m["last_used_at"]),
        revoked_at=as_utc_or_none(m["revoked_at"]),
        user=_user_row(m, "u_"),
    )


def find_api_token(conn: Connection, *, token_sha256: str) -> ApiTokenRow | None:
    """The token with this hash and its user (revoked or not: the caller judges)."""
    row = conn.execute(_tokens_select().where(api_tokens.c.token_sha256 == token_sha256)).first()
    return _token_row(row) if row is not None else None


def get_api_token(conn: Connection, *, token_id: int) -> ApiTokenRow | None:
    row = conn.execute(_tokens_select().where(api_tokens.c.id == token_id)).first()
    return _token_row(row) if row is not None else None


def list_api_tokens(
    conn: Connection,
    *,
    user_id: int | None = None,
    org_id: int | None = None,
    include_revoked: bool = True,
) -> list[ApiTokenRow]:
    """Tokens, oldest first; only a user's, or an organisation's users', when asked."""
    q = _tokens_select().order_by(api_tokens.c.id)
    if user_id is not None:
        q = q.where(api_tokens.c.user_id == user_id)
    if org_id is not None:
        q = q.where(api_tokens.c.user_id.in_(select(users.c.id).where(users.c.org_id == org_id)))
    if not include_revoked:
        q = q.where(api_tokens.c.revoked_at.is_(None))
    return [_token_row(r) for r in conn.execute(q)]


def touch_api_token(conn: Connection, *, token_id: int, now: dt.datetime) -> None:
    conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=as_utc(now))
    )


def revoke_api_token(conn: Connection, *, token_id: int, now: dt.datetime) -> bool:
    """Revoke; True when it was not revoked before (a token is revoked once, at one time)."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=as_utc(now))
    )
    return bool(result.rowcount)


# -- login attempts -------------------------------------------------------------


def add_login_attempt(
    conn: Connection, *, username: str, client: str, at: dt.datetime, succeeded: bool
) -> None:
    conn.execute(
        insert(login_attempts).values(
            username=username, client=client, at=as_utc(at), succeeded=succeeded
        )
    )


def last_success_at(conn: Connection, *, username: str) -> dt.datetime | None:
    q = select(func.max(login_attempts.c.at)).where(
        login_attempts.c.username == username, login_attempts.c.succeeded == true()
    )
    return as_utc_or_none(conn.execute(q).scalar_one())


def recent_failures(
    conn: Connection,
    *,
    since: dt.datetime,
    limit: int,
    username: str | None = None,
    client: str | None = None,
) -> list[dt.datetime]:
    """When the newest ``limit`` failed attempts after ``since`` were, newest first.

    Exactly one of ``username`` and ``client`` says whose.
    """
    if (username is None) == (client is None):
        raise ValueError("give a username or a client")
    whose = (
        login_attempts.c.username == username
        if username is not None
        else login_attempts.c.client == client
    )
    q = (
        select(login_attempts.c.at)
        .where(whose, login_attempts.c.at > as_utc(since), login_attempts.c.succeeded == false())
        .order_by(login_attempts.c.at.desc())
        .limit(limit)
    )
    return [as_utc(at) for at in conn.execute(q).scalars()]


def prune_login_attempts(conn: Connection, *, before: dt.datetime) -> int:
    """Forget attempts older than ``before``; returns how many."""
    result = conn.execute(delete(login_attempts).where(login_attempts.c.at < as_utc(before)))
    return int(result.rowcount)


# -- the audit log --------------------------------------------------------------


def add_audit(
    conn: Connection,
    *,
    at: dt.datetime,
    actor_user_id: int | None,
    actor: str,
    org_id: int | None,
    action: str,
    target: str | None,
    detail: str | None,
) -> int:
    return _key(
        conn.execute(
            insert(audit_log).values(
                at=as_utc(at),
                actor_user_id=actor_user_id,
                actor=actor,
                org_id=org_id,
                action=action,
                target=target,
                detail=detail,
            )
        )
    )


def list_audit(
    conn: Connection,
    *,
    org_id: int | None = None,
    action: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditRow]:
    """Audit rows, newest first; ``before_id`` pages back from a row seen."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if org_id is not None:
        q = q.where(audit_log.c.org_id == org_id)
    if action is not None:
        q = q.where(audit_log.c.action == action)
    if before_id is not None:
        q = q.where(audit_log.c.id < before_id)
    return [
        AuditRow(
            id=r.id,
            at=as_utc(r.at),
            actor_user_id=r.actor_user_id,
            actor=r.actor,
            org_id=r.org_id,
            action=r.action,
            target=r.target,
            detail=r.detail,
        )
        for r in conn.execute(q)
    ]
