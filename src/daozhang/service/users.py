"""Who may see and do what: organisations, users, roles, logins, sessions, API tokens, audit.

The web app (``daozhang serve``) and the command line call these functions;
the rules are here, the SQL in :mod:`daozhang.store.users`.

* An **organisation** (a shop, a chain, a service provider) is given
  merchants (15-digit merchant numbers); one flagged ``all_merchants`` — the
  provider that runs the installation — sees every merchant, and the
  exceptions that have no merchant (an unmatched bank credit). A merchant
  may be given to several organisations (the shop and its provider).
* A **user** belongs to one organisation with a :class:`Role`: viewers
  read, operators also import, reconcile and act on cases, admins also
  change settings and manage their organisation's users and tokens. Admins
  of an all-merchants organisation manage every organisation: they run the
  installation.
* **Passwords** are hashed with argon2id; a hash made with older parameters
  is replaced at the next login. Logins are throttled in the database, so
  the limit holds across processes and restarts.
* **Sessions** and **API tokens** are random strings given out once; only
  their SHA-256 is stored, so a copy of the database lets no one in.
* Every change to organisations, users, sessions and tokens writes an
  **audit** row in the same transaction: the change and its record commit
  together or not at all.

An *actor* is whoever asks for a change: a signed-in :class:`User` (the web
app, checked against their role and organisation) or a string naming a
command-line user (``cli:<os user>``), who holds the workspace folder and so
may do anything. Errors::

    UsersError (DaozhangError)
    ├── InvalidCredentialsError   wrong username or password (never says which)
    ├── LoginThrottledError       too many failures lately; retry_after seconds
    ├── PermissionDeniedError     the actor's role or organisation does not allow it
    ├── UserDisabledError         the user exists but is disabled
    ├── InvalidInputError         a name, password or merchant number is not acceptable
    │   ├── InvalidNameError
    │   ├── WeakPasswordError
    │   └── InvalidMerchantIdError
    ├── NotFoundError             UnknownUserError, UnknownOrganisationError, UnknownTokenError
    └── AlreadyExistsError        UserExistsError, OrganisationExistsError

Nothing here logs, and no error message holds a password or a token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from daozhang.errors import DaozhangError
from daozhang.store import users as store
from daozhang.store.db import as_utc

__all__ = [
    "API_TOKEN_PREFIX",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SESSION_IDLE",
    "SESSION_MAX_AGE",
    "THROTTLE",
    "Actor",
    "AlreadyExistsError",
    "ApiTokenInfo",
    "AuditEntry",
    "InvalidCredentialsError",
    "InvalidInputError",
    "InvalidMerchantIdError",
    "InvalidNameError",
    "LoginSession",
    "LoginThrottledError",
    "MerchantScope",
    "NewApiToken",
    "NewSession",
    "NotFoundError",
    "Organisation",
    "OrganisationExistsError",
    "PermissionDeniedError",
    "Role",
    "StateDatabase",
    "ThrottlePolicy",
    "UnknownOrganisationError",
    "UnknownTokenError",
    "UnknownUserError",
    "User",
    "UserDisabledError",
    "UserExistsError",
    "UserInfo",
    "UsersError",
    "WeakPasswordError",
    "add_user",
    "assign_merchants",
    "authenticate",
    "can_edit_settings",
    "can_manage_organisations",
    "can_manage_users",
    "can_operate",
    "can_read",
    "check_password",
    "create_api_token",
    "create_organisation",
    "csrf_matches",
    "disable_user",
    "enable_user",
    "end_session",
    "get_api_token",
    "get_organisation",
    "get_user",
    "has_admin",
    "list_api_tokens",
    "list_audit",
    "list_organisations",
    "list_users",
    "merchant_scope",
    "normalise_username",
    "organisation_merchants",
    "record_audit",
    "revoke_api_token",
    "session_user",
    "set_password",
    "start_session",
    "token_user",
    "validate_merchant_ids",
]

MIN_PASSWORD_LENGTH = 10
# Longer than any passphrase, short enough that hashing it cannot tie up a worker.
MAX_PASSWORD_LENGTH = 1024
API_TOKEN_PREFIX = "dz_"
# Shown in lists to tell tokens apart: the prefix and four random characters
# (24 of the token's 256 random bits; the rest stays secret).
_SHOWN_TOKEN_CHARS = len(API_TOKEN_PREFIX) + 4
_TOKEN_BYTES = 32
SESSION_IDLE = dt.timedelta(hours=12)
"""A session ends after this long without a request (a working day and a bit)."""
SESSION_MAX_AGE = dt.timedelta(days=7)
"""...and this long after login, however busy: a stolen cookie does not live for ever."""
# Sliding expiry writes at most this often per session, not on every request.
_TOUCH_EVERY = dt.timedelta(minutes=1)
# Login attempts are kept this long (the throttle needs minutes; the rest is
# for looking into an incident), then forgotten.
_KEEP_ATTEMPTS = dt.timedelta(days=30)
_USERNAME_MAX = 64
_ORG_NAME_MAX = 128
_TOKEN_NAME_MAX = 128
_CLIENT_MAX = 64
_MERCHANT_ID = re.compile(r"[0-9]{15}")
_USERNAME_PUNCTUATION = frozenset("._-@")

PASSWORD_HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106, low memory); replace to change parameters.

Hashes made with other parameters still verify, and are rehashed with these
at the user's next login.
"""


class StateDatabase(Protocol):
    """What these functions need of a workspace: its state database."""

    @property
    def db(self) -> sa.Engine: ...


# -- errors -------------------------------------------------------------------------


class UsersError(DaozhangError):
    """A request about organisations, users, logins or tokens that cannot be done."""


class InvalidCredentialsError(UsersError):
    """Unknown user, wrong password or disabled user: deliberately the same error for all."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class LoginThrottledError(UsersError):
    """Too many failed logins lately for this username or client; try after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class PermissionDeniedError(UsersError):
    """The actor's role or organisation does not allow this."""


class UserDisabledError(UsersError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} is disabled")
        self.username = username


class InvalidInputError(UsersError):
    """A name, password or merchant number is not acceptable; nothing was changed."""


class InvalidNameError(InvalidInputError):
    """A username, organisation name or token name that cannot be used.

    ``what``: ``username``, ``organisation`` or ``token name``; ``code`` says
    why, for a translated message: ``empty``, ``too_long`` (over ``limit``
    characters), ``characters`` (a username with other than letters, digits
    and ``. _ - @``) or ``control`` (a control character in a name).
    """

    _WHY: ClassVar[dict[str, str]] = {
        "empty": "empty",
        "too_long": "longer than {limit} characters",
        "characters": "only letters, digits and . _ - @ are allowed",
        "control": "contains control characters",
    }

    def __init__(self, what: str, value: str, code: str, limit: int = 0) -> None:
        super().__init__(f"{what} {value!r}: {self._WHY[code].format(limit=limit)}")
        self.what, self.value, self.code, self.limit = what, value, code, limit


class WeakPasswordError(InvalidInputError):
    """The password is shorter than ``min_length`` characters (or absurdly long)."""

    def __init__(self, length: int, min_length: int = MIN_PASSWORD_LENGTH) -> None:
        if length > MAX_PASSWORD_LENGTH:
            message = f"the password is longer than {MAX_PASSWORD_LENGTH} characters"
        else:
            message = f"the password has {length} characters; at least {min_length} are needed"
        super().__init__(message)
        self.length, self.min_length = length, min_length


class InvalidMerchantIdError(InvalidInputError):
    """Merchant numbers that are not 15 digits (all of them, so a user fixes them at once)."""

    def __init__(self, values: list[str]) -> None:
        super().__init__("a merchant number has 15 digits: " + ", ".join(repr(v) for v in values))
        self.values = values


class NotFoundError(UsersError):
    pass


class UnknownUserError(NotFoundError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no user {username!r}")
        self.username = username


class UnknownOrganisationError(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no organisation {name!r}")
        self.name = name


class UnknownTokenError(NotFoundError):
    def __init__(self, token_id: int) -> None:
        super().__init__(f"no API token #{token_id}")
        self.token_id = token_id


class AlreadyExistsError(UsersError):
    pass


class UserExistsError(AlreadyExistsError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} exists already")
        self.username = username


class OrganisationExistsError(AlreadyExistsError):
    def __init__(self, name: str) -> None:
        super().__init__(f"organisation {name!r} exists already")
        self.name = name


# -- values -------------------------------------------------------------------------


class Role(StrEnum):
    ADMIN = "admin"  # everything an operator does, and settings, users, tokens
    OPERATOR = "operator"  # import, reconcile, act on cases
    VIEWER = "viewer"  # read


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A signed-in user: who acts, with what role, for which organisation.

    Only enabled users become a ``User`` (login, session, token); it is
    built fresh from the database for each request, so a role or an
    organisation's flag changed meanwhile takes effect at once.
    """

    id: int
    username: str
    org_id: int
    org_name: str
    role: Role
    all_merchants: bool


Actor = User | str
"""A signed-in user, or a command-line user's name (``cli:<os user>``), who may do anything."""


@dataclass(frozen=True, slots=True)
class MerchantScope:
    """The merchants a user may see: all of them, or exactly ``merchant_ids``.

    Records without a merchant (an unmatched bank credit is known by its
    bank_txn_id) belong to no organisation's merchants: only an
    all-merchants scope sees them. :meth:`allows` and :meth:`sql_filter`
    agree on every merchant id, ``None`` included.
    """

    all_merchants: bool
    merchant_ids: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> MerchantScope:
        return cls(True)

    @classmethod
    def only(cls, merchant_ids: Iterable[str]) -> MerchantScope:
        return cls(False, frozenset(merchant_ids))

    def allows(self, merchant_id: str | None) -> bool:
        if self.all_merchants:
            return True
        return merchant_id is not None and merchant_id in self.merchant_ids

    def sql_filter(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """A WHERE condition on a merchant_id column: ``q.where(scope.sql_filter(t.c.mid))``.

        A NULL merchant_id passes only the all-merchants scope (``IN`` is
        never true for NULL).
        """
        if self.all_merchants:
            return sa.true()
        if not self.merchant_ids:
            return sa.false()
        return column.in_(sorted(self.merchant_ids))

    def merchant_id_list(self) -> list[str] | None:
        """For functions that take ``merchant_ids=`` (None: no restriction), e.g.
        :func:`daozhang.store.findings.list_exceptions`."""
        return None if self.all_merchants else sorted(self.merchant_ids)


@dataclass(frozen=True, slots=True, kw_only=True)
class Organisation:
    id: int
    name: str
    all_merchants: bool
    created_at: dt.datetime
    merchant_count: int
    user_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    """A user as lists show them (disabled ones too); never their password hash."""

    id: int
    username: str
    org_id: int
    org_name: str
    role: Role
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSession:
    """A session just started: ``token`` goes to the browser as a cookie, once."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginSession:
    """The session a cookie names: its user, the CSRF token forms must carry, its expiry."""

    user: User
    csrf_token: str = field(repr=False)
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewApiToken:
    """A token just created: ``token`` is shown to its owner this once and never again."""

    id: int
    token: str = field(repr=False)
    prefix: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiTokenInfo:
    id: int
    prefix: str
    name: str
    user_id: int
    username: str
    org_name: str
    created_by: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor_user_id: int | None
    actor: str
    org_id: int | None
    action: str
    target: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    """When logins are refused for a while.

    Failures count per username since its last successful login (the owner
    proved they know the password), and per client address regardless:
    otherwise an attacker with one account of their own could reset their
    address's count at will. The per-client limit is higher because a
    shop's staff often share one address (NAT).
    """

    window: dt.timedelta = dt.timedelta(minutes=15)
    max_user_failures: int = 5
    max_client_failures: int = 20


THROTTLE = ThrottlePolicy()


# -- roles --------------------------------------------------------------------------


def can_read(user: User) -> bool:
    """Every role reads (its organisation's merchants)."""
    return user.role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER)


def can_operate(user: User) -> bool:
    """Import files, reconcile, act on cases."""
    return user.role in (Role.ADMIN, Role.OPERATOR)


def can_edit_settings(user: User) -> bool:
    return user.role is Role.ADMIN


def can_manage_users(user: User, org_id: int | None = None) -> bool:
    """Add users, set passwords, disable, manage tokens: in ``org_id`` (default: their own).

    An admin manages their own organisation; an admin of an all-merchants
    organisation runs the installation and manages every one.
    """
    if user.role is not Role.ADMIN:
        return False
    return user.all_merchants or org_id is None or org_id == user.org_id


def can_manage_organisations(user: User) -> bool:
    """Create organisations and give them merchants: only who runs the installation.

    An organisation's own admin must not, or they could give themselves any
    merchant of the workspace.
    """
    return user.role is Role.ADMIN and user.all_merchants


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDeniedError(f"not allowed: {what}")


# -- input ----------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return as_utc(now) if now is not None else dt.datetime.now(dt.UTC)


def normalise_username(username: str) -> str:
    """The stored form of a username: NFKC, trimmed, lower case.

    NFKC makes the full-width letters a Chinese input method types in
    full-width mode the same as ASCII ones; lower case makes ``Li.Hong`` and
    ``li.hong`` one user.

    Raises:
        InvalidNameError: empty, too long, or holding anything but letters,
            digits (any script) and ``. _ - @``.
    """
    name = unicodedata.normalize("NFKC", username).strip().lower()
    if not name:
        raise InvalidNameError("username", username, "empty")
    if len(name) > _USERNAME_MAX:
        raise InvalidNameError("username", username, "too_long", _USERNAME_MAX)
    if not all(ch.isalnum() or ch in _USERNAME_PUNCTUATION for ch in name):
        raise InvalidNameError("username", username, "characters")
    return name


def _label(what: str, value: str, max_length: int) -> str:
    """A display name (organisation, token): NFC, trimmed, no control characters."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidNameError(what, value, "empty")
    if len(text) > max_length:
        raise InvalidNameError(what, value, "too_long", max_length)
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidNameError(what, value, "control")
    return text


def _password(password: str) -> str:
    """NFKC, so the same passphrase typed in full-width or half-width mode is one password."""
    text = unicodedata.normalize("NFKC", password)
    if len(text) < MIN_PASSWORD_LENGTH or len(text) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(len(text))
    return text


def check_password(password: str) -> None:
    """Refuse a password before asking for it again (the web form, the CLI's second prompt).

    Raises:
        WeakPasswordError: shorter than :data:`MIN_PASSWORD_LENGTH` characters.
    """
    _password(password)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"role {role!r}: choose one of {choices}") from None


def validate_merchant_ids(merchant_ids: Iterable[str]) -> list[str]:
    """The merchant numbers, trimmed, de-duplicated, in order given.

    Raises:
        InvalidMerchantIdError: naming every one that is not 15 ASCII digits.
    """
    good: dict[str, None] = {}
    bad: list[str] = []
    for raw in merchant_ids:
        mid = raw.strip()
        if _MERCHANT_ID.fullmatch(mid):
            good[mid] = None
        else:
            bad.append(raw)
    if bad:
        raise InvalidMerchantIdError(bad)
    return list(good)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# argon2 takes 64 MiB per hash by design; twenty people signing in at once
# took a server from 136 MB to 1.1 GB. Two at a time keep both cores busy.
_HASHING = threading.BoundedSemaphore(2)


def _hash_password(password: str) -> str:
    with _HASHING:
        return PASSWORD_HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _HASHING:
            return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[tuple[object, ...], str] = {}


def _dummy_hash() -> str:
    """A hash with the current parameters, to verify against when the user does not exist.

    So an unknown username costs as much time as a wrong password and the
    answer's timing does not tell which usernames exist.
    """
    h = PASSWORD_HASHER
    key = (h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len, h.type)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = h.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def _user(row: store.UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        org_id=row.org_id,
        org_name=row.org_name,
        role=Role(row.role),
        all_merchants=row.all_merchants,
    )


def _user_info(row: store.UserRow) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username,
        org_id=row.org_id,
        org_name=row.org_name,
        role=Role(row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def _organisation(row: store.OrgRow) -> Organisation:
    return Organisation(
        id=row.id,
        name=row.name,
        all_merchants=row.all_merchants,
        created_at=row.created_at,
        merchant_count=row.merchant_count,
        user_count=row.user_count,
    )


def _actor_name(actor: Actor) -> str:
    return actor.username if isinstance(actor, User) else actor


# -- the audit log ----------------------------------------------------------------


def record_audit(
    db: sa.Connection | StateDatabase,
    actor: Actor,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    org_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Append who did what, when, to what; returns the row's id.

    Pass the ``Connection`` of the change itself so that the change and its
    record commit together; a workspace writes it in a transaction of its own.

    Args:
        db: the change's connection, or a workspace.
        actor: the signed-in user, or ``cli:<os user>``.
        action: dotted, e.g. ``user.add``, ``settings.change``, ``case.close``.
        target: what was acted on (a username, an organisation, ``exception:12``).
        detail: a JSON object of particulars; never a password or a token.
        org_id: the organisation whose log this belongs to: the one acted on;
            default the actor's.
        now: the time (tests); default now.
    """
    if isinstance(actor, User) and org_id is None:
        org_id = actor.org_id
    values: dict[str, Any] = {
        "at": _now(now),
        "actor_user_id": actor.id if isinstance(actor, User) else None,
        "actor": _actor_name(actor)[:128],
        "org_id": org_id,
        "action": action,
        "target": target[:255] if target is not None else None,
        "detail": json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str),
    }
    if isinstance(db, sa.Connection):
        return store.add_audit(db, **values)
    with db.db.begin() as conn:
        return store.add_audit(conn, **values)


def list_audit(
    ws: StateDatabase,
    *,
    viewer: User | None = None,
    action: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The audit log, newest first; a ``viewer`` sees their organisation's rows only.

    Who runs the installation (an admin of an all-merchants organisation),
    and the command line (``viewer=None``), see every row.
    """
    org_id = None
    if viewer is not None and not can_manage_organisations(viewer):
        org_id = viewer.org_id
    with ws.db.connect() as conn:
        rows = store.list_audit(
            conn, org_id=org_id, action=action, limit=limit, before_id=before_id
        )
    return [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor_user_id=r.actor_user_id,
            actor=r.actor,
            org_id=r.org_id,
            action=r.action,
            target=r.target,
            detail=json.loads(r.detail) if r.detail else {},
        )
        for r in rows
    ]


# -- organisations ------------------------------------------------------------------


def create_organisation(
    ws: StateDatabase,
    name: str,
    *,
    all_merchants: bool = False,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Organisation:
    """A new organisation, with no merchants yet.

    Raises:
        InvalidNameError, OrganisationExistsError, PermissionDeniedError.
    """
    if isinstance(actor, User):
        _require(can_manage_organisations(actor), "create organisations")
    name = _label("organisation", name, _ORG_NAME_MAX)
    at = _now(now)
    with ws.db.begin() as conn:
        org_id = _insert_org(conn, name, all_merchants, at)
        record_audit(
            conn,
            actor,
            "org.create",
            name,
            {"all_merchants": all_merchants},
            org_id=org_id,
            now=at,
        )
        row = store.get_org_by_id(conn, org_id=org_id)
    assert row is not None
    return _organisation(row)


def _insert_org(conn: sa.Connection, name: str, all_merchants: bool, at: dt.datetime) -> int:
    try:
        return store.insert_org(conn, name=name, all_merchants=all_merchants, now=at)
    except store.NameTakenError:
        raise OrganisationExistsError(name) from None


def _org(conn: sa.Connection, name: str) -> store.OrgRow:
    row = store.get_org(conn, name=unicodedata.normalize("NFC", name).strip())
    if row is None:
        raise UnknownOrganisationError(name)
    return row


def get_organisation(ws: StateDatabase, name: str) -> Organisation:
    """An organisation by name, with how many merchants and users it has.

    Raises:
        UnknownOrganisationError.
    """
    with ws.db.connect() as conn:
        (row,) = store.list_orgs(conn, org_id=_org(conn, name).id)
    return _organisation(row)


def list_organisations(ws: StateDatabase, *, viewer: User | None = None) -> list[Organisation]:
    """Organisations by name; a ``viewer`` who does not run the installation sees only theirs."""
    with ws.db.connect() as conn:
        rows = store.list_orgs(conn)
    if viewer is not None and not can_manage_organisations(viewer):
        rows = [r for r in rows if r.id == viewer.org_id]
    return [_organisation(r) for r in rows]


def organisation_merchants(ws: StateDatabase, name: str) -> list[str]:
    """The merchants given to the organisation, sorted (an all-merchants one may have none).

    Raises:
        UnknownOrganisationError.
    """
    with ws.db.connect() as conn:
        return sorted(store.org_merchant_ids(conn, org_id=_org(conn, name).id))


def assign_merchants(
    ws: StateDatabase,
    org: str,
    merchant_ids: Iterable[str],
    *,
    actor: Actor,
    remove: bool = False,
    now: dt.datetime | None = None,
) -> list[str]:
    """Give merchants to an organisation (or take them away); returns those that changed.

    Merchants it has already (or, removing, does not have) are left as they
    are; the result lists only the ones this call changed, sorted.

    Raises:
        InvalidMerchantIdError: a number is not 15 digits; nothing was changed.
        UnknownOrganisationError, PermissionDeniedError.
    """
    if isinstance(actor, User):
        _require(can_manage_organisations(actor), "assign merchants")
    mids = validate_merchant_ids(merchant_ids)
    at = _now(now)
    with ws.db.begin() as conn:
        row = _org(conn, org)
        if remove:
            changed = store.remove_org_merchants(conn, org_id=row.id, merchant_ids=mids)
        else:
            changed = store.add_org_merchants(conn, org_id=row.id, merchant_ids=mids)
        if changed:
            record_audit(
                conn,
                actor,
                "org.merchants.remove" if remove else "org.merchants.assign",
                row.name,
                {"merchant_ids": changed},
                org_id=row.id,
                now=at,
            )
    return changed


def merchant_scope(ws: StateDatabase, user: User) -> MerchantScope:
    """The merchants ``user`` may see, read now (an assignment takes effect at once)."""
    with ws.db.connect() as conn:
        org = store.get_org_by_id(conn, org_id=user.org_id)
        if org is None:
            return MerchantScope.only(())
        if org.all_merchants:
            return MerchantScope.everything()
        return MerchantScope.only(store.org_merchant_ids(conn, org_id=org.id))


# -- users ----------------------------------------------------------------------------


def add_user(
    ws: StateDatabase,
    username: str,
    password: str,
    *,
    org: str,
    role: Role | str,
    actor: Actor,
    create_org: bool = False,
    now: dt.datetime | None = None,
) -> User:
    """A new user in ``org`` (made first, in the same transaction, with ``create_org``).

    Raises:
        InvalidNameError, WeakPasswordError, UnknownOrganisationError,
        UserExistsError, PermissionDeniedError; InvalidInputError for an
        unknown role.
    """
    role = _role(role)
    name = normalise_username(username)
    org_name = _label("organisation", org, _ORG_NAME_MAX)
    password_hash = _hash_password(_password(password))  # slow: outside the transaction
    at = _now(now)
    with ws.db.begin() as conn:
        org_row = store.get_org(conn, name=org_name)
        if org_row is None:
            if not create_org:
                raise UnknownOrganisationError(org_name)
            if isinstance(actor, User):
                _require(can_manage_organisations(actor), "create organisations")
            org_id = _insert_org(conn, org_name, False, at)
            record_audit(
                conn, actor, "org.create", org_name, {"all_merchants": False}, org_id=org_id, now=at
            )
        else:
            org_id = org_row.id
        if isinstance(actor, User):
            _require(can_manage_users(actor, org_id), f"add users to {org_name}")
        try:
            user_id = store.insert_user(
                conn,
                username=name,
                org_id=org_id,
                role=role.value,
                password_hash=password_hash,
                now=at,
            )
        except store.NameTakenError:
            raise UserExistsError(name) from None
        record_audit(
            conn,
            actor,
            "user.add",
            name,
            {"org": org_name, "role": role.value},
            org_id=org_id,
            now=at,
        )
        row = store.get_user_by_id(conn, user_id=user_id)
    assert row is not None
    return _user(row)


def _user_row(conn: sa.Connection, username: str) -> store.UserRow:
    try:
        name = normalise_username(username)
    except InvalidNameError:
        raise UnknownUserError(username) from None
    row = store.get_user(conn, username=name)
    if row is None:
        raise UnknownUserError(username)
    return row


def get_user(ws: StateDatabase, username: str) -> User:
    """An enabled user by name (not a login: no password is checked).

    Raises:
        UnknownUserError, UserDisabledError.
    """
    with ws.db.connect() as conn:
        row = _user_row(conn, username)
    if row.disabled:
        raise UserDisabledError(row.username)
    return _user(row)


def list_users(ws: StateDatabase, *, viewer: User | None = None) -> list[UserInfo]:
    """Users (disabled ones too) by organisation and name.

    A ``viewer`` who does not run the installation sees their organisation's
    users only; the command line (``viewer=None``) sees all.
    """
    org_id = None
    if viewer is not None and not can_manage_organisations(viewer):
        org_id = viewer.org_id
    with ws.db.connect() as conn:
        return [_user_info(r) for r in store.list_users(conn, org_id=org_id)]


def set_password(
    ws: StateDatabase,
    username: str,
    password: str,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> int:
    """A new password; every session of the user ends (whoever had the old one is out).

    Returns how many sessions ended.

    A user may set their own; an admin sets those of the users they manage.
    The web app should ask for the current password before a user changes
    their own (with :func:`authenticate`).

    Raises:
        UnknownUserError, WeakPasswordError, PermissionDeniedError.
    """
    text = _password(password)
    with ws.db.connect() as conn:
        row = _user_row(conn, username)
    if isinstance(actor, User) and actor.id != row.id:
        _require(can_manage_users(actor, row.org_id), f"set {row.username}'s password")
    password_hash = _hash_password(text)
    at = _now(now)
    with ws.db.begin() as conn:
        store.set_password_hash(conn, user_id=row.id, password_hash=password_hash)
        ended = store.delete_user_sessions(conn, user_id=row.id)
        record_audit(
            conn,
            actor,
            "user.password",
            row.username,
            {"sessions_ended": ended},
            org_id=row.org_id,
            now=at,
        )
    return ended


def _set_disabled(
    ws: StateDatabase, username: str, *, disabled: bool, actor: Actor, now: dt.datetime | None
) -> bool:
    at = _now(now)
    with ws.db.begin() as conn:
        row = _user_row(conn, username)
        if isinstance(actor, User):
            verb = "disable" if disabled else "enable"
            _require(can_manage_users(actor, row.org_id), f"{verb} {row.username}")
            _require(actor.id != row.id, f"{verb} yourself")
        changed = store.set_disabled(conn, user_id=row.id, disabled=disabled)
        if not changed:
            return False
        ended = store.delete_user_sessions(conn, user_id=row.id) if disabled else 0
        record_audit(
            conn,
            actor,
            "user.disable" if disabled else "user.enable",
            row.username,
            {"sessions_ended": ended} if disabled else {},
            org_id=row.org_id,
            now=at,
        )
    return True


def disable_user(
    ws: StateDatabase, username: str, *, actor: Actor, now: dt.datetime | None = None
) -> bool:
    """Disable: no more logins; sessions end; tokens stop working (and work again if enabled).

    Returns False when the user was disabled already (nothing changed).

    Raises:
        UnknownUserError, PermissionDeniedError (also for disabling yourself).
    """
    return _set_disabled(ws, username, disabled=True, actor=actor, now=now)


def enable_user(
    ws: StateDatabase, username: str, *, actor: Actor, now: dt.datetime | None = None
) -> bool:
    """Undo :func:`disable_user`; returns False when the user was enabled already."""
    return _set_disabled(ws, username, disabled=False, actor=actor, now=now)


def has_admin(ws: StateDatabase) -> bool:
    """Whether an enabled admin exists: ``serve`` listens beyond loopback only then."""
    with ws.db.connect() as conn:
        return store.count_active_admins(conn) > 0


# -- logins ---------------------------------------------------------------------------


def _retry_after(
    failures: list[dt.datetime], limit: int, window: dt.timedelta, now: dt.datetime
) -> int:
    """Seconds until fewer than ``limit`` of ``failures`` (newest first) are inside the window."""
    if len(failures) < limit:
        return 0
    seconds = (failures[limit - 1] + window - now).total_seconds()
    return max(1, math.ceil(seconds))


def _throttled(
    conn: sa.Connection, username: str, client: str, now: dt.datetime, policy: ThrottlePolicy
) -> int:
    since = now - policy.window
    last_ok = store.last_success_at(conn, username=username)
    user_since = max(since, last_ok) if last_ok is not None else since
    by_user = store.recent_failures(
        conn, username=username, since=user_since, limit=policy.max_user_failures
    )
    by_client = store.recent_failures(
        conn, client=client, since=since, limit=policy.max_client_failures
    )
    return max(
        _retry_after(by_user, policy.max_user_failures, policy.window, now),
        _retry_after(by_client, policy.max_client_failures, policy.window, now),
    )


def authenticate(
    ws: StateDatabase,
    username: str,
    password: str,
    client: str,
    *,
    now: dt.datetime | None = None,
    policy: ThrottlePolicy = THROTTLE,
) -> User:
    """The user with this username and password, checked and recorded.

    Every attempt is recorded (username, client address, time, outcome), so
    the throttle holds across processes; a throttled attempt is refused
    before the password is looked at and is not recorded. On success the
    hash is renewed if it was made with other argon2 parameters, and the
    login is written to the audit log.

    Args:
        ws: the workspace.
        username: as typed (normalised here).
        password: as typed.
        client: the client's address (from the web request), for the throttle.
        now: the time (tests); default now.
        policy: the throttle's limits.

    Raises:
        LoginThrottledError: too many failures lately; ``retry_after`` seconds.
        InvalidCredentialsError: unknown user, wrong password or disabled
            user — the same error, in about the same time, for all three.
    """
    at = _now(now)
    client = client[:_CLIENT_MAX]
    try:
        name = normalise_username(username)
    except InvalidNameError:
        name = unicodedata.normalize("NFKC", username).strip().lower()[:_USERNAME_MAX]
    text = unicodedata.normalize("NFKC", password)[:MAX_PASSWORD_LENGTH]
    with ws.db.connect() as conn:
        wait = _throttled(conn, name, client, at, policy)
        row = store.get_user(conn, username=name) if wait == 0 else None
    if wait:
        raise LoginThrottledError(wait)
    ok = _verify(row.password_hash if row is not None else _dummy_hash(), text)
    ok = ok and row is not None and not row.disabled
    if not ok or row is None:
        with ws.db.begin() as conn:
            store.add_login_attempt(conn, username=name, client=client, at=at, succeeded=False)
        raise InvalidCredentialsError()
    new_hash = (
        _hash_password(text) if PASSWORD_HASHER.check_needs_rehash(row.password_hash) else None
    )
    with ws.db.begin() as conn:
        store.add_login_attempt(conn, username=name, client=client, at=at, succeeded=True)
        store.set_last_login(conn, user_id=row.id, now=at)
        if new_hash is not None:
            store.set_password_hash(conn, user_id=row.id, password_hash=new_hash)
        store.prune_login_attempts(conn, before=at - _KEEP_ATTEMPTS)
        user = _user(row)
        record_audit(
            conn,
            user,
            "user.login",
            user.username,
            {"client": client, "rehashed": new_hash is not None},
            now=at,
        )
    return user


# -- sessions -------------------------------------------------------------------------


def start_session(ws: StateDatabase, user: User, *, now: dt.datetime | None = None) -> NewSession:
    """A new session for ``user`` (after :func:`authenticate`); expired ones are cleared."""
    at = _now(now)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    csrf = secrets.token_urlsafe(_TOKEN_BYTES)
    expires = at + min(SESSION_IDLE, SESSION_MAX_AGE)
    with ws.db.begin() as conn:
        store.delete_expired_sessions(conn, now=at)
        store.insert_session(
            conn,
            token_sha256=_sha256(token),
            user_id=user.id,
            csrf_token=csrf,
            now=at,
            expires_at=expires,
        )
    return NewSession(token=token, csrf_token=csrf, expires_at=expires)


def session_user(
    ws: StateDatabase, token: str, *, now: dt.datetime | None = None
) -> LoginSession | None:
    """The session a cookie names, or None (unknown, expired, or its user disabled).

    Each use moves the expiry to :data:`SESSION_IDLE` from now, never past
    :data:`SESSION_MAX_AGE` after login. An expired session is deleted.
    """
    if not token or len(token) > 256:
        return None
    at = _now(now)
    digest = _sha256(token)
    with ws.db.connect() as conn:
        row = store.find_session(conn, token_sha256=digest)
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    if row.expires_at <= at:
        with ws.db.begin() as conn:
            store.delete_session(conn, token_sha256=digest)
        return None
    if row.user.disabled:
        return None
    expires = row.expires_at
    if at - row.last_seen_at >= _TOUCH_EVERY:
        expires = min(at + SESSION_IDLE, row.created_at + SESSION_MAX_AGE)
        with ws.db.begin() as conn:
            store.touch_session(conn, session_id=row.id, now=at, expires_at=expires)
    return LoginSession(user=_user(row.user), csrf_token=row.csrf_token, expires_at=expires)


def csrf_matches(session: LoginSession, given: str | None) -> bool:
    """Whether a form's or header's CSRF token is the session's (in constant time)."""
    if not given:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), given.encode())


def end_session(ws: StateDatabase, token: str, *, now: dt.datetime | None = None) -> bool:
    """Log out: the session is deleted; False when there was none."""
    digest = _sha256(token)
    with ws.db.begin() as conn:
        row = store.find_session(conn, token_sha256=digest)
        if row is None:
            return False
        store.delete_session(conn, token_sha256=digest)
        record_audit(conn, _user(row.user), "user.logout", row.user.username, now=_now(now))
    return True


# -- API tokens -----------------------------------------------------------------------


def _token_info(row: store.ApiTokenRow) -> ApiTokenInfo:
    return ApiTokenInfo(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        user_id=row.user.id,
        username=row.user.username,
        org_name=row.user.org_name,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_api_token(
    ws: StateDatabase,
    user: User,
    name: str,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> NewApiToken:
    """A token that acts as ``user`` with their role; its text is in the result only.

    ``actor`` (default: ``user`` themselves) is recorded as its creator; an
    admin may create tokens for the users they manage.

    Raises:
        InvalidNameError, UserDisabledError, PermissionDeniedError.
    """
    actor = user if actor is None else actor
    if isinstance(actor, User) and actor.id != user.id:
        _require(can_manage_users(actor, user.org_id), f"create tokens for {user.username}")
    label = _label("token name", name, _TOKEN_NAME_MAX)
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    prefix = token[:_SHOWN_TOKEN_CHARS]
    at = _now(now)
    with ws.db.begin() as conn:
        row = store.get_user_by_id(conn, user_id=user.id)
        if row is None:
            raise UnknownUserError(user.username)
        if row.disabled:
            raise UserDisabledError(row.username)
        token_id = store.insert_api_token(
            conn,
            token_sha256=_sha256(token),
            prefix=prefix,
            name=label,
            user_id=row.id,
            created_by=_actor_name(actor),
            now=at,
        )
        record_audit(
            conn,
            actor,
            "token.create",
            f"token:{token_id}",
            {"name": label, "prefix": prefix, "user": row.username},
            org_id=row.org_id,
            now=at,
        )
    return NewApiToken(id=token_id, token=token, prefix=prefix, name=label)


def token_user(ws: StateDatabase, token: str, *, now: dt.datetime | None = None) -> User | None:
    """The user an API token acts as, or None (unknown, revoked, or its user disabled).

    Records when it was last used (at most once a minute).
    """
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 256:
        return None
    at = _now(now)
    digest = _sha256(token)
    with ws.db.connect() as conn:
        row = store.find_api_token(conn, token_sha256=digest)
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    if row.revoked_at is not None or row.user.disabled:
        return None
    if row.last_used_at is None or at - row.last_used_at >= _TOUCH_EVERY:
        with ws.db.begin() as conn:
            store.touch_api_token(conn, token_id=row.id, now=at)
    return _user(row.user)


def revoke_api_token(
    ws: StateDatabase, token_id: int, *, actor: Actor, now: dt.datetime | None = None
) -> bool:
    """Revoke a token for good; False when it was revoked already.

    A user may revoke their own; an admin those of the users they manage.

    Raises:
        UnknownTokenError, PermissionDeniedError.
    """
    at = _now(now)
    with ws.db.begin() as conn:
        row = store.get_api_token(conn, token_id=token_id)
        if row is None:
            raise UnknownTokenError(token_id)
        if isinstance(actor, User) and actor.id != row.user.id:
            _require(can_manage_users(actor, row.user.org_id), f"revoke token #{token_id}")
        if not store.revoke_api_token(conn, token_id=token_id, now=at):
            return False
        record_audit(
            conn,
            actor,
            "token.revoke",
            f"token:{token_id}",
            {"name": row.name, "prefix": row.prefix, "user": row.user.username},
            org_id=row.user.org_id,
            now=at,
        )
    return True


def get_api_token(ws: StateDatabase, token_id: int) -> ApiTokenInfo:
    """One token's particulars (never its text).

    Raises:
        UnknownTokenError.
    """
    with ws.db.connect() as conn:
        row = store.get_api_token(conn, token_id=token_id)
    if row is None:
        raise UnknownTokenError(token_id)
    return _token_info(row)


def list_api_tokens(
    ws: StateDatabase,
    *,
    viewer: User | None = None,
    username: str | None = None,
    include_revoked: bool = True,
) -> list[ApiTokenInfo]:
    """Tokens (never their text), oldest first.

    A ``viewer`` sees their own tokens, and, as an admin, those of the
    users they manage; the command line (``viewer=None``) sees all.
    ``username`` narrows to one user's.

    Raises:
        UnknownUserError: ``username`` is no user.
    """
    with ws.db.connect() as conn:
        user_id = _user_row(conn, username).id if username is not None else None
        org_id = None
        if viewer is not None and not can_manage_organisations(viewer):
            if can_manage_users(viewer):
                org_id = viewer.org_id
            elif user_id is None or user_id == viewer.id:
                user_id = viewer.id
            else:
                return []
        rows = store.list_api_tokens(
            conn, user_id=user_id, org_id=org_id, include_revoked=include_revoked
        )
    return [_token_info(r) for r in rows]
