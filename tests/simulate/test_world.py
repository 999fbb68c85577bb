"""The simulated world looks like a service provider's merchants: real ids, names, contracts."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from daozhang.domain.records import Cycle
from daozhang.simulate.world import ACQUIRERS, CATEGORIES, build_world

START = dt.date(2026, 9, 14)
_AREAS = {"1100", "3100", "4401", "4403", "3301", "5101", "4201", "3201"}


@pytest.mark.parametrize("seed", [1, 7, 99])
def test_a_demo_sized_world_shows_every_acquirer_and_cycle(seed: int) -> None:
    world = build_world(np.random.default_rng(seed), 12, START)
    assert {m.acquirer for m in world.merchants} == set(range(len(ACQUIRERS)))
    assert {m.cycle for m in world.merchants} == set(Cycle)
    assert len({m.name for m in world.merchants}) == 12


@pytest.mark.parametrize("seed", [1, 7, 99])
def test_mids_are_acquirer_area_mcc_and_sequence(seed: int) -> None:
    world = build_world(np.random.default_rng(seed), 200, START)
    mids = [m.merchant_id for m in world.merchants]
    assert len(set(mids)) == len(mids)
    for m in world.merchants:
        assert re.fullmatch(r"\d{15}", m.merchant_id)
        assert m.merchant_id[:3] == ACQUIRERS[m.acquirer].mid_prefix
        assert m.merchant_id[3:7] in _AREAS
        assert m.merchant_id[7:11] == CATEGORIES[m.category].mcc == m.mcc


def test_tids_are_unique_eight_digit_numbers() -> None:
    world = build_world(np.random.default_rng(3), 300, START)
    assert len(set(world.terminal_ids)) == world.n_terminals
    assert all(re.fullmatch(r"[1-9]\d{7}", t) for t in world.terminal_ids)
    # every merchant has at least one terminal
    assert set(world.terminal_merchant.tolist()) == set(range(300))


def test_settlement_accounts_do_not_look_like_card_numbers() -> None:
    """An account number that passed for a PAN would be masked on import and never match."""
    world = build_world(np.random.default_rng(5), 300, START)
    accounts = [m.account for m in world.merchants]
    assert len(set(accounts)) == len(accounts)
    assert all(a[0] not in "456" and a.isdigit() for a in accounts)


def test_one_merchant_gets_a_notified_rate_change_inside_the_period() -> None:
    world = build_world(np.random.default_rng(11), 12, START)
    changed = [m for m in world.merchants if len(m.versions) > 1]
    assert len(changed) == 1
    m = changed[0]
    old, new = m.versions
    assert old.effective_from < START < new.effective_from
    assert new.credit_ppm < old.credit_ppm
    assert m.version_on(new.effective_from - dt.timedelta(days=1)) == old
    assert m.version_on(new.effective_from) == new


def test_mean_terminal_traffic_is_the_requested_rate() -> None:
    world = build_world(np.random.default_rng(2), 500, START)
    assert world.terminal_factor.mean() == pytest.approx(1.0)


@pytest.mark.parametrize("start", [dt.date(2026, 1, 5), dt.date(2026, 9, 14), dt.date(2027, 6, 1)])
def test_every_contract_is_signed_well_before_the_period(start: dt.date) -> None:
    """A sale before its contract has none: T1, no fee check: not what the demo means."""
    world = build_world(np.random.default_rng(8), 300, start)
    first = min(m.versions[0].effective_from for m in world.merchants)
    last = max(m.versions[0].effective_from for m in world.merchants)
    assert first < last <= start - dt.timedelta(days=60)
    assert max(world.installed) < start - dt.timedelta(days=30)
