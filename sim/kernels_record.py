# mypy: disable-error-code="no-untyped-def"
"""Compiled record of a run kept as it runs (numba): one epoch into the daily series.

:func:`record_epoch` is what :func:`sim.record.daily_integral`, :func:`sim.record.
epoch_totals` and :func:`sim.record.end_of_day` do with one epoch's row, run when the
epoch ends (:class:`sim.record.EpochLog` with the compiled loops): the day bounds in
force during the epoch are read, then the epoch is added to the running integral. Every
operation is the reference's, in its order, so the series are the same to the bit
without the (epochs, K) arrays. As in :mod:`sim.kernels_sums`, nothing here calls a
compiled function of another module (numba's cache keys a function by its own file).
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def _clip_at_zero(value: float) -> float:
    """``numpy.maximum(value, 0.0)``: a NaN stays NaN; of two zeros, the second wins."""
    return value if (value > 0.0 or value != value) else 0.0


@njit(cache=True)
def record_epoch(t, end, first, last, rates, acc, prev, out, levels, slopes, level_out):
    """Write the days of the epoch ``[t, end)`` and add the epoch to the integral.

    ``rates`` (K,) are in force over the epoch; ``acc`` (K,) is the integral up to its
    start (the reference's ``cum``, a running sum from the first epoch's term) and
    ``prev`` the integral at the last day bound read. Each day bound ``b`` in force
    (``t <= b < end``; from 0 for the first epoch, to the horizon for the last)
    gives day ``b``'s amount ``out[b - 1]`` (clipped at 0, as the reference) and, from
    ``levels`` and ``slopes`` (J,), the level at the end of day ``b``, ``level_out[b -
    1]`` (clipped at 0). ``acc`` then adds ``rates * (end - t)``: after the last epoch
    (``end`` the horizon) it is the run total of each column (``epoch_totals``).
    """
    horizon = out.shape[0]
    k = len(rates)
    lo = 0 if first else int(math.ceil(t))
    hi = horizon if last else min(int(math.ceil(end)) - 1, horizon)
    for b in range(lo, hi + 1):
        into = float(b) - t
        for j in range(k):
            value = acc[j] + rates[j] * into
            if b > 0:
                out[b - 1, j] = _clip_at_zero(value - prev[j])
            prev[j] = value
        if b > 0:
            for j in range(len(levels)):
                level_out[b - 1, j] = _clip_at_zero(levels[j] + slopes[j] * into)
    duration = end - t
    for j in range(k):
        acc[j] = rates[j] * duration if first else acc[j] + rates[j] * duration
