"""Exceptions across runs: opened once, updated, resolved with evidence, reopened; never deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from daozhang.domain.findings import Evidence, ExceptionType, Finding
from daozhang.store import findings as repo
from daozhang.store.db import make_engine, upgrade_to_head
from daozhang.store.tables import exceptions

NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(any_db_url: str) -> Iterator[sa.Engine]:
    """A migrated state database: an SQLite file, then PostgreSQL."""
    engine = make_engine(any_db_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def _finding(amount: int = 10_000, key: str = "PO1") -> Finding:
    return Finding(
        type=ExceptionType.SETTLED_NOT_ARRIVED,
        key=key,
        merchant_id="898340153990001",
        payout_id=key,
        amount_fen=amount,
        expected="2026-11-04",
        due_date=dt.date(2026, 11, 12),
        facts={"ref_date": "2026-11-03", "amount_fen": amount},
        evidence=(Evidence(role="payout", path="payouts.csv", line=2, file_sha256="ab" * 32),),
    )


def _run(
    db: sa.Engine, findings: list[Finding], resolutions: dict | None = None
) -> repo.ApplySummary:
    with db.begin() as conn:
        run = repo.start_run(conn, as_of=dt.date(2026, 11, 10), engine="duckdb", actor="t", now=NOW)
        summary = repo.apply_findings(
            conn, run_id=run, findings=findings, resolutions=resolutions or {}, actor="t", now=NOW
        )
        repo.finish_run(conn, run_id=run, status="succeeded", now=NOW)
    return summary


def test_rerunning_the_same_reconcile_changes_nothing(db: sa.Engine) -> None:
    assert _run(db, [_finding()]) == repo.ApplySummary(1, 0, 0, 0, 0)
    assert _run(db, [_finding()]) == repo.ApplySummary(0, 0, 0, 0, 1)
    with db.connect() as conn:
        (only,) = repo.list_exceptions(conn)
        assert only.first_run_id == 1 and only.last_run_id == 2
        events = repo.list_events(conn, only.id)
        assert [e["event"] for e in events] == ["opened"]
    # Times come back as they went in, in UTC, whatever zone the database server is in.
    assert only.opened_at == events[0]["at"] == NOW
    assert only.opened_at.utcoffset() == events[0]["at"].utcoffset() == dt.timedelta(0)


def test_money_that_arrived_later_resolves_the_exception_with_its_evidence(db: sa.Engine) -> None:
    _run(db, [_finding()])
    arrived = {
        ("settled_not_arrived", "PO1"): {
            "state": "arrived_late",
            "evidence": [{"role": "bank", "path": "bank/nov.csv", "line": 17}],
        }
    }
    assert _run(db, [], arrived).resolved == 1
    with db.connect() as conn:
        assert repo.list_exceptions(conn) == []
        (resolved,) = repo.list_exceptions(conn, include_resolved=True)
        assert resolved.status == "resolved" and resolved.resolved_at == NOW
        assert resolved.resolved_at.utcoffset() == dt.timedelta(0)
        assert resolved.resolution == arrived[("settled_not_arrived", "PO1")]
        events = [e["event"] for e in repo.list_events(conn, resolved.id)]
        assert events == ["opened", "resolved"]


def test_a_problem_that_comes_back_is_reopened_not_duplicated(db: sa.Engine) -> None:
    _run(db, [_finding()])
    _run(db, [])
    assert _run(db, [_finding(amount=12_000)]).reopened == 1
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(exceptions)).scalar_one() == 1
        (e,) = repo.list_exceptions(conn)
        assert e.amount_fen == 12_000 and e.resolution is None
        assert [x["event"] for x in repo.list_events(conn, e.id)] == [
            "opened",
            "resolved",
            "reopened",
        ]


def test_a_change_in_the_money_at_stake_is_recorded(db: sa.Engine) -> None:
    _run(db, [_finding()])
    assert _run(db, [_finding(amount=15_000)]).changed == 1
    with db.connect() as conn:
        (e,) = repo.list_exceptions(conn)
        changed = repo.list_events(conn, e.id)[-1]
        assert changed["event"] == "changed" and "10000" in str(changed["detail"])
        assert e.due_date == dt.date(2026, 11, 12)  # the due date stays as first set


def test_the_database_refuses_two_exceptions_with_one_key(db: sa.Engine) -> None:
    _run(db, [_finding()])
    row = {
        "type": "settled_not_arrived",
        "key": "PO1",
        "status": "open",
        "amount_fen": 1,
        "currency": "CNY",
        "facts": "{}",
        "evidence": "[]",
        "first_run_id": 1,
        "last_run_id": 1,
        "opened_at": NOW,
    }
    with pytest.raises(sa.exc.IntegrityError), db.begin() as conn:
        conn.execute(sa.insert(exceptions).values(**row))


def test_exceptions_of_other_merchants_are_not_listed(db: sa.Engine) -> None:
    _run(db, [_finding(key="PO1"), _finding(key="PO2")])
    with db.connect() as conn:
        assert len(repo.list_exceptions(conn, merchant_ids=["898340153990001"])) == 2
        assert repo.list_exceptions(conn, merchant_ids=["000000000000000"]) == []


def test_identifiers_from_a_file_too_long_or_with_nul_are_stored_the_same_on_every_database(
    db: sa.Engine,
) -> None:
    """PostgreSQL refuses both (SQLite would keep them): one bad row must not fail the run."""
    key = "PO-" + "9" * 300  # the key column holds 255, payout_id 64
    other = "PO-" + "9" * 299 + "8"  # differs only past the cut: must stay its own exception
    odd = replace(_finding(key=key), payout_id=key, expected="2026-11-04\x00", rrn="R\x001")
    assert _run(db, [odd, _finding(key=other)]) == repo.ApplySummary(2, 0, 0, 0, 0)
    assert _run(db, [odd, _finding(key=other)]) == repo.ApplySummary(0, 0, 0, 0, 2)
    with db.connect() as conn:
        stored = {e.key: e for e in repo.list_exceptions(conn)}
    assert len(stored) == 2
    e = stored[repo.identity(odd)[1]]
    assert len(e.key) == 255 and e.key.startswith("PO-999") and e.key[-9] == "~"
    assert e.payout_id is not None and len(e.payout_id) == 64
    assert e.payout_id.startswith("PO-999")
    assert (e.expected, e.rrn) == ("2026-11-04\u2400", "R\u24001")
