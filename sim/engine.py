"""The engine: one SimPy environment per run, flows computed in bulk between events.

State is a production rate per facility, a stock per input slot and the flow on
each link (supplier -> buyer slot), with material in transit on lanes. Between two
events every rate is constant, so stocks move linearly and the moment a stock runs
out is known in advance. Events are: ordering reviews (every ``review_days``),
scheduled shocks and policies, licence decisions, qualification and ramp steps,
arrivals of rate changes at the far end of a lane, stock-outs and stockpile
depletion. At each event the network is re-settled in two vectorised passes:

* ``plan`` (final -> raw commodities, at reviews and at shocks): desired output of
  each facility, orders toward target inventory position, their split over
  suppliers (baseline weights, export controls, substitution);
* ``settle`` (raw -> final, at every event): output limited by capacity, orders and
  the scarcest input (Leontief: an input with stock on hand does not bind; an
  empty one binds at its inflow), allocation among customers, shipments.

Daily series are reconstructed afterwards by integrating the piecewise-constant
rates over each day. Material is conserved by construction: every unit produced
is shipped or delivered to final demand, every shipment arrives after its lane's
transport time, and every arrival goes into stock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from sim.controls import ControlState
from sim.distributions import Distribution
from sim.errors import InputError
from sim.events import (
    CapacityInvestment,
    DemandChange,
    Event,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    MembershipChange,
    SourcingPolicy,
    StockpileRelease,
    describe,
    field_names,
    is_disruption,
    to_day,
    with_changes,
)
from sim.network import CommodityIndex, Network
from sim.record import RunRecord, build_record
from sim.response import AllocationRule, demand_factors, order_rate, pro_rata, ramp_fraction
from sim.world import World

#: Relative change below which a link's rate change is not sent down the lane.
RATE_TOLERANCE = 1e-12
#: A stock below this many days of planned use counts as empty.
EMPTY_STOCK_DAYS = 1e-9
#: A stock falls only if its slope is below minus this share of its inflow: an empty
#: stock that binds production at its inflow has a slope of float residue (+-1e-17),
#: which must not schedule a stock-out (the amplifier of issue 7: a spurious re-settle
#: at an instant that depended on the last bits of the inputs).
SLOPE_TOLERANCE = 1e-12
#: Shares a control lets through (``allow``, 0-1) closer than this are equal: a quota
#: factor recomputed from the same orders must not reopen a lane or close it to
#: redirected orders by float residue.
ALLOW_TOLERANCE = 1e-12
#: Spare capacity below this share of capacity counts as none (see ``_Run._spare``).
SPARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Settings:
    """Engine settings that are not part of the world or the events.

    Parameters
    ----------
    review_days : float
        Days between ordering reviews (demand noise and growth, capacity ramps and
        orders are updated at reviews and at events).
    stock_adjust_days : float
        Days over which an ordering gap to the target inventory position is closed.
    ramp_step_days : float
        Step of the substitution ramp staircase, in days.
    qualification_days : mapping of commodity -> float or Distribution
        Overrides of the commodities table's qualification lead times; a
        distribution is drawn once per buyer slot when it is cut off.
    substitution_ramp_days : mapping of commodity -> float
        Overrides of the commodities table's substitution ramp lengths.
    record_trade : bool
        Also record daily shipments by origin country, destination country and
        commodity (``RunRecord.trade``); off by default (it costs time and memory).
    """

    review_days: float = 7.0
    stock_adjust_days: float = 21.0
    ramp_step_days: float = 1.0
    qualification_days: Mapping[str, float | Distribution] = field(default_factory=dict)
    substitution_ramp_days: Mapping[str, float] = field(default_factory=dict)
    record_trade: bool = False


class _Run:
    """One run: the SimPy environment and the state it moves."""

    def __init__(
        self,
        net: Network,
        world: World,
        events: Sequence[Event],
        horizon_days: int,
        rng: np.random.Generator,
        settings: Settings,
        allocation: AllocationRule,
    ) -> None:
        self.net = net
        self.world = world
        self.settings = settings
        self.allocate = allocation
        self.horizon = float(horizon_days)
        self.env = simpy.Environment()
        # Two independent streams seeded from ``rng``: demand noise first, so that a run
        # without disruptions sees exactly the same demand as its paired actual run.
        demand_seed, event_seed = rng.integers(0, 2**63, size=2)
        demand_rng = np.random.default_rng(demand_seed)
        self.event_rng = np.random.default_rng(event_seed)
        n, m, nl = net.n, net.m, net.l
        bloc_of = world.bloc_of()
        self.country_bloc = [bloc_of[c] for c in net.countries]
        self.log: list[tuple[float, str, str]] = []

        # Final demand: rows -> facilities, with growth and per-review noise.
        dem = world["demand"]
        fidx = net.facility_index()
        split = np.zeros((len(dem), n))
        for r, (com, country, facility) in enumerate(
            zip(dem["commodity"], dem["country"], dem["facility"], strict=True)
        ):
            if facility:
                split[r, fidx[facility]] = 1.0
            else:
                k = net.commodities.index(com)
                ci = net.countries.index(country)
                mask = (net.fac_com == k) & (net.fac_country == ci)
                w = net.nameplate_per_day * mask
                split[r] = w / w.sum() if w.sum() > 0 else mask / mask.sum()
        self.demand_split = split
        self.demand_base = dem["quantity_per_year"].to_numpy(dtype=float) / 365.0
        self.demand_growth = dem["growth_per_year_share"].to_numpy(dtype=float)
        self.demand_scale = np.ones(len(dem))
        n_periods = int(np.ceil(self.horizon / settings.review_days)) + 1
        z = demand_rng.standard_normal((n_periods, len(dem)))
        self.demand_noise = demand_factors(z, dem["noise_cv"].to_numpy(dtype=float))

        # Commodity-level substitution parameters.
        self.qual_dist = [
            Distribution.of(settings.qualification_days.get(c, net.qualification_days[k]))
            for k, c in enumerate(net.commodities)
        ]
        self.sub_ramp = np.array(
            [
                settings.substitution_ramp_days.get(c, net.substitution_ramp_days[k])
                for k, c in enumerate(net.commodities)
            ]
        )

        # State.
        self.t_last = 0.0
        ends = net.available_day + net.ramp_up_days
        finite = np.isfinite(ends)
        self._fully_available_from = float(ends[finite].max()) if finite.any() else -np.inf
        self.availability = np.zeros(n)
        self._availability_final = False
        self.outages: dict[int, tuple[np.ndarray, float]] = {}  # event index -> (mask, factor)
        self.cap = np.zeros(n)
        self.final = np.zeros(n)
        self.desired = np.zeros(n)
        self.p = np.zeros(n)
        self.delivered = np.zeros(n)
        self.s = np.zeros(m)
        self.inflow = np.zeros(m)
        self.inflow_unrestricted = np.zeros(m)
        self.release = np.zeros(m)
        self.slope = np.zeros(m)
        self.orders = np.zeros(nl)
        self.x = np.zeros(nl)
        self.x_sent = np.zeros(nl)
        self.arr = np.zeros(nl)
        self.transit = np.zeros(nl)
        self.allow = np.ones(nl)
        self.allow_held = np.ones(nl)
        self.bloc_first: set[tuple[str, str]] = set()  # (bloc, commodity) allocating bloc-first
        self.priority = np.zeros(nl, dtype=bool)
        self.offtake_links = np.zeros(nl, dtype=bool)
        self._has_priority = False
        self.allow_before_quota = np.ones(nl)
        self.quota_scale = np.ones(nl)
        self.hold_until = np.full(nl, -np.inf)
        self.front = np.ones(m)
        self.slot_orders = np.zeros(m)
        self.empty_below = np.zeros(m)  # stock at or below this counts as empty (per plan)
        self.qual_start = np.full(m, np.nan)
        self.qual_done = np.full(m, np.nan)
        self.redirect_day = np.full(m, np.nan)  # first redirected orders, per slot
        self.redirect_lane_days = np.full(m, np.nan)  # their mean lane time
        self._qualifying = False
        self.targeted = np.zeros(n, dtype=bool)
        self.restricted = np.zeros(nl, dtype=bool)
        # Stock removed (positive) or added (negative) by clipping float residue.
        self.rounding = np.zeros(m)
        # Input substitution (recipes' substitute inputs): effective coefficients, the
        # capacity factor while running on a substitute, and qualification dates.
        self.coef = net.slot_coef * (net.slot_substitute_of < 0)
        self.substitute_factor = np.ones(n)
        self.substitute_ready = np.full(m, np.nan)
        self.substitute_active = np.zeros(m, dtype=bool)
        # Epoch log: rates in force from each epoch's start time.
        self.ep_t: list[float] = []
        self.ep_p: list[np.ndarray] = []
        self.ep_delivered: list[np.ndarray] = []
        self.ep_supply: list[np.ndarray] = []
        self.ep_supply_unrestricted: list[np.ndarray] = []
        self.ep_s: list[np.ndarray] = []
        self.ep_slope: list[np.ndarray] = []
        self.ep_coef: list[np.ndarray] = []
        self.ep_x: list[np.ndarray] = []
        self.ep_release: list[np.ndarray] = []

        self._pending = False
        self._need_plan = False
        self._stockout_token = 0
        self._stockout_due = np.inf
        self._arrivals: dict[float, list[tuple[np.ndarray, np.ndarray, float]]] = {}
        self._weights_for: np.ndarray | None = None
        self._weights = np.zeros(nl)
        self._baseline_lead = np.zeros(m)
        self.controls: dict[str, ControlState] = {}
        self.stockpiles: list[tuple[StockpileRelease, np.ndarray, float]] = []
        self.stock_levels: list[float] = []
        self.t0: float | None = None
        self._setup_events(events)

    # ------------------------------------------------------------------ events
    def _at(self, day: float, action: object) -> None:
        """Run ``action()`` at ``day`` (if within the horizon)."""
        if day > self.horizon:
            return
        ev = self.env.timeout(max(day - self.env.now, 0.0))
        ev.callbacks.append(lambda _e: action())  # type: ignore[operator]

    def _setup_events(self, events: Sequence[Event]) -> None:
        net, start = self.net, self.net.start
        world_fac = self.world.facilities
        bloc_of = self.world.bloc_of()
        disruption_days: list[float] = []
        changed_specs: list[ExportControl] = []
        # Bloc memberships the run will see (at the start, then after each change): a
        # control must select some trade flow under at least one of them.
        memberships = [list(self.country_bloc)]
        joins = [e for e in events if isinstance(e, MembershipChange)]
        for join in sorted(joins, key=lambda e: to_day(e.date, start, "events", "date")):
            if join.country in net.countries:
                state = list(memberships[-1])
                state[net.countries.index(join.country)] = join.bloc
                memberships.append(state)
        for idx, ev in enumerate(events):
            where = describe(ev, idx)
            if isinstance(ev, ExportControl):
                if ev.id in self.controls:
                    raise InputError(
                        where,
                        "id",
                        f"duplicate control id '{ev.id}'",
                        "give each control its own id",
                    )
                ctl = ControlState(ev, net, start, where)
                if not any(ctl.covered(net, blocs).any() for blocs in memberships):
                    raise InputError(
                        where,
                        "destinations",
                        "selects no trade flow (no producer of these commodities in the issuer "
                        "ships to these destinations)",
                        "check issuer, commodities and destinations",
                    )
                for gi, (_, sel) in enumerate(ctl.general):
                    if not sel.mask(world_fac, bloc_of).any():
                        raise InputError(
                            where,
                            f"general_licences[{gi}].buyers",
                            "selects no facility",
                            "check the selector",
                        )
                self.controls[ev.id] = ctl
                disruption_days.append(ctl.start)
                for day in (ctl.announced, ctl.start, ctl.end, *(g for g, _ in ctl.general)):
                    self._at(day, lambda: self._request(replan=True))
            elif isinstance(ev, ExportControlChange):
                if ev.control not in self.controls:
                    raise InputError(
                        where,
                        "control",
                        f"no export_control with id '{ev.control}' before this event",
                        f"use one of {sorted(self.controls)}",
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
                bad = set(ev.changes) - (set(field_names(ExportControl)) - {"id", "issuer"})
                if bad:
                    raise InputError(
                        where,
                        f"changes.{sorted(bad)[0]}",
                        "not a control parameter",
                        "use a field of export_control",
                    )
                ctl = self.controls[ev.control]
                # Validate the changed spec now, apply it at the date.
                new_spec = with_changes(ctl.spec, ev.changes) if ev.changes else ctl.spec
                ControlState(new_spec, net, start, where)
                changed_specs.append(new_spec)
                day = to_day(ev.date, start, where, "date")
                self._at(day, lambda c=ctl, e=ev, s=new_spec: self._change_control(c, e, s))
            elif isinstance(ev, FacilityOutage):
                mask = ev.select.mask(world_fac, bloc_of)
                if ev.select.is_empty() or not mask.any():
                    raise InputError(
                        where,
                        "select",
                        "selects no facility",
                        "check facility ids, types, countries and blocs",
                    )
                if not 0 <= ev.capacity_factor <= 1:
                    raise InputError(
                        where,
                        "capacity_factor",
                        f"{ev.capacity_factor} is out of range",
                        "give a share in [0, 1]",
                    )
                if ev.duration_days < 0:
                    raise InputError(
                        where, "duration_days", "is negative", "give a duration >= 0 days"
                    )
                day = to_day(ev.start, start, where, "start")
                disruption_days.append(day)
                entry = (mask, float(ev.capacity_factor))
                self._at(day, lambda i=idx, e=entry: self._outage(i, e, True))
                self._at(day + ev.duration_days, lambda i=idx, e=entry: self._outage(i, e, False))
            elif isinstance(ev, StockpileRelease):
                sp = self.world["stockpiles"]
                row = sp[(sp["holder"] == ev.holder) & (sp["commodity"] == ev.commodity)]
                if row.empty:
                    raise InputError(
                        where,
                        "holder",
                        f"no stockpile of '{ev.commodity}' held by '{ev.holder}'",
                        "add it to stockpiles.csv",
                    )
                if ev.rate_per_day < 0 or not 0 <= ev.threshold_share <= 1:
                    raise InputError(
                        where,
                        "rate_per_day",
                        "rate must be >= 0 and threshold in [0, 1]",
                        "fix the values",
                    )
                recipients = self._recipients(ev)
                if not recipients.any():
                    raise InputError(
                        where,
                        "holder",
                        f"no facility of '{ev.holder}' uses '{ev.commodity}'",
                        "check holder and commodity",
                    )
                self.stockpiles.append((ev, recipients, to_day(ev.start, start, where, "start")))
                self.stock_levels.append(float(row["quantity"].iloc[0]))
            elif isinstance(ev, CapacityInvestment):
                pass  # added to the world before the run (with_investments)
            elif isinstance(ev, SourcingPolicy):
                if ev.rule not in ("pro_rata", "bloc_first", "offtake"):
                    raise InputError(
                        where,
                        "rule",
                        f"unknown rule '{ev.rule}'",
                        "use pro_rata, bloc_first or offtake",
                    )
                if ev.rule == "offtake":
                    for name, sel in (("suppliers", ev.suppliers), ("buyers", ev.buyers)):
                        if sel.is_empty() or not sel.mask(world_fac, bloc_of).any():
                            raise InputError(
                                where,
                                name,
                                "selects no facility",
                                "name the contracted facilities (ids, types, countries, blocs)",
                            )
                for c in ev.commodities:
                    net.require_commodity(where, "commodities", c)
                day = to_day(ev.date, start, where, "date")
                self._at(day, lambda e=ev: self._set_sourcing(e))
            elif isinstance(ev, MembershipChange):
                net.require_country(where, "country", ev.country)
                day = to_day(ev.date, start, where, "date")
                self._at(day, lambda e=ev: self._join(e))
            elif isinstance(ev, DemandChange):
                rows = self._demand_rows(ev)
                if ev.factor < 0:
                    raise InputError(where, "factor", f"{ev.factor} is negative", "give >= 0")
                if not rows.any():
                    raise InputError(
                        where,
                        "commodities",
                        "selects no demand row",
                        "check commodities, countries and facilities against demand.csv",
                    )
                day = to_day(ev.date, start, where, "date")
                self._at(day, lambda r=rows, f=float(ev.factor): self._scale_demand(r, f))
            else:  # pragma: no cover - typing guard
                raise InputError(
                    where, "kind", "unknown event type", "use one of the documented events"
                )
        if disruption_days:
            self.t0 = max(0.0, min(disruption_days))
        # Links any control may cover (restricted sources, for substitution metrics).
        for blocs in memberships:
            for ctl in self.controls.values():
                self.restricted |= ctl.covered(net, blocs)
            for spec in changed_specs:
                self.restricted |= ControlState(spec, net, start, "").covered(net, blocs)
        self.unrestricted = (~self.restricted).astype(float)
        for day in np.unique(net.available_day[np.isfinite(net.available_day)]):
            if 0 < day <= self.horizon:
                self._at(float(day), lambda: self._request(replan=True))

    def _change_control(
        self, ctl: ControlState, ev: ExportControlChange, spec: ExportControl
    ) -> None:
        self._advance()
        if ev.action == "suspend":
            ctl.suspended = True
        elif ev.action == "resume":
            ctl.suspended = False
        else:
            ctl.set_spec(spec, self.net.start)
            for day in (ctl.start, ctl.end, *(g for g, _ in ctl.general)):
                if day > self.env.now:
                    self._at(day, lambda: self._request(replan=True))
        self.log.append((self.env.now, f"control_{ev.action}", ctl.spec.id))
        self._request(replan=True)

    def _recipients(self, ev: StockpileRelease) -> np.ndarray:
        """Input slots a stockpile release feeds: the holder's, or its bloc's, users."""
        net = self.net
        k = net.commodities.index(ev.commodity)
        if ev.holder in net.countries and not ev.share_with_bloc:
            country_ok = np.array([c == ev.holder for c in net.countries])
        else:
            bloc = (
                self.country_bloc[net.countries.index(ev.holder)]
                if ev.holder in net.countries
                else ev.holder
            )
            country_ok = np.array([b == bloc for b in self.country_bloc])
        return (net.slot_com == k) & country_ok[net.fac_country[net.slot_fac]]

    def _set_sourcing(self, ev: SourcingPolicy) -> None:
        """Switch a bloc's producers (for some commodities) to an allocation rule."""
        self._advance()
        coms = ev.commodities or tuple(self.net.commodities)
        if ev.rule == "offtake":
            fac, bloc_of = self.world.facilities, self.world.bloc_of()
            net = self.net
            link = (
                ev.suppliers.mask(fac, bloc_of)[net.link_sup]
                & ev.buyers.mask(fac, bloc_of)[net.link_buyer]
                & np.isin(net.link_com, [net.commodities.index(c) for c in coms])
            )
            self.offtake_links |= link
            self.log.append((self.env.now, "sourcing_policy", f"offtake:{int(link.sum())} links"))
            self._request(replan=True)
            return
        for c in coms:
            self.bloc_first.discard((ev.bloc, c))
            if ev.rule == "bloc_first":
                self.bloc_first.add((ev.bloc, c))
        self.log.append((self.env.now, "sourcing_policy", f"{ev.bloc}:{ev.rule}"))
        self._request(replan=True)

    def _join(self, ev: MembershipChange) -> None:
        """Move a country to another bloc: controls and shared stockpiles follow."""
        self._advance()
        self.country_bloc[self.net.countries.index(ev.country)] = ev.bloc
        self.stockpiles = [(e, self._recipients(e), s) for e, _, s in self.stockpiles]
        self.log.append((self.env.now, "membership_change", f"{ev.country}:{ev.bloc}"))
        self._request(replan=True)

    def _demand_rows(self, ev: DemandChange) -> np.ndarray:
        """Demand rows a demand change selects."""
        dem = self.world["demand"]
        fac_country = dict(
            zip(self.world.facilities["facility"], self.world.facilities["country"], strict=True)
        )
        country = [
            c or fac_country.get(f, "")
            for c, f in zip(dem["country"], dem["facility"], strict=True)
        ]
        rows = np.ones(len(dem), dtype=bool)
        if ev.commodities:
            rows &= dem["commodity"].isin(ev.commodities).to_numpy()
        if ev.countries:
            rows &= np.isin(country, ev.countries)
        if ev.facilities:
            rows &= dem["facility"].isin(ev.facilities).to_numpy()
        return rows

    def _scale_demand(self, rows: np.ndarray, factor: float) -> None:
        self._advance()
        self.demand_scale = self.demand_scale.copy()
        self.demand_scale[rows] *= factor
        self.log.append((self.env.now, "demand_change", f"{int(rows.sum())} rows x {factor:g}"))
        self._request(replan=True)

    def _outage(self, index: int, entry: tuple[np.ndarray, float], begin: bool) -> None:
        self._advance()
        if begin:
            self.outages[index] = entry
            self.targeted |= entry[0]
        else:
            self.outages.pop(index, None)
        self.log.append(
            (self.env.now, "outage_start" if begin else "outage_end", str(int(entry[0].sum())))
        )
        self._request(replan=True)

    def _request(self, replan: bool) -> None:
        """Re-settle once all events of this instant have been processed."""
        self._advance()
        self._need_plan |= replan
        if not self._pending:
            self._pending = True
            self.env.timeout(0).callbacks.append(self._flush)

    def _flush(self, _event: object = None) -> None:
        self._pending = False
        if self._need_plan:
            self._need_plan = False
            self._plan()
        self._settle()

    def _reviews(self):  # type: ignore[no-untyped-def]
        while True:
            yield self.env.timeout(self.settings.review_days)
            self._request(replan=True)

    # ------------------------------------------------------------------ state
    def _advance(self) -> None:
        """Move stocks, transit and stockpiles forward to now at the current rates.

        Cumulative output, use and releases are not summed here: they are integrals of
        the recorded epoch rates, computed once at the end.
        """
        now = self.env.now
        dt_ = now - self.t_last
        if dt_ <= 0:
            return
        s = self.s + self.slope * dt_
        neg = s < 0
        if neg.any():  # float residue below zero: record it, then clip
            self.rounding[neg] += s[neg]
            s[neg] = 0.0
        self.s = s
        self.transit += (self.x - self.arr) * dt_
        for i, (_, recipients, _) in enumerate(self.stockpiles):
            self.stock_levels[i] = max(
                0.0, self.stock_levels[i] - self.release[recipients].sum() * dt_
            )
        self.t_last = now

    def _capacity_and_demand(self) -> None:
        net, now = self.net, self.env.now
        if now < self._fully_available_from:  # some plant is not yet (fully) on line
            since = now - net.available_day
            with np.errstate(divide="ignore", invalid="ignore"):
                ramp = np.where(net.ramp_up_days > 0, since / net.ramp_up_days, 1.0)
            self.availability = np.where(since >= 0, np.clip(ramp, 0.0, 1.0), 0.0)
        elif not self._availability_final:
            self.availability = np.ones(net.n)
            self._availability_final = True
        avail = self.availability
        factor = np.ones(net.n)
        for mask, f in self.outages.values():
            factor[mask] *= f
        self.cap = net.nameplate_per_day * avail * factor * self.substitute_factor
        period = min(int(now // self.settings.review_days), len(self.demand_noise) - 1)
        rows = (
            self.demand_base
            * (1.0 + self.demand_growth) ** (now / 365.0)
            * self.demand_noise[period]
            * self.demand_scale
        )
        self.final = rows @ self.demand_split

    def _controls(self) -> list[tuple[ControlState, np.ndarray]]:
        """Set ``allow`` (share of orders that may ship on each link) from the controls in force."""
        net, now = self.net, self.env.now
        allow = np.ones(net.l)
        front = np.ones(net.m)
        quota: list[tuple[ControlState, np.ndarray]] = []
        world_fac = self.world.facilities
        bloc_of = dict(zip(net.countries, self.country_bloc, strict=True))
        for ctl in self.controls.values():
            if ctl.suspended:
                continue
            if ctl.announced <= now < ctl.start and ctl.spec.front_running_share > 0:
                cov = ctl.covered(net, self.country_bloc)
                front[np.unique(net.link_slot[cov])] = 1.0 + ctl.spec.front_running_share
            if not ctl.active(now):
                continue
            cov = ctl.covered(net, self.country_bloc)
            share = np.zeros(net.l)
            if ctl.spec.regime == "license":
                for buyer in np.unique(net.link_buyer[cov]):
                    app = ctl.applications.get(int(buyer))
                    if app is None:
                        app = self._apply(ctl, int(buyer))
                    if app[0] <= now and app[1] >= 0:
                        share[cov & (net.link_buyer == buyer)] = app[1]
                if ctl.spec.quota_share is not None:
                    if ctl.pre_volume is None:  # per commodity, in its own unit per day
                        volume = np.bincount(net.link_com[cov], self.x[cov], len(net.commodities))
                        ctl.pre_volume = volume
                    quota.append((ctl, cov))
                    self.targeted[net.link_buyer[cov]] = True
            for day, sel in ctl.general:  # exempt buyers, under either regime
                if day <= now:
                    share[cov & sel.mask(world_fac, bloc_of)[net.link_buyer]] = 1.0
            allow[cov] = np.minimum(allow[cov], share[cov])
            self.targeted[net.link_buyer[cov & (allow < 1)]] = True
        # Quotas scale covered links further; the plan sets the exact factor from its
        # orders, and until then the previous plan's factor stands.
        self.allow_before_quota = allow.copy()
        scale = np.ones(net.l)
        for _, cov in quota:
            scale[cov] = self.quota_scale[cov]
        self.quota_scale = scale
        allow = allow * scale
        # A reopened lane delivers again only after its transport time: until then the
        # buyer keeps its redirected orders, as if the lane were still closed.
        reopened = (allow > self.allow + ALLOW_TOLERANCE) & net.link_lagged
        if reopened.any():
            self.allow_held[reopened] = self.allow[reopened]
            self.hold_until[reopened] = now + net.link_days[reopened]
            for day in np.unique(self.hold_until[reopened]):
                self._at(float(day), lambda: self._request(replan=True))
        self.allow = allow
        self.front = front
        # Links on which a bloc-first producer meets a buyer of its own bloc, and offtakes.
        if self.bloc_first:
            sup_bloc = [self.country_bloc[c] for c in net.fac_country[net.link_sup]]
            buy_bloc = [self.country_bloc[c] for c in net.fac_country[net.link_buyer]]
            coms = [net.commodities[k] for k in net.link_com]
            self.priority = np.array(
                [
                    s == b and (s, c) in self.bloc_first
                    for s, b, c in zip(sup_bloc, buy_bloc, coms, strict=True)
                ],
                dtype=bool,
            )
        else:
            self.priority = np.zeros(net.l, dtype=bool)
        self.priority = self.priority | self.offtake_links
        self._has_priority = bool(self.priority.any())
        return quota

    def _apply(self, ctl: ControlState, buyer: int) -> list[float]:
        """File a licence application for ``buyer``: draw its decision day and outcome."""
        now = self.env.now
        review = max(0.0, ctl.review.draw(self.event_rng))
        approved = self.event_rng.random() < ctl.spec.approval_probability
        app = [now + review, ctl.spec.approved_share if approved else -1.0]
        ctl.applications[buyer] = app
        self.log.append((now, "licence_applied", f"{ctl.spec.id}:{self.net.facility_ids[buyer]}"))

        def decide() -> None:
            self.log.append(
                (
                    self.env.now,
                    "licence_approved" if app[1] >= 0 else "licence_refused",
                    f"{ctl.spec.id}:{self.net.facility_ids[buyer]}",
                )
            )
            if app[1] < 0:
                self._at(self.env.now + ctl.spec.reapply_days, lambda: self._reapply(ctl, buyer))
            self._request(replan=True)

        self._at(now + review, decide)
        return app

    def _reapply(self, ctl: ControlState, buyer: int) -> None:
        if ctl.applications.get(buyer, [0, 0])[1] < 0:
            del ctl.applications[buyer]
        self._request(replan=True)

    # ------------------------------------------------------------------ passes
    def _plan(self, steady: bool = False) -> None:
        """Orders, final -> raw: desired output, orders toward target, split over suppliers.

        With ``steady``, orders equal use (no stock correction) and no control applies:
        the pre-shock steady state a run starts from.
        """
        net, st, now = self.net, self.settings, self.env.now
        self._capacity_and_demand()
        quota = [] if steady else self._controls()
        w = self._order_weights()
        if len(net.substitute_slots) and not steady and self._switch_inputs(w):
            self._capacity_and_demand()
        rho = np.zeros(net.m)
        if self._qualifying:
            q = self._qualified_slots
            rho[q] = ramp_fraction(
                now, self.qual_done[q], self.sub_ramp[net.slot_com[q]], st.ramp_step_days
            )
        restricting = bool(quota or (self.allow < 1).any() or (self.hold_until > now).any())
        lead = self._lead_days(w, restricting)
        transit_slot = np.add.reduceat(self.transit, net.slot_link_start) if net.l else np.zeros(0)
        slot_orders = np.zeros(net.m)
        orders = np.zeros(net.l)
        desired = np.zeros(net.n)
        for ci in reversed(net.by_commodity):
            lk, lslot, lsup = ci.links, ci.link_slot, ci.link_sup
            if len(lk):
                wk = w[lk]
                base = wk * slot_orders[lslot]
                if restricting:
                    regular = self._restricted_orders(ci, wk, base, slot_orders, rho, quota)
                else:
                    regular = base
                orders[lk] = regular
                req_total = np.bincount(lsup, regular, minlength=net.n)
            else:
                req_total = np.zeros(net.n, dtype=float)
            prods = ci.producers
            desired[prods] = np.minimum(self.cap[prods], self.final[prods] + req_total[prods])
            ps = ci.producer_slots
            if len(ps):
                use = self.coef[ps] * desired[ci.slot_fac]
                if steady:
                    slot_orders[ps] = use
                else:
                    target = use * (ci.slot_cover_days * self.front[ps] + lead[ps])
                    slot_orders[ps] = order_rate(
                        use, self.s[ps] + transit_slot[ps], target, st.stock_adjust_days
                    )
        self.orders = orders
        self.desired = desired
        self.slot_orders = slot_orders
        self.empty_below = EMPTY_STOCK_DAYS * self.coef * desired[net.slot_fac]

    def _order_weights(self) -> np.ndarray:
        """Baseline share of each link in its slot's orders, among available suppliers.

        Sourcing weights (or nameplate capacity) times each supplier's availability,
        normalised per slot; a slot whose weighted suppliers are all unavailable falls
        back to capacity. Cached until availability changes.
        """
        net = self.net
        if self._weights_for is not None and np.array_equal(self._weights_for, self.availability):
            return self._weights
        weight = net.link_weight * self.availability[net.link_sup]
        wsum = np.add.reduceat(weight, net.slot_link_start) if net.l else np.zeros(0)
        fallback = net.nameplate_per_day[net.link_sup] * self.availability[net.link_sup]
        weight = np.where(wsum[net.link_slot] <= 0, fallback, weight)
        wsum = np.add.reduceat(weight, net.slot_link_start) if net.l else np.zeros(0)
        self._weights = np.divide(
            weight, wsum[net.link_slot], out=np.zeros(net.l), where=wsum[net.link_slot] > 0
        )
        self._baseline_lead = (
            np.add.reduceat(self._weights * net.link_days, net.slot_link_start)
            if net.l
            else np.zeros(net.m)
        )
        self._weights_for = self.availability.copy()
        return self._weights

    def _restricted_orders(
        self,
        ci: CommodityIndex,
        wk: np.ndarray,
        base: np.ndarray,
        slot_orders: np.ndarray,
        rho: np.ndarray,
        quota: list[tuple[ControlState, np.ndarray]],
    ) -> np.ndarray:
        """Orders on a commodity's links under export controls, with substitution.

        ``base`` is each link's share of its slot's orders. Controls let through
        ``allow`` of it (quotas scale the covered links down to the quota); the blocked
        share starts qualification of new suppliers, and once qualified a ramping share
        ``rho`` of it is redirected to unrestricted suppliers with spare capacity, in
        proportion to that spare capacity and never beyond it.
        """
        net, now = self.net, self.env.now
        lk, lslot, lsup = ci.links, ci.link_slot, ci.link_sup
        allow = self.allow[lk].copy()
        if quota:
            allow = self.allow_before_quota[lk].copy()
            for ctl, cov in quota:
                c = cov[lk]
                want = (base * allow)[c].sum()
                assert ctl.pre_volume is not None and ctl.spec.quota_share is not None
                cap = ctl.spec.quota_share * ctl.pre_volume[ci.commodities[0]]
                factor = min(1.0, cap / want) if want > 0 else 1.0
                allow[c] *= factor
                self.quota_scale[lk[c]] = factor
            self.allow[lk] = allow  # what the quota lets through, for the next plan
        regular = base * allow
        blocked = np.bincount(lslot, wk * (1 - allow), minlength=net.m)
        # A buyer qualifies new suppliers only if it has one: a link that no control
        # restricts (its supplier may still be building up, or busy today).
        open_links = allow >= 1.0 - ALLOW_TOLERANCE
        has_alternative = np.bincount(lslot, open_links, minlength=net.m) > 0
        cut = (blocked > 1e-12) & np.isnan(self.qual_start) & (slot_orders > 0) & has_alternative
        if cut.any():
            self._qualify(np.flatnonzero(cut))
        held = now < self.hold_until[lk]
        if held.any():
            closed = 1 - np.where(held, np.minimum(allow, self.allow_held[lk]), allow)
            blocked = np.bincount(lslot, wk * closed, minlength=net.m)
            allow = np.where(held, 0.0, allow)  # no redirected orders onto held lanes
        redirect = rho * blocked * slot_orders
        if not (redirect > 0).any():
            return regular
        req = np.bincount(lsup, regular, minlength=net.n)
        spare = self._spare(req)
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
        sent = np.bincount(lslot, sub, minlength=self.net.m)
        first = (sent > 0) & np.isnan(self.redirect_day)
        if not first.any():
            return
        days = np.bincount(lslot, sub * self.net.link_days[lk], minlength=self.net.m)
        self.redirect_day[first] = self.env.now
        self.redirect_lane_days[first] = days[first] / sent[first]

    def _spare(self, requested: np.ndarray) -> np.ndarray:
        """Capacity each facility has left after final demand and ``requested`` orders.

        Spare capacity below a billionth of capacity is none: a supplier working at
        capacity has a spare of float residue, and shares of residue are arbitrary.
        """
        spare = self.cap - self.final - requested
        return np.where(spare > SPARE_TOLERANCE * self.cap, spare, 0.0)

    def _lead_days(self, w: np.ndarray, restricting: bool) -> np.ndarray:
        """Return the expected transport days of each slot's orders over reachable links.

        Without restrictions this is the baseline lead (weights times lane days). Under
        a control, it is the mean lane time of the slot's orders of the previous plan
        on the links that controls now let through, weighted by those orders (so
        redirected orders count at their own lane's time); a slot whose previous orders
        reach no open link falls back to its baseline weights on the open links, and
        then to the baseline lead. The target pipeline of a slot is its use times this
        lead, so a blocked lane holds no pipeline.

        Orders already placed (rather than a guess of where spare capacity will take
        them) make the lead follow the orders: it settles when they do, instead of
        flipping between the lanes of two suppliers from one review to the next.
        """
        net = self.net
        if not net.l:
            return np.zeros(net.m)
        starts = net.slot_link_start
        baseline = self._baseline_lead.copy()
        if not restricting:
            return baseline
        placed = self.orders * self.allow
        fallback = w * self.allow
        total = np.add.reduceat(placed, starts)
        use_placed = (total > 0)[net.link_slot]
        reach = np.where(use_placed, placed, fallback)
        total = np.add.reduceat(reach, starts)
        lead = np.add.reduceat(reach * net.link_days, starts)
        return np.divide(lead, total, out=baseline, where=total > 0)

    def _switch_inputs(self, w: np.ndarray) -> bool:
        """Switch facilities to or from their recipes' substitute inputs.

        An input whose imports a control restricts starts qualifying its substitute
        (``substitute_qualification_days``). Once qualified, and while the input is
        still restricted, the facility runs on the substitute: it uses
        ``substitute_quantity_per_unit`` of it instead of the original input and loses
        ``substitute_output_penalty_share`` of its capacity. It switches back when the
        restriction ends. Returns whether anything switched.
        """
        net, now = self.net, self.env.now
        restricted = np.add.reduceat(w * (1.0 - self.allow), net.slot_link_start) > 1e-12
        switched = False
        for sub in net.substitute_slots:
            original = int(net.slot_substitute_of[sub])
            cut = bool(restricted[original])
            if cut and np.isnan(self.substitute_ready[sub]):
                ready = now + float(net.slot_substitute_qualification_days[sub])
                self.substitute_ready[sub] = ready
                self._at(ready, lambda: self._request(replan=True))
            use_substitute = cut and now >= self.substitute_ready[sub]
            if use_substitute != self.substitute_active[sub]:
                switched = True
                self.substitute_active[sub] = use_substitute
                coef = self.coef.copy()  # recorded epochs keep the old array
                coef[sub] = net.slot_coef[sub] if use_substitute else 0.0
                coef[original] = 0.0 if use_substitute else net.slot_coef[original]
                self.coef = coef
                fac = net.slot_fac[sub]
                penalty = net.slot_substitute_penalty[sub]
                self.substitute_factor[fac] = 1.0 - penalty if use_substitute else 1.0
                self.log.append(
                    (
                        now,
                        "substitute_on" if use_substitute else "substitute_off",
                        f"{net.facility_ids[fac]}:{net.commodities[net.slot_com[sub]]}",
                    )
                )
        return switched

    def _qualify(self, slots: np.ndarray) -> None:
        """Start qualifying new suppliers for buyer slots that were just cut off."""
        now = self.env.now
        for mi in slots:
            k = int(self.net.slot_com[mi])
            q = max(0.0, self.qual_dist[k].draw(self.event_rng))
            self._qualifying = True
            self.qual_start[mi] = now
            self._qualified_slots = np.flatnonzero(np.isfinite(self.qual_start))
            self.qual_done[mi] = now + q
            steps = (
                int(np.ceil(self.sub_ramp[k] / self.settings.ramp_step_days))
                if self.sub_ramp[k] > 0
                else 0
            )
            for j in range(steps + 1):
                self._at(
                    now + q + j * self.settings.ramp_step_days, lambda: self._request(replan=True)
                )
        self.log.append((now, "qualification_started", ",".join(str(int(i)) for i in slots)))

    def _update_release(self) -> bool:
        """Set strategic-stockpile releases from the current supply shortfall.

        A release rule is triggered while its recipients receive less than
        ``1 - threshold_share`` of what they need: arrivals from suppliers against the
        lesser of their planned use and their orders (a buyer that orders less than it
        uses, because it holds surplus stock, is not short). It then releases
        ``rate_per_day`` to them, pro rata to their deficits, until the stockpile is
        empty. Returns whether the releases changed.
        """
        net, now = self.net, self.env.now
        release = np.zeros(net.m)
        arriving = self.inflow - self.release
        for i, (ev, recipients, start) in enumerate(self.stockpiles):
            if now < start or self.stock_levels[i] <= 1e-9:
                continue
            use = self.coef[recipients] * self.desired[net.slot_fac[recipients]]
            need = np.minimum(use, self.slot_orders[recipients])
            deficit = np.maximum(need - arriving[recipients], 0.0)
            if need.sum() <= 0 or deficit.sum() / need.sum() < ev.threshold_share:
                continue
            release[recipients] += ev.rate_per_day * deficit / deficit.sum()
        # A change of float residue (the same deficits recomputed) is no change: it
        # would re-settle the network at an instant that depends on the last bits.
        if np.allclose(release, self.release, rtol=RATE_TOLERANCE, atol=0.0):
            return False
        self.release = release
        return True

    def _empty(self, slots: np.ndarray) -> np.ndarray:
        """Whether each slot's stock is empty: below a billionth of a day of planned use.

        Such a stock binds production at its inflow; a smaller threshold would let
        float residue (or denormal rates) pass for stock on hand.
        """
        return self.s[slots] <= self.empty_below[slots]

    def _settle(self, record: bool = True) -> None:
        """Flows, raw -> final, then schedule what follows.

        Stockpile releases respond to the flows just settled: if they change, the
        flows are settled again with them. With ``record=False`` only the rates are
        computed (used to initialise).
        """
        self._settle_flows()
        if record and self.stockpiles and self._update_release():
            self._settle_flows()
        if not record:
            return
        self._send(self.x)
        self._schedule_stockout()
        self._record()

    def _settle_flows(self) -> None:
        """Output, allocation and shipments, raw -> final, at the current plan."""
        net = self.net
        inflow = (
            np.add.reduceat(self.arr, net.slot_link_start) if net.l else np.zeros(0)
        ) + self.release
        p = np.zeros(net.n)
        delivered = np.zeros(net.n)
        x = np.zeros(net.l)
        coef = self.coef
        for ci in net.settle_levels:
            prods = ci.producers
            limit = np.minimum(self.cap[prods], self.desired[prods])
            if len(ci.producers_with_inputs):
                ps = ci.producer_slots
                binding = self._empty(ps) & (coef[ps] > 0)
                lim = np.full(len(ps), np.inf)
                lim[binding] = inflow[ps][binding] / coef[ps][binding]
                per_fac = np.full(net.n, np.inf)
                per_fac[ci.producers_with_inputs] = np.minimum.reduceat(
                    lim, ci.producer_slot_offsets
                )
                limit = np.minimum(limit, per_fac[prods])
            p[prods] = limit
            lk = ci.links
            final = self.final[prods]
            requested = final.copy()
            if len(lk):
                requested += np.bincount(ci.link_sup, self.orders[lk], minlength=net.n)[prods]
            share = np.divide(limit, requested, out=np.zeros(len(prods)), where=requested > 0)
            delivered[prods] = np.minimum(final, final * share)
            if len(lk):
                available = p - delivered
                first = self.priority[lk] if self._has_priority else None
                if first is not None and first.any():  # bloc-first: own bloc served first
                    x[lk] = self.allocate(available, self.orders[lk] * first, ci.link_sup)
                    available = available - np.bincount(ci.link_sup, x[lk], minlength=net.n)
                    x[lk] += self.allocate(available, self.orders[lk] * ~first, ci.link_sup)
                else:
                    x[lk] = self.allocate(available, self.orders[lk], ci.link_sup)
                zl = ci.zero_lag_links
                if len(zl):
                    np.add.at(inflow, net.link_slot[zl], x[zl] - self.arr[zl])
                    self.arr[zl] = x[zl]
                    self.x_sent[zl] = x[zl]
        self.p, self.delivered, self.x, self.inflow = p, delivered, x, inflow
        self.inflow_unrestricted = (
            np.add.reduceat(self.arr * self.unrestricted, net.slot_link_start)
            if net.l
            else np.zeros(0)
        )
        self.slope = inflow - coef * p[net.slot_fac]

    def _send(self, x: np.ndarray) -> None:
        """Schedule the arrival of rate changes at the far end of each lane."""
        net, now = self.net, self.env.now
        changed = np.abs(x - self.x_sent) > RATE_TOLERANCE * (np.abs(x) + np.abs(self.x_sent))
        changed &= net.link_lagged
        if not changed.any():
            return
        self.x_sent[changed] = x[changed]
        # Changed links sorted by lane days: one arrival batch per lane length.
        in_order = changed[net.lag_order]
        links_sorted = net.lag_order[in_order]
        values_sorted = x[links_sorted]
        counts = np.add.reduceat(in_order, net.lag_starts)
        ends = np.cumsum(counts)
        for g in np.flatnonzero(counts):
            day = now + net.lag_days[g]
            if day > self.horizon:
                break  # lane days ascend: every later group arrives after the horizon too
            a, b = ends[g] - counts[g], ends[g]
            batch = self._arrivals.get(day)
            if batch is None:  # one event per arrival instant, shared by every lane
                batch = self._arrivals[day] = []
                self._at(day, lambda d=day: self._arrive(*self._pop_arrivals(d)))
            batch.append((links_sorted[a:b], values_sorted[a:b], now))

    def _pop_arrivals(self, day: float) -> tuple[np.ndarray, np.ndarray]:
        """Take the rate changes arriving at ``day``; for a link sent twice, the later one."""
        batch = self._arrivals.pop(day)
        if len(batch) == 1:
            return batch[0][0], batch[0][1]
        links = np.concatenate([b[0] for b in batch])
        values = np.concatenate([b[1] for b in batch])
        if len({sent for _, _, sent in batch}) == len(batch):
            # A link appears twice only if sent twice at one instant (same lane length).
            return links, values
        links = links[::-1]
        values = values[::-1]
        unique, last = np.unique(links, return_index=True)
        return unique, values[last]

    def _arrive(self, links: np.ndarray, values: np.ndarray) -> None:
        """Apply rate changes that reach the far end of their lanes.

        If every receiving stock is on hand, production does not change: only the
        stock slopes do (a light update). An empty receiving stock binds production,
        so the network is settled again.
        """
        self._advance()
        net = self.net
        slots = net.link_slot[links]
        change = values - self.arr[links]
        self.inflow = self.inflow.copy()
        np.add.at(self.inflow, slots, change)
        np.add.at(self.inflow_unrestricted, slots, change * self.unrestricted[links])
        self.arr[links] = values
        if self._pending or self._empty(slots).any():
            self._request(replan=False)
            return
        if self.stockpiles and self._update_release():
            self._request(replan=False)
            return
        self.slope = self.slope.copy()  # recorded epochs keep the old array
        slope = self.inflow[slots] - self.coef[slots] * self.p[net.slot_fac[slots]]
        self.slope[slots] = slope
        # Only these slots changed: an earlier stock-out can only come from them.
        falling = self._falling(slots)
        if falling.any():
            with np.errstate(over="ignore"):  # a vanishing slope: never (inf)
                due = self.env.now + float((self.s[slots][falling] / -slope[falling]).min())
            if due < self._stockout_due and due <= self.horizon:
                self._stockout_due = due
                self._stockout_token += 1
                token = self._stockout_token
                self._at(due, lambda: self._stockout(token))
        self._record()

    def _falling(self, slots: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Whether each slot's stock is falling, beyond float residue of its inflow."""
        return self.slope[slots] < -SLOPE_TOLERANCE * self.inflow[slots]

    def _schedule_stockout(self) -> None:
        """Schedule the next stock-out or stockpile depletion, if earlier than the one due."""
        times = [np.inf]
        falling = self._falling() & (self.s > 0)
        if falling.any():
            with np.errstate(over="ignore"):  # a vanishing slope: never (inf)
                times.append(float((self.s[falling] / -self.slope[falling]).min()))
        for i, (_, recipients, _) in enumerate(self.stockpiles):
            rate = self.release[recipients].sum()
            if rate > 0:
                times.append(self.stock_levels[i] / rate)
        due = self.env.now + min(times)
        if due > self.horizon or due >= self._stockout_due:
            return  # the event already scheduled comes first and predicts again
        self._stockout_due = due
        self._stockout_token += 1
        token = self._stockout_token
        self._at(due, lambda: self._stockout(token))

    def _stockout(self, token: int) -> None:
        if token != self._stockout_token:
            return
        self._stockout_due = np.inf
        self._advance()
        # Stocks whose predicted run-out is now are empty (remove float residue explicitly).
        tiny = self._falling() & (self.s <= -self.slope * 1e-9)
        depleted = any(
            level <= 1e-9 and self.release[rec].sum() > 0
            for level, (_, rec, _) in zip(self.stock_levels, self.stockpiles, strict=True)
        )
        if not (tiny.any() or depleted):
            self._schedule_stockout()  # rates changed since this was scheduled
            return
        self.rounding[tiny] += self.s[tiny]
        self.s[tiny] = 0.0
        self._request(replan=depleted)

    def _record(self) -> None:
        now = self.env.now
        if self.ep_t and self.ep_t[-1] == now:  # a later settle at the same instant wins
            self.ep_t.pop()
            epochs: list[list[np.ndarray]] = [
                self.ep_p,
                self.ep_delivered,
                self.ep_supply,
                self.ep_supply_unrestricted,
                self.ep_s,
                self.ep_slope,
                self.ep_coef,
                self.ep_release,
            ]
            for lst in epochs + ([self.ep_x] if self.settings.record_trade else []):
                lst.pop()
        self.ep_t.append(now)
        self.ep_p.append(self.p)
        self.ep_delivered.append(self.delivered)
        self.ep_supply.append(self.inflow - self.release)
        self.ep_supply_unrestricted.append(self.inflow_unrestricted.copy())
        self.ep_s.append(self.s.copy())
        self.ep_slope.append(self.slope)
        self.ep_coef.append(self.coef)
        if self.settings.record_trade:
            self.ep_x.append(self.x.copy())
        self.ep_release.append(self.release)

    # ------------------------------------------------------------------ run
    def initialise(self) -> None:
        """Start in the pre-shock steady state: stocks at initial cover, lanes full."""
        net = self.net
        self._plan(steady=True)
        stock = net.slot_initial_cover_days * self.coef * self.desired[net.slot_fac]
        # With every stock on hand no input binds: shipments follow from orders alone.
        self.s = np.full(net.m, np.inf)
        self._settle(record=False)
        self.arr = self.x.copy()
        self.s = stock
        self.transit = self.x * net.link_days
        self.x_sent = self.x.copy()
        self.initial_stock = self.s.copy()
        self.initial_transit = self.transit.copy()
        self._settle()

    def run(self) -> None:
        self.initialise()
        self.env.process(self._reviews())
        self.env.run(until=self.horizon)
        self._advance()


def with_investments(world: World, events: Sequence[Event], start: dt.date) -> World:
    """Return ``world`` with the facilities of its capacity investments added.

    Raises
    ------
    InputError
        For an investment that names an existing facility id, expands an unknown
        facility, or gives neither ``expands`` nor type, country and commodity.
    """
    investments = [(i, e) for i, e in enumerate(events) if isinstance(e, CapacityInvestment)]
    if not investments:
        return world
    fac = world.facilities.copy()
    recipes = world["recipes"].copy()
    rows, recipe_rows = [], []
    ids = set(fac["facility"])
    for idx, ev in investments:
        where = describe(ev, idx)
        if ev.facility in ids:
            raise InputError(
                where,
                "facility",
                f"'{ev.facility}' already exists",
                "give the new capacity its own id",
            )
        if ev.capacity_per_year < 0:
            raise InputError(where, "capacity_per_year", "is negative", "give >= 0")
        if ev.expands:
            if ev.expands not in set(fac["facility"]):
                raise InputError(
                    where,
                    "expands",
                    f"unknown facility '{ev.expands}'",
                    "use an id from facilities.csv",
                )
            base = fac.set_index("facility").loc[ev.expands]
            ftype, country = str(base["type"]), str(base["country"])
            commodity = str(base["commodity"])
            own = recipes[recipes["facility"] == ev.expands]
            recipe_rows += [r | {"facility": ev.facility} for r in own.to_dict("records")]
        else:
            if not (ev.type and ev.country and ev.commodity):
                raise InputError(
                    where,
                    "expands",
                    "neither expands nor type, country and commodity given",
                    "name the facility it expands, or give type, country and commodity",
                )
            ftype, country, commodity = ev.type, ev.country, ev.commodity
        day = to_day(ev.available_from, start, where, "available_from")
        rows.append(
            {
                "facility": ev.facility,
                "name": ev.facility,
                "type": ftype,
                "country": country,
                "commodity": commodity,
                "capacity_per_year": ev.capacity_per_year if ev.completed else 0.0,
                # A cancelled project never comes on line (and schedules nothing).
                "available_from": (start + dt.timedelta(days=day)).isoformat()
                if ev.completed
                else "",
                "ramp_up_days": ev.ramp_up_days,
                "operator": "",
                "source": f"scenario event {where}",
            }
        )
        ids.add(ev.facility)
    fac["available_from"] = fac["available_from"].dt.strftime("%Y-%m-%d")
    new_fac = pd.concat([fac, pd.DataFrame(rows)], ignore_index=True)
    new_recipes = recipes
    if recipe_rows:
        new_recipes = pd.concat([recipes, pd.DataFrame(recipe_rows)], ignore_index=True)
    return world.replace(facilities=new_fac, recipes=new_recipes)


def simulate(
    world: World,
    events: Sequence[Event] = (),
    *,
    start: dt.date | str,
    horizon_days: int,
    rng: np.random.Generator,
    settings: Settings | None = None,
    allocation: AllocationRule = pro_rata,
) -> RunRecord:
    """Run one simulation and return its recorded facts.

    Parameters
    ----------
    world : World
        The validated world tables.
    events : sequence of events
        Disruptions and policies (see :mod:`sim.events`).
    start : date or ISO string
        Calendar date of day 0.
    horizon_days : int
        Length of the run in days; daily series have this many rows.
    rng : numpy.random.Generator
        Source of every random draw. Demand noise and event draws use two streams
        spawned from it, so a run without disruptions draws the same demand noise.
    settings : Settings, optional
        Engine settings.
    allocation : AllocationRule
        How a supplier splits its output among customers (default :func:`pro_rata`).

    Returns
    -------
    RunRecord
        Daily output, consumption, supply and stock series and the material balance.
    """
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    if horizon_days < 1:
        raise InputError(
            "run", "horizon_days", f"{horizon_days} is not positive", "give at least 1 day"
        )
    world = with_investments(world, events, start)
    net = Network(world, start)
    run = _Run(net, world, events, int(horizon_days), rng, settings or Settings(), allocation)
    run.run()
    return build_record(run)


def simulate_pair(
    world: World,
    events: Sequence[Event] = (),
    *,
    start: dt.date | str,
    horizon_days: int,
    seed: int | np.random.SeedSequence,
    settings: Settings | None = None,
    allocation: AllocationRule = pro_rata,
) -> tuple[RunRecord, RunRecord]:
    """Run a scenario and its paired baseline (the same events less the disruptions).

    Both runs get a generator built from the same ``seed``, so they see the same
    random demand; returns ``(actual, baseline)``.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    kwargs = dict(start=start, horizon_days=horizon_days, settings=settings, allocation=allocation)
    actual = simulate(world, events, rng=np.random.default_rng(seq), **kwargs)  # type: ignore[arg-type]
    policies = [e for e in events if not is_disruption(e)]
    baseline = simulate(world, policies, rng=np.random.default_rng(seq), **kwargs)  # type: ignore[arg-type]
    return actual, baseline
