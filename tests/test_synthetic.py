"""Synthetic worlds: valid, reproducible, feasible, and runnable with the synthetic ban."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine import simulate
from sim.events import with_changes
from sim.synthetic import HEADROOM_RANGE, SYNTHETIC, synthetic_ban, synthetic_world
from sim.tables import TABLES
from sim.world import World


def world(seed: int, n: int = 40, n_countries: int = 6) -> World:
    return synthetic_world(n, n_countries=n_countries, rng=np.random.default_rng(seed))


@pytest.mark.parametrize(("n", "n_countries"), [(6, 3), (40, 6), (150, 12)])
def test_world_validates_with_requested_size(n: int, n_countries: int) -> None:
    w = world(0, n, n_countries)
    # Validated on construction; validating the tables again must accept them unchanged.
    again = World.from_tables(**dict(w.tables))
    for name in TABLES:
        pd.testing.assert_frame_equal(again[name], w[name])
    assert len(w.facilities) == n
    assert len(w["countries"]) == n_countries
    assert set(w["countries"]["bloc"]) == {"allied", "china", "nonaligned"}
    for name in ("countries", "commodities", "facilities", "recipes", "lanes", "inventory"):
        assert (w[name]["source"] == SYNTHETIC).all()
    assert ((w["lanes"]["origin"] == "*") & (w["lanes"]["destination"] == "*")).sum() == 1


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a, b, c = world(7), world(7), world(8)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a.facilities.equals(c.facilities)


@pytest.mark.parametrize("seed", range(5))
def test_every_stage_has_headroom_over_its_demand(seed: int) -> None:
    w = world(seed)
    cap = w.facilities.groupby("commodity")["capacity_per_year"].sum()
    coef = dict(zip(w["recipes"]["input"], w["recipes"]["quantity_per_unit"], strict=True))
    flow = {"compute": w["demand"]["quantity_per_year"].sum()}
    flow["ai_chip"] = coef["ai_chip"] * flow["compute"]
    flow["ndfeb_magnet"] = coef["ndfeb_magnet"] * flow["ai_chip"]
    flow["gallium"] = coef["gallium"] * flow["ai_chip"]
    flow["ndpr_oxide"] = coef["ndpr_oxide"] * flow["ndfeb_magnet"]
    flow["ree_concentrate"] = coef["ree_concentrate"] * flow["ndpr_oxide"]
    lo, hi = HEADROOM_RANGE
    for com, f in flow.items():
        assert lo - 1e-9 <= cap[com] / f - 1 <= hi + 1e-9, com


@pytest.mark.parametrize("seed", range(5))
def test_ban_is_by_largest_refining_country(seed: int) -> None:
    w = world(seed)
    (ban,) = synthetic_ban(w)
    refining = w.facilities[w.facilities["type"] == "refiner"]
    by_country = refining.groupby("country")["capacity_per_year"].sum()
    assert ban.issuer == by_country.idxmax()
    assert (ban.start, ban.end) == (365, 730)


def test_run_with_ban_is_finite_and_non_negative() -> None:
    w = world(3)
    (ban,) = synthetic_ban(w)
    # Move the ban into the 365-day run (it starts on day 365 by default).
    ban = with_changes(ban, {"start": 120, "end": 240})
    rec = simulate(w, [ban], start="2025-01-01", horizon_days=365, rng=np.random.default_rng(1))
    assert rec.output.shape == (365, len(w.facilities))
    assert np.isfinite(rec.output).all()
    assert (rec.output >= 0).all()
    assert rec.slots["restricted"].any()
    assert rec.t0 == 120
