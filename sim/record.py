"""Recorded facts of one run: daily series rebuilt from the engine's piecewise-constant rates.

A :class:`RunRecord` is what the engine returns and what the metrics read. Day ``d``
of a daily series is the integral of the rate over ``[d, d + 1)``; a stock series
holds the stock at the end of day ``d``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.network import Network
from sim.world import World


def daily_integral(
    times: np.ndarray, rates: np.ndarray, horizon: int, kernels: Any = None
) -> np.ndarray:
    """Integrate piecewise-constant rates over each whole day.

    Parameters
    ----------
    times : array (E,)
        Start time of each epoch, non-decreasing, first one 0.
    rates : array (E, K)
        Rates in force from each epoch's start until the next one's.
    horizon : int
        Number of days.
    kernels : module, optional
        The compiled loops (:mod:`sim.kernels`): the same arithmetic, row by row,
        without the (E, K) temporaries; None runs this numpy reference.

    Returns
    -------
    array (horizon, K)
        Amount per day (rates must be non-negative).
    """
    if kernels is not None:
        return kernels.daily_integral(
            np.ascontiguousarray(times, dtype=float),
            np.ascontiguousarray(rates, dtype=float),
            int(horizon),
        )
    durations = np.diff(times, append=float(horizon))
    cum = np.empty((len(times) + 1, rates.shape[1]))
    cum[0] = 0.0
    np.cumsum(rates * durations[:, None], axis=0, out=cum[1:])
    bounds = np.arange(horizon + 1, dtype=float)
    idx = np.searchsorted(times, bounds, side="right") - 1
    at = cum[idx] + rates[idx] * (bounds - times[idx])[:, None]
    # Rates are never negative: clip the cancellation error of the difference.
    return np.maximum(np.diff(at, axis=0), 0.0)


def epoch_totals(durations: np.ndarray, rates: np.ndarray, kernels: Any = None) -> np.ndarray:
    """Total of each column over the run: the sum of duration x rate, in epoch order.

    The running sum ``numpy.cumsum`` takes down the epochs, not a BLAS product: the same
    bits on every machine and with any number of threads (a BLAS product's order
    depends on the processor's kernels, and its threads spin after each call). ``rates``
    is (E, K) with E >= 1; ``kernels`` (:mod:`sim.kernels`) does the same sums without
    the (E, K) temporaries.
    """
    if kernels is not None:
        return kernels.epoch_totals(
            np.ascontiguousarray(durations, dtype=float), np.ascontiguousarray(rates, dtype=float)
        )
    return np.cumsum(durations[:, None] * rates, axis=0)[-1]


def end_of_day(
    times: np.ndarray,
    levels: Sequence[np.ndarray],
    slopes: Sequence[np.ndarray],
    horizon: int,
) -> np.ndarray:
    """Evaluate piecewise-linear levels at the end of each day (clipped at 0).

    ``levels`` and ``slopes`` hold one row (K,) per epoch, as an (E, K) array or a
    list: only the rows in force at a day's end are gathered.
    """
    bounds = np.arange(1, horizon + 1, dtype=float)
    idx = np.searchsorted(times, bounds, side="right") - 1
    at = idx.tolist()
    width = len(levels[0]) if len(levels) else 0
    level = np.array([levels[i] for i in at], dtype=float).reshape(len(at), width)
    slope = np.array([slopes[i] for i in at], dtype=float).reshape(len(at), width)
    return np.maximum(level + slope * (bounds - times[idx])[:, None], 0.0)


@dataclass(frozen=True)
class RunRecord:
    """The facts of one run.

    Attributes
    ----------
    start : date
        Calendar date of day 0.
    horizon_days : int
        Number of days.
    t0 : float or None
        Day of the onset of the first disruption (``None`` without disruptions).
    facilities : DataFrame
        One row per facility: ``facility, name, type, country, bloc, commodity, unit``,
        ``targeted`` (directly hit by an event).
    slots : DataFrame
        One row per input slot: ``facility, input, quantity_per_unit, restricted``
        (some supplier of the slot was under an export control),
        ``qualification_start_day, qualification_done_day`` (of new suppliers; the
        done day may lie past the horizon), ``redirect_day`` and ``redirect_lane_days``
        (when orders were first redirected to qualified suppliers, and their mean
        lane time in days; NaN if never) and
        ``substitute_of`` (for a recipe's substitute input, the row of the input it
        replaces; -1 otherwise) and ``durable`` (the input is installed capital).
    output : array (T, n)
        Daily output of each facility, in its output unit.
    delivered : array (T, n)
        Daily output delivered to final demand.
    consumption : array (T, M)
        Daily use of each input slot, in the input's unit.
    supply_unrestricted : array (T, M)
        Daily arrivals into each slot from suppliers never under an export control
        toward it (stock drawdown and stockpile releases excluded).
    supply : array (T, M)
        Daily arrivals from all suppliers.
    released : array (T, M)
        Daily strategic-stockpile releases into each slot.
    stock : array (T, M)
        Stock of each slot at the end of each day.
    balance : dict of str -> array
        Totals for the material balance, per slot (``initial_stock``, ``final_stock``,
        ``consumed``, ``released``, ``rounding``; for durable inputs ``consumed`` is 0
        and ``installed_initial``, ``installed_final``, ``pipeline_initial``,
        ``pipeline_final`` and ``retired`` account for the base), per link
        (``initial_transit``, ``final_transit``) and per facility (``produced``,
        ``delivered``, and the finished-goods stocks of make-to-stock facilities
        ``finished_initial``, ``finished_final``, and the ``unsold`` output of joint
        products beyond their storage).
    slot_link : array (L,)
        Slot index of each link, and ``link_commodity`` its commodity index.
    log : list of (day, what, detail)
        Discrete happenings (licence decisions, outages, control changes).
    drew_random : bool
        Whether a random draw decided anything in the run: demand noise (a demand row
        in force with ``noise_cv`` > 0), a licence decision with a drawn review time
        or an approval probability strictly between 0 and 1, or a qualification time
        drawn from a distribution. A run with
        ``drew_random`` false gives the same record for every seed
        (:class:`sim.pair.BaselineCache` relies on this).
    installed : array (T, D) or None
        Installed base of each durable input slot (the slots with ``durable`` true,
        in slot order) at the end of each day, in the input's unit.
    trade_keys : DataFrame or None
        With ``Settings(record_trade=True)``: one row per trading country pair and
        commodity, columns ``origin, destination, commodity`` (domestic pairs included).
    trade_daily : array (T, G) or None
        Daily shipments (at departure) of each row of ``trade_keys``, in commodity units.
    """

    start: dt.date
    horizon_days: int
    t0: float | None
    facilities: pd.DataFrame
    slots: pd.DataFrame
    output: np.ndarray
    delivered: np.ndarray
    consumption: np.ndarray
    supply_unrestricted: np.ndarray
    supply: np.ndarray
    released: np.ndarray
    stock: np.ndarray
    balance: dict[str, np.ndarray]
    link_slot: np.ndarray
    log: list[tuple[float, str, str]]
    drew_random: bool = True
    installed: np.ndarray | None = None
    trade_keys: pd.DataFrame | None = None
    trade_daily: np.ndarray | None = None

    @property
    def trade(self) -> pd.DataFrame | None:
        """Daily shipments as a long table, or None without ``record_trade``.

        Columns ``day, origin, destination, commodity, quantity`` (commodity units),
        one row per day and row of :attr:`trade_keys`.
        """
        if self.trade_keys is None or self.trade_daily is None:
            return None
        horizon, groups = self.trade_daily.shape
        keys = self.trade_keys
        return pd.DataFrame(
            {
                "day": np.repeat(np.arange(horizon), groups),
                "origin": np.tile(keys["origin"].to_numpy(), horizon),
                "destination": np.tile(keys["destination"].to_numpy(), horizon),
                "commodity": np.tile(keys["commodity"].to_numpy(), horizon),
                "quantity": self.trade_daily.reshape(-1),
            }
        )

    def output_frame(self) -> pd.DataFrame:
        """Daily output as a DataFrame indexed by date, one column per facility."""
        index = pd.date_range(self.start, periods=self.horizon_days, freq="D", name="date")
        return pd.DataFrame(self.output, index=index, columns=self.facilities["facility"])


class EpochLog:
    """Rates in force from each epoch's start time, as the engine settles them.

    Per epoch: output ``p`` and deliveries to final demand (per facility), and per
    input slot the supply from suppliers (``supply``; ``supply_unrestricted`` from
    suppliers no control ever covers), the stock and its slope, the use and the
    stockpile release; with ``record_trade`` also the shipments on each link (``x``),
    kept only as their sums per trade group (``trade``: origin country, destination
    country and commodity, see :func:`trade_groups`), some 5x fewer numbers than links
    in the reference world.

    With the compiled loops (``kernels``) and a ``horizon``, the log keeps only the
    epoch in force: when the next one starts, its days are written into the daily
    series and it is added to the run totals (:func:`sim.kernels.record_epoch`, the
    reference's arithmetic, see :meth:`finish`), and the new epoch's arrays are copied
    into the log's buffers, both in one compiled call (:func:`sim.kernels.log_epoch`).
    Otherwise (the numpy reference) every epoch's arrays are kept, as given to
    :meth:`append` (:meth:`log`, the engine's entry, copies those the engine changes in
    place), for :func:`build_record` to stack and integrate.
    """

    FIELDS = (
        "p",
        "delivered",
        "supply",
        "supply_unrestricted",
        "s",
        "slope",
        "use",
        "release",
        "installed",
        "installed_slope",
    )
    #: Fields integrated over each day (and summed over the run), and the stock levels
    #: read at each day's end with their slopes (the online log's column order).
    INTEGRATED = ("p", "delivered", "supply", "supply_unrestricted", "use", "release")
    LEVELS = (("s", "slope"), ("installed", "installed_slope"))
    #: Fields whose run totals the record's material balance reads.
    TOTALS = ("p", "delivered", "use", "release")

    def __init__(
        self, record_trade: bool, net: Network, kernels: Any = None, horizon: int | None = None
    ) -> None:
        self.record_trade = record_trade
        self.t: list[float] = []
        self.online = kernels is not None and horizon is not None
        self.rows: dict[str, list[np.ndarray]] = {
            f: [] for f in self.FIELDS + (("trade",) if record_trade else ())
        }
        self._groups = trade_groups(net) if record_trade else None
        self._kernels = kernels
        self._summed: tuple[np.ndarray, np.ndarray] | None = None  # last x and its sums
        self._horizon = 0 if horizon is None else int(horizon)
        #: the online log: whether an epoch is in force (its rates, levels and slopes
        #: in one buffer each, laid out by the first epoch), the column range of each
        #: field, and the epochs written (the running integral is set up by _start)
        self._pending = False
        self._layout: dict[str, tuple[int, int]] = {}
        self._integrated = 0  # epochs written into the series
        self._no_trade = np.zeros(0)

    def log(
        self,
        now: float,
        *,
        p: np.ndarray,
        delivered: np.ndarray,
        inflow: np.ndarray,
        release: np.ndarray,
        supply_unrestricted: np.ndarray,
        use: np.ndarray,
        s: np.ndarray,
        slope: np.ndarray,
        installed: np.ndarray,
        installed_slope: np.ndarray,
        x: np.ndarray,
    ) -> None:
        """Log the engine's state from ``now``: :meth:`append`, supply = inflow - release.

        The online log copies the arrays into its buffers in one compiled call; a kept
        log keeps copies of those the engine changes in place (``supply_unrestricted``,
        ``s``, ``installed``) and the others as they are (the engine replaces them).
        """
        if not self.online:
            self.append(
                now, p=p, delivered=delivered, supply=inflow - release,
                supply_unrestricted=supply_unrestricted.copy(), s=s.copy(), slope=slope,
                use=use, installed=installed.copy(), installed_slope=installed_slope,
                release=release, x=x,
            )  # fmt: skip
            return
        arrays = (p, delivered, inflow, release, supply_unrestricted, use, release)
        self._online(now, (*arrays, s, installed, slope, installed_slope), self._trade_sums(x))

    def append(self, now: float, **arrays: np.ndarray) -> None:
        """Log the rates in force from ``now``; a later log at the same instant wins.

        ``arrays`` holds every field of :attr:`FIELDS` (and ``x``, if the trade is
        kept). With
        ``record_trade``, ``x`` (the shipments per link) is summed into its trade
        groups now; the array itself is not kept. An epoch logged with the same ``x``
        array as the one before (a stock event or an arrival: shipments unchanged) shares
        that epoch's sums.
        """
        trade = None if self._groups is None else self._trade_sums(arrays["x"])
        if self.online:
            supply = arrays["supply"]
            names = ("supply_unrestricted", "use", "release", "s", "installed", "slope")
            ordered: tuple[np.ndarray, ...] = (arrays["p"], arrays["delivered"], supply)
            ordered += (np.zeros(len(supply)), *(arrays[name] for name in names))
            ordered += (arrays["installed_slope"],)
            self._online(now, ordered, trade)
            return
        if self.t and self.t[-1] == now:
            self.t.pop()
            for lst in self.rows.values():
                lst.pop()
        self.t.append(now)
        for name in self.FIELDS:
            self.rows[name].append(arrays[name])
        if trade is not None:
            self.rows["trade"].append(trade)

    def _trade_sums(self, x: np.ndarray) -> np.ndarray | None:
        """Return the trade-group sums of ``x``, or None without ``record_trade``."""
        if self._groups is None:
            return None
        if self._summed is None or self._summed[0] is not x:  # arrivals keep the x
            self._summed = (x, self._groups.sums(x, self._kernels))
        return self._summed[1]

    def _online(self, now: float, arrays: tuple[np.ndarray, ...], trade: np.ndarray | None) -> None:
        """End the epoch in force if it ends now, then copy in the new one (the online log).

        ``arrays``: ``p, delivered, inflow, minus, supply_unrestricted, use, release``
        (the supply is ``inflow - minus``), then ``s, installed, slope,
        installed_slope``; ``trade`` the trade-group sums, if kept.
        """
        rates, levels = arrays[:7], arrays[7:]
        if trade is None:
            trade = self._no_trade
        write = False
        if not self.t:
            if now != 0.0:
                raise ValueError(f"the first epoch starts on day {now}, not day 0")
            widths = [len(a) for i, a in enumerate(rates) if i != 3]  # minus: no column
            self._start([*widths, len(trade)], [len(levels[0]), len(levels[1])])
            self.t.append(now)
        elif self.t[-1] != now:  # the epoch in force ends now
            write = True
        # The epoch in force, copied as it is now (over the one just written or replaced).
        if not self._kernels.log_epoch(
            write, float(self.t[-1]), float(now), self._integrated == 0, self._rates,
            self._acc, self._prev, self._daily, self._levels, self._slopes,
            self._level_daily, *rates, trade, *levels,
        ):  # fmt: skip
            raise ValueError("an epoch's arrays are not as wide as the first epoch's")
        if write:
            self._integrated += 1
            self.t.append(now)
        self._pending = True

    def _start(self, widths: list[int], level_widths: list[int]) -> None:
        """Lay out the columns of the online log from the first epoch's widths.

        ``widths`` are the rates' per field of :attr:`INTEGRATED` and ``trade``,
        ``level_widths`` the levels' per level of :attr:`LEVELS`. The daily series are
        one (horizon, K) buffer for the rates and one (horizon, J) for the levels, a
        day per row (the compiled loop writes a day's columns one after another).
        """
        names = [*self.INTEGRATED, "trade"]
        levels = [name for name, _ in self.LEVELS]
        self._layout = {}
        for group, sizes in ((names, widths), (levels, level_widths)):
            ends = np.cumsum(sizes).tolist()
            for name, width, end in zip(group, sizes, ends, strict=True):
                self._layout[name] = (end - width, end)
        horizon = self._horizon
        k, j = sum(widths), sum(level_widths)
        self._rates, self._levels, self._slopes = np.empty(k), np.empty(j), np.empty(j)
        self._acc = np.zeros(k)
        self._prev = np.zeros(k)
        self._daily = np.empty((horizon, k))
        self._level_daily = np.empty((horizon, j))

    def _write(self, end: float, last: bool) -> None:
        """Write the epoch in force, from its start to ``end``, into the series."""
        self._kernels.record_epoch(
            float(self.t[-1]), float(end), self._integrated == 0, last, self._rates,
            self._acc, self._prev, self._daily, self._levels, self._slopes,
            self._level_daily,
        )  # fmt: skip
        self._integrated += 1

    def finish(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """End the online log at the horizon: the daily series and the run totals.

        Returns ``daily`` (per field of :attr:`INTEGRATED` and ``trade`` if kept:
        (horizon, K) amounts per day, as :func:`daily_integral`; per level of
        :attr:`LEVELS`: the level at the end of each day, as :func:`end_of_day`; each
        copied out of the log's buffers) and ``totals`` (per integrated field, its
        run total, as :func:`epoch_totals`).
        """
        if not self._pending:
            raise ValueError("no epoch in force: none was logged, or the log is finished")
        self._write(float(self._horizon), last=True)
        self._pending = False
        daily, totals = {}, {}
        levels = {name for name, _ in self.LEVELS}
        for name, (a, b) in self._layout.items():
            if name == "trade" and self._groups is None:
                continue
            buffer = self._level_daily if name in levels else self._daily
            daily[name] = np.ascontiguousarray(buffer[:, a:b])
            if name not in levels:
                totals[name] = self._acc[a:b].copy()
        return daily, totals

    def __len__(self) -> int:
        return len(self.t)

    def stacked(self, name: str, width: int) -> np.ndarray:
        """Return the logged arrays of ``name`` as an (epochs, width) array."""
        return np.array(self.rows[name]).reshape(len(self.t), width)


@dataclass(frozen=True)
class RunFacts:
    """What a finished run knows beyond its epoch log (see :func:`build_record`)."""

    world: World
    net: Network
    horizon_days: int
    t0: float | None
    targeted: np.ndarray
    restricted: np.ndarray
    qual_start: np.ndarray
    qual_done: np.ndarray
    redirect_day: np.ndarray
    redirect_lane_days: np.ndarray
    initial_stock: np.ndarray
    final_stock: np.ndarray
    rounding: np.ndarray
    initial_transit: np.ndarray
    final_transit: np.ndarray
    durable_slots: np.ndarray
    installed_initial: np.ndarray
    installed_final: np.ndarray
    pipeline_initial: np.ndarray
    pipeline_final: np.ndarray
    retired: np.ndarray
    finished_initial: np.ndarray
    finished_final: np.ndarray
    unsold: np.ndarray
    held_final: np.ndarray
    log: list[tuple[float, str, str]]
    drew_random: bool
    #: the compiled loops the run used (sim.kernels), or None: the daily series too
    kernels: Any = None

    @classmethod
    def of(cls, run) -> RunFacts:  # type: ignore[no-untyped-def]
        """Collect the facts of a finished engine run (read from its attributes)."""
        sub, installed, finished = run.substitution, run.installed, run.finished
        return cls(
            world=run.world,
            net=run.net,
            horizon_days=int(run.horizon),
            t0=run.t0,
            targeted=run.targeted,
            restricted=run.controls.restricted,
            qual_start=sub.qual_start,
            qual_done=sub.qual_done,
            redirect_day=sub.redirect_day,
            redirect_lane_days=sub.redirect_lane_days,
            initial_stock=run.initial_stock,
            final_stock=run.s.copy(),
            rounding=run.rounding.copy(),
            initial_transit=run.initial_transit,
            final_transit=run.lanes.transit.copy(),
            durable_slots=installed.slots,
            installed_initial=run.installed_initial,
            installed_final=installed.per_slot(installed.base),
            pipeline_initial=run.pipeline_initial,
            pipeline_final=installed.per_slot(installed.pipeline),
            retired=installed.per_slot(installed.retired),
            finished_initial=run.finished_initial,
            finished_final=finished.stock.copy(),
            unsold=finished.unsold.copy(),
            held_final=run.controls.cargo.held.copy(),
            log=run.log,
            drew_random=_drew_random(run),
            kernels=run.kernels,
        )


def _drew_random(run) -> bool:  # type: ignore[no-untyped-def]
    """Whether a random draw decided anything in the run ``run``.

    Demand noise counts where a row in force has ``noise_cv`` > 0 (mean-one factors
    with ``noise_cv`` 0 are exactly 1); the event stream counts where it decided an
    outcome another seed could change (``run.random_outcomes``: a licence review time
    or a qualification time drawn from a distribution, an approval with probability
    strictly between 0 and 1). A
    draw whose outcome is certain still advances the stream, but changes nothing.
    """
    return bool((run.demand.noise != 1.0).any()) or run.random_outcomes > 0


def build_record(epochs: EpochLog, facts: RunFacts) -> RunRecord:
    """Assemble the record of a finished run from its epoch log and final state."""
    net, horizon = facts.net, facts.horizon_days
    daily, totals = _series(epochs, facts)
    durable = facts.durable_slots
    consumed = totals["use"].copy()
    consumed[durable] = 0.0  # installed, not consumed: see the installed-base terms
    facilities = _facility_columns(facts.world, net).assign(targeted=facts.targeted)
    restricted_slot = (
        np.bincount(net.link_slot, facts.restricted.astype(float), minlength=net.m) > 0
        if net.l
        else np.zeros(net.m, dtype=bool)
    )
    slots = pd.DataFrame(
        {
            "facility": [net.facility_ids[i] for i in net.slot_fac],
            "input": [net.commodities[k] for k in net.slot_com],
            "quantity_per_unit": net.slot_coef,
            "restricted": restricted_slot,
            "qualification_start_day": facts.qual_start,
            "qualification_done_day": facts.qual_done,
            "redirect_day": facts.redirect_day,
            "redirect_lane_days": facts.redirect_lane_days,
            "substitute_of": net.slot_substitute_of,
            "durable": np.isin(np.arange(net.m), durable),
        }
    )
    return RunRecord(
        start=net.start,
        horizon_days=horizon,
        t0=facts.t0,
        facilities=facilities,
        slots=slots,
        output=daily["p"],
        delivered=daily["delivered"],
        consumption=daily["use"],
        supply_unrestricted=daily["supply_unrestricted"],
        supply=daily["supply"],
        released=daily["release"],
        stock=daily["s"],
        balance={
            "initial_stock": facts.initial_stock,
            "final_stock": facts.final_stock,
            "consumed": consumed,
            "released": totals["release"],
            "rounding": facts.rounding,
            "initial_transit": facts.initial_transit,
            "final_transit": facts.final_transit,
            "produced": totals["p"],
            "delivered": totals["delivered"],
            "installed_initial": facts.installed_initial,
            "installed_final": facts.installed_final,
            "pipeline_initial": facts.pipeline_initial,
            "pipeline_final": facts.pipeline_final,
            "retired": facts.retired,
            "finished_initial": facts.finished_initial,
            "finished_final": facts.finished_final,
            "unsold": facts.unsold,
            "held_final": facts.held_final,
        },
        installed=daily["installed"],
        link_slot=net.link_slot.copy(),
        log=list(facts.log),
        drew_random=facts.drew_random,
        trade_keys=trade_groups(net).keys.copy() if epochs.record_trade else None,
        trade_daily=daily["trade"] if epochs.record_trade else None,
    )


def _series(
    epochs: EpochLog, facts: RunFacts
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return the daily series and run totals of the epoch log (:meth:`EpochLog.finish`).

    The online log has them already; a kept log is stacked and integrated here (the
    totals of :attr:`EpochLog.TOTALS` only).
    """
    if epochs.online:
        return epochs.finish()
    net, horizon, kernels = facts.net, facts.horizon_days, facts.kernels
    times = np.array(epochs.t)
    durations = np.diff(times, append=float(horizon))
    widths = {"p": net.n, "delivered": net.n, "trade": len(trade_groups(net).first)}
    daily, totals = {}, {}
    for name in EpochLog.INTEGRATED + (("trade",) if epochs.record_trade else ()):
        rates = epochs.stacked(name, widths.get(name, net.m))
        daily[name] = daily_integral(times, rates, horizon, kernels)
        if name in EpochLog.TOTALS:
            totals[name] = epoch_totals(durations, rates, kernels)
    for level, slope in EpochLog.LEVELS:
        daily[level] = end_of_day(times, epochs.rows[level], epochs.rows[slope], horizon)
    return daily, totals


def _facility_columns(world: World, net: Network) -> pd.DataFrame:
    """Return the record's facility table but for ``targeted`` (the same for every run).

    Built once and kept on the network (a run's table is a copy with its own column).
    """
    kept = net.__dict__.get("_facility_columns")
    if kept is not None and kept[0] is world:
        return kept[1]
    fac = world.facilities
    bloc_of = world.bloc_of()
    unit_of = world.unit_of()
    columns = pd.DataFrame(
        {
            "facility": fac["facility"],
            "name": fac["name"],
            "type": fac["type"],
            "country": fac["country"],
            "bloc": fac["country"].map(bloc_of),
            "commodity": fac["commodity"],
            "unit": fac["commodity"].map(unit_of),
        }
    )
    net.__dict__["_facility_columns"] = (world, columns)
    return columns


class TradeGroups:
    """The links of each trade group: origin country, destination country, commodity.

    ``keys`` holds the groups in key order; ``order`` lists the links group by group
    (in link order within a group) and ``first`` the position of each group's first
    link in it.
    """

    def __init__(self, net: Network) -> None:
        n_c, n_k = len(net.countries), len(net.commodities)
        key = (net.fac_country[net.link_sup] * n_c + net.fac_country[net.link_buyer]) * n_k
        key = key + net.link_com
        groups, inverse = np.unique(key, return_inverse=True)
        self.order = np.argsort(inverse, kind="stable").astype(np.int64)
        self.first = np.searchsorted(inverse[self.order], np.arange(len(groups))).astype(np.int64)
        self.keys = pd.DataFrame(
            {
                "origin": [net.countries[int(g) // (n_c * n_k)] for g in groups],
                "destination": [net.countries[(int(g) // n_k) % n_c] for g in groups],
                "commodity": [net.commodities[int(g) % n_k] for g in groups],
            }
        )
        self.n_links = net.l

    def sums(self, x: np.ndarray, kernels: Any = None) -> np.ndarray:
        """Sum the rates ``x`` (per link) over each group, in link order.

        ``numpy.add.reduceat`` sums in a fixed order (the same bits on every machine,
        unlike a BLAS product); ``kernels`` (:mod:`sim.kernels`) does the same sums,
        compiled.
        """
        if not self.n_links:
            return np.zeros(0)
        if kernels is not None:
            return kernels.group_sums(x, self.order, self.first)
        return np.add.reduceat(x[self.order], self.first)


def trade_groups(net: Network) -> TradeGroups:
    """Return the network's :class:`TradeGroups`, built once."""
    cached = net.__dict__.get("_trade_groups")
    if cached is None:
        cached = net.__dict__["_trade_groups"] = TradeGroups(net)
    return cached
