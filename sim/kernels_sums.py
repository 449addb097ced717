# mypy: disable-error-code="no-untyped-def"
"""Compiled sums and scans (numba) that need none of numpy's element rules.

:func:`_reduceat` is ``numpy.add.reduceat`` to the bit (numpy 2's pairwise sum), which
the trade sums of :mod:`sim.record` (:func:`group_sums`) and the order weights of
:mod:`sim.sourcing` use; :func:`group_column_sums` are the scope sums of
:mod:`sim.metrics` and :func:`epoch_totals` the run totals of :mod:`sim.record`;
:func:`lane_changes` and :func:`move_transit` are the
arithmetic of :class:`sim.lanes.Lanes` (:func:`advance_stocks` moves the run's stocks and
its lanes at once), :func:`arrival` and :func:`arrival_slopes` that
of an arrival (``sim.engine._Run.arrive``), :func:`finished_slopes` that of
:meth:`sim.finished.FinishedGoods.set_slope`, and :func:`add_at` is ``numpy.add.at``.
As in :mod:`sim.kernels` (which hands these out with its own), each line mirrors a
numpy call of its reference, in the same order of operations, and nothing is fused or
reordered (no ``fastmath``).

No function here calls one of another module: numba's cache keys a compiled function
by its own file only, so a caller cached in one file would keep a stale copy of a
callee changed in another. Keep ``_pairwise_sum`` (recursive) with its single caller,
``_reduceat_one``: numba's cache fails when two cached functions call it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.finished import EDGE_DAYS


@njit(cache=True)
def add_at(target, index, values):
    """``numpy.add.at(target, index, values)``: added one after another, in index order."""
    for i in range(len(index)):
        target[index[i]] += values[i]


@njit(cache=True)
def lane_changes(x, x_sent, lagged, lag_order, lag_starts, tolerance, floor):
    """sim.lanes.Lanes.send's arithmetic: the lagged links whose rate changed, by lag.

    Sets ``x_sent`` of the changed links to ``x`` and returns them sorted by lane days
    (``lag_order``), their rates, and per lag group with a change its first and last
    position in that order and its index in ``lag_starts``.
    """
    nl = len(x)
    changed = np.zeros(nl, dtype=np.bool_)
    count = 0
    for i in range(nl):
        limit = tolerance * (abs(x[i]) + abs(x_sent[i])) + floor
        if abs(x[i] - x_sent[i]) > limit and lagged[i]:
            changed[i] = True
            x_sent[i] = x[i]
            count += 1
    links = np.empty(count, dtype=np.int64)
    values = np.empty(count)
    n_groups = len(lag_starts)
    first = np.empty(n_groups, dtype=np.int64)
    last = np.empty(n_groups, dtype=np.int64)
    group = np.empty(n_groups, dtype=np.int64)
    k = 0
    g_out = 0
    for g in range(n_groups):
        stop = lag_starts[g + 1] if g + 1 < n_groups else len(lag_order)
        start_k = k
        for j in range(lag_starts[g], stop):
            li = lag_order[j]
            if changed[li]:
                links[k] = li
                values[k] = x[li]
                k += 1
        if k > start_k:
            first[g_out], last[g_out], group[g_out] = start_k, k, g
            g_out += 1
    return links, values, first[:g_out], last[:g_out], group[:g_out]


@njit(cache=True)
def move_transit(transit, x, arr, days):
    """``transit += (x - arr) * days``, element by element (sim.lanes.Lanes.advance)."""
    for i in range(len(transit)):
        transit[i] += (x[i] - arr[i]) * days


@njit(cache=True)
def advance_stocks(s, slope, days, rounding, transit, x, arr):
    """sim.engine._Run.advance's arithmetic: stocks and lanes moved on by ``days``.

    Returns ``s + slope * days`` with each negative stock (float residue) added to
    ``rounding`` and set to 0, and moves the lanes as :func:`move_transit` does.
    """
    out = np.empty(len(s))
    for i in range(len(s)):
        value = s[i] + slope[i] * days
        if value < 0.0:
            rounding[i] += value
            value = 0.0
        out[i] = value
    for i in range(len(transit)):
        transit[i] += (x[i] - arr[i]) * days
    return out


@njit(cache=True)
def _pairwise_sum(a, lo, n):
    """Sum ``a[lo:lo + n]`` pairwise, as numpy 2 does (its ``pairwise_sum``, blocks of 128)."""
    if n < 8:
        res = -0.0  # as numpy: the sum of negative zeros is -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        while i < n - (n % 8):
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a, lo, n2) + _pairwise_sum(a, lo + n2, n - n2)


@njit(cache=True)
def _reduceat_one(a, lo, hi):
    """``numpy.add.reduceat(a, starts)`` of one segment ``[lo, hi)``, as numpy sums it.

    The first element plus the pairwise sum of the rest; an empty segment (``hi <=
    lo``) is ``a[lo]``, as numpy has it.
    """
    total = a[lo]
    if hi - lo > 1:
        total += _pairwise_sum(a, lo + 1, hi - lo - 1)
    return total


@njit(cache=True)
def _reduceat(a, starts):
    """``numpy.add.reduceat(a, starts)`` for ``starts`` below ``len(a)``."""
    out = np.empty(len(starts))
    for g in range(len(starts)):
        hi = starts[g + 1] if g + 1 < len(starts) else len(a)
        out[g] = _reduceat_one(a, starts[g], hi)
    return out


@njit(cache=True)
def group_sums(x, order, first):
    """``numpy.add.reduceat(x[order], first)`` for increasing ``first`` (sim.record's trade)."""
    return _reduceat(x[order], first)


@njit(cache=True)
def order_weights(link_weight, availability, link_sup, nameplate, starts, link_slot, link_days):
    """sim.sourcing.Sourcing.order_weights' arithmetic: weights per link, lead per slot."""
    nl = len(link_weight)
    weight = np.empty(nl)
    for i in range(nl):
        weight[i] = link_weight[i] * availability[link_sup[i]]
    wsum = _reduceat(weight, starts)
    for i in range(nl):
        if wsum[link_slot[i]] <= 0:  # no weighted supplier available: by capacity
            weight[i] = nameplate[link_sup[i]] * availability[link_sup[i]]
    wsum = _reduceat(weight, starts)
    w = np.zeros(nl)
    for i in range(nl):
        total = wsum[link_slot[i]]
        if total > 0:
            w[i] = weight[i] / total
    timed = np.empty(nl)
    for i in range(nl):
        timed[i] = w[i] * link_days[i]
    return w, _reduceat(timed, starts)


@njit(cache=True)
def order_weights_since(
    w_prev, lead_prev, availability_prev, link_weight, availability, link_sup, nameplate, starts,
    link_slot, link_days,
):  # fmt: skip
    """:func:`order_weights` again, from its result for ``availability_prev``.

    A slot's weights and lead depend on its suppliers' availability only, so only the
    slots with a supplier whose availability changed (NaN counts as changed) are summed
    again, each as :func:`order_weights` sums it. A slot without links has, as numpy's
    ``reduceat`` gives it, the element at its start: the next slot's first link.
    """
    nl, m = len(link_weight), len(starts)
    changed = np.zeros(len(availability), dtype=np.bool_)
    for f in range(len(availability)):
        changed[f] = not (availability[f] == availability_prev[f])
    hit = np.zeros(m, dtype=np.bool_)
    for i in range(nl):
        if changed[link_sup[i]]:
            hit[link_slot[i]] = True
    w, lead = w_prev.copy(), lead_prev.copy()
    for g in range(m):
        lo = starts[g]
        hi = starts[g + 1] if g + 1 < m else nl
        if not hit[g] or hi <= lo:
            continue
        weight = np.empty(hi - lo)
        for i in range(lo, hi):
            weight[i - lo] = link_weight[i] * availability[link_sup[i]]
        total = _reduceat_one(weight, 0, hi - lo)
        if total <= 0:  # no weighted supplier available: by capacity
            for i in range(lo, hi):
                weight[i - lo] = nameplate[link_sup[i]] * availability[link_sup[i]]
            total = _reduceat_one(weight, 0, hi - lo)
        timed = np.empty(hi - lo)
        for i in range(lo, hi):
            w[i] = weight[i - lo] / total if total > 0 else 0.0
            timed[i - lo] = w[i] * link_days[i]
        lead[g] = _reduceat_one(timed, 0, hi - lo)
    for g in range(m):
        lo = starts[g]
        hi = starts[g + 1] if g + 1 < m else nl
        if hi <= lo:
            lead[g] = w[lo] * link_days[lo]
    return w, lead


@njit(cache=True)
def group_column_sums(values, members, starts, weights):
    """Per group of columns, each row's sum as numpy has ``(values[:, idx] * w).sum(axis=1)``.

    ``values`` is (rows, columns) and group ``g`` the columns ``members[starts[g]:
    starts[g + 1]]``, each multiplied by ``weights`` at the same position (not at all if
    ``weights`` is empty). numpy gathers ``values[:, idx]`` column by column (Fortran
    order) and so sums each row by adding the columns one after another, from 0.0; so
    does this (sim.metrics' scope sums). Returns (groups, rows): its transpose is the
    (rows, groups) array with each group's rows contiguous, as the metrics sum them.
    """
    rows = values.shape[0]
    ng = len(starts) - 1
    weighted = len(weights) > 0
    out = np.empty((ng, rows))
    for r in range(rows):
        for g in range(ng):
            acc = 0.0
            for i in range(starts[g], starts[g + 1]):
                v = values[r, members[i]]
                acc += v * weights[i] if weighted else v
            out[g, r] = acc
    return out


@njit(cache=True)
def epoch_totals(durations, rates):
    """sim.record.epoch_totals: ``numpy.cumsum(durations[:, None] * rates, axis=0)[-1]``.

    The running sum down the epochs from the first term (as ``cumsum``), row by row.
    """
    n_epochs, k = rates.shape
    out = np.zeros(k)
    for e in range(n_epochs):
        d = durations[e]
        for j in range(k):
            v = d * rates[e, j]
            out[j] = v if e == 0 else out[j] + v
    return out


@njit(cache=True)
def finished_slopes(output, sold, stock, storage, rate0, joint, fac):
    """sim.finished.FinishedGoods.set_slope: each stock's slope, and the unsold rate.

    A full joint product's stock stops rising: what it would add is unsold.
    """
    slope = np.zeros(len(output))
    unsold = np.zeros(len(output))
    for i in range(len(fac)):
        f = fac[i]
        rise = output[f] - sold[f]
        full = stock[f] >= storage[f] - EDGE_DAYS * rate0[f]
        if full and rise > 0 and joint[f]:
            unsold[f] = rise
            rise = 0.0
        slope[f] = rise
    return slope, unsold


@njit(cache=True)
def arrival(
    links, values, link_slot, arr, inflow, inflow_unrestricted, unrestricted, s, empty_below
):
    """sim.engine._Run.arrive's arithmetic: rate changes reaching the buyers' slots.

    Returns the receiving slots, the new inflow per slot (a copy: logged epochs keep the
    old array) and whether a receiving stock is empty; adds the changes from suppliers
    never restricted to ``inflow_unrestricted`` and sets ``arr`` to ``values``, in place.
    """
    k = len(links)
    slots = np.empty(k, dtype=np.int64)
    change = np.empty(k)
    for i in range(k):
        slots[i] = link_slot[links[i]]
        change[i] = values[i] - arr[links[i]]
    new_inflow = inflow.copy()
    for i in range(k):  # numpy.add.at: one after another, in index order
        new_inflow[slots[i]] += change[i]
    for i in range(k):
        inflow_unrestricted[slots[i]] += change[i] * unrestricted[links[i]]
    for i in range(k):
        arr[links[i]] = values[i]
    any_empty = False
    for i in range(k):
        any_empty = any_empty or s[slots[i]] <= empty_below[slots[i]]
    return slots, new_inflow, any_empty


@njit(cache=True)
def arrival_slopes(slope, inflow, use, slots):
    """Stock slopes after an arrival that leaves production as it was, as a new array."""
    out = slope.copy()
    for i in range(len(slots)):
        out[slots[i]] = inflow[slots[i]] - use[slots[i]]
    return out
