"""Final demand in a run: rows of the demand table, mapped to facilities.

Each row's demand per day is ``quantity_per_year / 365``, grown at
``growth_per_year_share`` from the run start, times a mean-one lognormal noise factor
drawn per ordering review (``noise_cv``), times the factors of demand changes in force.
A row naming a country (not a facility) is split over the country's producers of the
commodity in proportion to their nameplate capacity. Rows given by year are those in
force at the run start (:func:`sim.dated.demand_in_force`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.dated import demand_in_force
from sim.errors import InputError
from sim.events import DemandChange, to_day
from sim.response import demand_factors

if TYPE_CHECKING:
    from sim.network import Network
    from sim.world import World

#: The demand rows in force and their split: rows, (entry row, entry facility, entry
#: share), and per row the demand per day, the growth per year and the noise CV.
Split = tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Demand:
    """Demand rows, their split over facilities and the changes in force.

    Parameters
    ----------
    host : engine run
        Provides ``net``, ``world``, ``settings``, ``horizon``, ``env``, ``log``, ``at``,
        ``request`` and ``advance``.
    rng : numpy.random.Generator
        The demand-noise stream (the same in a run and its paired baseline).
    """

    def __init__(self, host, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        split = _split_of(host.world, host.net)
        self.rows, self._row, self._fac, self._share, self.base, self.growth, cv = split
        # 1 + growth per row, or None if every row's is exactly 1 (its powers are all 1).
        grown = 1.0 + self.growth
        self._grown: np.ndarray | None = None if (grown == 1.0).all() else grown
        self.scale = np.ones(len(self.rows))
        self._growth_of: np.ndarray | None = None  # the scale _growth is of
        self._growth = np.zeros(0)
        n_periods = int(np.ceil(host.horizon / host.settings.review_days)) + 1
        z = rng.standard_normal((n_periods, len(self.rows)))
        self.noise = demand_factors(z, cv)

    def at(self, now: float) -> np.ndarray:
        """Return final demand per facility on day ``now``, in output units per day."""
        period = min(int(now // self.host.settings.review_days), len(self.noise) - 1)
        rows = self.base if self._grown is None else self.base * self._grown ** (now / 365.0)
        rows = rows * self.noise[period] * self.scale
        return self._spread(rows)

    def _spread(self, rows: np.ndarray) -> np.ndarray:
        """Per facility, the sum of ``rows`` (one value per demand row) times its shares.

        Entries are summed in row order; a facility fed by one row gets exactly its
        value times its share (the dense product of rows and split matrix, without the
        zeros, which add nothing).
        """
        return np.bincount(self._fac, rows[self._row] * self._share, minlength=self.host.net.n)

    def growth_per_day(self) -> np.ndarray:
        """Relative growth of each facility's final demand, per day (0 without growth).

        The demand-weighted mean of its rows' ``ln(1 + growth) / 365``. The array is
        kept and handed out again until a demand change replaces the scale: readers must
        not change it.
        """
        if self._growth_of is self.scale:  # the scale a demand change replaces
            return self._growth
        rate = np.log1p(self.growth) / 365.0
        weight = self.base * self.scale
        total = self._spread(weight)
        grown = self._spread(weight * rate)
        self._growth = np.divide(grown, total, out=np.zeros(len(total)), where=total > 0)
        self._growth_of = self.scale
        return self._growth

    def add(self, ev: DemandChange, where: str) -> None:
        """Validate a demand change and schedule it."""
        host = self.host
        rows = self._rows(ev)
        if ev.factor < 0:
            raise InputError(where, "factor", f"{ev.factor} is negative", "give >= 0")
        if not rows.any():
            raise InputError(
                where,
                "commodities",
                "selects no demand row",
                "check commodities, countries and facilities against demand.csv",
            )
        day = to_day(ev.date, host.net.start, where, "date")
        host.at(day, lambda: self._change(rows, float(ev.factor)))

    def _rows(self, ev: DemandChange) -> np.ndarray:
        """Demand rows a demand change selects."""
        world = self.host.world
        dem = self.rows
        fac_country = dict(
            zip(world.facilities["facility"], world.facilities["country"], strict=True)
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

    def _change(self, rows: np.ndarray, factor: float) -> None:
        host = self.host
        host.advance()
        self.scale = self.scale.copy()
        self.scale[rows] *= factor
        host.log.append((host.env.now, "demand_change", f"{int(rows.sum())} rows x {factor:g}"))
        host.request(replan=True)


def _split_of(world: World, net: Network) -> Split:
    """Return the demand rows in force at the run start and their split over facilities.

    That is the rows (a DataFrame), the split as entries (row, facility, share), and
    per row the demand per day, the growth per year and the noise CV. The same for
    every run of ``net`` (read only): built once and kept on the network.
    """
    kept = net.__dict__.get("_demand_split")
    if kept is not None and kept[0] is world:
        return kept[1]
    # Rows given by year: those in force at the run start (sim.dated).
    dem = demand_in_force(world["demand"], net.start)
    fidx = net.facility_index()
    # The split as entries (row, facility, share), row by row: a row feeds its
    # facility, or its country's producers of the commodity.
    entry_row: list[int] = []
    entry_fac: list[np.ndarray] = []
    entry_share: list[np.ndarray] = []
    groups: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for r, (com, country, facility) in enumerate(
        zip(dem["commodity"], dem["country"], dem["facility"], strict=True)
    ):
        if facility:
            facs, shares = np.array([fidx[facility]]), np.ones(1)
        else:
            key = (net.commodities.index(com), net.countries.index(country))
            if key not in groups:
                mask = (net.fac_com == key[0]) & (net.fac_country == key[1])
                w = net.nameplate_per_day * mask
                share = w / w.sum() if w.sum() > 0 else mask / mask.sum()
                groups[key] = (np.flatnonzero(mask), share[mask])
            facs, shares = groups[key]
        entry_row += [r] * len(facs)
        entry_fac.append(facs)
        entry_share.append(shares)
    arrays = (
        np.array(entry_row, dtype=np.int64),
        np.concatenate(entry_fac).astype(np.int64) if entry_fac else np.zeros(0, np.int64),
        np.concatenate(entry_share).astype(float) if entry_share else np.zeros(0),
        dem["quantity_per_year"].to_numpy(dtype=float) / 365.0,
        dem["growth_per_year_share"].to_numpy(dtype=float),
        dem["noise_cv"].to_numpy(dtype=float),
    )
    for a in arrays:
        a.flags.writeable = False
    split: Split = (dem, *arrays)
    net.__dict__["_demand_split"] = (world, split)
    return split
