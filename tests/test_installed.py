"""Installed capacity (durable inputs): closed forms worked out by hand in comments."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine import Settings
from sim.metrics import compute_metrics, material_balance
from sim.pair import simulate_pair
from sim.world import World
from tests.worlds import ore_ban, supplier_consumer_tables

START = "2025-01-01"
D_MW = 100.0  # data-center demand, MW (output MW_day per day)
A = 0.5  # accelerators installed per MW
LIFE = 200.0  # service life, days
ADJUST = 21.0  # stock-adjustment days (Settings default)


def dc_world(growth: float = 0.0, lag: float = 0.0, cover: float = 0.0) -> World:
    """A chip fab in CHN and a US data center whose accelerators are installed capital.

    The data center holds K = A x D_MW accelerators at the start (exact fit: capacity
    K / A = demand), retires K / LIFE a day and keeps ``cover`` days of replacements
    in stock.
    """
    t = supplier_consumer_tables(demand_per_day=D_MW, cover_days=cover)
    t["recipes"] = t["recipes"].assign(
        quantity_per_unit=A, durable=True, service_life_days=LIFE, installation_days=lag
    )
    t["demand"] = t["demand"].assign(growth_per_year_share=growth)
    return World.from_tables(**t)


ban = ore_ban


def run(world: World, events, horizon: int = 400):  # type: ignore[no-untyped-def]
    return simulate_pair(
        world,
        events,
        start=START,
        horizon_days=horizon,
        seed=1,
        settings=Settings(review_days=1.0),
    )


def test_steady_state_keeps_the_base_and_orders_replacements() -> None:
    # Without a shock K stays A x D = 50 and the data center installs (and its
    # supplier ships) the retirements K / LIFE = 0.25 accelerators a day.
    actual, _ = run(dc_world(), [])
    assert actual.installed[:, 0] == pytest.approx(A * D_MW, rel=1e-12)
    assert actual.output[:, 1] == pytest.approx(D_MW, rel=1e-12)
    assert actual.consumption[:, 0] == pytest.approx(A * D_MW / LIFE, rel=1e-12)
    assert actual.output[:, 0] == pytest.approx(A * D_MW / LIFE, rel=1e-12)


@pytest.mark.parametrize("ban_days", [30, 90])
def test_ban_on_a_durable_input_follows_the_retirement_curve(ban_days: int) -> None:
    # Review every day; no stock of accelerators; ban from day 50 for D days.
    # During the ban nothing is installed and the base retires K / LIFE a day,
    # reassessed each day: K_j = K0 (1 - 1/LIFE)^j, so on ban day j output is
    # D_MW (1 - 1/LIFE)^j and the loss over the ban is
    #   sum_{j<D} D_MW (1 - (1 - 1/LIFE)^j) = D_MW (D - LIFE (1 - (1 - 1/LIFE)^D)).
    # After the ban the gap g0 = D_MW (1 - (1 - 1/LIFE)^D) (in MW) closes by 1/ADJUST a
    # day (need = retirements + gap / ADJUST): the loss after it over the N days left
    # is g0 ADJUST (1 - (1 - 1/ADJUST)^N).
    horizon, start = 400, 50
    actual, baseline = run(dc_world(), [ban(start, ban_days)], horizon)
    r = 1 - 1 / LIFE
    j = np.arange(ban_days)
    assert actual.output[start : start + ban_days, 1] == pytest.approx(D_MW * r**j, rel=1e-12)
    during = D_MW * (ban_days - LIFE * (1 - r**ban_days))
    g0 = D_MW * (1 - r**ban_days)
    n_left = horizon - start - ban_days
    after = g0 * ADJUST * (1 - (1 - 1 / ADJUST) ** n_left)
    m = compute_metrics(actual, baseline, by=("facility",))
    m = m[(m["scope"] == "con") & (m["commodity"] == "widget")].set_index("metric")["value"]
    assert m["output_loss"] == pytest.approx(during + after, rel=1e-9)
    assert m["installed_shortfall_share"] == pytest.approx(1 - r**ban_days, rel=1e-9)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)


def test_growth_forgone_adds_to_the_loss() -> None:
    # Demand grows at G a year: W_j = D_MW (1 + G)^(t_j / 365). Before the ban the base
    # tracks the target A W (need = retirements + A W g + gap / ADJUST, g = ln(1+G)/365).
    # During the ban the base only retires, so the loss on ban day j is
    # W_j - K_s (1 - 1/LIFE)^j / A, which is the constant-demand loss plus the growth
    # forgone W_j - W_s (up to the base's daily tracking error, below 1e-6 of W).
    growth, start, days = 0.3, 50, 60
    grown, grown_base = run(dc_world(growth=growth), [ban(start, days)])
    flat, flat_base = run(dc_world(), [ban(start, days)])
    sl = slice(start, start + days)
    loss_grown = (grown_base.output[sl, 1] - grown.output[sl, 1]).sum()
    loss_flat = (flat_base.output[sl, 1] - flat.output[sl, 1]).sum()
    w = grown_base.output[sl, 1]
    k_s = grown.installed[start - 1, 0]
    r = 1 - 1 / LIFE
    expected = (w - k_s * r ** np.arange(days) / A).sum()
    assert loss_grown == pytest.approx(expected, rel=1e-6)
    forgone = (w - w[0]).sum()
    assert loss_grown == pytest.approx(loss_flat * w[0] / D_MW + forgone, rel=1e-5)
    assert forgone > 0.1 * loss_grown


def test_installation_lag_and_stock_delay_the_fall() -> None:
    # With 30 days of replacements in stock the ban of 20 days installs from stock:
    # no loss. With an installation lag, the base is A x D at the start and the
    # pipeline holds LIFE-rate x lag units.
    actual, baseline = run(dc_world(cover=30.0, lag=10.0), [ban(50, 20)])
    assert (baseline.output[:, 1] - actual.output[:, 1]).max() == pytest.approx(0.0, abs=1e-9)
    assert actual.installed[:, 0].min() == pytest.approx(A * D_MW, rel=1e-9)
    assert actual.balance["pipeline_initial"][0] == pytest.approx(A * D_MW / LIFE * 10.0)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)
