"""Substitution in a run: new suppliers for cut-off buyers, and substitute inputs.

Two routes, both triggered when an export control blocks part of a buyer slot's
orders:

* **Supplier substitution.** The slot starts qualifying new suppliers (a lead time
  drawn per slot from the commodity's qualification distribution); once qualified, a
  ramping share (a staircase over the commodity's substitution ramp) of its blocked
  orders goes to unrestricted suppliers with spare capacity, in proportion to that
  spare capacity and never beyond it.
* **Substitute inputs and grades** (recipes' ``substitute_input``): after the recipe's
  qualification time the facility switches while the original input is restricted: up
  to ``substitute_max_share`` (the design limit, ``s``) of its planned output runs on
  the substitute, at ``substitute_quantity_per_unit`` of it per unit, and the rest
  still needs the original; it loses ``s x substitute_output_penalty_share`` of its
  capacity, and switches back when the restriction ends. A buyer cut off from a
  Dy-bearing magnet grade thus moves ``s`` of its output to a low-Dy grade and loses
  the rest; with ``s = 1`` it runs wholly on the substitute.
"""

from __future__ import annotations

import numpy as np

from sim.controls import ALLOW_TOLERANCE
from sim.distributions import Distribution
from sim.response import ramp_fraction

#: Spare capacity below this share of capacity counts as none (see :meth:`Substitution.spare`).
SPARE_TOLERANCE = 1e-9


class Substitution:
    """State of both substitution routes, per input slot.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``settings``, ``env``, ``event_rng``, ``log``, ``coef`` (the
        effective input coefficients, which a switch of input replaces), ``cap``,
        ``final``, ``at(day, action)`` and ``request(replan)``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        net, settings = host.net, host.settings
        m = net.m
        self.qual_dist = [
            Distribution.of(settings.qualification_days.get(c, net.qualification_days[k]))
            for k, c in enumerate(net.commodities)
        ]
        self.ramp_days = np.array(
            [
                settings.substitution_ramp_days.get(c, net.substitution_ramp_days[k])
                for k, c in enumerate(net.commodities)
            ]
        )
        self.qual_start = np.full(m, np.nan)
        self.qual_done = np.full(m, np.nan)
        self.redirect_day = np.full(m, np.nan)  # first redirected orders, per slot
        self.redirect_lane_days = np.full(m, np.nan)  # their mean lane time
        self._qualified = np.zeros(0, dtype=np.int64)
        # Substitute inputs: capacity factor while on a substitute, qualification dates.
        self.capacity_factor = np.ones(net.n)
        self.substitute_ready = np.full(m, np.nan)
        self.substitute_active = np.zeros(m, dtype=bool)
        self.active_slots = np.zeros(0, dtype=np.int64)

    def ramp_shares(self) -> np.ndarray:
        """Share of each slot's blocked orders that qualified suppliers take now (0-1)."""
        host = self.host
        net = host.net
        if host.kernels is not None:
            return host.kernels.ramp_shares(
                net.m, self._qualified, float(host.env.now), self.qual_done, self.ramp_days,
                net.slot_com, float(host.settings.ramp_step_days),
            )  # fmt: skip
        rho = np.zeros(net.m)
        if len(self._qualified):
            q = self._qualified
            rho[q] = ramp_fraction(
                host.env.now,
                self.qual_done[q],
                self.ramp_days[net.slot_com[q]],
                host.settings.ramp_step_days,
            )
        return rho

    def spare(self, requested: np.ndarray) -> np.ndarray:
        """Capacity each facility has left after final demand and ``requested`` orders.

        Spare capacity below a billionth of capacity is none: a supplier working at
        capacity has a spare of float residue, and shares of residue are arbitrary.
        """
        host = self.host
        spare = host.cap - host.final - requested
        return np.where(spare > SPARE_TOLERANCE * host.cap, spare, 0.0)

    def redirect(
        self,
        links: tuple[np.ndarray, np.ndarray, np.ndarray],
        commodities: tuple[int, ...],
        wk: np.ndarray,
        allow: np.ndarray,
        held: np.ndarray,
        held_allow: np.ndarray,
        slot_orders: np.ndarray,
        rho: np.ndarray,
    ) -> np.ndarray:
        """Orders on the links of ``commodities`` under export controls, with substitution.

        ``links`` is ``(link ids, their slots, their suppliers)``, ``wk`` each link's
        share of its slot's orders and ``allow`` the share controls let through.
        The blocked share starts qualification of new suppliers; once qualified, a
        ramping share ``rho`` of it goes to unrestricted suppliers with spare capacity.
        ``held`` marks reopened lanes whose first shipment is still under way (their
        blocked share is the lesser of ``allow`` and ``held_allow``, and they take no
        redirected orders).
        """
        net = self.host.net
        lk, lslot, lsup = links
        base = wk * slot_orders[lslot]
        regular = base * allow
        blocked = np.bincount(lslot, wk * (1 - allow), minlength=net.m)
        # A buyer qualifies new suppliers only if it has one: a link that no control
        # restricts (its supplier may still be building up, or busy today).
        open_links = allow >= 1.0 - ALLOW_TOLERANCE
        has_alternative = np.bincount(lslot, open_links, minlength=net.m) > 0
        cut = (blocked > 1e-12) & np.isnan(self.qual_start) & (slot_orders > 0) & has_alternative
        if cut.any():
            slots = np.flatnonzero(cut)
            for k in commodities:  # in planning order: the draws come in that order
                of_k = slots[net.slot_com[slots] == k]
                if len(of_k):
                    self.qualify(of_k)
        if held.any():
            closed = 1 - np.where(held, np.minimum(allow, held_allow), allow)
            blocked = np.bincount(lslot, wk * closed, minlength=net.m)
            allow = np.where(held, 0.0, allow)  # no redirected orders onto held lanes
        redirect = rho * blocked * slot_orders
        if not (redirect > 0).any():
            return regular
        req = np.bincount(lsup, regular, minlength=net.n)
        spare = self.spare(req)
        sw = np.where((allow >= 1.0 - ALLOW_TOLERANCE) & (spare[lsup] > 0), spare[lsup], 0.0)
        sw_sum = np.bincount(lslot, sw, minlength=net.m)[lslot]
        sub = redirect[lslot] * np.divide(sw, sw_sum, out=np.zeros(len(lk)), where=sw_sum > 0)
        total = np.bincount(lsup, sub, minlength=net.n)
        scale = np.minimum(1.0, np.divide(spare, total, out=np.ones(net.n), where=total > 0))
        sub = sub * scale[lsup]
        self._note_first_redirect(lk, lslot, sub)
        return regular + sub

    def _note_first_redirect(self, lk: np.ndarray, lslot: np.ndarray, sub: np.ndarray) -> None:
        """Record, per slot, when redirected orders first went out and their lane time.

        The lane time (mean over the redirected orders) is the transit part of the
        substitution time: the first redirected shipment arrives that long after.
        """
        net, now = self.host.net, self.host.env.now
        sent = np.bincount(lslot, sub, minlength=net.m)
        first = (sent > 0) & np.isnan(self.redirect_day)
        if not first.any():
            return
        days = np.bincount(lslot, sub * net.link_days[lk], minlength=net.m)
        self.redirect_day[first] = now
        self.redirect_lane_days[first] = days[first] / sent[first]

    def qualify(self, slots: np.ndarray) -> None:
        """Start qualifying new suppliers for buyer slots that were just cut off."""
        host = self.host
        now, step = host.env.now, host.settings.ramp_step_days
        for mi in slots:
            k = int(host.net.slot_com[mi])
            q = max(0.0, self.qual_dist[k].draw(host.event_rng))
            host.random_outcomes += not self.qual_dist[k].is_fixed
            self.qual_start[mi] = now
            self._qualified = np.flatnonzero(np.isfinite(self.qual_start))
            self.qual_done[mi] = now + q
            steps = int(np.ceil(self.ramp_days[k] / step)) if self.ramp_days[k] > 0 else 0
            for j in range(steps + 1):
                host.replan_at(now + q + j * step)
        host.log.append((now, "qualification_started", ",".join(str(int(i)) for i in slots)))

    def function_limits(
        self,
        ps: np.ndarray,
        lim: np.ndarray,
        inflow: np.ndarray,
        empty: np.ndarray,
        desired: np.ndarray,
    ) -> np.ndarray:
        """Output limits of input slots ``ps`` with switched functions combined.

        ``lim`` is each slot's own limit on output (inf with stock on hand, else its
        inflow over its coefficient) and ``empty`` whether its stock is empty. For a
        facility running on a substitute with design limit ``s``, the function (the
        original input and its substitute) allows ``L_o + min(L_a, s D)``: what the
        original allows, plus the substitute up to ``s`` of the planned output ``D``.
        That limit is put on the original's slot and the substitute's slot binds no
        more.
        """
        if not len(self.active_slots):
            return lim
        net = self.host.net
        pos = np.full(net.m, -1, dtype=np.int64)
        pos[ps] = np.arange(len(ps))
        out = lim.copy()
        for a in self.active_slots.tolist():
            o = int(net.slot_substitute_of[a])
            if pos[a] < 0:
                continue
            lo, la = self._own_limits(o, a, inflow, empty)
            share = net.slot_substitute_max_share[a]
            out[pos[o]] = lo + min(la, share * desired[net.slot_fac[a]])
            out[pos[a]] = np.inf
        return out

    def function_use(
        self,
        use: np.ndarray,
        p: np.ndarray,
        inflow: np.ndarray,
        empty: np.ndarray,
        desired: np.ndarray,
    ) -> None:
        """Split the output of switched facilities over original and substitute, in ``use``.

        The substitute serves ``p_a = min(s D, L_a, p)`` (as much of the output as the
        design limit and its supply allow) and the original the rest, ``p - p_a``.
        """
        net = self.host.net
        for a in self.active_slots.tolist():
            o = int(net.slot_substitute_of[a])
            f = net.slot_fac[a]
            _, la = self._own_limits(o, a, inflow, empty)
            share = net.slot_substitute_max_share[a]
            on_sub = min(share * desired[f], la, p[f])
            use[a] = net.slot_coef[a] * on_sub
            use[o] = net.slot_coef[o] * (p[f] - on_sub)

    def _own_limits(
        self, o: int, a: int, inflow: np.ndarray, empty: np.ndarray
    ) -> tuple[float, float]:
        """Output the original and the substitute each allow alone (inf: stock on hand)."""
        net = self.host.net
        lo = inflow[o] / net.slot_coef[o] if empty[o] and net.slot_coef[o] > 0 else np.inf
        la = inflow[a] / net.slot_coef[a] if empty[a] and net.slot_coef[a] > 0 else np.inf
        return float(lo), float(la)

    def switch_inputs(self, w: np.ndarray, allow: np.ndarray) -> bool:
        """Switch facilities to or from their recipes' substitute inputs.

        An input whose imports a control restricts (``w`` are the baseline order
        weights, ``allow`` the share controls let through) starts qualifying its
        substitute; once qualified, and while the input is still restricted, the
        facility runs on the substitute. Returns whether anything switched.
        """
        host = self.host
        net, now = host.net, host.env.now
        if not len(net.substitute_slots):
            return False
        restricted = np.add.reduceat(w * (1.0 - allow), net.slot_link_start) > 1e-12
        subs = net.substitute_slots
        cut = restricted[net.slot_substitute_of[subs]]
        for sub in subs[cut & np.isnan(self.substitute_ready[subs])].tolist():
            ready = now + float(net.slot_substitute_qualification_days[sub])
            self.substitute_ready[sub] = ready
            host.replan_at(ready)
        use = cut & (now >= self.substitute_ready[subs])
        switching = subs[use != self.substitute_active[subs]].tolist()
        for sub in switching:
            original = int(net.slot_substitute_of[sub])
            use_substitute = not self.substitute_active[sub]
            self.substitute_active[sub] = use_substitute
            share = float(net.slot_substitute_max_share[sub])
            coef = host.coef.copy()  # recorded epochs keep the old array
            coef[sub] = share * net.slot_coef[sub] if use_substitute else 0.0
            coef[original] = (1.0 - share if use_substitute else 1.0) * net.slot_coef[original]
            host.coef = coef
            fac = net.slot_fac[sub]
            penalty = net.slot_substitute_penalty[sub]
            self.capacity_factor[fac] = 1.0 - penalty * share if use_substitute else 1.0
            self.active_slots = np.flatnonzero(self.substitute_active)
            host.log.append(
                (
                    now,
                    "substitute_on" if use_substitute else "substitute_off",
                    f"{net.facility_ids[fac]}:{net.commodities[net.slot_com[sub]]}",
                )
            )
        return bool(switching)
