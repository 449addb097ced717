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


def _need(w: World) -> pd.Series:
    """Need of each sourcing row's buyer: demand (data centers) or capacity, times the recipe.

    Proportional to the buyer's planned use of the input (the use itself is smaller by the
    headroom of the buyer's stage).
    """
    fac = w.facilities.set_index("facility")
    planned = fac["capacity_per_year"].copy()
    dem = w["demand"].set_index("facility")["quantity_per_year"]
    planned[dem.index] = dem
    coef = {
        (t, i): q
        for t, i, q in zip(
            w["recipes"]["facility_type"],
            w["recipes"]["input"],
            w["recipes"]["quantity_per_unit"],
            strict=True,
        )
    }
    src = w["sourcing"]
    buyer_type = fac.loc[src["buyer"], "type"].to_numpy()
    keys = zip(buyer_type, src["commodity"], strict=True)
    return (
        pd.Series([coef[k] for k in keys], index=src.index) * planned.loc[src["buyer"]].to_numpy()
    )


@pytest.mark.parametrize(("n", "n_countries"), [(6, 3), (40, 6), (150, 12), (600, 12)])
def test_each_buyer_orders_from_few_producers(n: int, n_countries: int) -> None:
    w = world(1, n, n_countries)
    fac = w.facilities
    src = w["sourcing"]
    assert (src["source"] == SYNTHETIC).all()
    assert (src["weight"] > 0).all()
    for ftype, inp in zip(w["recipes"]["facility_type"], w["recipes"]["input"], strict=True):
        buyers = set(fac.loc[fac["type"] == ftype, "facility"])
        producers = set(fac.loc[fac["commodity"] == inp, "facility"])
        rows = src[src["commodity"] == inp]
        # Every buyer of the input has at least one supplier, all of them producers.
        assert set(rows["buyer"]) == buyers
        assert set(rows["supplier"]) <= producers
        # North-west corner plan: at most P + U - 1 rows, so at most 1 + P / U per buyer.
        assert len(rows) <= len(producers) + len(buyers) - 1
        assert rows.groupby("buyer").size().mean() <= 1 + len(producers) / len(buyers)
    # Linear in the size of the world: the sum of P + U - 1 over the five inputs is
    # n + refiners + magnet fabs + 2 chip fabs - 5, about 1.55 n at the type shares.
    assert len(src) <= 2 * len(fac)
    assert not src.duplicated(["buyer", "commodity", "supplier"]).any()


@pytest.mark.parametrize("seed", range(3))
def test_sourcing_loads_producers_in_proportion_to_capacity(seed: int) -> None:
    w = world(seed, n=150, n_countries=12)
    src = w["sourcing"]
    share = src["weight"] / src.groupby(["buyer", "commodity"])["weight"].transform("sum")
    load = (share * _need(w)).groupby(src["supplier"]).sum()
    cap = w.facilities.set_index("facility")["capacity_per_year"]
    for com in src["commodity"].unique():
        producers = w.facilities.loc[w.facilities["commodity"] == com, "facility"]
        used = load.reindex(producers, fill_value=0.0) / cap[producers]
        # Every producer is loaded to the same share of its capacity, so the stage's
        # headroom holds at each of them.
        assert used.min() == pytest.approx(used.max(), rel=1e-9), com


def test_undisturbed_run_serves_all_demand() -> None:
    w = world(2, n=60, n_countries=6)
    rec = simulate(w, [], start="2025-01-01", horizon_days=365, rng=np.random.default_rng(1))
    dc = (w.facilities["type"] == "data_center").to_numpy()
    daily_demand = w["demand"]["quantity_per_year"].sum() / 365
    np.testing.assert_allclose(rec.output[:, dc].sum(axis=1), daily_demand, rtol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_first_magnet_fab_buys_oxide_from_the_ban_issuer(seed: int) -> None:
    w = world(seed)
    (ban,) = synthetic_ban(w)
    src = w["sourcing"]
    country = w.facilities.set_index("facility")["country"]
    first = src[(src["buyer"] == "magnet_fab_001") & (src["commodity"] == "ndpr_oxide")]
    assert "refiner_001" in set(first["supplier"])
    assert country["refiner_001"] == ban.issuer
    assert w["countries"].set_index("country").loc[country["magnet_fab_001"], "bloc"] == "allied"


def test_ban_that_cuts_no_baseline_flow_is_refused() -> None:
    w = world(0, n=150, n_countries=12)
    (ban,) = synthetic_ban(w)
    fac = w.facilities
    rows = []
    for com in ban.commodities:
        others = fac[(fac["commodity"] == com) & (fac["country"] != ban.issuer)]
        rows.append(("*", com, others["facility"].iloc[0], 1.0, "test"))
    # Everyone orders both commodities from one producer outside the issuer.
    only_others = pd.DataFrame(rows, columns=["buyer", "commodity", "supplier", "weight", "source"])
    with pytest.raises(ValueError, match="would cut no trade flow"):
        synthetic_ban(w.replace(sourcing=only_others))
