"""Make to stock: a mine keeps producing into its finished-goods stock when orders pause."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine import Settings
from sim.events import FacilityOutage, Selector
from sim.metrics import material_balance
from sim.pair import simulate_pair
from sim.world import World
from tests.worlds import SRC, supplier_consumer_tables

START = "2025-01-01"
D = 10.0  # consumer demand, units/day (1 t ore per unit)


def mts_world(target: float = 10.0, storage: float = 40.0, smoothing: float = 1e12) -> World:
    t = supplier_consumer_tables(demand_per_day=D, cover_days=20)
    t["finished_goods"] = pd.DataFrame(
        {
            "facility_type": ["mine"],
            "target_days": [target],
            "storage_days": [storage],
            "smoothing_days": [smoothing],
            "source": [SRC],
        }
    )
    return World.from_tables(**t)


def pause(start: float, days: float) -> FacilityOutage:
    """The buyer stops (and so stops ordering) for ``days`` days."""
    return FacilityOutage(
        select=Selector(facilities=("con",)), capacity_factor=0.0, start=start, duration_days=days
    )


def test_mine_fills_its_storage_then_runs_at_what_it_sells() -> None:
    # Mine output r = 10 t/day; target F* = 10 days = 100 t, storage 40 days = 400 t.
    # A plan that does not follow the pause (smoothing 1e12 days) and no stock
    # correction (adjust 1e12 days): from day 50 the buyer orders nothing, the mine keeps
    # producing 10 t/day, and its stock fills 400 - 100 = 300 t in 30 days (day 80);
    # from then on it produces what it sells: 0 until the buyer returns on day 110, then
    # 10 t/day again, served from a full stock; the buyer never misses an order.
    settings = Settings(review_days=7.0, stock_adjust_days=1e12)
    actual, baseline = simulate_pair(
        mts_world(), [pause(50, 60)], start=START, horizon_days=200, seed=1, settings=settings
    )
    mine = actual.output[:, 0]
    assert mine[:80] == pytest.approx(D, rel=1e-9)
    assert mine[80:110] == pytest.approx(0.0, abs=1e-9)
    assert mine[110:] == pytest.approx(D, rel=1e-6)
    assert actual.output[110:, 1] == pytest.approx(D, rel=1e-9)
    assert actual.balance["finished_initial"][0] == pytest.approx(100.0)
    assert actual.balance["finished_final"][0] == pytest.approx(400.0, rel=1e-6)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)


def test_make_to_order_mine_stops_at_once() -> None:
    # The same mine without a finished_goods row makes to order: it stops on day 50.
    t = supplier_consumer_tables(demand_per_day=D, cover_days=20)
    actual, _ = simulate_pair(
        World.from_tables(**t), [pause(50, 60)], start=START, horizon_days=200, seed=1
    )
    assert actual.output[50:110, 0] == pytest.approx(0.0, abs=1e-9)


def test_smoothed_plan_slows_down_and_drains_the_stock_afterwards() -> None:
    # With the default settings (review 7 days, adjust 21) and a 90-day smoothing time,
    # the mine keeps producing through the first weeks of the pause, each week less
    # (its plan follows the orders down, its stock is above target); once orders return
    # it produces less than it sells until the stock is back near its target.
    actual, _ = simulate_pair(
        mts_world(smoothing=90.0), [pause(50, 60)], start=START, horizon_days=400, seed=1
    )
    mine = actual.output[:, 0]
    assert (mine[50:57] > 0.5 * D).all()
    assert np.all(np.diff(mine[50:78:7]) < 0)
    assert actual.balance["finished_final"][0] == pytest.approx(100.0, rel=0.05)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)
