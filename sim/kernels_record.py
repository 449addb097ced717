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


@njit(cache=True, inline="always")
def _put(into, at, values) -> int:
    """Copy ``values`` into ``into`` from position ``at``; return the position after."""
    for j in range(len(values)):
        into[at + j] = values[j]
    return at + len(values)


@njit(cache=True)
def log_epoch(
    write, t, end, first, rates, acc, prev, out, levels, slopes, level_out,
    p, delivered, inflow, minus, supply_unrestricted, use, release, trade,
    s, installed, slope, installed_slope,
):  # fmt: skip
    """End the epoch in force at ``end`` (if ``write``), then copy in the one from ``end``.

    With ``write``, :func:`record_epoch` writes the epoch ``[t, end)`` (not the last).
    The new epoch's rates are laid out as :class:`sim.record.EpochLog` lays out its
    columns: ``p, delivered, supply, supply_unrestricted, use, release, trade``, where
    supply is ``inflow - minus`` (the engine's inflow less its stockpile releases, or a
    supply given less zeros, which is the supply to the bit), its levels ``s,
    installed`` and their slopes ``slope, installed_slope``. Returns False, having
    written nothing, if the arrays' widths are not the buffers' (the log's layout is
    not this epoch's).
    """
    width = len(p) + len(delivered) + 2 * len(inflow) + len(use) + len(release) + len(trade)
    if (
        len(minus) != len(inflow)
        or len(supply_unrestricted) != len(inflow)
        or width != len(rates)
        or len(s) + len(installed) != len(levels)
        or len(slope) != len(s)
        or len(installed_slope) != len(installed)
    ):
        return False
    if write:
        record_epoch(t, end, first, False, rates, acc, prev, out, levels, slopes, level_out)
    at = _put(rates, 0, p)
    at = _put(rates, at, delivered)
    for j in range(len(inflow)):
        rates[at + j] = inflow[j] - minus[j]
    at += len(inflow)
    at = _put(rates, at, supply_unrestricted)
    at = _put(rates, at, use)
    at = _put(rates, at, release)
    _put(rates, at, trade)
    _put(levels, _put(levels, 0, s), installed)
    _put(slopes, _put(slopes, 0, slope), installed_slope)
    return True
