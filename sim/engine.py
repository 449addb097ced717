"""The engine: one SimPy environment per run, flows computed in bulk between events.

State is a production rate per facility, a stock per input slot and the flow on each link
(supplier -> buyer slot), with material in transit on lanes. Between two events every rate
is constant, so stocks move linearly and the moment one runs out (or a finished-goods stock
fills) is known in advance. Events are ordering reviews, shocks and policies, licence
decisions, qualification and ramp steps, dated capacity changes, rate changes reaching the
far end of a lane or the end of an installation, and stock events. At each event the
network is re-settled in two vectorised passes:

* ``plan`` (final -> raw, at reviews and shocks): capacity (nameplate, ramps, outages,
  installed bases), desired output (orders, make-to-stock plans, joint products),
  orders toward target inventory position and their split over suppliers;
* ``settle`` (raw -> final, at every event): output limited by capacity, plan and the
  scarcest input (Leontief; an input with stock on hand does not bind, an empty one
  binds at its inflow; a switched grade combines two inputs), sales from output and
  finished-goods stock, allocation among customers, shipments.

The passes' level loops live in :mod:`sim.passes`: a numpy reference and the same
arithmetic compiled (:mod:`sim.kernels`, numba), with identical results.
Each mechanism lives in its own module and owns its state; the run calls it through small
methods and it calls back through :meth:`_Run.at`, :meth:`_Run.request` and
:meth:`_Run.advance`. Daily series are rebuilt from the epoch log by :mod:`sim.record`.
Material is conserved: what is produced is delivered, shipped, stocked, in transit,
installed, retired or counted unsold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import simpy

from sim import passes
from sim.blocs import Blocs
from sim.controls import Controls
from sim.demand import Demand
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
)
from sim.finished import FinishedGoods
from sim.installed import InstalledBase
from sim.investments import with_investments
from sim.lanes import Lanes
from sim.network import Network, network_of
from sim.outages import Outages
from sim.record import EpochLog, RunFacts, RunRecord, build_record
from sim.response import AllocationRule, pro_rata
from sim.settings import Settings
from sim.sourcing import Sourcing
from sim.standing import StandingControl, standing_controls
from sim.stock_events import StockEvents
from sim.stockpiles import Stockpiles
from sim.substitution import Substitution
from sim.world import World

__all__ = ["Settings", "simulate", "with_investments"]

#: A stock below this many days of planned use counts as empty.
EMPTY_STOCK_DAYS = 1e-9


def _whole(day: float) -> float:
    """``day`` on the whole day if within 1e-9 of it (then a float), else ``day`` as given."""
    value = float(day)  # rounded as a Python float: numpy's scalar rounding is slower
    whole = round(value)
    return float(whole) if abs(value - whole) < 1e-9 else day


class _Run:
    """One run: the SimPy environment, the clock, the two passes and the epoch log.

    Mechanisms, one module each: :mod:`sim.controls`, :mod:`sim.substitution`,
    :mod:`sim.stockpiles`, :mod:`sim.sourcing`, :mod:`sim.outages`, :mod:`sim.demand`,
    :mod:`sim.blocs`, :mod:`sim.installed`, :mod:`sim.finished`, :mod:`sim.lanes` and
    :mod:`sim.stock_events`; they read the flow state the run holds.
    """

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
        self.event_rng = np.random.default_rng(event_seed)
        # Outcomes the event stream decided (a draw another seed could change); every
        # user of ``event_rng`` counts them, see sim.record's ``drew_random``.
        self.random_outcomes = 0
        n, m, nl = net.n, net.m, net.l
        self.log: list[tuple[float, str, str]] = []
        self.blocs = Blocs(self)
        self.country_bloc = self.blocs.country_bloc  # one list, changed in place

        # Flow state: rates per facility, stocks per input slot, rates per link.
        self.t_last = 0.0
        self.availability = np.zeros(n)
        self.nameplate = net.nameplate_per_day
        self._availability_final = False
        # Per facility: capacity, final demand, desired output, output, deliveries.
        self.cap, self.final, self.desired, self.p, self.delivered = np.zeros((5, n))
        self.cap_nominal = np.zeros(n)  # nameplate in service (no outages, no base)
        # Per slot: stock, inflow (and from never-restricted suppliers), stockpile
        # release, slope, orders, use, the level counting as empty (per plan), and stock
        # removed (positive) or added (negative) by clipping float residue.
        self.s, self.inflow, self.inflow_unrestricted, self.release = np.zeros((4, m))
        self.slope, self.slot_orders, self.use, self.empty_below = np.zeros((4, m))
        self.rounding = np.zeros(m)
        self.orders, self.x = np.zeros((2, nl))  # per link: orders and shipments
        self.targeted = np.zeros(n, dtype=bool)

        self._pending = False
        self._need_plan = False
        self._replans: set[float] = set()  # instants a re-plan is due at (replan_at)
        self.t0: float | None = None

        #: the compiled loops (sim.kernels), or None to run the numpy reference
        self.kernels = passes.compiled()
        self.epochs = EpochLog(settings.record_trade, net, self.kernels, int(horizon_days))
        self.lanes = Lanes(self)
        self.stock_events = StockEvents(self)
        self.demand = Demand(self, np.random.default_rng(demand_seed))
        self.controls = Controls(self)
        self.substitution = Substitution(self)
        self.stockpiles = Stockpiles(self)
        self.sourcing = Sourcing(self)
        self.outages = Outages(self)
        self.installed = InstalledBase(self)
        self.finished = FinishedGoods(self)
        # Effective input coefficients: a substitute input's slot is idle until used, and
        # a durable input limits capacity through its installed base, not as a flow.
        self.coef = net.slot_coef * (net.slot_substitute_of < 0) * ~self.installed.mask
        self._setup_events(events)
        movers = (self.stockpiles, self.installed, self.finished, self.controls)
        self._moving = [m for m in movers if m]
        self._no_base = np.zeros(0)
        self._unlogged_at: float | None = None  # instant whose epoch is still to be logged

    # ------------------------------------------------------------------ events
    def at(self, day: float, action: Callable[[], object]) -> None:
        """Run ``action()`` at ``day`` (on the whole day if within 1e-9: no split instants)."""
        if day > self.horizon:
            return
        day = _whole(day)
        ev = self.env.timeout(max(day - self.env.now, 0.0))
        ev.callbacks.append(lambda _event: action())  # type: ignore[arg-type]

    def replan_at(self, day: float) -> None:
        """Ask for a re-plan at ``day``, as ``at(day, lambda: request(replan=True))`` would.

        One event per instant, however many mechanisms ask (qualification and ramp steps
        of many buyers, control dates, reopened lanes fall on the same days): a second
        request for an instant whose first is still due would do nothing (the first runs
        before it and the flush it asks for runs after both), so it is not scheduled.
        """
        if day > self.horizon:
            return
        day = _whole(day)
        delay = max(day - self.env.now, 0.0)
        when = self.env.now + delay  # the time SimPy schedules it at, to the bit
        if when in self._replans:
            return
        self._replans.add(when)
        self.env.timeout(delay).callbacks.append(self._replan_due)

    def _replan_due(self, _event: object) -> None:
        self._replans.discard(self.env.now)
        self.request(replan=True)

    def _setup_events(self, events: Sequence[Event]) -> None:
        """Validate every event against the network and hand it to its mechanism."""
        disruption_days: list[float] = []
        memberships = self.blocs.memberships(events)
        standing = sum(isinstance(ev, StandingControl) for ev in events)  # listed first
        for idx, ev in enumerate(events):
            where = describe(ev, idx - standing)
            if isinstance(ev, ExportControl):
                day = [self.controls.add(ev, where, memberships)]  # standing: not a shock
                disruption_days += [] if isinstance(ev, StandingControl) else day
            elif isinstance(ev, ExportControlChange):
                self.controls.add_change(ev, where)
            elif isinstance(ev, FacilityOutage):
                disruption_days.append(self.outages.add(ev, idx, where))
            elif isinstance(ev, StockpileRelease):
                self.stockpiles.add(ev, where)
            elif isinstance(ev, SourcingPolicy):
                self.sourcing.add(ev, where)
            elif isinstance(ev, MembershipChange):
                self.blocs.add(ev, where)
            elif isinstance(ev, DemandChange):
                self.demand.add(ev, where)
            elif not isinstance(ev, CapacityInvestment):  # investments: with_investments
                raise InputError(
                    where, "kind", "unknown event type", "use one of the documented events"
                )
        self.t0 = max(0.0, min(disruption_days)) if disruption_days else None
        self.controls.mark_restricted(memberships)
        for day in self.net.capacity_change_days:
            if day <= self.horizon:
                self.replan_at(float(day))

    def request(self, replan: bool) -> None:
        """Re-settle once all events of this instant have been processed."""
        self.advance()
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
            self.request(replan=True)

    # ------------------------------------------------------------------ state
    def advance(self) -> None:
        """Move stocks, transit and stockpiles forward to now at the current rates.

        Cumulative output, use and releases are not summed here: they are integrals of
        the recorded epoch rates, computed once at the end.
        """
        now = self.env.now
        dt_ = now - self.t_last
        if dt_ <= 0:
            return
        if self._unlogged_at is not None:  # the instant just left, before anything moves
            self._log_epoch()
        lanes, kernels = self.lanes, self.kernels
        if kernels is not None:  # the same arithmetic, stocks and lanes in one loop
            self.s = kernels.advance_stocks(
                self.s, self.slope, dt_, self.rounding, lanes.transit, self.x, lanes.arr
            )
        else:
            s = self.s + self.slope * dt_
            neg = s < 0
            if neg.any():  # float residue below zero: record it, then clip
                self.rounding[neg] += s[neg]
                s[neg] = 0.0
            self.s = s
            lanes.advance(self.x, dt_)
        for mechanism in self._moving:  # stockpiles, installed bases, finished goods, quotas
            mechanism.advance(dt_)
        self.t_last = now

    def _capacity_and_demand(self) -> None:
        net, now = self.net, self.env.now
        # Dated capacity (ramps, closures, capacity schedules) until nothing changes.
        if now < net.fully_available_from or not self._availability_final:
            self.availability, self.nameplate = net.capacity_at(now, self.kernels)
            self._availability_final = now >= net.fully_available_from
        factor = self.outages.factor(net.n)
        # The installed base is planned for nameplate in service (not for outages).
        self.cap_nominal = self.nameplate * self.availability
        self.cap = self.cap_nominal * factor * self.substitution.capacity_factor
        if self.installed:
            self.cap = np.minimum(self.cap, self.installed.capacity_limit(net.n))
        self.final = self.demand.at(now)

    def _update_release(self) -> bool:
        """Set stockpile releases from the flows just settled; return whether they changed."""
        release = self.stockpiles.update()
        if release is not None:
            self.release = release
        return release is not None

    # ------------------------------------------------------------------ passes
    def _plan(self, steady: bool = False) -> None:
        """Orders, final -> raw: desired output, orders toward target, split over suppliers.

        With ``steady``, orders equal use (no stock correction) and no control applies:
        the pre-shock steady state a run starts from.
        """
        net = self.net
        self._capacity_and_demand()
        quota = [] if steady else self.controls.update()
        if not steady:
            self.sourcing.update_priority()
        # Suppliers are weighted by the share of their start nameplate in service now.
        in_service = self.availability
        if net.dated_nameplate:
            scale = np.divide(
                self.nameplate,
                net.nameplate_per_day,
                out=np.ones(net.n),
                where=net.nameplate_per_day > 0,
            )
            in_service = self.availability * scale
        w = self.sourcing.order_weights(in_service)
        if not steady and self.substitution.switch_inputs(w, self.controls.allow):
            self._capacity_and_demand()
        rho = self.substitution.ramp_shares()
        restricting = self.controls.restricting(quota)
        if not net.l:
            lead = np.zeros(net.m)
        elif restricting:
            lead = self.controls.lead_days(w, self.orders, self.sourcing.baseline_lead)
        else:
            lead = self.sourcing.baseline_lead.copy()
        transit = self.lanes.transit
        transit_slot = np.add.reduceat(transit, net.slot_link_start) if net.l else np.zeros(0)
        kernels = None if steady or quota else self.kernels
        if kernels is not None:
            orders, desired, slot_orders = passes.plan_compiled(
                kernels, self, w, rho, lead, transit_slot, restricting
            )
        else:
            orders, desired, slot_orders = passes.plan_numpy(
                self, w, rho, lead, transit_slot, quota, restricting, steady
            )
        self.orders = orders
        self.desired = desired
        self.slot_orders = slot_orders
        self.empty_below = EMPTY_STOCK_DAYS * net.slot_coef * desired[net.slot_fac]  # grades too
        if self.installed:
            d = self.installed.slots
            self.empty_below[d] = EMPTY_STOCK_DAYS * self.installed.need

    def empty(self, slots: np.ndarray) -> np.ndarray:
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
        self.lanes.send(self.x)
        self.controls.settled()  # volume quotas: the day each runs out
        self.stock_events.schedule()
        self._record()

    def _settle_flows(self) -> None:
        """Output, allocation and shipments, raw -> final, at the current plan."""
        net = self.net
        inflow = (
            np.add.reduceat(self.lanes.arr, net.slot_link_start) if net.l else np.zeros(0)
        ) + self.release
        switched = bool(len(self.substitution.active_slots))
        kernels = self.kernels if passes.settle_compiles(self) else None
        if kernels is not None:
            p, delivered, x = passes.settle_compiled(kernels, self, inflow, switched)
        else:
            p, delivered, x = passes.settle_numpy(self, inflow, switched)
        coef = self.coef
        self.p, self.delivered, self.x, self.inflow = p, delivered, x, inflow
        self.inflow_unrestricted = (
            np.add.reduceat(self.lanes.arr * self.controls.unrestricted, net.slot_link_start)
            if net.l
            else np.zeros(0)
        )
        if self.finished:
            sold = delivered + np.bincount(net.link_sup, self.controls.sales(x), minlength=net.n)
            self.finished.set_slope(p, sold)
        use = coef * p[net.slot_fac]
        if switched:
            self.substitution.function_use(
                use, p, inflow, self.empty(np.arange(net.m)), self.desired
            )
        if self.installed:
            self.installed.settle(use)
        self.use = use
        self.slope = inflow - use

    def arrive(self, links: np.ndarray, values: np.ndarray) -> None:
        """Apply rate changes that reach the far end of their lanes.

        If every receiving stock is on hand, production does not change: only the
        stock slopes do (a light update). An empty receiving stock binds production,
        so the network is settled again.
        """
        self.advance()
        net, kernels = self.net, self.kernels
        if kernels is not None:
            slots, self.inflow, any_empty = kernels.arrival(
                links, values, net.link_slot, self.lanes.arr, self.inflow,
                self.inflow_unrestricted, self.controls.unrestricted, self.s, self.empty_below,
            )  # fmt: skip
        else:
            slots = net.link_slot[links]
            change = values - self.lanes.arr[links]
            self.inflow = self.inflow.copy()
            unrestricted = change * self.controls.unrestricted[links]
            passes.add_at(None, self.inflow, slots, change)
            passes.add_at(None, self.inflow_unrestricted, slots, unrestricted)
            self.lanes.arr[links] = values
            any_empty = self.empty(slots).any()
        if self._pending or any_empty:
            self.request(replan=False)
            return
        if self.stockpiles and self._update_release():
            self.request(replan=False)
            return
        # Production, hence use, is unchanged; recorded epochs keep the old slope array.
        if kernels is not None:
            self.slope = kernels.arrival_slopes(self.slope, self.inflow, self.use, slots)
        else:
            self.slope = self.slope.copy()
            self.slope[slots] = self.inflow[slots] - self.use[slots]
        # Only these slots changed: an earlier stock-out can only come from them.
        self.stock_events.schedule_slots(slots)
        self._record()

    def _record(self) -> None:
        """Log the rates in force from now, once this instant is over.

        An instant can settle or take arrivals more than once (an arrival, then the day's
        review): its epoch is logged once, when time next moves on (:meth:`advance`) or
        the run ends, with the state its last settle or arrival left.
        """
        self._unlogged_at = self.env.now

    def _log_epoch(self) -> None:
        """Log the rates in force from the instant of the last :meth:`_record`."""
        now, self._unlogged_at = self._unlogged_at, None
        assert now is not None
        installed = self.installed
        self.epochs.log(
            now,
            p=self.p,
            delivered=self.delivered,
            inflow=self.inflow,
            release=self.release,
            supply_unrestricted=self.inflow_unrestricted,
            use=self.use,
            s=self.s,
            slope=self.slope,
            installed=installed.base if installed else self._no_base,
            installed_slope=installed.slope() if installed else self._no_base,
            x=self.x,  # summed into trade groups at once, if the trade is kept
        )

    # ------------------------------------------------------------------ run
    def initialise(self) -> None:
        """Start in the pre-shock steady state: stocks at initial cover, lanes full."""
        net = self.net
        self._plan(steady=True)
        stock = net.slot_initial_cover_days * self.coef * self.desired[net.slot_fac]
        if self.installed:
            d = self.installed.slots
            stock[d] = net.slot_initial_cover_days[d] * self.installed.need
        # With every stock on hand no input binds: shipments follow from orders alone.
        self.s = np.full(net.m, np.inf)
        self._settle(record=False)
        self.lanes.fill(self.x)
        self.s = stock
        self.initial_stock = self.s.copy()
        self.initial_transit = self.lanes.transit.copy()
        self.finished.start(self.p)
        self.finished_initial = self.finished.stock.copy()
        self.installed_initial = self.installed.per_slot(self.installed.base)
        self.pipeline_initial = self.installed.per_slot(self.installed.pipeline)
        self._settle()

    def run(self) -> None:
        self.initialise()
        self.env.process(self._reviews())
        self.env.run(until=self.horizon)
        self.advance()
        if self._unlogged_at is not None:  # a guard: nothing runs at the horizon itself
            self._log_epoch()

    def record(self) -> RunRecord:
        """Return the record of the finished run."""
        return build_record(self.epochs, RunFacts.of(self))


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
        Disruptions and policies (see :mod:`sim.events`); the world's standing controls
        (:mod:`sim.standing`) come before them.
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
    start = dt.date.fromisoformat(start) if isinstance(start, str) else start
    if horizon_days < 1:
        raise InputError("run", "horizon_days", f"{horizon_days} is not positive", "give 1 or more")
    world = with_investments(world, events, start)
    events = [*standing_controls(world.tables, start), *events]
    net = network_of(world, start)
    run = _Run(net, world, events, int(horizon_days), rng, settings or Settings(), allocation)
    run.run()
    return run.record()
