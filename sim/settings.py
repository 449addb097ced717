"""Engine settings that are not part of the world or the events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.distributions import Distribution


@dataclass(frozen=True)
class Settings:
    """Engine settings that are not part of the world or the events.

    Parameters
    ----------
    review_days : float
        Days between ordering reviews (demand noise and growth, capacity ramps and
        orders are updated at reviews and at events).
    stock_adjust_days : float
        Days over which an ordering gap to the target inventory position is closed.
    ramp_step_days : float
        Step of the substitution ramp staircase, in days.
    qualification_days : mapping of commodity -> float or Distribution
        Overrides of the commodities table's qualification lead times; a
        distribution is drawn once per buyer slot when it is cut off.
    substitution_ramp_days : mapping of commodity -> float
        Overrides of the commodities table's substitution ramp lengths.
    record_trade : bool
        Also record daily shipments by origin country, destination country and
        commodity (``RunRecord.trade``); off by default (it costs time and memory).
    """

    review_days: float = 7.0
    stock_adjust_days: float = 21.0
    ramp_step_days: float = 1.0
    qualification_days: Mapping[str, float | Distribution] = field(default_factory=dict)
    substitution_ramp_days: Mapping[str, float] = field(default_factory=dict)
    record_trade: bool = False
