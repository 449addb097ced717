"""Dated worlds: which rows of the world tables are in force on a date.

Facilities operate from ``available_from`` (inclusive) to ``available_until``
(exclusive, the first day without production); ``capacity_schedule`` rows change a
facility's nameplate from their date on; demand rows can carry a ``year``. The
functions here read those columns of validated tables (see :mod:`sim.tables`) and
return what applies on one date; :meth:`sim.world.World.as_of` builds a world from
them, and :class:`sim.network.Network` turns the same columns into run days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.joint import SEPARATOR, co_product_ids

#: Columns of the demand table that identify one demand (with ``year`` they key a row).
DEMAND_KEY = ("commodity", "country", "facility")


def operating(facilities: pd.DataFrame, day: dt.date) -> pd.Series:
    """Whether each facility operates on ``day``.

    Parameters
    ----------
    facilities : DataFrame
        The validated facilities table.
    day : datetime.date
        The date.

    Returns
    -------
    Series of bool
        ``available_from <= day < available_until`` row by row; an empty
        ``available_from`` is before any date and an empty ``available_until`` after any.
    """
    ts = pd.Timestamp(day)
    opened = facilities["available_from"].isna() | (facilities["available_from"] <= ts)
    open_still = facilities["available_until"].isna() | (facilities["available_until"] > ts)
    return opened & open_still


def capacity_in_force(facilities: pd.DataFrame, schedule: pd.DataFrame, day: dt.date) -> pd.Series:
    """Nameplate capacity of each facility on ``day``, from the capacity schedule.

    Parameters
    ----------
    facilities : DataFrame
        The validated facilities table.
    schedule : DataFrame
        The validated ``capacity_schedule`` table.
    day : datetime.date
        The date.

    Returns
    -------
    Series of float
        Output units per year, aligned with ``facilities``: the ``capacity_per_year`` of
        the facility's latest schedule row dated on or before ``day``, else its
        ``capacity_per_year`` in the facilities table. Whether the facility operates on
        ``day`` is not considered (see :func:`operating`).
    """
    capacity = facilities["capacity_per_year"].astype(float).copy()
    ts = pd.Timestamp(day)
    rows = schedule[schedule["date"] <= ts].sort_values("date", kind="stable")
    latest = rows.groupby("facility", sort=False)["capacity_per_year"].last()
    scheduled = facilities["facility"].map(latest)
    return capacity.where(scheduled.isna(), scheduled.astype(float))


def demand_in_force(demand: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Return the demand rows that a run whose reference date is ``day`` uses.

    A row without a ``year`` applies every year. Among the rows of one demand
    (same commodity, country and facility) that give a year, the row of the latest year
    on or before ``day.year`` applies; if all their years are later, the demand is not
    used. The row's ``quantity_per_year`` is the demand at the start of the run (growth
    compounds from the run start, as for rows without a year).

    Parameters
    ----------
    demand : DataFrame
        The validated demand table (every demand gives a year on all its rows or on none).
    day : datetime.date
        The reference date: the date of a world taken as of a date, else the run start.

    Returns
    -------
    DataFrame
        The rows in force, in table order, with all columns (``year`` included) and a
        fresh 0..k-1 index: at most one row per demand.
    """
    year = demand["year"]
    undated = year.isna().to_numpy()
    if undated.all():
        return demand.reset_index(drop=True)
    eligible = (year <= day.year).to_numpy() & ~undated
    latest = demand[eligible].groupby(list(DEMAND_KEY), sort=False)["year"].transform("max")
    chosen = np.zeros(len(demand), dtype=bool)
    chosen[np.flatnonzero(eligible)] = (demand["year"][eligible] == latest).to_numpy()
    return demand[undated | chosen].reset_index(drop=True)


def tables_as_of(tables: Mapping[str, pd.DataFrame], day: dt.date) -> dict[str, pd.DataFrame]:
    """Return the world tables as the world operated on ``day``: a snapshot.

    What changes (every other table is kept as it is):

    - ``facilities``: only those with ``available_from <= day < available_until`` stay
      (facilities that open later or have closed are dropped); ``capacity_per_year`` is
      the capacity in force on ``day`` (:func:`capacity_in_force`); ``available_until`` is
      emptied. ``available_from`` and ``ramp_up_days`` are kept, so a facility still
      ramping up on ``day`` ramps on.
    - ``capacity_schedule``: emptied (folded into ``capacity_per_year``).
    - ``recipes``: rows naming a dropped facility are dropped, and type rows of a
      facility type no facility has any more.
    - ``sourcing``: rows whose buyer or supplier is a dropped facility are dropped (rows
      for a country or ``*`` stay).
    - ``inventory``: rows stay, but those of a facility type no facility has any more.
    - ``joint_products``: rows of a dropped plant are dropped.
    - ``controls``: the standing controls in force on ``day`` stay, with ``end``
      emptied; those that start later or have ended are dropped.
    - ``demand``: the rows in force for ``day`` (:func:`demand_in_force`) with their
      ``year`` emptied, so that they apply whatever the run start; rows served by a
      dropped facility, and country rows whose country has no producer of the commodity
      left, are dropped.

    Nothing dated after ``day`` remains: a run on the result sees the world of ``day``
    held fixed (later openings, closures and capacity changes are not in it).

    Parameters
    ----------
    tables : Mapping[str, DataFrame]
        Validated world tables (every table of :data:`sim.tables.WORLD_TABLES`).
    day : datetime.date
        The date.

    Returns
    -------
    dict[str, DataFrame]
        New tables, to be validated again (:meth:`sim.world.World.as_of` does).
    """
    out = dict(tables)
    # Co-product rows are rebuilt from the plants when the snapshot is validated, so
    # that they carry the plant's capacity in force on ``day``.
    co_products = co_product_ids(tables)
    fac = tables["facilities"]
    fac = fac[~fac["facility"].isin(co_products)].reset_index(drop=True)
    keep = operating(fac, day)
    capacity = capacity_in_force(fac, tables["capacity_schedule"], day)
    facilities = fac[keep].assign(capacity_per_year=capacity[keep]).reset_index(drop=True)
    facilities["available_until"] = pd.NaT
    out["facilities"] = facilities
    out["capacity_schedule"] = tables["capacity_schedule"].iloc[0:0]
    kept = set(facilities["facility"])
    # A co-product goes with its plant.
    kept |= {c for c in co_products if c.split(SEPARATOR)[0] in kept}
    dropped = set(tables["facilities"]["facility"]) - kept
    types = set(facilities["type"])

    recipes = tables["recipes"]
    named = recipes["facility"] != ""
    out["recipes"] = recipes[
        (named & ~recipes["facility"].isin(dropped))
        | (~named & recipes["facility_type"].isin(types))
    ].reset_index(drop=True)

    controls = tables["controls"]
    stamp = pd.Timestamp(day)
    live = (controls["start"] <= stamp) & ~(controls["end"] <= stamp)
    kept_controls = controls[live].reset_index(drop=True)
    kept_controls["end"] = pd.NaT
    out["controls"] = kept_controls

    sourcing = tables["sourcing"]
    out["sourcing"] = sourcing[
        ~sourcing["buyer"].isin(dropped) & ~sourcing["supplier"].isin(dropped)
    ].reset_index(drop=True)

    inventory = tables["inventory"]
    out["inventory"] = inventory[inventory["facility_type"].isin(types)].reset_index(drop=True)

    if "joint_products" in tables:  # a dropped plant takes its products along
        joint = tables["joint_products"]
        out["joint_products"] = joint[~joint["facility"].isin(dropped)].reset_index(drop=True)

    demand = demand_in_force(tables["demand"], day)
    producers = set(zip(facilities["country"], facilities["commodity"], strict=True))
    served = [
        facility in kept if facility else (country, commodity) in producers
        for commodity, country, facility in zip(
            demand["commodity"], demand["country"], demand["facility"], strict=True
        )
    ]
    demand = demand[np.array(served, dtype=bool)].reset_index(drop=True)
    demand["year"] = np.nan
    out["demand"] = demand
    return out
