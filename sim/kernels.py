# mypy: disable-error-code="no-untyped-def"
"""Compiled loops (numba): the two passes' level loops and the per-event scans.

:func:`plan_levels` is :func:`sim.passes.plan_numpy` and :func:`settle_levels` is
:func:`sim.passes.settle_numpy`, level by level; :func:`stock_out` is the arithmetic of
:class:`sim.stock_events.StockEvents`, :func:`dated_capacity` that of
:class:`sim.network.Network`'s dated capacity, :func:`daily_integral` that of
:mod:`sim.record`, and the ``finished_*``, ``installed_*`` and :func:`ramp_shares` loops
that of make to stock, installed bases and qualified suppliers' ramps. The sums and
scans that need none of numpy's element rules live in :mod:`sim.kernels_sums` and are
handed out with these (this module is what :func:`sim.passes.compiled` returns).
Each line mirrors a numpy call of its reference, in the same order of operations, so
that the results are the same to the last bit: sums run in index order from 0.0 (as
``numpy.bincount`` does), ``_maximum`` and ``_minimum`` are numpy's element rules
(NaN propagates, and on a tie the second argument wins, which decides the sign of a
zero: ``numpy.maximum(-0.0, 0.0)`` is 0.0 and ``numpy.maximum(0.0, -0.0)`` is -0.0,
in array, reduce and ``at`` calls alike), and nothing is fused or reordered (no
``fastmath``). Compiled once and cached beside this file; arguments are untyped,
as numba types them from the arrays of the first call. No function here calls one of
:mod:`sim.kernels_sums` (see there why).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.controls import ALLOW_TOLERANCE
from sim.finished import EDGE_DAYS
from sim.kernels_record import log_epoch, record_epoch  # noqa: F401 (handed out with these loops)
from sim.kernels_sums import (  # noqa: F401 (handed out with these loops: sim.passes.compiled)
    add_at,
    advance_stocks,
    arrival,
    arrival_slopes,
    epoch_totals,
    finished_slopes,
    group_column_sums,
    group_sums,
    lane_changes,
    move_transit,
    order_weights,
    order_weights_since,
)
from sim.substitution import SPARE_TOLERANCE


@njit(cache=True, inline="always")
def _maximum(a: float, b: float) -> float:
    return a if (a > b or a != a) else b


@njit(cache=True, inline="always")
def _minimum(a: float, b: float) -> float:
    return a if (a < b or a != a) else b


@njit(cache=True)
def plan_levels(  # one argument per array of state it reads
    link_start,
    prod_start,
    pslot_start,
    links,
    link_slot,
    link_sup,
    prods,
    pslots,
    pslot_fac,
    pslot_cover,
    n,
    m,
    nl,
    now,
    adjust_days,
    w,
    rho,
    lead,
    transit_slot,
    final,
    cap,
    cap_nominal,
    coef,
    s,
    front,
    restricting,
    allow_all,
    hold_until,
    allow_held,
    qual_start,
    redirect_day,
    redirect_lane_days,
    link_days,
    has_joint,
    joint_parent,
    joint_ratio,
    has_fin,
    fin_mask,
    fin_started,
    fin_joint,
    fin_planned_at,
    fin_rate,
    fin_smoothing,
    fin_target,
    fin_stock,
    has_inst,
    inst_mask,
    inst_position,
    inst_q,
    inst_lag,
    inst_fac,
    growth,
    inst_base,
    inst_life,
    inst_retire,
    inst_pipeline,
    inst_need,
):
    """Return orders per link, desired output per facility, orders per slot, cut-offs.

    The last is, per slot, the level at which it was just cut off (-1: not cut off).
    """
    slot_orders = np.zeros(m)
    orders = np.zeros(nl)
    desired = np.zeros(n)
    want = np.zeros(n)
    joint_need = np.zeros(n)
    cut_level = np.full(m, -1, dtype=np.int64)
    req_total = np.zeros(n)
    blocked = np.zeros(m)
    n_open = np.zeros(m, dtype=np.int64)
    redirect = np.zeros(m)
    sw_sum = np.zeros(m)
    sent = np.zeros(m)
    sent_days = np.zeros(m)
    req = np.zeros(n)
    spare = np.zeros(n)
    total = np.zeros(n)
    scale = np.ones(n)
    hit = np.zeros(m, dtype=np.bool_)  # per slot: a link restricted or held (reset per level)
    for lv in range(len(link_start) - 1):
        a, b = link_start[lv], link_start[lv + 1]
        nk = b - a
        pa, pb = prod_start[lv], prod_start[lv + 1]
        for i in range(pa, pb):  # every supplier of the level's links is a producer of it
            req_total[prods[i]] = 0.0
        if not (restricting and nk > 0):  # the orders as placed, in one pass
            for i in range(nk):
                li = links[a + i]
                order = w[li] * slot_orders[link_slot[a + i]]
                orders[li] = order
                req_total[link_sup[a + i]] += order
        else:
            _restricted_orders(
                lv, a, nk, links, link_slot, link_sup, w, allow_all, hold_until, allow_held,
                slot_orders, rho, qual_start, cut_level, cap, final, n, now, redirect_day,
                redirect_lane_days, link_days, blocked, n_open, redirect, sw_sum, sent,
                sent_days, req, spare, total, scale, hit, orders, req_total,
            )  # fmt: skip
        asked = np.empty(pb - pa)
        for i in range(pb - pa):
            f = prods[pa + i]
            asked[i] = final[f] + req_total[f]
        if has_joint:  # sim.joint.joint_asked
            for i in range(pb - pa):
                f = prods[pa + i]
                parent = joint_parent[f]
                if parent >= 0:
                    ratio = joint_ratio[f]
                    own = asked[i] / ratio if ratio > 0 else 0.0
                    joint_need[parent] = _maximum(joint_need[parent], own)
            for i in range(pb - pa):
                asked[i] = _maximum(asked[i], joint_need[prods[pa + i]])
        for i in range(pb - pa):
            f = prods[pa + i]
            plan = asked[i]
            if has_fin and fin_mask[f] and fin_started[f] and not fin_joint[f]:
                # sim.finished.FinishedGoods.desired
                step = now - fin_planned_at[f]
                weight = _minimum(1.0, step / fin_smoothing[f]) if fin_smoothing[f] > 0 else 1.0
                fin_rate[f] += (asked[i] - fin_rate[f]) * weight
                fin_planned_at[f] = now
                gap = (fin_target[f] - fin_stock[f]) / adjust_days
                plan = _maximum(fin_rate[f] + gap, 0.0)
            desired[f] = _minimum(cap[f], plan)
        sa, sb = pslot_start[lv], pslot_start[lv + 1]
        durable = False
        if has_inst:
            for i in range(sa, sb):
                durable = durable or inst_mask[pslots[i]]
        if durable:
            for i in range(pb - pa):
                f = prods[pa + i]
                want[f] = _minimum(cap_nominal[f], asked[i])
        for i in range(sa, sb):
            mi = pslots[i]
            use = coef[mi] * desired[pslot_fac[i]]
            if durable and inst_mask[mi]:  # sim.installed.InstalledBase.plan
                j = inst_position[mi]
                q, lag = inst_q[j], inst_lag[j]
                wf = want[inst_fac[j]]
                g = growth[inst_fac[j]]
                target = q * wf * (1.0 + g * lag)
                retire = inst_base[j] / inst_life[j]
                inst_retire[j] = retire
                grow = q * wf * g
                gap = target + (retire + grow) * lag - inst_base[j] - inst_pipeline[j]
                use = _maximum(retire + grow + gap / adjust_days, 0.0)
                inst_need[j] = use
            cover = pslot_cover[i] * front[mi] + lead[mi]
            position = s[mi] + transit_slot[mi]
            slot_orders[mi] = _maximum(use + (use * cover - position) / adjust_days, 0.0)
    return orders, desired, slot_orders, cut_level


@njit(cache=True)
def _restricted_orders(
    lv, a, nk, links, link_slot, link_sup, w, allow_all, hold_until, allow_held, slot_orders,
    rho, qual_start, cut_level, cap, final, n, now, redirect_day, redirect_lane_days,
    link_days, blocked, n_open, redirect, sw_sum, sent, sent_days, req, spare, total, scale,
    hit, orders, req_total,
):  # fmt: skip
    """Set the orders of the links ``a:a+nk`` with a control in force; sum them per supplier.

    Orders as placed, redirected (:func:`_redirect`) on the slots with a link restricted
    or held; written into ``orders`` and added into ``req_total``.
    """
    regular = np.empty(nk)
    for i in range(nk):
        li = links[a + i]
        regular[i] = w[li] * slot_orders[link_slot[a + i]]
    allow = np.empty(nk)
    held = np.zeros(nk, dtype=np.bool_)
    any_hit = False
    for i in range(nk):
        li = links[a + i]
        allow[i] = allow_all[li]
        held[i] = now < hold_until[li]
        if held[i] or allow[i] != 1.0:  # its slot's orders may be redirected
            hit[link_slot[a + i]] = True
            any_hit = True
    if any_hit:
        # The links of the slots hit, in link order. On the others every link
        # passes in full (allow 1, not held): the reference's redirection leaves
        # their orders as they are (times 1) and blocks nothing.
        hit_links = np.empty(nk, dtype=np.int64)
        n_hit = 0
        for i in range(nk):
            if hit[link_slot[a + i]]:
                hit_links[n_hit] = i
                n_hit += 1
        for k in range(n_hit):
            hit[link_slot[a + hit_links[k]]] = False
        _redirect(
            lv, a, nk, hit_links[:n_hit], links, link_slot, link_sup, w, allow, held,
            allow_held, slot_orders, rho, regular, qual_start, cut_level, cap, final,
            n, now, redirect_day, redirect_lane_days, link_days, blocked, n_open,
            redirect, sw_sum, sent, sent_days, req, spare, total, scale,
        )  # fmt: skip
    for i in range(nk):
        orders[links[a + i]] = regular[i]
        req_total[link_sup[a + i]] += regular[i]


@njit(cache=True)
def _redirect(
    lv, a, nk, hit_links, links, link_slot, link_sup, w, allow, held, allow_held, slot_orders,
    rho, regular, qual_start, cut_level, cap, final, n, now, redirect_day, redirect_lane_days,
    link_days, blocked, n_open, redirect, sw_sum, sent, sent_days, req, spare, total, scale,
):  # fmt: skip
    """sim.substitution.Substitution.redirect on the links ``a:a+nk``, in place on ``regular``.

    ``hit_links`` are the positions (in ``a:a+nk``) of the links of slots with a link
    restricted or held; the reference's arithmetic leaves every other link's orders as
    they are. Marks in ``cut_level`` the slots cut off now (they qualify afterwards).
    """
    n_hit = len(hit_links)
    for k in range(n_hit):
        mi = link_slot[a + hit_links[k]]
        blocked[mi] = 0.0
        n_open[mi] = 0
        sw_sum[mi] = 0.0
        sent[mi] = 0.0
        sent_days[mi] = 0.0
    for k in range(n_hit):
        i = hit_links[k]
        li, mi = links[a + i], link_slot[a + i]
        wk = w[li]
        regular[i] = wk * slot_orders[mi] * allow[i]
        blocked[mi] += wk * (1 - allow[i])
        if allow[i] >= 1.0 - ALLOW_TOLERANCE:
            n_open[mi] += 1
    for k in range(n_hit):
        mi = link_slot[a + hit_links[k]]
        if (
            blocked[mi] > 1e-12
            and np.isnan(qual_start[mi])
            and slot_orders[mi] > 0
            and n_open[mi] > 0
            and cut_level[mi] < 0
        ):
            cut_level[mi] = lv
    any_held = False
    for k in range(n_hit):
        any_held = any_held or held[hit_links[k]]
    if any_held:
        for k in range(n_hit):
            blocked[link_slot[a + hit_links[k]]] = 0.0
        for k in range(n_hit):
            i = hit_links[k]
            li, mi = links[a + i], link_slot[a + i]
            passed = _minimum(allow[i], allow_held[li]) if held[i] else allow[i]
            blocked[mi] += w[li] * (1 - passed)
            if held[i]:
                allow[i] = 0.0
    # Only the links of slots with orders to redirect take any: on every other link the
    # reference adds a redirected +0.0 (to sums that are never -0.0), which changes
    # nothing, so those links are left out of the loops below (``moved``, in link order).
    moved = np.empty(n_hit, dtype=np.int64)
    n_moved = 0
    for k in range(n_hit):
        i = hit_links[k]
        mi = link_slot[a + i]
        redirect[mi] = rho[mi] * blocked[mi] * slot_orders[mi]
        if redirect[mi] > 0:
            moved[n_moved] = i
            n_moved += 1
    if n_moved == 0:
        return
    for f in range(n):
        req[f] = 0.0
        total[f] = 0.0
    for i in range(nk):
        req[link_sup[a + i]] += regular[i]
    for f in range(n):
        sp = cap[f] - final[f] - req[f]
        spare[f] = sp if sp > SPARE_TOLERANCE * cap[f] else 0.0
    sw = np.empty(n_moved)
    for k in range(n_moved):
        i = moved[k]
        sup = link_sup[a + i]
        open_link = allow[i] >= 1.0 - ALLOW_TOLERANCE
        sw[k] = spare[sup] if (open_link and spare[sup] > 0) else 0.0
        sw_sum[link_slot[a + i]] += sw[k]
    sub = np.empty(n_moved)
    for k in range(n_moved):
        i = moved[k]
        mi = link_slot[a + i]
        share = sw[k] / sw_sum[mi] if sw_sum[mi] > 0 else 0.0
        sub[k] = redirect[mi] * share
        total[link_sup[a + i]] += sub[k]
    for f in range(n):
        scale[f] = _minimum(1.0, spare[f] / total[f] if total[f] > 0 else 1.0)
    for k in range(n_moved):
        sub[k] = sub[k] * scale[link_sup[a + moved[k]]]
    # sim.substitution.Substitution._note_first_redirect
    for k in range(n_moved):
        i = moved[k]
        mi = link_slot[a + i]
        sent[mi] += sub[k]
        sent_days[mi] += sub[k] * link_days[links[a + i]]
    for k in range(n_moved):
        mi = link_slot[a + moved[k]]
        if sent[mi] > 0 and np.isnan(redirect_day[mi]):
            redirect_day[mi] = now
            redirect_lane_days[mi] = sent_days[mi] / sent[mi]
    for k in range(n_moved):
        i = moved[k]
        regular[i] = regular[i] + sub[k]


@njit(cache=True)
def settle_levels(
    prod_start,
    link_start,
    pslot_start,
    zl_start,
    pwi_start,
    prods,
    links,
    link_sup,
    pslots,
    pwi,
    pwi_offsets,
    zl,
    n,
    nl,
    link_slot,
    cap,
    desired,
    final_demand,
    orders,
    coef,
    s,
    empty_below,
    inflow,
    arr,
    x_sent,
    has_joint,
    joint_parent,
    joint_ratio,
    has_priority,
    priority,
    switched,
    active_slots,
    substitute_of,
    substitute_max_share,
    slot_coef,
    slot_fac,
    has_fin,
    fin_mask,
    fin_joint,
    fin_rate0,
    fin_stock,
    fin_storage,
):
    """Return output, deliveries (per facility) and shipments (per link), pro rata.

    With ``has_priority``, links marked in ``priority`` are served first (bloc-first
    sourcing and offtakes), as two pro-rata allocations.

    ``inflow``, ``arr`` and ``x_sent`` change in place at the zero-lag links.
    """
    p = np.zeros(n)
    delivered = np.zeros(n)
    x = np.zeros(nl)
    sell = np.zeros(n)
    requested_all = np.zeros(n)
    total = np.zeros(n)
    avail = np.zeros(n)
    shipped = np.zeros(n)
    per_fac = np.full(n, np.inf)
    m = len(s)
    pos = np.full(m, -1, dtype=np.int64)
    empty_all = np.zeros(m, dtype=np.bool_)
    if switched:
        for mi in range(m):
            empty_all[mi] = s[mi] <= empty_below[mi]
    for lv in range(len(prod_start) - 1):
        pa, pb = prod_start[lv], prod_start[lv + 1]
        npr = pb - pa
        limit = np.empty(npr)
        for i in range(npr):
            f = prods[pa + i]
            limit[i] = _minimum(cap[f], desired[f])
            if has_joint and joint_parent[f] >= 0:  # a co-product comes with its plant
                limit[i] = joint_ratio[f] * p[joint_parent[f]]
        wa, wb = pwi_start[lv], pwi_start[lv + 1]
        if wb > wa:
            sa, sb = pslot_start[lv], pslot_start[lv + 1]
            lim = np.empty(sb - sa)
            for i in range(sb - sa):
                mi = pslots[sa + i]
                binding = s[mi] <= empty_below[mi] and coef[mi] > 0
                lim[i] = inflow[mi] / coef[mi] if binding else np.inf
            if switched and len(active_slots):  # sim.substitution.function_limits
                for i in range(sb - sa):
                    pos[pslots[sa + i]] = i
                for a in active_slots:
                    o = substitute_of[a]
                    if pos[a] < 0:
                        continue
                    lo = inflow[o] / slot_coef[o] if empty_all[o] and slot_coef[o] > 0 else np.inf
                    la = inflow[a] / slot_coef[a] if empty_all[a] and slot_coef[a] > 0 else np.inf
                    cap_a = substitute_max_share[a] * desired[slot_fac[a]]
                    lim[pos[o]] = lo + (cap_a if cap_a < la else la)  # Python's min(la, cap_a)
                    lim[pos[a]] = np.inf
                for i in range(sb - sa):
                    pos[pslots[sa + i]] = -1
            for k in range(wb - wa):  # numpy.minimum.reduceat over each facility's slots
                start = pwi_offsets[wa + k]
                stop = pwi_offsets[wa + k + 1] if k + 1 < wb - wa else sb - sa
                acc = lim[start]
                for i in range(start + 1, stop):
                    acc = _minimum(acc, lim[i])
                per_fac[pwi[wa + k]] = acc
            for i in range(npr):
                limit[i] = _minimum(limit[i], per_fac[prods[pa + i]])
            for k in range(wb - wa):
                per_fac[pwi[wa + k]] = np.inf
        la_, lb = link_start[lv], link_start[lv + 1]
        # Every supplier of the level's links is one of its producers (checked once per
        # network, sim.passes.Layout): per-supplier arrays are reset and set over those.
        for i in range(npr):
            requested_all[prods[pa + i]] = 0.0
        for i in range(la_, lb):  # numpy.bincount of the orders per supplier
            requested_all[link_sup[i]] += orders[links[i]]
        for i in range(npr):
            f = prods[pa + i]
            fd = final_demand[f]
            requested = fd + requested_all[f] if lb > la_ else fd
            out = limit[i]
            supply = out
            if has_fin and fin_mask[f]:  # sim.finished.FinishedGoods.supply
                edge = EDGE_DAYS * fin_rate0[f]
                full = fin_stock[f] >= fin_storage[f] - edge
                if full and not fin_joint[f]:
                    out = _minimum(out, requested)
                supply = _maximum(out, requested) if fin_stock[f] > edge else out
            p[f] = out
            sell[f] = supply
            served = _minimum(supply, requested)
            share = served / requested if requested > 0 else 0.0
            delivered[f] = _minimum(fd, fd * _minimum(share, 1.0))
        if lb > la_:
            for i in range(npr):
                f = prods[pa + i]
                avail[f] = sell[f] - delivered[f]
            first = False
            if has_priority:
                for i in range(la_, lb):
                    first = first or priority[links[i]]
            if first:  # bloc-first: own bloc served first, then the rest from what is left
                _pro_rata(la_, lb, links, link_sup, orders, priority, 1, avail, total, x)
                for i in range(npr):
                    shipped[prods[pa + i]] = 0.0
                for i in range(la_, lb):
                    shipped[link_sup[i]] += x[links[i]]
                for i in range(npr):
                    f = prods[pa + i]
                    avail[f] = sell[f] - delivered[f] - shipped[f]
                _pro_rata(la_, lb, links, link_sup, orders, priority, 2, avail, total, x)
            else:
                # the orders per supplier are those of ``requested_all``, summed in the
                # same order: pro_rata's total without summing again
                _pro_rata(la_, lb, links, link_sup, orders, priority, 0, avail, requested_all, x)
            for i in range(zl_start[lv], zl_start[lv + 1]):
                li = zl[i]
                inflow[link_slot[li]] += x[li] - arr[li]
                arr[li] = x[li]
                x_sent[li] = x[li]
    return p, delivered, x


@njit(cache=True)
def _pro_rata(la_, lb, links, link_sup, orders, priority, mode, avail, total, x):
    """sim.response.pro_rata on the links ``la_:lb``: what each supplier has, ``avail``.

    Requests are the orders (``mode`` 0, their sum per supplier given in ``total``),
    those of priority links (1) or of the others (2, added to ``x``): ``orders * first``
    and ``orders * ~first`` of the reference.
    """
    if mode != 0:  # with mode 0, ``total`` is given: the orders per supplier
        for i in range(la_, lb):
            total[link_sup[i]] = 0.0
        for i in range(la_, lb):
            li = links[i]
            total[link_sup[i]] += orders[li] * (1.0 if priority[li] == (mode == 1) else 0.0)
    for i in range(la_, lb):
        li, sup = links[i], link_sup[i]
        req = (
            orders[li] if mode == 0 else orders[li] * (1.0 if priority[li] == (mode == 1) else 0.0)
        )
        ratio = avail[sup] / total[sup] if total[sup] > 0 else 0.0
        share = req * _minimum(ratio, 1.0)
        x[li] = x[li] + share if mode == 2 else share


@njit(cache=True)
def stock_out(s, slope, inflow, empty_below, tolerance, slots, all_slots):
    """sim.stock_events' arithmetic: whether a falling stock is out now, and days to the next.

    Over every slot (``all_slots``: a falling stock already out, within residue, is
    reported, not timed) or over ``slots`` (every falling one timed). Returns
    ``(any out now, least days until a falling stock runs out, inf if none)``.
    """
    any_out = False
    best = np.inf
    count = len(s) if all_slots else len(slots)
    for k in range(count):
        i = k if all_slots else slots[k]
        sl = slope[i]
        scale = _maximum(abs(inflow[i]), empty_below[i] * 1e9)
        if sl < 0 and sl < -tolerance * scale:  # StockEvents.falling
            if all_slots and s[i] <= -sl * 1e-9:
                any_out = True
            else:
                best = _minimum(best, s[i] / -sl)
    return any_out, best


@njit(cache=True)
def daily_integral(times, rates, horizon):
    """sim.record.daily_integral: each whole day's integral of piecewise-constant rates.

    The reference's cumulative sum (``cum[e + 1] = cum[e] + rates[e] * durations[e]``,
    in epoch order) is run row by row and read at each day's bound, so that no
    (epochs, K) temporaries are made; every operation is the reference's.
    """
    n_epochs, k = rates.shape
    out = np.empty((horizon, k))
    acc = np.zeros(k)  # cum[e]: the integral up to the start of epoch e
    prev = np.empty(k)  # the integral up to the previous day's bound
    e = 0  # epochs integrated into acc
    at = 0  # the epoch in force at the bound (searchsorted(times, bound, "right") - 1)
    for day in range(horizon + 1):
        bound = float(day)
        while at + 1 < n_epochs and times[at + 1] <= bound:
            at += 1
        while e < at:
            end = times[e + 1] if e + 1 < n_epochs else float(horizon)
            duration = end - times[e]
            for j in range(k):  # numpy's cumsum starts from the first term, not 0.0 + it
                acc[j] = rates[e, j] * duration if e == 0 else acc[j] + rates[e, j] * duration
            e += 1
        into = bound - times[at]
        for j in range(k):
            value = acc[j] + rates[at, j] * into
            if day > 0:
                out[day - 1, j] = _maximum(value - prev[j], 0.0)
            prev[j] = value
    return out


@njit(cache=True)
def dated_capacity(
    day,
    available_day,
    ramp_up_days,
    available_until_day,
    base_nameplate,
    schedule_day,
    schedule_next_day,
    schedule_fac,
    schedule_nameplate,
):
    """sim.network.Network's ``availability_at`` and ``nameplate_at`` of ``day``, together.

    Element by element as the reference's ``where`` and ``clip``; capacity-schedule rows
    in force are written in row order, so that a later row of a facility wins, as in the
    reference's fancy assignment.
    """
    n = len(available_day)
    availability = np.empty(n)
    for i in range(n):
        since = day - available_day[i]
        ramp = since / ramp_up_days[i] if ramp_up_days[i] > 0 else 1.0
        avail = _minimum(_maximum(ramp, 0.0), 1.0) if since >= 0 else 0.0
        availability[i] = 0.0 if day >= available_until_day[i] else avail
    nameplate = base_nameplate.copy()
    for r in range(len(schedule_day)):
        if schedule_day[r] <= day and day < schedule_next_day[r]:
            nameplate[schedule_fac[r]] = schedule_nameplate[r]
    for i in range(n):
        if day >= available_until_day[i]:
            nameplate[i] = 0.0
    return availability, nameplate


@njit(cache=True, inline="always")
def _clip(v: float, lo: float, hi: float) -> float:
    """``numpy.clip(v, lo, hi)`` of one float: the lower bound first, NaN kept."""
    v = v if (v != v or v > lo) else lo
    return v if (v != v or v < hi) else hi


@njit(cache=True, inline="always")
def _clip_between_scalars(v: float, lo: float, hi: float) -> float:
    """``numpy.clip`` of an array between two scalar bounds: on a tie the value wins."""
    v = v if (v != v or v >= lo) else lo
    return v if (v != v or v <= hi) else hi


@njit(cache=True, error_model="numpy")
def ramp_shares(m, qualified, now, qual_done, ramp_days, slot_com, step_days):
    """sim.substitution.Substitution.ramp_shares (sim.response.ramp_fraction), per slot.

    IEEE division (``error_model="numpy"``), as the reference's under ``errstate``.
    """
    rho = np.zeros(m)
    for i in range(len(qualified)):
        mi = qualified[i]
        elapsed = now - qual_done[mi]
        days = ramp_days[slot_com[mi]]
        steps = np.floor(elapsed / step_days + 1e-9) * step_days
        frac = steps / days if days > 0 else 1.0
        rho[mi] = _clip_between_scalars(frac, 0.0, 1.0) if elapsed >= 0 else 0.0
    return rho


@njit(cache=True)
def finished_advance(stock, slope, storage, unsold, unsold_rate, fac, days):
    """sim.finished.FinishedGoods.advance, in place: stocks within 0 and storage, unsold."""
    for i in range(len(fac)):
        f = fac[i]
        stock[f] = _clip(stock[f] + slope[f] * days, 0.0, storage[f])
        unsold[f] += unsold_rate[f] * days


@njit(cache=True)
def finished_days_to_edge(stock, slope, storage, rate0, fac):
    """sim.finished.FinishedGoods.days_to_edge: days until a stock empties or fills (inf)."""
    best = np.inf
    for i in range(len(fac)):
        f = fac[i]
        s, rate = stock[f], slope[f]
        edge = EDGE_DAYS * rate0[f]
        if rate < 0 and s > edge:
            best = _minimum(best, s / -rate)
        if rate > 0 and s < storage[f] - edge:
            best = _minimum(best, (storage[f] - s) / rate)
    return best


@njit(cache=True)
def installed_advance(base, pipeline, retired, joining, retire, install, days):
    """sim.installed.InstalledBase.advance: new bases, pipelines and retired totals."""
    k = len(base)
    new_base, new_pipeline, new_retired = np.empty(k), np.empty(k), np.empty(k)
    for j in range(k):
        new_base[j] = _maximum(base[j] + (joining[j] - retire[j]) * days, 0.0)
        new_pipeline[j] = _maximum(pipeline[j] + (install[j] - joining[j]) * days, 0.0)
        new_retired[j] = retired[j] + retire[j] * days
    return new_base, new_pipeline, new_retired


@njit(cache=True)
def installed_settle(s, empty_below, inflow, slots, need, sent, lag, joining):
    """sim.installed.InstalledBase.settle's arithmetic.

    Returns the installation rate of each durable slot (its need, at most its inflow if
    its stock is empty), whether any changed beyond 1e-12 of its rate, the new joining
    and sent rates, and the changed slots (positions) whose lag is not 0, ascending.
    """
    k = len(slots)
    install = np.empty(k)
    new_joining, new_sent = joining.copy(), sent.copy()
    later = np.empty(k, dtype=np.int64)
    n_later = 0
    any_changed = False
    for j in range(k):
        mi = slots[j]
        value = _minimum(need[j], inflow[mi]) if s[mi] <= empty_below[mi] else need[j]
        install[j] = value
        if abs(value - sent[j]) > 1e-12 * (abs(value) + abs(sent[j])):
            any_changed = True
            new_sent[j] = value
            if lag[j] == 0:
                new_joining[j] = value
            else:
                later[n_later] = j
                n_later += 1
    return install, any_changed, new_joining, new_sent, later[:n_later]


@njit(cache=True)
def installed_limit(n, fac, base, q):
    """sim.installed.InstalledBase.capacity_limit: ``numpy.minimum.at`` of ``base / q``."""
    limit = np.full(n, np.inf)
    for j in range(len(fac)):
        limit[fac[j]] = _minimum(limit[fac[j]], base[j] / q[j])
    return limit
