"""Paired runs and the baseline cache: a reused baseline is the record the run would compute."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import replication
from sim.distributions import Distribution
from sim.ensemble import run_scenario
from sim.pair import BaselineCache, simulate_pair
from sim.record import RunRecord
from sim.scenario import load_scenario
from sim.world import World
from tests.event_worlds import control
from tests.worlds import ore_ban, supplier_consumer, supplier_consumer_tables

START = dt.date(2025, 1, 1)
ROOT = Path(__file__).resolve().parent.parent


def assert_same_record(a: RunRecord, b: RunRecord) -> None:
    """Every field of two records equal, to the bit."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, strict=True, err_msg=f.name)
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=f.name)
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), f.name
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], strict=True, err_msg=f"{f.name}.{k}")
        else:
            assert x == y, f.name


def licensed_world() -> World:
    """The supplier-consumer world with a standing licence on its ore from day 10.

    Licences of a standing control are certain (approved share 0.5, approval
    probability 1, no review time): the stream is drawn from, but decides nothing.
    """
    tables = supplier_consumer_tables(demand_per_day=10, cover_days=20)
    tables["controls"] = pd.DataFrame(
        [
            {
                "id": "rule",
                "issuer": "CHN",
                "commodity": "ore",
                "destination": "USA",
                "start": "2025-01-11",
                "end": "",
                "regime": "license",
                "approved_share": 0.5,
                "source": "test fixture",
            }
        ]
    )
    return World.from_tables(**tables)  # type: ignore[arg-type]


def test_drew_random_says_whether_the_seed_can_matter() -> None:
    # No noise, no licences: nothing random reaches the run, in the run or its baseline.
    plain = supplier_consumer()
    actual, baseline = simulate_pair(plain, [ore_ban(10, 30)], start=START, horizon_days=60, seed=1)
    assert not actual.drew_random and not baseline.drew_random
    # Demand noise (noise_cv 0.3) reaches both runs.
    noisy = supplier_consumer(noise_cv=0.3)
    actual, baseline = simulate_pair(noisy, [], start=START, horizon_days=60, seed=1)
    assert actual.drew_random and baseline.drew_random
    # A licence approved with probability 0.5 is decided by a draw.
    coin = control(regime="license", approval_probability=0.5, review_days=5.0)
    actual, baseline = simulate_pair(plain, [coin], start=START, horizon_days=60, seed=1)
    assert actual.drew_random and not baseline.drew_random
    assert "licence_applied" in {what for _, what, _ in actual.log}
    # A review time drawn from a distribution decides the day of the decision.
    timed = control(regime="license", review_days=Distribution("uniform", low=2.0, high=9.0))
    actual, _ = simulate_pair(plain, [timed], start=START, horizon_days=60, seed=1)
    assert actual.drew_random


def test_a_certain_licence_draws_but_decides_nothing() -> None:
    # The standing licence files applications (each advances the event stream), but
    # every outcome is certain: two seeds give the same record, and it may be kept.
    world = licensed_world()
    _, one = simulate_pair(world, [], start=START, horizon_days=90, seed=1)
    _, two = simulate_pair(world, [], start=START, horizon_days=90, seed=2)
    assert "licence_applied" in {what for _, what, _ in one.log}
    assert not one.drew_random
    assert_same_record(one, two)


def test_a_kept_baseline_is_the_record_another_seed_computes() -> None:
    world = supplier_consumer(alternative_capacity_per_day=50.0)
    cache = BaselineCache()
    kw = dict(start=START, horizon_days=120, baselines=cache)
    _, first = simulate_pair(world, [ore_ban(10, 60)], seed=1, **kw)  # type: ignore[arg-type]
    _, second = simulate_pair(world, [ore_ban(20, 30)], seed=2, **kw)  # type: ignore[arg-type]
    assert cache.hits == 1 and second is first
    _, fresh = simulate_pair(world, [ore_ban(20, 30)], start=START, horizon_days=120, seed=2)
    assert_same_record(second, fresh)
    # The shared arrays are read-only: a reader that changed them would fail loudly.
    with pytest.raises(ValueError, match="read-only"):
        second.output[0, 0] = 1.0


def test_the_cache_keys_on_every_input_of_the_baseline() -> None:
    world = supplier_consumer()
    cache = BaselineCache()
    simulate_pair(world, [], start=START, horizon_days=60, seed=1, baselines=cache)
    simulate_pair(world, [], start=START, horizon_days=61, seed=1, baselines=cache)
    simulate_pair(world, [], start="2025-01-02", horizon_days=61, seed=1, baselines=cache)
    # An equal world that is another object is another key (worlds match by identity).
    simulate_pair(
        supplier_consumer(), [], start="2025-01-02", horizon_days=61, seed=1, baselines=cache
    )
    assert cache.hits == 0
    simulate_pair(world, [], start="2025-01-02", horizon_days=61, seed=9, baselines=cache)
    assert cache.hits == 0  # the last key was the other world object
    simulate_pair(world, [], start="2025-01-02", horizon_days=61, seed=9, baselines=cache)
    assert cache.hits == 1


def test_a_baseline_that_drew_random_numbers_is_not_kept() -> None:
    cache = BaselineCache()
    world = supplier_consumer(noise_cv=0.3)
    _, a = simulate_pair(world, [], start=START, horizon_days=90, seed=1, baselines=cache)
    _, b = simulate_pair(world, [], start=START, horizon_days=90, seed=2, baselines=cache)
    assert cache.hits == 0 and a is not b
    assert not np.array_equal(a.output, b.output)  # the noise differs between seeds
    _, b_fresh = simulate_pair(world, [], start=START, horizon_days=90, seed=2)
    assert_same_record(b, b_fresh)


def test_an_ensemble_with_kept_baselines_gives_the_same_tables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # example_ban: no demand noise, no policies, so replications 1 and 2 reuse the
    # baseline of replication 0; every table equals the run that computes all three.
    scenario = load_scenario(ROOT / "scenarios" / "example_ban.yaml")
    cache = BaselineCache()
    monkeypatch.setattr(replication, "BASELINES", cache)
    kept = run_scenario(scenario, replications=3)
    assert cache.hits == 2

    class Never(BaselineCache):
        def get(self, world, policies, rest, compute):  # type: ignore[no-untyped-def, override]
            return compute()

    monkeypatch.setattr(replication, "BASELINES", Never())
    computed = run_scenario(scenario, replications=3)
    for name in ("metrics", "series", "trade", "timeline", "parameters"):
        a, b = getattr(kept, name), getattr(computed, name)
        if a is None:
            assert b is None, name
            continue
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
