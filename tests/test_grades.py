"""Grades: a buyer cut off from one grade moves part of its output to another."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.metrics import compute_metrics, material_balance
from sim.pair import simulate_pair
from sim.world import World
from tests.worlds import SRC, ore_ban, supplier_consumer_tables

START = "2025-01-01"


def grade_world(share: float, cover: float = 0.0, penalty: float = 0.0) -> World:
    """A Dy-grade magnet maker in CHN, a low-Dy maker in the USA, a US user of magnets.

    The user (10 units a day, 1 t of either grade per unit) is designed for the Dy
    grade; ``share`` of its output can be redesigned to the low-Dy grade after 30 days
    of qualification (``substitute_max_share``).
    """
    t = supplier_consumer_tables(demand_per_day=10.0, cover_days=cover)
    t["commodities"] = pd.DataFrame(
        {
            "commodity": ["ore", "low_dy", "widget"],
            "unit": ["t", "t", "unit"],
            "qualification_days": [30.0, 30.0, 0.0],
            "substitution_ramp_days": [0.0, 0.0, 0.0],
            "source": SRC,
        }
    )
    fac = t["facilities"]
    alt = pd.DataFrame(
        {
            "facility": ["alt"],
            "type": ["mine"],
            "country": ["USA"],
            "commodity": ["low_dy"],
            "capacity_per_year": [100.0 * 365],
            "source": [SRC],
        }
    )
    t["facilities"] = pd.concat([fac, alt], ignore_index=True)
    t["recipes"] = t["recipes"].assign(
        substitute_input="low_dy",
        substitute_quantity_per_unit=1.0,
        substitute_output_penalty_share=penalty,
        substitute_qualification_days=30.0,
        substitute_max_share=share,
    )
    return World.from_tables(**t)


ban = ore_ban


@pytest.mark.parametrize(
    ("share", "expected"), [(0.4, 300 + 70 * 6.0), (1.0, 300.0), (0.0, 1000.0)]
)
def test_cut_off_buyer_moves_its_design_share_and_loses_the_rest(
    share: float, expected: float
) -> None:
    # No stock, no lane. Ban on the Dy grade from day 10 for 100 days. Days 10-39: the
    # low-Dy grade is not yet qualified and no other Dy supplier exists: output 0, a loss
    # of 10 a day (300). From day 40 the flexible share s of the planned output (10) runs
    # on low-Dy, bought at once from the US maker: output 10 s, a loss of 10 (1 - s) a
    # day for 70 days. From day 110 the Dy grade is back: full output. Loss =
    # 300 + 700 (1 - s): s = 0.4 -> 720; s = 1 -> 300; s = 0 -> 1000.
    actual, baseline = simulate_pair(
        grade_world(share), [ban(10, 100)], start=START, horizon_days=200, seed=1
    )
    out = actual.output[:, 1]
    assert out[10:40] == pytest.approx(0.0, abs=1e-9)
    assert out[40:110] == pytest.approx(10.0 * share, rel=1e-9, abs=1e-9)
    assert out[110:] == pytest.approx(10.0, rel=1e-9)
    m = compute_metrics(actual, baseline, by=("facility",))
    loss = m.query("scope == 'con' and metric == 'output_loss'")["value"].iloc[0]
    assert loss == pytest.approx(expected, rel=1e-9)
    # While switched the low-Dy grade supplies exactly the design share.
    assert actual.consumption[40:110, 1] == pytest.approx(10.0 * share, rel=1e-9, abs=1e-9)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)


def test_original_stock_serves_the_rigid_share_first() -> None:
    # With 20 days of Dy-grade stock (200 t) and s = 0.4: days 10-29 the stock covers
    # full output; it is empty on day 30, so days 30-39 lose 10 a day (100). From day
    # 40 low-Dy serves 4 a day: loss 6 a day until day 110 (420). Total 520.
    actual, baseline = simulate_pair(
        grade_world(0.4, cover=20.0), [ban(10, 100)], start=START, horizon_days=200, seed=1
    )
    out = actual.output[:, 1]
    assert out[10:30] == pytest.approx(10.0, rel=1e-9)
    assert out[30:40] == pytest.approx(0.0, abs=1e-9)
    assert out[40:110] == pytest.approx(4.0, rel=1e-9)
    loss = (baseline.output[:, 1] - out).clip(min=0).sum()
    assert loss == pytest.approx(520.0, rel=1e-9)
