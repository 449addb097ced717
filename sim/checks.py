"""Named consistency checks across the world tables.

Each check takes the validated tables and raises :class:`~sim.errors.InputError`
naming the table, the field and the fix. :func:`check_world` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from sim.errors import InputError
from sim.tables import key_text, show

Tables = Mapping[str, pd.DataFrame]


def _unknown(
    tables: Tables, table: str, column: str, known: set[str], what: str, allow: tuple[str, ...] = ()
) -> None:
    frame = tables[table]
    for row, value in enumerate(frame[column]):
        if value in allow or value in known:
            continue
        raise InputError(
            f"{table}.csv",
            f"{column} (row {row + 1})",
            f"unknown {what} {show(value)}",
            f"use one of {sorted(known)[:12]}{' ...' if len(known) > 12 else ''} "
            f"or add it to the {what} table",
        )


def check_countries_known(tables: Tables) -> None:
    """Every country named by a facility, lane or demand row is in ``countries``."""
    known = set(tables["countries"]["country"])
    _unknown(tables, "facilities", "country", known, "country")
    _unknown(tables, "lanes", "origin", known, "country", allow=("*",))
    _unknown(tables, "lanes", "destination", known, "country", allow=("*",))
    _unknown(tables, "demand", "country", known, "country", allow=("",))
    blocs = set(tables["countries"]["bloc"])
    _unknown(tables, "stockpiles", "holder", known | blocs, "country or bloc")


def check_some_capacity(tables: Tables) -> None:
    """At least one facility has a capacity above 0 (otherwise nothing is ever produced)."""
    capacity = tables["facilities"]["capacity_per_year"]
    if not (capacity > 0).any():
        raise InputError(
            "facilities.csv",
            "capacity_per_year",
            "no facility has a capacity above 0"
            if len(capacity)
            else "the table has no facilities",
            "give at least one facility a capacity_per_year above 0",
        )


def check_facility_dates(tables: Tables) -> None:
    """Check that ``available_until`` (first day without production) is after ``available_from``."""
    fac = tables["facilities"]
    for row, (fid, start, until) in enumerate(
        zip(fac["facility"], fac["available_from"], fac["available_until"], strict=True)
    ):
        if pd.notna(start) and pd.notna(until) and until <= start:
            raise InputError(
                "facilities.csv",
                f"available_until (row {row + 1}, facility {show(fid)})",
                f"{key_text(until)} is not after available_from {key_text(start)}",
                "give the first day without production, after available_from, or leave "
                "available_until empty",
            )


def check_capacity_schedule(tables: Tables) -> None:
    """Capacity-schedule rows name a known facility, a capacity >= 0 and a date it operates.

    A row's date must be on or after the facility's ``available_from`` and before its
    ``available_until``; (facility, date) is unique (checked on reading the table).
    """
    fac = tables["facilities"]
    opens = dict(zip(fac["facility"], fac["available_from"], strict=True))
    closes = dict(zip(fac["facility"], fac["available_until"], strict=True))
    schedule = tables["capacity_schedule"]
    where = "capacity_schedule.csv"
    for row, (fid, day, capacity) in enumerate(
        zip(schedule["facility"], schedule["date"], schedule["capacity_per_year"], strict=True)
    ):
        if fid not in opens:
            raise InputError(
                where,
                f"facility (row {row + 1})",
                f"unknown facility {show(fid)} (date {key_text(day)})",
                "use a facility id from facilities.csv",
            )
        if capacity < 0:
            raise InputError(
                where,
                f"capacity_per_year (row {row + 1})",
                f"{capacity:g} for facility {show(fid)} on {key_text(day)} is below 0",
                "give a capacity of 0 or more (output unit per year; 0 idles the facility)",
            )
        start, until = opens[fid], closes[fid]
        if pd.notna(start) and day < start:
            raise InputError(
                where,
                f"date (row {row + 1})",
                f"{key_text(day)} for facility {show(fid)} is before its available_from "
                f"{key_text(start)}",
                "date the change on or after available_from, or move available_from in "
                "facilities.csv",
            )
        if pd.notna(until) and day >= until:
            raise InputError(
                where,
                f"date (row {row + 1})",
                f"{key_text(day)} for facility {show(fid)} is on or after its "
                f"available_until {key_text(until)} (closed by then)",
                "date the change before available_until, or move available_until in facilities.csv",
            )


def check_demand_years(tables: Tables) -> None:
    """Every row of one demand (commodity, country, facility) gives a year, or none does."""
    demand = tables["demand"]
    dated: dict[tuple[str, str, str], bool] = {}
    for row, (com, country, facility, year) in enumerate(
        zip(demand["commodity"], demand["country"], demand["facility"], demand["year"], strict=True)
    ):
        key = (com, country, facility)
        has_year = not pd.isna(year)
        if dated.setdefault(key, has_year) != has_year:
            text = ", ".join(
                f"{name}={show(value)[1:-1]}"
                for name, value in zip(("commodity", "country", "facility"), key, strict=True)
                if value
            )
            raise InputError(
                "demand.csv",
                f"year (row {row + 1})",
                f"demand ({text}) has rows with and without a year",
                "give every row of this demand a year, or none (one row for every year)",
            )


def check_commodities_known(tables: Tables) -> None:
    """Every commodity named anywhere is in ``commodities``."""
    known = set(tables["commodities"]["commodity"])
    _unknown(tables, "facilities", "commodity", known, "commodity")
    _unknown(tables, "recipes", "input", known, "commodity")
    _unknown(tables, "recipes", "substitute_input", known, "commodity", allow=("",))
    _unknown(tables, "inventory", "input", known, "commodity")
    _unknown(tables, "stockpiles", "commodity", known, "commodity")
    _unknown(tables, "demand", "commodity", known, "commodity")


def check_recipe_targets(tables: Tables) -> None:
    """Recipe rows name a facility type or facility that exists, with a consistent type."""
    facilities = tables["facilities"].set_index("facility")
    types = set(facilities["type"])
    for row, (ftype, fac) in enumerate(
        zip(tables["recipes"]["facility_type"], tables["recipes"]["facility"], strict=True)
    ):
        if fac:
            if fac not in facilities.index:
                raise InputError(
                    "recipes.csv",
                    f"facility (row {row + 1})",
                    f"unknown facility {show(fac)}",
                    "use a facility id from facilities.csv or leave it empty",
                )
            if facilities.at[fac, "type"] != ftype:
                raise InputError(
                    "recipes.csv",
                    f"facility_type (row {row + 1})",
                    f"{show(ftype)} but facility {show(fac)} is of type "
                    f"{show(facilities.at[fac, 'type'])}",
                    "make them agree",
                )
        elif ftype not in types:
            raise InputError(
                "recipes.csv",
                f"facility_type (row {row + 1})",
                f"no facility has type {show(ftype)}",
                f"use one of {sorted(types)}",
            )
    subs = tables["recipes"]
    for row, (sub, qty, days) in enumerate(
        zip(
            subs["substitute_input"],
            subs["substitute_quantity_per_unit"],
            subs["substitute_qualification_days"],
            strict=True,
        )
    ):
        if sub and (pd.isna(qty) or pd.isna(days)):
            raise InputError(
                "recipes.csv",
                f"substitute_input (row {row + 1})",
                "a substitute needs substitute_quantity_per_unit and substitute_qualification_days",
                "give both or leave substitute_input empty",
            )


def check_inputs_produced(tables: Tables) -> None:
    """Every recipe input (and substitute) is produced by at least one facility.

    A joint plant's co-products (joint_products table) count as produced.
    """
    produced = set(tables["facilities"]["commodity"])
    if "joint_products" in tables:
        produced |= set(tables["joint_products"]["commodity"])
    for column in ("input", "substitute_input"):
        for row, com in enumerate(tables["recipes"][column]):
            if com and com not in produced:
                raise InputError(
                    "recipes.csv",
                    f"{column} (row {row + 1})",
                    f"no facility produces {show(com)}",
                    "add a producer to facilities.csv or remove the row",
                )


def check_recipes_acyclic(tables: Tables) -> None:
    """Check that the commodity graph (input -> output) has no cycle."""
    fac_type = dict(
        zip(tables["facilities"]["facility"], tables["facilities"]["type"], strict=True)
    )
    output_of = dict(
        zip(tables["facilities"]["facility"], tables["facilities"]["commodity"], strict=True)
    )
    out_of_type: dict[str, set[str]] = {}
    for fac, com in zip(
        tables["facilities"]["facility"], tables["facilities"]["commodity"], strict=True
    ):
        out_of_type.setdefault(fac_type[fac], set()).add(com)
    edges: dict[str, set[str]] = {}
    recipes = tables["recipes"]
    for ftype, fac, inp, sub in zip(
        recipes["facility_type"],
        recipes["facility"],
        recipes["input"],
        recipes["substitute_input"],
        strict=True,
    ):
        outputs: set[str] = {output_of[fac]} if fac else out_of_type.get(ftype, set())
        for com in (inp, sub):
            if com:
                edges.setdefault(com, set()).update(outputs)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = " -> ".join([*path[path.index(nxt) :], nxt]) if nxt in path else nxt
                raise InputError(
                    "recipes.csv",
                    "input",
                    f"commodities form a cycle ({cycle})",
                    "break the cycle; paxsim needs inputs to flow one way",
                )
            if state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def check_inventory_types(tables: Tables) -> None:
    """Inventory rows name an existing facility type."""
    types = set(tables["facilities"]["type"])
    _unknown(tables, "inventory", "facility_type", types, "facility type")


def check_demand_served(tables: Tables) -> None:
    """Every demand row has a facility to serve it."""
    fac = tables["facilities"]
    ids = set(fac["facility"])
    for row, (com, country, facility) in enumerate(
        zip(
            tables["demand"]["commodity"],
            tables["demand"]["country"],
            tables["demand"]["facility"],
            strict=True,
        )
    ):
        where, field = "demand.csv", f"row {row + 1}"
        if facility:
            if facility not in ids:
                raise InputError(
                    where,
                    f"facility ({field})",
                    f"unknown facility {show(facility)}",
                    "use an id from facilities.csv",
                )
            if fac.set_index("facility").at[facility, "commodity"] != com:
                raise InputError(
                    where,
                    f"commodity ({field})",
                    f"facility {show(facility)} does not produce {show(com)}",
                    "name a producer of the commodity",
                )
        elif not country:
            raise InputError(
                where,
                f"country ({field})",
                "neither country nor facility is set",
                "give one of them",
            )
        elif not ((fac["country"] == country) & (fac["commodity"] == com)).any():
            raise InputError(
                where,
                f"country ({field})",
                f"no facility in {show(country)} produces {show(com)}",
                "add a producer there or give a facility",
            )


def check_sourcing(tables: Tables) -> None:
    """Check that sourcing rows name a known buyer and a supplier that produces the commodity."""
    fac = tables["facilities"]
    output = dict(zip(fac["facility"], fac["commodity"], strict=True))
    countries = set(tables["countries"]["country"])
    src = tables["sourcing"]
    for row, (buyer, com, supplier) in enumerate(
        zip(src["buyer"], src["commodity"], src["supplier"], strict=True)
    ):
        field = f"row {row + 1}"
        if buyer != "*" and buyer not in output and buyer not in countries:
            raise InputError(
                "sourcing.csv",
                f"buyer ({field})",
                f"unknown buyer {show(buyer)}",
                "give a facility id, an ISO3 country or '*'",
            )
        if supplier not in output:
            raise InputError(
                "sourcing.csv",
                f"supplier ({field})",
                f"unknown facility {show(supplier)}",
                "use an id from facilities.csv",
            )
        if output[supplier] != com:
            raise InputError(
                "sourcing.csv",
                f"supplier ({field})",
                f"{show(supplier)} does not produce {show(com)}",
                "name a producer of the commodity",
            )


def check_controls(tables: Tables) -> None:
    """Standing controls name known countries, blocs and commodities, with valid dates.

    Rows of one control id must agree on issuer, regime, approved share and dates.
    """
    controls = tables["controls"]
    if controls.empty:
        return
    countries = set(tables["countries"]["country"])
    blocs = set(tables["countries"]["bloc"])
    _unknown(tables, "controls", "issuer", countries, "country")
    _unknown(tables, "controls", "destination", countries | blocs, "country or bloc")
    _unknown(tables, "controls", "commodity", set(tables["commodities"]["commodity"]), "commodity")
    for row, (regime, start, end) in enumerate(
        zip(controls["regime"], controls["start"], controls["end"], strict=True)
    ):
        if regime not in ("ban", "license"):
            raise InputError(
                "controls.csv",
                f"regime (row {row + 1})",
                f"{show(regime)} is not a regime",
                "write ban or license",
            )
        if pd.notna(end) and end <= start:
            raise InputError(
                "controls.csv",
                f"end (row {row + 1})",
                f"{end.date()} is not after start {start.date()}",
                "give an end after start, or leave it empty",
            )
    shared = ["issuer", "regime", "approved_share", "start", "end"]
    for cid, rows in controls.groupby("id", sort=False):
        for col in shared:
            if rows[col].astype(str).nunique() > 1:
                raise InputError(
                    "controls.csv",
                    f"{col} (id {show(cid)})",
                    f"rows of control {show(cid)} give different {col} values",
                    f"give every row of one control the same {col}, or use another id",
                )


CHECKS: tuple[Callable[[Tables], None], ...] = (
    check_countries_known,
    check_commodities_known,
    check_facility_dates,
    check_capacity_schedule,
    check_recipe_targets,
    check_inputs_produced,
    check_recipes_acyclic,
    check_inventory_types,
    check_demand_years,
    check_demand_served,
    check_sourcing,
    check_controls,
    check_some_capacity,
)


def check_world(tables: Tables) -> None:
    """Run every consistency check, raising on the first problem found."""
    for check in CHECKS:
        check(tables)
