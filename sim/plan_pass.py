"""The plan pass over the commodity levels, final -> raw: two implementations, one result.

:func:`levels_numpy` is the reference: a few vectorised numpy calls per level and per
mechanism (export controls with substitution, joint products, make to stock, installed
bases). Its cost is the number of calls, not the size of the arrays (a few hundred
facilities and a few thousand links), and the plan runs at almost every licence decision.

:func:`levels_compiled` does the same arithmetic in one compiled loop (numba), in the
same order, so that every result is the same to the last bit (the tests compare the
two on every library scenario). It covers every plan but the first (the steady state a
run starts from) and plans with a volume or share quota in force; those take the
reference. Qualification of new suppliers (a draw and events) stays in Python: the loop
marks the buyer slots just cut off, and they qualify after it in planning order.

``PAXSIM_KERNELS=numpy`` in the environment runs the reference everywhere (numba is then
never imported); without numba installed the reference runs too.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.joint import joint_asked
from sim.response import order_rate

#: Environment variable that chooses the implementation: ``compiled`` (default) or ``numpy``.
KERNELS_ENV = "PAXSIM_KERNELS"

_KERNEL: Any = None  # the compiled loop, once built; False if numba is missing


def compiled_kernel() -> Any:
    """Return the compiled plan loop, or None if the reference is chosen or numba is missing."""
    global _KERNEL
    choice = os.environ.get(KERNELS_ENV, "compiled")
    if choice not in ("compiled", "numpy"):
        raise InputError(
            "environment", KERNELS_ENV, f"'{choice}' is not a choice", "use compiled or numpy"
        )
    if choice == "numpy":
        return None
    if _KERNEL is None:
        try:
            from sim import plan_kernel
        except ImportError:  # numba not installed
            _KERNEL = False
        else:
            _KERNEL = plan_kernel.plan_levels
    return _KERNEL or None


def levels_numpy(
    run: Any,
    w: np.ndarray,
    rho: np.ndarray,
    lead: np.ndarray,
    transit_slot: np.ndarray,
    quota: list[Any],
    restricting: bool,
    steady: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders per link, desired output per facility and orders per slot (the reference).

    ``run`` is the engine's run (its flow state and mechanisms), ``w`` each link's share
    of its slot's orders, ``rho`` each slot's redirected share, ``lead`` each slot's
    lane days and ``transit_slot`` what each slot has in transit.
    """
    net, st = run.net, run.settings
    slot_orders = np.zeros(net.m)
    orders = np.zeros(net.l)
    desired = np.zeros(net.n)
    want = np.zeros(net.n)  # asked-for output within nameplate (for installed bases)
    joint = net.has_joint
    joint_need = np.zeros(net.n)  # per plant: own output its co-products ask for
    for ci in net.plan_levels:  # the commodities of a level do not order from each other
        lk, lslot, lsup = ci.links, ci.link_slot, ci.link_sup
        if len(lk):
            wk = w[lk]
            regular = wk * slot_orders[lslot]
            if restricting:
                allow = run.controls.quota_allow(lk, ci.commodities, regular, quota)
                held = run.controls.held(lk)
                if held.any() or not (allow == 1.0).all():  # else nothing is blocked
                    regular = run.substitution.redirect(
                        (lk, lslot, lsup),
                        ci.commodities,
                        wk,
                        allow,
                        held,
                        run.controls.allow_held[lk],
                        slot_orders,
                        rho,
                    )
            orders[lk] = regular
            req_total = np.bincount(lsup, regular, minlength=net.n)
        else:
            req_total = np.zeros(net.n, dtype=float)
        prods = ci.producers
        asked = run.final[prods] + req_total[prods]
        if joint:  # a joint plant runs for its product most in demand
            asked = joint_asked(net.joint_parent, net.joint_ratio, prods, asked, joint_need)
        if run.finished:  # make to stock: keep producing into stock
            desired[prods] = run.finished.desired(prods, asked, run.cap[prods])
        else:
            desired[prods] = np.minimum(run.cap[prods], asked)
        ps = ci.producer_slots
        if len(ps):
            use = run.coef[ps] * desired[ci.slot_fac]
            if run.installed and run.installed.mask[ps].any():
                want[prods] = np.minimum(run.cap_nominal[prods], asked)
                durable = run.installed.mask[ps]
                use[durable] = run.installed.plan(ps[durable], want, steady)
            if steady:
                slot_orders[ps] = use
            else:
                cover = ci.slot_cover_days * run.controls.front[ps] + lead[ps]
                slot_orders[ps] = order_rate(
                    use, run.s[ps] + transit_slot[ps], use * cover, st.stock_adjust_days
                )
    return orders, desired, slot_orders


class PlanLayout:
    """The plan levels of a network as concatenated arrays with offsets per level."""

    def __init__(self, net: Any) -> None:
        levels = net.plan_levels

        def cat(name: str, dtype: type) -> np.ndarray:
            parts: list[np.ndarray] = [np.asarray(getattr(ci, name), dtype=dtype) for ci in levels]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        def starts(name: str) -> np.ndarray:
            sizes = [len(getattr(ci, name)) for ci in levels]
            return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

        self.link_start = starts("links")
        self.prod_start = starts("producers")
        self.pslot_start = starts("producer_slots")
        self.links = cat("links", np.int64)
        self.link_slot = cat("link_slot", np.int64)
        self.link_sup = cat("link_sup", np.int64)
        self.prods = cat("producers", np.int64)
        self.pslots = cat("producer_slots", np.int64)
        self.pslot_fac = cat("slot_fac", np.int64)
        self.pslot_cover = cat("slot_cover_days", np.float64)


def layout_of(net: Any) -> PlanLayout:
    """Return the network's :class:`PlanLayout`, built once per network."""
    layout = getattr(net, "_plan_layout", None)
    if layout is None:
        layout = PlanLayout(net)
        net._plan_layout = layout
    return layout


def levels_compiled(
    kernel: Any,
    run: Any,
    w: np.ndarray,
    rho: np.ndarray,
    lead: np.ndarray,
    transit_slot: np.ndarray,
    restricting: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`levels_numpy` in one compiled loop (no quota in force, not the steady plan).

    The mechanisms' state the loop changes (make-to-stock plans, installed-base needs,
    first redirections) is changed in place, as the reference does; buyer slots just
    cut off qualify new suppliers afterwards, level by level, in the reference's order.
    """
    net, st = run.net, run.settings
    lay = layout_of(net)
    ctl, sub, fin, inst = run.controls, run.substitution, run.finished, run.installed
    n, m = net.n, net.m
    empty_i, empty_f, empty_b = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
    has_fin, has_inst = bool(fin), bool(inst)
    growth = run.demand.growth_per_day() if has_inst else empty_f
    orders, desired, slot_orders, cut_level = kernel(
        lay.link_start,
        lay.prod_start,
        lay.pslot_start,
        lay.links,
        lay.link_slot,
        lay.link_sup,
        lay.prods,
        lay.pslots,
        lay.pslot_fac,
        lay.pslot_cover,
        n,
        m,
        net.l,
        float(run.env.now),
        float(st.stock_adjust_days),
        w,
        rho,
        lead,
        transit_slot,
        run.final,
        run.cap,
        run.cap_nominal,
        run.coef,
        run.s,
        ctl.front,
        restricting,
        ctl.allow,
        ctl.hold_until,
        ctl.allow_held,
        sub.qual_start,
        sub.redirect_day,
        sub.redirect_lane_days,
        net.link_days,
        net.has_joint,
        net.joint_parent,
        net.joint_ratio,
        has_fin,
        fin.mask if has_fin else empty_b,
        fin.started if has_fin else empty_b,
        fin.joint if has_fin else empty_b,
        fin.planned_at if has_fin else empty_f,
        fin.rate if has_fin else empty_f,
        fin.smoothing if has_fin else empty_f,
        fin.target if has_fin else empty_f,
        fin.stock if has_fin else empty_f,
        has_inst,
        inst.mask if has_inst else empty_b,
        inst.position if has_inst else empty_i,
        inst.q if has_inst else empty_f,
        inst.lag if has_inst else empty_f,
        inst.fac if has_inst else empty_i,
        growth,
        inst.base if has_inst else empty_f,
        inst.life if has_inst else empty_f,
        inst.retire if has_inst else empty_f,
        inst.pipeline if has_inst else empty_f,
        inst.need if has_inst else empty_f,
    )
    if (cut_level >= 0).any():  # qualification: draws and events, in planning order
        for lv, ci in enumerate(net.plan_levels):
            slots = np.flatnonzero(cut_level == lv)
            for k in ci.commodities:
                of_k = slots[net.slot_com[slots] == k]
                if len(of_k):
                    sub.qualify(of_k)
    return orders, desired, slot_orders
