"""Sourcing in a run: baseline order weights and the allocation priority of links.

Orders of a slot follow baseline weights (the sourcing table, else supplier
capacity) among the suppliers available now. A sourcing policy gives some links
priority when a supplier allocates its output: ``bloc_first`` (a bloc's producers
serve buyers of their own bloc first) and ``offtake`` (contracted suppliers serve
contracted buyers first).
"""

from __future__ import annotations

import numpy as np

from sim.errors import InputError
from sim.events import SourcingPolicy, to_day


class Sourcing:
    """Order weights and link priorities.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``log``, ``country_bloc``, ``kernels``
        (the compiled loops or None), ``at``, ``request`` and ``advance``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        nl, m = host.net.l, host.net.m
        self.bloc_first: set[tuple[str, str]] = set()  # (bloc, commodity)
        self.offtake_links = np.zeros(nl, dtype=bool)
        self.priority = np.zeros(nl, dtype=bool)
        self.has_priority = False
        self._offtakes = 0  # offtakes set so far (each changes the priority links)
        self._priority_for: tuple[object, ...] | None = None  # what ``priority`` is of
        self._weights_for: np.ndarray | None = None
        self._weights = np.zeros(nl)
        self.baseline_lead = np.zeros(m)

    def add(self, ev: SourcingPolicy, where: str) -> None:
        """Validate a sourcing policy and schedule it."""
        host = self.host
        net = host.net
        if ev.rule == "offtake":
            fac, bloc_of = host.world.facilities, host.world.bloc_of()
            for name, sel in (("suppliers", ev.suppliers), ("buyers", ev.buyers)):
                if sel.is_empty() or not sel.mask(fac, bloc_of).any():
                    raise InputError(
                        where,
                        name,
                        "selects no facility",
                        "name the contracted facilities (ids, types, countries, blocs)",
                    )
        for c in ev.commodities:
            net.require_commodity(where, "commodities", c)
        if ev.rule == "offtake":
            self._require_links(ev, where)
        day = to_day(ev.date, net.start, where, "date")
        host.at(day, lambda: self._set(ev))

    def _require_links(self, ev: SourcingPolicy, where: str) -> None:
        """Raise an :class:`InputError` if a contracted supplier is no link of a buyer.

        A buyer's links are its named suppliers and the largest producers of each bloc
        (:class:`sim.network.Network`); an offtake can only put first what flows on one.
        """
        net = self.host.net
        fac, bloc_of = self.host.world.facilities, self.host.world.bloc_of()
        sup, buy = ev.suppliers.mask(fac, bloc_of), ev.buyers.mask(fac, bloc_of)
        coms = [net.commodities.index(c) for c in ev.commodities or net.commodities]
        slots = np.flatnonzero(buy[net.slot_fac] & np.isin(net.slot_com, coms))
        offered = np.bincount(net.fac_com[sup], minlength=len(net.commodities))
        linked = np.bincount(net.link_slot[sup[net.link_sup]], minlength=net.m)
        short = slots[linked[slots] < offered[net.slot_com[slots]]]
        if not len(short):
            return
        mi = int(short[0])
        k = int(net.slot_com[mi])
        on_link = net.link_sup[net.link_slot == mi]
        missing = np.setdiff1d(np.flatnonzero(sup & (net.fac_com == k)), on_link)
        buyer = net.facility_ids[int(net.slot_fac[mi])]
        raise InputError(
            where,
            "suppliers",
            f"'{net.facility_ids[int(missing[0])]}' is not a candidate supplier of "
            f"'{buyer}' for {net.commodities[k]} (a buyer is linked to the suppliers its "
            f"sourcing rows name and the {net.candidate_links} largest producers of each "
            "bloc)",
            "name the contracted supplier in sourcing.csv for that buyer",
        )

    def _set(self, ev: SourcingPolicy) -> None:
        """Switch a bloc's producers (for some commodities) to an allocation rule."""
        host = self.host
        host.advance()
        net = host.net
        coms = ev.commodities or tuple(net.commodities)
        if ev.rule == "offtake":
            fac, bloc_of = host.world.facilities, host.world.bloc_of()
            link = (
                ev.suppliers.mask(fac, bloc_of)[net.link_sup]
                & ev.buyers.mask(fac, bloc_of)[net.link_buyer]
                & np.isin(net.link_com, [net.commodities.index(c) for c in coms])
            )
            self.offtake_links |= link
            self._offtakes += 1
            host.log.append((host.env.now, "sourcing_policy", f"offtake:{int(link.sum())} links"))
        else:
            for c in coms:
                self.bloc_first.discard((ev.bloc, c))
                if ev.rule == "bloc_first":
                    self.bloc_first.add((ev.bloc, c))
            host.log.append((host.env.now, "sourcing_policy", f"{ev.bloc}:{ev.rule}"))
        host.request(replan=True)

    def update_priority(self) -> None:
        """Links on which a bloc-first producer meets a buyer of its own bloc, and offtakes.

        Computed again only when the bloc-first rules, the blocs or the offtakes changed.
        """
        net, country_bloc = self.host.net, self.host.country_bloc
        key = (frozenset(self.bloc_first), tuple(country_bloc), self._offtakes)
        if key == self._priority_for:
            return
        self._priority_for = key
        if self.bloc_first:
            sup_bloc = [country_bloc[c] for c in net.fac_country[net.link_sup]]
            buy_bloc = [country_bloc[c] for c in net.fac_country[net.link_buyer]]
            coms = [net.commodities[k] for k in net.link_com]
            priority = np.array(
                [
                    s == b and (s, c) in self.bloc_first
                    for s, b, c in zip(sup_bloc, buy_bloc, coms, strict=True)
                ],
                dtype=bool,
            )
        else:
            priority = np.zeros(net.l, dtype=bool)
        self.priority = priority | self.offtake_links
        self.has_priority = bool(self.priority.any())

    def order_weights(self, availability: np.ndarray) -> np.ndarray:
        """Baseline share of each link in its slot's orders, among available suppliers.

        Sourcing weights (or nameplate capacity) times each supplier's availability,
        normalised per slot; a slot whose weighted suppliers are all unavailable falls
        back to capacity. Cached until availability changes; also sets
        ``baseline_lead``, the slot's expected lane days under these weights.
        """
        net = self.host.net
        if self._weights_for is not None and (self._weights_for == availability).all():
            return self._weights
        kernels = self.host.kernels
        if kernels is not None and net.l and net.slot_link_start[-1] < net.l:
            if self._weights_for is not None:  # only slots whose suppliers changed
                self._weights, self.baseline_lead = kernels.order_weights_since(
                    self._weights, self.baseline_lead, self._weights_for, net.link_weight,
                    availability, net.link_sup, net.nameplate_per_day, net.slot_link_start,
                    net.link_slot, net.link_days,
                )  # fmt: skip
                self._weights_for = availability.copy()
                return self._weights
            self._weights, self.baseline_lead = kernels.order_weights(
                net.link_weight,
                availability,
                net.link_sup,
                net.nameplate_per_day,
                net.slot_link_start,
                net.link_slot,
                net.link_days,
            )
            self._weights_for = availability.copy()
            return self._weights
        weight = net.link_weight * availability[net.link_sup]
        wsum = np.add.reduceat(weight, net.slot_link_start) if net.l else np.zeros(0)
        fallback = net.nameplate_per_day[net.link_sup] * availability[net.link_sup]
        weight = np.where(wsum[net.link_slot] <= 0, fallback, weight)
        wsum = np.add.reduceat(weight, net.slot_link_start) if net.l else np.zeros(0)
        self._weights = np.divide(
            weight, wsum[net.link_slot], out=np.zeros(net.l), where=wsum[net.link_slot] > 0
        )
        self.baseline_lead = (
            np.add.reduceat(self._weights * net.link_days, net.slot_link_start)
            if net.l
            else np.zeros(net.m)
        )
        self._weights_for = availability.copy()
        return self._weights
