"""The two passes over the commodity levels: a numpy reference and a compiled loop each.

:func:`plan_numpy` (final -> raw) and :func:`settle_numpy` (raw -> final) are the
reference: a few vectorised numpy calls per level and per mechanism (export controls
with substitution, joint products, make to stock, installed bases, grades). Their cost
is the number of calls, not the size of the arrays (a few hundred facilities and a few
thousand links), and the passes run at almost every licence decision.

:func:`plan_compiled` and :func:`settle_compiled` do the same arithmetic in compiled
loops (numba, :mod:`sim.kernels`), in the same order, so that every result is the same
to the last bit (the tests compare them on every library scenario). The reference still
runs where the loops do not reach: the first plan (the steady state a run starts from),
plans with a volume or share quota in force, and settles with a customs hold or an
allocation rule other than :func:`sim.response.pro_rata`. Qualification
of new suppliers (a draw and events) stays in Python: the plan loop marks the buyer
slots just cut off, and they qualify after it in planning order.

``PAXSIM_KERNELS=numpy`` in the environment runs the reference everywhere (numba is then
never imported). If numba cannot be imported, or finds no folder to cache the compiled
loops in (numba raises RuntimeError), the reference runs too, after one warning.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.joint import joint_asked
from sim.response import order_rate, pro_rata

#: Environment variable that chooses the implementation: ``compiled`` (default) or ``numpy``.
KERNELS_ENV = "PAXSIM_KERNELS"

_KERNELS: Any = None  # sim.kernels once imported; False if numba is missing


def compiled() -> Any:
    """Return :mod:`sim.kernels`, or None if the reference is chosen or numba is missing."""
    global _KERNELS
    choice = os.environ.get(KERNELS_ENV, "compiled")
    if choice not in ("compiled", "numpy"):
        raise InputError(
            "environment", KERNELS_ENV, f"'{choice}' is not a choice", "use compiled or numpy"
        )
    if choice == "numpy":
        return None
    if _KERNELS is None:
        try:
            from sim import kernels
        except (ImportError, RuntimeError) as err:  # no numba, or nowhere to cache
            warnings.warn(
                f"paxsim: the compiled loops are not available ({err}); running the numpy "
                "reference, which gives the same results more slowly",
                RuntimeWarning,
                stacklevel=2,
            )
            _KERNELS = False
        else:
            _KERNELS = kernels
    return _KERNELS or None


def add_at(kernels: Any, target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``numpy.add.at`` (unbuffered, in index order), compiled with ``kernels``, if given."""
    if kernels is None:
        np.add.at(target, index, values)
    else:
        kernels.add_at(target, index, values)


def plan_numpy(
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


def _starts(levels: list[Any], name: str) -> np.ndarray:
    """Return the offsets of each level's run of ``name`` in :func:`_cat` (one more than levels)."""
    sizes = [len(getattr(ci, name)) for ci in levels]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _cat(levels: list[Any], name: str, dtype: type) -> np.ndarray:
    """Return the levels' arrays ``name`` one after another."""
    parts: list[np.ndarray] = [np.asarray(getattr(ci, name), dtype=dtype) for ci in levels]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


#: The index arrays of :class:`sim.network.CommodityIndex` a compiled loop reads, and
#: their dtypes; every one is concatenated over the levels with offsets per level.
_LEVEL_ARRAYS = {
    "producers": np.int64,
    "links": np.int64,
    "link_slot": np.int64,
    "link_sup": np.int64,
    "zero_lag_links": np.int64,
    "producer_slots": np.int64,
    "producer_slot_offsets": np.int64,
    "producers_with_inputs": np.int64,
    "slot_fac": np.int64,
    "slot_cover_days": np.float64,
}


class Layout:
    """The levels of a pass as concatenated arrays: ``cat[name]`` and ``start[name]``.

    ``cat[name]`` holds the levels' arrays ``name`` one after another and
    ``start[name]`` the offset of each level's run in it (one more than levels).
    """

    def __init__(self, levels: list[Any]) -> None:
        # The compiled passes reset and set their per-supplier sums over the producers of
        # a level: every supplier of a level's links must be one (as the network builds
        # the levels: a link's commodity is its supplier's output).
        for ci in levels:
            if not np.isin(ci.link_sup, ci.producers).all():
                raise RuntimeError("a level's link has a supplier outside its producers")
        self.cat = {name: _cat(levels, name, dtype) for name, dtype in _LEVEL_ARRAYS.items()}
        self.start = {name: _starts(levels, name) for name in _LEVEL_ARRAYS}


def layout_of(net: Any, which: str) -> Layout:
    """Return the :class:`Layout` of the network's ``plan`` or ``settle`` levels, built once."""
    layouts = net.__dict__.setdefault("_pass_layouts", {})
    if which not in layouts:
        layouts[which] = Layout(net.plan_levels if which == "plan" else net.settle_levels)
    return layouts[which]


def plan_compiled(
    kernels: Any,
    run: Any,
    w: np.ndarray,
    rho: np.ndarray,
    lead: np.ndarray,
    transit_slot: np.ndarray,
    restricting: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`plan_numpy` in one compiled loop (no quota in force, not the steady plan).

    The mechanisms' state the loop changes (make-to-stock plans, installed-base needs,
    first redirections) is changed in place, as the reference does; buyer slots just
    cut off qualify new suppliers afterwards, level by level, in the reference's order.
    """
    net, st = run.net, run.settings
    lay = layout_of(net, "plan")
    cat, start = lay.cat, lay.start
    ctl, sub, fin, inst = run.controls, run.substitution, run.finished, run.installed
    n, m = net.n, net.m
    empty_i, empty_f, empty_b = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
    has_fin, has_inst = bool(fin), bool(inst)
    growth = run.demand.growth_per_day() if has_inst else empty_f
    orders, desired, slot_orders, cut_level = kernels.plan_levels(
        start["links"],
        start["producers"],
        start["producer_slots"],
        cat["links"],
        cat["link_slot"],
        cat["link_sup"],
        cat["producers"],
        cat["producer_slots"],
        cat["slot_fac"],
        cat["slot_cover_days"],
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


def settle_numpy(
    run: Any, inflow: np.ndarray, switched: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output and deliveries per facility and shipments per link (the reference).

    ``inflow`` is what reaches each slot now (lanes and stockpile releases); the
    zero-lag links' shipments are added to it in place, level by level, as are their
    lanes' rates. ``switched`` says whether a facility runs on a substitute grade.
    """
    net = run.net
    p = np.zeros(net.n)
    delivered = np.zeros(net.n)
    x = np.zeros(net.l)
    sell = np.zeros(net.n)  # what each producer can sell: output, or more from stock
    joint = net.has_joint
    coef = run.coef
    for ci in net.settle_levels:
        prods = ci.producers
        limit = np.minimum(run.cap[prods], run.desired[prods])
        if joint:  # a co-product comes with its plant's output
            parent = net.joint_parent[prods]
            co = parent >= 0
            limit[co] = net.joint_ratio[prods[co]] * p[parent[co]]
        if len(ci.producers_with_inputs):
            ps = ci.producer_slots
            empty = run.empty(ps)
            binding = empty & (coef[ps] > 0)
            lim = np.full(len(ps), np.inf)
            lim[binding] = inflow[ps][binding] / coef[ps][binding]
            if switched:  # a function served by an original input and a grade
                lim = run.substitution.function_limits(
                    ps, lim, inflow, run.empty(np.arange(net.m)), run.desired
                )
            per_fac = np.full(net.n, np.inf)
            per_fac[ci.producers_with_inputs] = np.minimum.reduceat(lim, ci.producer_slot_offsets)
            limit = np.minimum(limit, per_fac[prods])
        lk = ci.links
        final = run.final[prods]
        requested = final.copy()
        if len(lk):
            requested += np.bincount(ci.link_sup, run.orders[lk], minlength=net.n)[prods]
        supply = limit
        if run.finished:
            limit, supply = run.finished.supply(prods, limit, requested)
        p[prods] = limit
        sell[prods] = supply
        served = np.minimum(supply, requested)  # a co-product may supply more than asked
        share = np.divide(served, requested, out=np.zeros(len(prods)), where=requested > 0)
        delivered[prods] = np.minimum(final, final * np.minimum(share, 1.0))
        if len(lk):
            available = sell - delivered
            first = run.sourcing.priority[lk] if run.sourcing.has_priority else None
            if first is not None and first.any():  # bloc-first: own bloc served first
                x[lk] = run.allocate(available, run.orders[lk] * first, ci.link_sup)
                available = available - np.bincount(ci.link_sup, x[lk], minlength=net.n)
                x[lk] += run.allocate(available, run.orders[lk] * ~first, ci.link_sup)
            else:
                x[lk] = run.allocate(available, run.orders[lk], ci.link_sup)
            x[lk] = run.controls.export(lk, x[lk])  # held cargo waits, released goes
            zl = ci.zero_lag_links
            if len(zl):
                np.add.at(inflow, net.link_slot[zl], x[zl] - run.lanes.arr[zl])
                run.lanes.arr[zl] = x[zl]
                run.lanes.x_sent[zl] = x[zl]
    return p, delivered, x


def settle_compiles(run: Any) -> bool:
    """Whether :func:`settle_compiled` covers this settle (else the reference runs).

    It does with the default allocation (pro rata) and no customs hold.
    """
    return run.allocate is pro_rata and not run.controls.cargo


def settle_compiled(
    kernels: Any, run: Any, inflow: np.ndarray, switched: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`settle_numpy` in one compiled loop (where :func:`settle_compiles` says so)."""
    net = run.net
    lay = layout_of(net, "settle")
    cat, start = lay.cat, lay.start
    fin, sub = run.finished, run.substitution
    has_fin = bool(fin)
    empty_f, empty_b = np.zeros(0), np.zeros(0, bool)
    return kernels.settle_levels(
        start["producers"],
        start["links"],
        start["producer_slots"],
        start["zero_lag_links"],
        start["producers_with_inputs"],
        cat["producers"],
        cat["links"],
        cat["link_sup"],
        cat["producer_slots"],
        cat["producers_with_inputs"],
        cat["producer_slot_offsets"],
        cat["zero_lag_links"],
        net.n,
        net.l,
        net.link_slot,
        run.cap,
        run.desired,
        run.final,
        run.orders,
        run.coef,
        run.s,
        run.empty_below,
        inflow,
        run.lanes.arr,
        run.lanes.x_sent,
        net.has_joint,
        net.joint_parent,
        net.joint_ratio,
        run.sourcing.has_priority,
        run.sourcing.priority,
        switched,
        sub.active_slots,
        net.slot_substitute_of,
        net.slot_substitute_max_share,
        net.slot_coef,
        net.slot_fac,
        has_fin,
        fin.mask if has_fin else empty_b,
        fin.joint if has_fin else empty_b,
        fin.rate0 if has_fin else empty_f,
        fin.stock if has_fin else empty_f,
        fin.storage if has_fin else empty_f,
    )
