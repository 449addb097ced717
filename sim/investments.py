"""Capacity investments: new facilities (or expansions) added to the world before a run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from sim.errors import InputError
from sim.events import CapacityInvestment, Event, describe, to_day
from sim.world import World


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
    joint, sourcing = world["joint_products"], world["sourcing"]
    rows, recipe_rows, joint_rows, sourcing_rows = [], [], [], []
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
            # An expansion of a joint plant has its yields; it buys where the plant buys.
            same = joint[joint["facility"] == ev.expands].to_dict("records")
            joint_rows += [r | {"facility": ev.facility} for r in same]
            buys = sourcing[sourcing["buyer"] == ev.expands].to_dict("records")
            sourcing_rows += [r | {"buyer": ev.facility} for r in buys]
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
    extra: dict[str, pd.DataFrame] = {}
    if joint_rows:
        extra["joint_products"] = pd.concat([joint, pd.DataFrame(joint_rows)], ignore_index=True)
    if sourcing_rows:
        extra["sourcing"] = pd.concat([sourcing, pd.DataFrame(sourcing_rows)], ignore_index=True)
    return world.replace(facilities=new_fac, recipes=new_recipes, **extra)
