"""Stock events: which stocks count as falling (regression for a hang found by hypothesis)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.stock_events import StockEvents


def test_a_flat_stock_with_negative_residue_inflow_is_not_falling() -> None:
    # Slot 0: slope 0 and an inflow of float residue just below 0 (-1.8e-15): before the
    # fix, slope < -1e-12 * inflow held (0 < 1.8e-27), the stock "fell" at 0 per day
    # and its run-out was predicted at -inf, so the event fired now, forever.
    # Slot 1 falls (slope -1 against inflow 2); slot 2 only by residue of its inflow.
    # Slot 3 has no inflow and a planned use of 5 a day (empty_below 5e-9): a slope of
    # -1e-17 is float residue of its use, not a stock that runs out.
    host = SimpleNamespace(
        slope=np.array([0.0, -1.0, -1e-13, -1e-17]),
        inflow=np.array([-1.8e-15, 2.0, 1.0, 0.0]),
        empty_below=np.array([0.0, 0.0, 0.0, 5e-9]),
    )
    assert StockEvents(host).falling().tolist() == [False, True, False, False]
