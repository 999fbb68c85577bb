"""What the web tests share besides fixtures: users, signing in, the test client.

Starlette warns, on import of its test client, that it would rather use a
successor of httpx; the suite turns warnings into errors, and the client
works as it is, so the import here silences that one warning only.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning

from daozhang.service import users as svc
from daozhang.simulate import SimulationSummary
from daozhang.store.workspace import Workspace

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "ACTOR",
    "PASSWORD",
    "TestClient",
    "add_users",
    "contract_merchants",
    "csrf_of",
    "sign_in",
]

PASSWORD = "correct horse battery staple"
ACTOR = "cli:test"


def add_users(ws: Workspace, merchants: list[str]) -> tuple[list[str], list[str]]:
    """The three organisations and their users; returns A's and B's merchants."""
    org_a, org_b = merchants[:2], merchants[2:]
    svc.create_organisation(ws, "总部", all_merchants=True, actor=ACTOR)
    svc.create_organisation(ws, "A 店", actor=ACTOR)
    svc.create_organisation(ws, "B 店", actor=ACTOR)
    svc.assign_merchants(ws, "A 店", org_a, actor=ACTOR)
    svc.assign_merchants(ws, "B 店", org_b, actor=ACTOR)
    for name, org, role in (
        ("boss", "总部", "admin"),
        ("ops", "总部", "operator"),
        ("eve", "总部", "viewer"),
        ("alice", "A 店", "operator"),
        ("anna", "A 店", "admin"),
        ("bob", "B 店", "viewer"),
    ):
        svc.add_user(ws, name, PASSWORD, org=org, role=role, actor=ACTOR)
    return org_a, org_b


def contract_merchants(summary: SimulationSummary) -> list[str]:
    """The simulation's merchants, from its contracts file."""
    contracts = next(p for p in summary.files if Path(p).name == "contracts.csv")
    lines = contracts.read_text(encoding="utf-8-sig").splitlines()[1:]
    return sorted({line.split(",")[0] for line in lines if line.strip()})


_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = _TOKEN.search(page.text)
    assert token, page.text[:500]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:800]


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the pages carry it."""
    m = _CSRF.search(client.get("/").text)
    assert m
    return m.group(1)
