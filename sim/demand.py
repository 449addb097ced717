"""Final demand in a run: rows of the demand table, mapped to facilities.

Each row's demand per day is ``quantity_per_year / 365``, grown at
``growth_per_year_share`` from the run start, times a mean-one lognormal noise factor
drawn per ordering review (``noise_cv``), times the factors of demand changes in force.
A row naming a country (not a facility) is split over the country's producers of the
commodity in proportion to their nameplate capacity. Rows given by year are those in
force at the run start (:func:`sim.dated.demand_in_force`).
"""

from __future__ import annotations

import numpy as np

from sim.dated import demand_in_force
from sim.errors import InputError
from sim.events import DemandChange, to_day
from sim.response import demand_factors


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
        net = host.net
        # Rows given by year: those in force at the run start (sim.dated).
        dem = self.rows = demand_in_force(host.world["demand"], net.start)
        fidx = net.facility_index()
        split = np.zeros((len(dem), net.n))
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
        self.split = split
        self.base = dem["quantity_per_year"].to_numpy(dtype=float) / 365.0
        self.growth = dem["growth_per_year_share"].to_numpy(dtype=float)
        self.scale = np.ones(len(dem))
        n_periods = int(np.ceil(host.horizon / host.settings.review_days)) + 1
        z = rng.standard_normal((n_periods, len(dem)))
        self.noise = demand_factors(z, dem["noise_cv"].to_numpy(dtype=float))

    def at(self, now: float) -> np.ndarray:
        """Return final demand per facility on day ``now``, in output units per day."""
        period = min(int(now // self.host.settings.review_days), len(self.noise) - 1)
        rows = self.base * (1.0 + self.growth) ** (now / 365.0) * self.noise[period] * self.scale
        return rows @ self.split

    def growth_per_day(self) -> np.ndarray:
        """Relative growth of each facility's final demand, per day (0 without growth).

        The demand-weighted mean of its rows' ``ln(1 + growth) / 365``.
        """
        rate = np.log1p(self.growth) / 365.0
        weight = self.base * self.scale
        total = weight @ self.split
        grown = (weight * rate) @ self.split
        return np.divide(grown, total, out=np.zeros(len(total)), where=total > 0)

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
