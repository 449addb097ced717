"""What runs on one world share: its compiled network and the world with its investments.

Sharing must not change a result: a run on a shared network gives the same record as
one on a network built for it alone, and no run can change the shared arrays.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc

import numpy as np
import pytest

from sim.engine import simulate
from sim.errors import InputError
from sim.events import CapacityInvestment, Destinations, ExportControl
from sim.examples import example_tables
from sim.investments import with_investments
from sim.memo import PerWorld
from sim.network import Network, network_of
from sim.pair import simulate_pair
from sim.world import World

START = dt.date(2025, 1, 1)


def _ban() -> ExportControl:
    return ExportControl(
        id="ban",
        issuer="CHN",
        commodities=("ndpr_oxide",),
        destinations=Destinations(blocs=("allied",)),
        start=100,
        end=465,
    )


def _expansion(**kw: object) -> CapacityInvestment:
    fields: dict[str, object] = dict(
        facility="us_refiner_2",
        expands="us_refiner",
        capacity_per_year=6000,
        available_from=150,
        ramp_up_days=30,
    )
    return CapacityInvestment(**(fields | kw))  # type: ignore[arg-type]


def test_values_go_with_their_world() -> None:
    memo: PerWorld[int] = PerWorld()
    world = World.from_tables(**example_tables())
    calls: list[int] = []
    assert memo.get(world, "k", lambda: calls.append(1) or 7) == 7
    assert memo.get(world, "k", lambda: calls.append(1) or 8) == 7
    assert calls == [1] and len(memo) == 1
    del world
    gc.collect()
    assert len(memo) == 0


def test_network_is_built_once_per_world_and_start_and_is_read_only() -> None:
    world = World.from_tables(**example_tables())
    net = network_of(world, START)
    assert network_of(world, START) is net
    assert network_of(world, START + dt.timedelta(days=1)) is not net
    assert network_of(World.from_tables(**example_tables()), START) is not net
    with pytest.raises(ValueError, match="read-only"):
        net.link_days[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        net.plan_levels[0].producers[0] = 0
    fresh = Network(world, START)
    for name, value in vars(fresh).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(net, name), equal_nan=True), name


def test_a_run_on_the_shared_network_gives_the_same_record() -> None:
    world = World.from_tables(**example_tables())
    first = simulate(world, [_ban()], start=START, horizon_days=400, rng=np.random.default_rng(3))
    again = simulate(world, [_ban()], start=START, horizon_days=400, rng=np.random.default_rng(3))
    alone = simulate(
        World.from_tables(**example_tables()),
        [_ban()],
        start=START,
        horizon_days=400,
        rng=np.random.default_rng(3),
    )
    for record in (again, alone):
        for field in dataclasses.fields(first):
            value = getattr(first, field.name)
            if isinstance(value, np.ndarray):
                assert np.array_equal(value, getattr(record, field.name), equal_nan=True)


def test_the_world_with_investments_is_reused_and_checked_once_per_naming() -> None:
    world = World.from_tables(**example_tables())
    built = with_investments(world, [_ban(), _expansion()], START)
    assert with_investments(world, [_expansion()], START) is built  # the paired baseline
    later = with_investments(world, [_expansion(available_from=200)], START)
    assert later is not built
    # The same naming with other drawn values: the new rows validated, the world alike.
    checked = world.replace(
        facilities=later.facilities.assign(
            available_from=later.facilities["available_from"].dt.strftime("%Y-%m-%d")
        )
    )
    for name in world.tables:
        assert later[name].equals(checked[name]), name
    with pytest.raises(InputError):
        with_investments(world, [_expansion(ramp_up_days=-1.0)], START)


def test_a_pair_with_investments_matches_runs_on_worlds_built_apart() -> None:
    world = World.from_tables(**example_tables())
    events = [_ban(), _expansion()]
    actual, baseline = simulate_pair(world, events, start=START, horizon_days=300, seed=5)
    alone = simulate_pair(
        World.from_tables(**example_tables()), events, start=START, horizon_days=300, seed=5
    )
    assert np.array_equal(actual.output, alone[0].output)
    assert np.array_equal(baseline.output, alone[1].output)
