"""A simulated shop's workspace with users of three organisations, and clients signed in as them.

Built once per session (simulate, import, reconcile: a few seconds): the
read-only tests share it. Tests that change things (uploads, settings,
reconcile runs) use :func:`empty_site`, a workspace of their own.

Organisations (tests/web/support.py):

* 总部 (all merchants): ``boss`` admin, ``ops`` operator, ``eve`` viewer;
* A 店: the first two merchants: ``alice`` operator, ``anna`` admin;
* B 店: the other merchants: ``bob`` viewer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI

from daozhang.service import users as svc
from daozhang.service.imports import import_paths
from daozhang.service.runs import reconcile_workspace
from daozhang.simulate import SimulationSummary, simulate
from daozhang.store.workspace import Workspace
from daozhang.web.app import create_app
from tests.web.support import TestClient, add_users, contract_merchants, sign_in


@dataclass
class SimSite:
    ws: Workspace
    app: FastAPI
    summary: SimulationSummary
    merchants: list[str]
    org_a: list[str]
    org_b: list[str]
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture(scope="session")
def sim_inputs(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """A small simulated shop (4 merchants, 14 days): every exception type planted."""
    return simulate(tmp_path_factory.mktemp("web-sim") / "in", merchants=4, days=14, seed=7)


@pytest.fixture(scope="session")
def sim_site(
    tmp_path_factory: pytest.TempPathFactory, sim_inputs: SimulationSummary
) -> Iterator[SimSite]:
    ws = Workspace.open(tmp_path_factory.mktemp("web-home") / "shop", env={})
    import_paths(ws, list(sim_inputs.files))
    reconcile_workspace(ws, as_of=sim_inputs.as_of, actor="test")
    merchants = contract_merchants(sim_inputs)
    org_a, org_b = add_users(ws, merchants)
    site = SimSite(ws, create_app(ws), sim_inputs, merchants, org_a, org_b)
    for name in ("boss", "eve", "alice", "bob"):
        site.tokens[name] = svc.create_api_token(ws, svc.get_user(ws, name), "tests").token
    try:
        yield site
    finally:
        ws.close()


ClientFor = Callable[[str], TestClient]


@pytest.fixture
def client_for(sim_site: SimSite) -> Iterator[ClientFor]:
    """``client_for("alice")``: a browser-like client signed in as that user."""
    made: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(sim_site.app, raise_server_exceptions=False)
        sign_in(client, username)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def anonymous(sim_site: SimSite) -> Iterator[TestClient]:
    with TestClient(sim_site.app, raise_server_exceptions=False) as client:
        yield client


@dataclass
class EmptySite:
    ws: Workspace
    app: FastAPI
    client: TestClient
    inputs: SimulationSummary


@pytest.fixture
def empty_site(tmp_path: Path, sim_inputs: SimulationSummary) -> Iterator[EmptySite]:
    """A workspace of the test's own: the three organisations, no data; ``boss`` signed in."""
    ws = Workspace.open(tmp_path / "shop", env={})
    add_users(ws, contract_merchants(sim_inputs))
    app = create_app(ws)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            sign_in(client, "boss")
            yield EmptySite(ws, app, client, sim_inputs)
    finally:
        ws.close()
