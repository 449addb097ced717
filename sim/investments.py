"""Capacity investments: new facilities (or expansions) added to the world before a run.

The world with a run's investments is built once per run start and set of investments
(a paired baseline run reuses its actual run's), and checked in full once per base world
and naming of the investments: the cross-table checks (:func:`sim.checks.check_world`)
see only the ids, types, countries and commodities of the new rows, which the drawn
values (capacity, dates, completion) leave alone, so a world whose investments name
the same as one already checked has its new rows validated, not the world again.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Sequence
from types import MappingProxyType

import pandas as pd

from sim.errors import InputError
from sim.events import CapacityInvestment, Event, describe, to_day
from sim.joint import add_co_products
from sim.memo import PerWorld
from sim.tables import read_table
from sim.world import World

#: Per base world: the namings of investments whose world passed every check.
_CHECKED: PerWorld[set[tuple[object, ...]]] = PerWorld()


class _Last:
    """The world last built with investments, and what it was built from."""

    base: weakref.ref[World] | None = None
    key: tuple[object, ...] = ()
    world: World | None = None


def with_investments(world: World, events: Sequence[Event], start: dt.date) -> World:
    """Return ``world`` with the facilities of its capacity investments added.

    Raises
    ------
    InputError
        For an investment that names an existing facility id, expands an unknown
        facility, or gives neither ``expands`` nor type, country and commodity, and
        for a world with its investments that fails a check.
    """
    investments = tuple(e for e in events if isinstance(e, CapacityInvestment))
    if not investments:
        return world
    key = (start, investments)
    if _Last.base is not None and _Last.base() is world and _Last.key == key:
        assert _Last.world is not None
        return _Last.world
    built = _with_investments(world, events, start)
    _Last.base, _Last.key, _Last.world = weakref.ref(world), key, built
    return built


def _with_investments(world: World, events: Sequence[Event], start: dt.date) -> World:
    investments = [(i, e) for i, e in enumerate(events) if isinstance(e, CapacityInvestment)]
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
    frames = {"facilities": new_fac, "recipes": new_recipes, **extra}
    naming = tuple((e.facility, e.expands, e.type, e.country, e.commodity) for _, e in investments)
    checked = _CHECKED.get(world, None, set)
    if naming not in checked:
        new_world = world.replace(**frames)
        checked.add(naming)
        return new_world
    # As World.replace, less the cross-table checks this naming has passed.
    tables = dict(world.tables)
    for name, frame in frames.items():
        tables[name] = read_table(name, frame)
    tables["facilities"] = add_co_products(tables)
    return World(MappingProxyType(tables))
