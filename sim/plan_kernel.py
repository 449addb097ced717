# mypy: disable-error-code="no-untyped-def"
"""The compiled plan loop (numba): :func:`sim.plan_pass.levels_numpy`, one level at a time.

Each line mirrors a numpy call of the reference, in the same order of operations, so
that the results are the same to the last bit: sums run in index order from 0.0 (as
``numpy.bincount`` does), ``_maximum`` and ``_minimum`` are numpy's element rules
(the first argument wins ties and NaN propagates), and nothing is fused or reordered
(no ``fastmath``). Compiled once and cached beside this file; arguments are untyped,
as numba types them from the arrays of the first call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: As ``sim.controls.ALLOW_TOLERANCE`` and ``sim.substitution.SPARE_TOLERANCE``.
ALLOW_TOLERANCE = 1e-12
SPARE_TOLERANCE = 1e-9


@njit(cache=True, inline="always")
def _maximum(a: float, b: float) -> float:
    return a if (a >= b or a != a) else b


@njit(cache=True, inline="always")
def _minimum(a: float, b: float) -> float:
    return a if (a <= b or a != a) else b


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
    for lv in range(len(link_start) - 1):
        a, b = link_start[lv], link_start[lv + 1]
        nk = b - a
        regular = np.empty(nk)
        for i in range(nk):
            li = links[a + i]
            regular[i] = w[li] * slot_orders[link_slot[a + i]]
        if restricting and nk > 0:
            allow = np.empty(nk)
            held = np.zeros(nk, dtype=np.bool_)
            any_held = False
            all_open = True
            for i in range(nk):
                li = links[a + i]
                allow[i] = allow_all[li]
                held[i] = now < hold_until[li]
                any_held = any_held or held[i]
                all_open = all_open and allow[i] == 1.0
            if any_held or not all_open:
                _redirect(
                    lv, a, nk, links, link_slot, link_sup, w, allow, held, allow_held,
                    slot_orders, rho, regular, qual_start, cut_level, cap, final, n,
                    now, redirect_day, redirect_lane_days, link_days, blocked, n_open,
                    redirect, sw_sum, sent, sent_days, req, spare, total, scale,
                )  # fmt: skip
        for i in range(n):
            req_total[i] = 0.0
        for i in range(nk):
            orders[links[a + i]] = regular[i]
            req_total[link_sup[a + i]] += regular[i]
        pa, pb = prod_start[lv], prod_start[lv + 1]
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
def _redirect(
    lv, a, nk, links, link_slot, link_sup, w, allow, held, allow_held, slot_orders, rho,
    regular, qual_start, cut_level, cap, final, n, now, redirect_day, redirect_lane_days,
    link_days, blocked, n_open, redirect, sw_sum, sent, sent_days, req, spare, total, scale,
):  # fmt: skip
    """sim.substitution.Substitution.redirect on the links ``a:a+nk``, in place on ``regular``.

    Marks in ``cut_level`` the slots cut off now (they qualify afterwards).
    """
    for i in range(nk):
        mi = link_slot[a + i]
        blocked[mi] = 0.0
        n_open[mi] = 0
        sw_sum[mi] = 0.0
        sent[mi] = 0.0
        sent_days[mi] = 0.0
    for i in range(nk):
        li, mi = links[a + i], link_slot[a + i]
        wk = w[li]
        regular[i] = wk * slot_orders[mi] * allow[i]
        blocked[mi] += wk * (1 - allow[i])
        if allow[i] >= 1.0 - ALLOW_TOLERANCE:
            n_open[mi] += 1
    for i in range(nk):
        mi = link_slot[a + i]
        if (
            blocked[mi] > 1e-12
            and np.isnan(qual_start[mi])
            and slot_orders[mi] > 0
            and n_open[mi] > 0
            and cut_level[mi] < 0
        ):
            cut_level[mi] = lv
    any_held = False
    for i in range(nk):
        any_held = any_held or held[i]
    if any_held:
        for i in range(nk):
            blocked[link_slot[a + i]] = 0.0
        for i in range(nk):
            li, mi = links[a + i], link_slot[a + i]
            passed = _minimum(allow[i], allow_held[li]) if held[i] else allow[i]
            blocked[mi] += w[li] * (1 - passed)
            if held[i]:
                allow[i] = 0.0
    positive = False
    for i in range(nk):
        mi = link_slot[a + i]
        redirect[mi] = rho[mi] * blocked[mi] * slot_orders[mi]
        positive = positive or redirect[mi] > 0
    if not positive:
        return
    for f in range(n):
        req[f] = 0.0
        total[f] = 0.0
    for i in range(nk):
        req[link_sup[a + i]] += regular[i]
    for f in range(n):
        sp = cap[f] - final[f] - req[f]
        spare[f] = sp if sp > SPARE_TOLERANCE * cap[f] else 0.0
    sw = np.empty(nk)
    for i in range(nk):
        sup = link_sup[a + i]
        open_link = allow[i] >= 1.0 - ALLOW_TOLERANCE
        sw[i] = spare[sup] if (open_link and spare[sup] > 0) else 0.0
        sw_sum[link_slot[a + i]] += sw[i]
    sub = np.empty(nk)
    for i in range(nk):
        mi = link_slot[a + i]
        share = sw[i] / sw_sum[mi] if sw_sum[mi] > 0 else 0.0
        sub[i] = redirect[mi] * share
        total[link_sup[a + i]] += sub[i]
    for f in range(n):
        scale[f] = _minimum(1.0, spare[f] / total[f] if total[f] > 0 else 1.0)
    for i in range(nk):
        sub[i] = sub[i] * scale[link_sup[a + i]]
    # sim.substitution.Substitution._note_first_redirect
    for i in range(nk):
        mi = link_slot[a + i]
        sent[mi] += sub[i]
        sent_days[mi] += sub[i] * link_days[links[a + i]]
    for i in range(nk):
        mi = link_slot[a + i]
        if sent[mi] > 0 and np.isnan(redirect_day[mi]):
            redirect_day[mi] = now
            redirect_lane_days[mi] = sent_days[mi] / sent[mi]
    for i in range(nk):
        regular[i] = regular[i] + sub[i]
