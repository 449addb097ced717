"""Export controls in a run: which links each control covers, and its state.

:class:`ControlState` holds one control's spec in force, whether it is suspended,
its licence applications and the pre-control flow its quota refers to.
"""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.events import (
    ExportControl,
    ExportControlChange,
    Selector,
    field_names,
    to_day,
    with_changes,
)
from sim.held import HeldCargo
from sim.lanes import RATE_FLOOR
from sim.licences import Licensing, Terms, resolve_terms
from sim.network import Network
from sim.quotas import VolumeQuota

#: Shares a control lets through (``allow``, 0-1) closer than this are equal: a quota
#: factor recomputed from the same orders must not reopen a lane or close it to
#: redirected orders by float residue.
ALLOW_TOLERANCE = 1e-12


class Coverage:
    """The links one control covers under one bloc membership, as index arrays.

    Built once per spec and membership, so that a plan only reads them.

    Attributes (C covered links)
    ----------------------------
    mask : bool array (L,)
        Whether each link is covered.
    links, buyer : int arrays (C,)
        Covered links, in link order, and their buyer facilities.
    buyers : frozenset of int
        The buyer facilities of the covered links.
    outside : float array (C,)
        Share of each covered flow outside the rules (``1 - covered_share`` of its group).
    hold : int array (H,)
        Positions (in ``links``) of the covered links under a ``hold`` regime;
        ``hold_share`` their covered share.
    licensed : list of (buyer, terms)
        Each buyer under a ``license`` regime (ascending) and its licensing terms;
        ``licensed_at`` the positions of their links and ``licensed_buyer`` the index
        (in ``licensed``) of each.
    front_slots : dict of commodity id -> int array
        Buyer slots of the covered links of each commodity (distinct, ascending).
    """

    def __init__(self, ctl: ControlState, net: Network, mask: np.ndarray) -> None:
        self.mask = mask
        self.links = np.flatnonzero(mask)
        self.buyer = net.link_buyer[self.links]
        self.buyers = frozenset(self.buyer.tolist())
        group = ctl.group_of_country[net.fac_country[self.buyer]]
        covered = np.array([t.covered_share for t in ctl.terms])[group]
        regime = np.array([t.regime for t in ctl.terms])[group]
        self.outside = 1.0 - covered
        self.hold = np.flatnonzero(regime == "hold")
        self.hold_share = covered[self.hold]
        self.licensed_at = np.flatnonzero(regime == "license")
        buyers, self.licensed_buyer = np.unique(self.buyer[self.licensed_at], return_inverse=True)
        self.licensed = [(int(b), ctl.terms_of(int(b))) for b in buyers]
        com = net.link_com[self.links]
        self.front_slots = {
            int(k): np.unique(net.link_slot[self.links[com == k]]) for k in ctl.commodity_ids
        }
        self._general: dict[int, np.ndarray] = {}

    def general(
        self, sel: Selector, facilities: pd.DataFrame, bloc_of: dict[str, str]
    ) -> np.ndarray:
        """Positions (in ``links``) of the covered links whose buyer ``sel`` selects."""
        key = id(sel)
        if key not in self._general:
            self._general[key] = np.flatnonzero(sel.mask(facilities, bloc_of)[self.buyer])
        return self._general[key]


class ControlState:
    """Mutable state of one export control during a run.

    It holds the spec in force, whether the control is suspended, licence applications
    per buyer and the pre-control flow for quotas. The engine asks it which links it
    covers (:meth:`covered`) and whether it is in force (:meth:`active`); the spec is
    validated against the network here.
    """

    def __init__(self, spec: ExportControl, net: Network, start: dt.date, where: str) -> None:
        self.where = where
        self.suspended = False
        self.licensing: Licensing | None = None  # set by Controls.add (needs the run)
        self.volume: VolumeQuota | None = None  # a volume quota, set by Controls.add
        self.pre_volume: np.ndarray | None = None  # covered flow per commodity at start
        self._coverage: Coverage | None = None
        #: the last shares let through: (coverage, licensed shares, general licences in
        #: force, shares per covered link), kept while the three stay the same
        self.passed: tuple[Coverage, np.ndarray | None, int, np.ndarray] | None = None
        self._coverage_of: tuple[ExportControl | None, list[str]] = (None, [])  # spec, blocs
        self.net = net
        self.set_spec(spec, start)

    def set_spec(self, spec: ExportControl, start: dt.date) -> None:
        """Validate ``spec`` against the network and put it in force."""
        net, where = self.net, self.where
        self.spec = spec
        self.start = to_day(spec.start, start, where, "start")
        self.end = np.inf if spec.end is None else to_day(spec.end, start, where, "end")
        self.announced = (
            self.start
            if spec.announced is None
            else to_day(spec.announced, start, where, "announced")
        )
        self.terms = resolve_terms(spec, start, where)  # per group, then the control's own
        self.general = [
            (to_day(g.date, start, where, f"general_licences[{i}].date"), g.buyers)
            for i, g in enumerate(spec.general_licences)
        ]
        self.general_days = sorted(day for day, _ in self.general)
        net.require_country(where, "issuer", spec.issuer)
        for c in spec.commodities:
            net.require_commodity(where, "commodities", c)
        for c in (*spec.destinations.countries, *spec.destinations.except_countries):
            net.require_country(where, "destinations", c)
        for g, group in enumerate(spec.groups):
            for c in (*group.destinations.countries, *group.destinations.except_countries):
                net.require_country(where, f"groups[{g}].destinations", c)
        front = spec.front_running_share
        self.front_by_commodity = (
            {c: front for c in spec.commodities} if isinstance(front, float | int) else dict(front)
        )
        for c, v in self.front_by_commodity.items():
            if c not in spec.commodities:
                raise InputError(
                    where,
                    f"front_running_share.{c}",
                    "is not a commodity of the control",
                    f"use one of {', '.join(spec.commodities)}",
                )
            if not v >= 0:
                raise InputError(
                    where, f"front_running_share.{c}", f"{v} is negative", "give a share >= 0"
                )
        if not 0 <= spec.hold_release_share <= 1:
            raise InputError(
                where,
                "hold_release_share",
                f"{spec.hold_release_share} is out of range",
                "give a share of the held cargo per day in [0, 1]",
            )
        if not spec.reapply_days >= 0:
            raise InputError(
                where, "reapply_days", f"{spec.reapply_days} is negative", "give days >= 0"
            )
        if spec.quota_share is not None and not 0 <= spec.quota_share <= 1:
            raise InputError(
                where,
                "quota_share",
                f"{spec.quota_share} is out of range",
                "give a share in [0, 1]",
            )
        if self.end < self.start:
            raise InputError(where, "end", "is before start", "give an end after the start")
        self.commodity_ids = np.array(
            [net.commodities.index(c) for c in spec.commodities], dtype=np.int64
        )
        self.issuer = net.countries.index(spec.issuer)

    def terms_of(self, buyer: int) -> Terms:
        """Return the licensing terms of a covered buyer: its group's, or the control's."""
        return self.terms[int(self.group_of_country[self.net.fac_country[buyer]])]

    def covers_buyer(self, buyer: int) -> bool:
        """Whether the control covers any link of ``buyer`` under the current blocs."""
        assert self._coverage is not None
        return buyer in self._coverage.buyers

    def covered(self, net: Network, country_bloc: list[str]) -> np.ndarray:
        """Links the control covers under the current bloc membership (a mask)."""
        return self.coverage(net, country_bloc).mask

    def coverage(self, net: Network, country_bloc: list[str]) -> Coverage:
        """Return what the control covers under the current blocs (kept until they change)."""
        spec, blocs = self._coverage_of
        if self._coverage is None or spec is not self.spec or blocs != country_bloc:
            own = len(self.terms) - 1
            groups = np.full(len(net.countries), own)
            for ci, c in enumerate(net.countries):  # first group that covers the country
                for gi, group in enumerate(self.spec.groups):
                    if group.destinations.covers(c, country_bloc[ci]):
                        groups[ci] = gi
                        break
            self.group_of_country = groups
            mask = self._compute_covered(net, country_bloc)
            self._coverage = Coverage(self, net, mask)
            self._coverage_of = (self.spec, list(country_bloc))
        return self._coverage

    def _compute_covered(self, net: Network, country_bloc: list[str]) -> np.ndarray:
        dest = self.spec.destinations
        country_ok = np.array(
            [
                ci != self.issuer and dest.covers(c, country_bloc[ci])
                for ci, c in enumerate(net.countries)
            ]
        )
        return (
            (net.fac_country[net.link_sup] == self.issuer)
            & np.isin(net.link_com, self.commodity_ids)
            & country_ok[net.fac_country[net.link_buyer]]
        )

    def active(self, now: float) -> bool:
        """Whether the control is in force on day ``now``."""
        return not self.suspended and self.start <= now < self.end


#: A control's state at an update (:meth:`Controls._states`).
_State = tuple[ControlState, bool, bool, bool, Coverage | None, np.ndarray | None, int, bool]
#: A control and the links it covers, of each quota in force.
_Quotas = list[tuple[ControlState, np.ndarray]]


def _same_states(before: list[_State], now: list[_State]) -> bool:
    """Whether every control is in the same state (the same coverage and shares arrays)."""
    return all(
        a[1:4] == b[1:4] and a[4] is b[4] and a[5] is b[5] and a[6:] == b[6:]
        for a, b in zip(before, now, strict=True)
    )


class Controls:
    """Export controls and licensing in a run: what each link may carry.

    It owns, per link: ``allow`` (share of orders that may ship), the share held on a
    reopened lane until its first shipment arrives (``allow_held``, ``hold_until``),
    the quota factor, whether any control may cover the link (``restricted``), and per
    input slot the front-running factor on target cover (``front``). Licence
    applications are drawn from the host's event stream and decided by scheduled
    events.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``env``, ``country_bloc``, ``event_rng``, ``log``,
        ``x`` (link rates), ``targeted``, ``at(day, action)``, ``request(replan)`` and
        ``advance()``.
    """

    def __init__(self, host) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        nl, m = host.net.l, host.net.m
        self.by_id: dict[str, ControlState] = {}
        self.allow = np.ones(nl)
        self.allow_held = np.ones(nl)
        self.hold_until = np.full(nl, -np.inf)
        self.allow_before_quota = np.ones(nl)
        self.quota_scale = np.ones(nl)
        self._quota_scaled = False  # whether a plan set quota factors since the last reset
        self._no_holds = np.zeros(nl)  # no link held (read only)
        self._no_holds.flags.writeable = False
        self.front = np.ones(m)
        self.restricted = np.zeros(nl, dtype=bool)
        self.unrestricted = np.ones(nl)
        self.cargo = HeldCargo(host)
        self._changed_specs: list[ExportControl] = []
        #: the controls' states at the last update without a quota, and what they gave:
        #: (allow, front, held share, release rate), kept while the states stay the same
        self._kept: tuple[list[_State], tuple[np.ndarray, ...]] | None = None

    # ------------------------------------------------------------------ setup
    def add(self, ev: ExportControl, where: str, memberships: list[list[str]]) -> float:
        """Validate a control, schedule its dates; return its start day (a disruption)."""
        host, net = self.host, self.host.net
        if ev.id in self.by_id:
            raise InputError(
                where, "id", f"duplicate control id '{ev.id}'", "give each control its own id"
            )
        ctl = ControlState(ev, net, net.start, where)
        if not any(ctl.covered(net, blocs).any() for blocs in memberships):
            raise InputError(
                where,
                "destinations",
                "selects no trade flow (no producer of these commodities in the issuer "
                "ships to these destinations)",
                "check issuer, commodities and destinations",
            )
        world_fac, bloc_of = host.world.facilities, host.world.bloc_of()
        for gi, (_, sel) in enumerate(ctl.general):
            if not sel.mask(world_fac, bloc_of).any():
                raise InputError(
                    where,
                    f"general_licences[{gi}].buyers",
                    "selects no facility",
                    "check the selector",
                )
        ctl.licensing = Licensing(ctl, host)
        if "hold" in (ev.regime, *(g.regime for g in ev.groups)):
            self.cargo.enabled = True
        if ev.quota_t is not None or ev.quota_batches:
            ctl.volume = VolumeQuota(ctl, host, where)
        self.by_id[ev.id] = ctl
        for day in (ctl.announced, ctl.start, ctl.end, *(g for g, _ in ctl.general)):
            host.replan_at(day)
        return ctl.start

    def add_change(self, ev: ExportControlChange, where: str) -> None:
        """Validate a change of an earlier control now; apply it at its date."""
        host, net = self.host, self.host.net
        if ev.control not in self.by_id:
            raise InputError(
                where,
                "control",
                f"no export_control with id '{ev.control}' before this event",
                f"use one of {sorted(self.by_id)}",
            )
        if ev.action in ("suspend", "resume") and ev.changes:
            raise InputError(
                where,
                "changes",
                f"'{ev.action}' takes no changes",
                "remove them or use tighten/ease",
            )
        if ev.action in ("tighten", "ease") and not ev.changes:
            raise InputError(
                where, "changes", f"'{ev.action}' needs changes", "give the new parameters"
            )
        fixed = {"id", "issuer", "quota_t", "quota_batches"}  # allocations are scheduled once
        bad = set(ev.changes) - (set(field_names(ExportControl)) - fixed)
        if bad & {"quota_t", "quota_batches"}:
            raise InputError(
                where,
                f"changes.{sorted(bad & {'quota_t', 'quota_batches'})[0]}",
                "a volume quota cannot be changed: its allocations are scheduled when the "
                "control is set up",
                "give the allocations in the export_control (quota_batches by date)",
            )
        if bad:
            raise InputError(
                where,
                f"changes.{sorted(bad)[0]}",
                "not a control parameter",
                "use a field of export_control",
            )
        ctl = self.by_id[ev.control]
        new_spec = with_changes(ctl.spec, ev.changes) if ev.changes else ctl.spec
        ControlState(new_spec, net, net.start, where)
        if "hold" in (new_spec.regime, *(g.regime for g in new_spec.groups)):
            self.cargo.enabled = True
        self._changed_specs.append(new_spec)
        day = to_day(ev.date, net.start, where, "date")
        host.at(day, lambda c=ctl, e=ev, s=new_spec: self._change(c, e, s))

    def __bool__(self) -> bool:
        """Whether any control has a state that moves between events (quotas, holds)."""
        return bool(self.cargo) or any(c.volume is not None for c in self.by_id.values())

    def advance(self, days: float) -> None:
        """Consume the volume quotas and move held cargo by ``days`` at current rates."""
        for ctl in self.by_id.values():
            if ctl.volume is not None:
                ctl.volume.advance(days)
        if self.cargo:
            self.cargo.advance(days)

    def export(self, links: np.ndarray, sales: np.ndarray) -> np.ndarray:
        """Return the cleared shipments of ``links`` (sales less held cargo, plus releases)."""
        return self.cargo.export(links, sales) if self.cargo else sales

    def sales(self, x: np.ndarray) -> np.ndarray:
        """Return what suppliers sell per link, given the cleared shipments ``x``."""
        return self.cargo.sales(x) if self.cargo else x

    def settled(self) -> None:
        """After the flows settle: schedule the day each volume quota runs out."""
        for ctl in self.by_id.values():
            if ctl.volume is not None:
                ctl.volume.schedule()

    def mark_restricted(self, memberships: list[list[str]]) -> None:
        """Mark the links any control may cover under any membership (for substitution)."""
        net = self.host.net
        for blocs in memberships:
            for ctl in self.by_id.values():
                self.restricted |= ctl.covered(net, blocs)
            for spec in self._changed_specs:
                self.restricted |= ControlState(spec, net, net.start, "").covered(net, blocs)
        self.unrestricted = (~self.restricted).astype(float)

    def _change(self, ctl: ControlState, ev: ExportControlChange, spec: ExportControl) -> None:
        host = self.host
        host.advance()
        now = host.env.now
        if ev.action == "suspend":
            ctl.suspended = True
        elif ev.action == "resume":
            ctl.suspended = False
        else:
            ctl.set_spec(spec, host.net.start)
            for day in (ctl.start, ctl.end, *(g for g, _ in ctl.general)):
                if day > now:
                    host.replan_at(day)
        host.log.append((now, f"control_{ev.action}", ctl.spec.id))
        host.request(replan=True)

    # ------------------------------------------------------------------ in force
    def update(self) -> list[tuple[ControlState, np.ndarray]]:
        """Set ``allow`` and ``front`` from the controls in force; return the quotas.

        Each quota is ``(control, covered links)``; the plan sets its exact factor
        from its orders (:meth:`quota_allow`), and until then the previous factor
        stands. Without a quota, when every control is in the same state as at the last
        update (:meth:`_states`), the shares, front factors and holds are those of then.
        """
        if not self.by_id:  # no control in this run: allow and front stay all ones
            return []
        host = self.host
        net, now = host.net, host.env.now
        states = self._states(now)
        kept = self._kept
        if kept is not None and _same_states(kept[0], states):
            allow, front, hold_share, hold_rate = kept[1]
            quota: _Quotas = []
        else:
            allow, front, hold_share, hold_rate, quota = self._in_force(states)
            self._kept = None if quota else (states, (allow, front, hold_share, hold_rate))
        # Buyers of a restricted link are targeted (allow only falls in the loop, so the
        # links it leaves below 1 are those some control restricted).
        host.targeted[net.link_buyer[allow < 1]] = True
        if self.cargo:
            self.cargo.set_holds(hold_share, hold_rate)
            host.targeted[net.link_buyer[hold_share > 0]] = True
        if quota:  # the factors of the last plan stand until the plan sets them
            self.allow_before_quota = allow.copy()
            scale = np.ones(net.l)
            for _, mask in quota:
                scale[mask] = self.quota_scale[mask]
            self.quota_scale = scale
            allow = allow * scale
            self._quota_scaled = True
        elif self._quota_scaled:  # no quota in force: every factor is 1 (allow * 1 is allow)
            self.quota_scale = np.ones(net.l)
            self._quota_scaled = False
        # A reopened lane delivers again only after its transport time: until then the
        # buyer keeps its redirected orders, as if the lane were still closed.
        if allow is not self.allow:  # (the same array: the shares of the last update)
            reopened = (allow > self.allow + ALLOW_TOLERANCE) & net.link_lagged
            if reopened.any():
                self.allow_held[reopened] = self.allow[reopened]
                self.hold_until[reopened] = now + net.link_days[reopened]
                for day in sorted(set(self.hold_until[reopened].tolist())):
                    host.replan_at(day)
        self.allow = allow
        self.front = front
        return quota

    def _states(self, now: float) -> list[_State]:
        """Each control's state now, its licence applications filed as they fall due.

        A state is ``(control, suspended, front running, in force, coverage, licensed
        shares, general licences in force, quota used up)``: what the shares a control
        lets through, its front factors and its holds follow from (the spec in force
        through the coverage, which is built anew for a new spec or new blocs).
        """
        host = self.host
        net, blocs = host.net, host.country_bloc
        states: list[_State] = []
        for ctl in self.by_id.values():
            if ctl.suspended:
                states.append((ctl, True, False, False, None, None, 0, False))
                continue
            fronting = ctl.announced <= now < ctl.start
            if not ctl.active(now):
                cov = ctl.coverage(net, blocs) if fronting else None
                states.append((ctl, False, fronting, False, cov, None, 0, False))
                continue
            cov = ctl.coverage(net, blocs)
            assert ctl.licensing is not None
            licensed = ctl.licensing.shares(cov.licensed) if cov.licensed else None
            exempt = bisect.bisect_right(ctl.general_days, now)  # general licences in force
            exhausted = ctl.volume is not None and ctl.volume.exhausted()
            states.append((ctl, False, fronting, True, cov, licensed, exempt, exhausted))
        return states

    def _in_force(
        self, states: list[_State]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, _Quotas]:
        """Return ``allow``, ``front``, the held share and release rate, and the quotas."""
        host = self.host
        net = host.net
        allow = np.ones(net.l)
        front = np.ones(net.m)
        quota: _Quotas = []
        hold_share = hold_rate = self._no_holds  # arrays of their own once a link is held
        for ctl, suspended, fronting, active, cov, licensed, exempt, exhausted in states:
            if suspended:
                continue
            if fronting:
                assert cov is not None
                for c, extra in ctl.front_by_commodity.items():
                    if extra > 0:
                        front[cov.front_slots[net.commodities.index(c)]] = 1.0 + extra
            if not active:
                continue
            assert cov is not None
            links = cov.links
            if len(cov.hold):  # held links pass (sales go on, customs hold them)
                held_links = links[cov.hold]
                if hold_share is self._no_holds:
                    hold_share, hold_rate = np.zeros(net.l), np.zeros(net.l)
                hold_share[held_links] = cov.hold_share
                hold_rate[held_links] = ctl.spec.hold_release_share
            if ctl.spec.quota_share is not None:
                if ctl.pre_volume is None:  # per commodity, in its own unit per day
                    ctl.pre_volume = np.bincount(
                        net.link_com[links], host.x[links], len(net.commodities)
                    )
                quota.append((ctl, cov.mask))
                host.targeted[cov.buyer] = True
            kept = ctl.passed
            if kept is not None and kept[0] is cov and kept[1] is licensed and kept[2] == exempt:
                passed = kept[3]
            else:
                passed = self._passed(ctl, cov, licensed)
                ctl.passed = (cov, licensed, exempt, passed)
            allow[links] = np.minimum(allow[links], passed)
            if exhausted:  # a used-up volume quota closes its covered links
                allow[links] = 0.0
        return allow, front, hold_share, hold_rate, quota

    def _passed(self, ctl: ControlState, cov: Coverage, licensed: np.ndarray | None) -> np.ndarray:
        """Return the share of each covered link's flow that ``ctl`` lets through now.

        The share licensed per covered link comes from its buyer's group (only licensed
        buyers loop); held links and buyers under a general licence in force pass.
        """
        host = self.host
        net, now = host.net, host.env.now
        share = np.zeros(len(cov.links))
        share[cov.hold] = 1.0
        if licensed is not None:
            share[cov.licensed_at] = licensed[cov.licensed_buyer]
        for day, sel in ctl.general:  # exempt buyers, under either regime
            if day <= now:
                bloc_of = dict(zip(net.countries, host.country_bloc, strict=True))
                share[cov.general(sel, host.world.facilities, bloc_of)] = 1.0
        return cov.outside + (1.0 - cov.outside) * share

    def restricting(self, quota: list[tuple[ControlState, np.ndarray]]) -> bool:
        """Whether any control restricts a link now (or a reopened lane is still held)."""
        if not self.by_id:
            return False
        now = self.host.env.now
        return bool(quota or (self.allow < 1).any() or (self.hold_until > now).any())

    def quota_allow(
        self,
        lk: np.ndarray,
        commodities: tuple[int, ...],
        base: np.ndarray,
        quota: list[tuple[ControlState, np.ndarray]],
    ) -> np.ndarray:
        """Share of ``base`` orders on links ``lk`` (of ``commodities``) that may ship.

        Quotas scale their covered links of each commodity down so that the covered
        orders fit the quota (a share of the covered flow of that commodity just before
        the control); the factor is kept for the next plan.
        """
        if not quota:
            return self.allow[lk].copy()
        allow = self.allow_before_quota[lk].copy()
        link_com = self.host.net.link_com[lk]
        for k in commodities:
            at = np.flatnonzero(link_com == k)
            links, asked, passed = lk[at], base[at], allow[at]
            for ctl, cov in quota:
                c = cov[links]
                want = (asked * passed)[c].sum()
                assert ctl.pre_volume is not None and ctl.spec.quota_share is not None
                cap = ctl.spec.quota_share * ctl.pre_volume[k]
                factor = min(1.0, cap / want) if want > 0 else 1.0
                passed[c] *= factor
                self.quota_scale[links[c]] = factor
            allow[at] = passed
        self.allow[lk] = allow  # what the quota lets through, for the next plan
        return allow

    def held(self, lk: np.ndarray) -> np.ndarray:
        """Whether each link is a reopened lane whose first new shipment is under way."""
        return self.host.env.now < self.hold_until[lk]

    def lead_days(self, w: np.ndarray, orders: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """Return the expected lane days of each slot's orders over the links let through.

        It is the mean lane time of the slot's orders of the previous plan on the links
        that controls now let through, weighted by those orders (so redirected orders
        count at their own lane's time); a slot whose previous orders reach no open link
        falls back to its baseline weights ``w`` on the open links, and then to the
        ``baseline`` lead. The target pipeline of a slot is its use times this lead, so
        a blocked lane holds no pipeline.

        Orders already placed (rather than a guess of where spare capacity will take
        them) make the lead follow the orders: it settles when they do, instead of
        flipping between the lanes of two suppliers from one review to the next.
        """
        net = self.host.net
        starts = net.slot_link_start
        placed = orders * self.allow
        fallback = w * self.allow
        total = np.add.reduceat(placed, starts)
        use_placed = (total > RATE_FLOOR)[net.link_slot]  # not on residue orders
        reach = np.where(use_placed, placed, fallback)
        total = np.add.reduceat(reach, starts)
        lead = np.add.reduceat(reach * net.link_days, starts)
        return np.divide(lead, total, out=baseline.copy(), where=total > 0)
