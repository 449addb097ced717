"""Response rules: allocation, ordering and substitution ramps, as small pure functions.

These say how the network reacts to scarcity. The engine calls them; a user can
pass another allocation rule to :func:`sim.engine.simulate`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: ``rule(available, requests, supplier) -> shipments``: ``available`` is the output a
#: supplier can ship (one entry per supplier index), ``requests`` the orders on each
#: link and ``supplier`` the supplier index of each link. A rule must never ship more
#: than a link requests nor more than a supplier has.
AllocationRule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def pro_rata(available: np.ndarray, requests: np.ndarray, supplier: np.ndarray) -> np.ndarray:
    """Allocate each supplier's output among its links in proportion to their orders.

    Examples
    --------
    >>> pro_rata(np.array([6.0]), np.array([4.0, 8.0]), np.array([0, 0]))
    array([2., 4.])
    """
    total = np.bincount(supplier, requests, minlength=len(available))
    ratio = np.divide(available, total, out=np.zeros_like(available), where=total > 0)
    return requests * np.minimum(ratio, 1.0)[supplier]


def order_rate(
    use: np.ndarray, position: np.ndarray, target_position: np.ndarray, adjust_days: float
) -> np.ndarray:
    """Order rate that covers use and closes the gap to the target inventory position.

    ``position`` is stock on hand plus stock in transit; ``target_position`` is the
    target stock plus the pipeline needed to cover transport. The gap closes over
    ``adjust_days`` days. Orders are never negative (no returns).
    """
    return np.maximum(use + (target_position - position) / adjust_days, 0.0)


def ramp_fraction(
    now: float, qualified_at: np.ndarray, ramp_days: np.ndarray, step_days: float
) -> np.ndarray:
    """Share of a redirected volume a newly qualified supplier takes at ``now``.

    The share rises linearly from 0 at qualification to 1 after ``ramp_days``,
    sampled at the start of each ``step_days`` step (a staircase under the line), and is
    0 before qualification (``qualified_at`` NaN or in the future).
    """
    elapsed = now - qualified_at
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        steps = np.floor(elapsed / step_days + 1e-9) * step_days
        frac = np.where(ramp_days > 0, steps / ramp_days, 1.0)
    # NaN (never qualified) compares False: share 0.
    return np.where(elapsed >= 0, np.clip(frac, 0.0, 1.0), 0.0)


def demand_factors(z: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """Turn standard normal draws into mean-one lognormal demand factors with the given CV."""
    sigma2 = np.log1p(cv**2)
    return np.exp(np.sqrt(sigma2) * z - sigma2 / 2)
