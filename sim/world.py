"""The world: validated tables and the lookups the engine and the metrics need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from sim.checks import check_world
from sim.dated import tables_as_of
from sim.errors import InputError
from sim.joint import add_co_products
from sim.tables import OPTIONAL_TABLES, WORLD_TABLES, empty_table, read_table, show


@dataclass(frozen=True)
class World:
    """A validated set of world tables.

    Build one with :meth:`from_tables` or :func:`load_world`; both validate every
    table against :mod:`sim.tables` and run :func:`sim.checks.check_world`.

    Attributes
    ----------
    tables : Mapping[str, DataFrame]
        One validated DataFrame per table name in :data:`sim.tables.WORLD_TABLES`.
    """

    tables: Mapping[str, pd.DataFrame]

    @classmethod
    def from_tables(cls, **frames: pd.DataFrame | str | Path) -> World:
        """Validate tables given as DataFrames or CSV paths; optional ones may be omitted."""
        unknown = sorted(set(frames) - set(WORLD_TABLES))
        if unknown:
            raise InputError(
                "world", unknown[0], "unknown table", f"use one of {list(WORLD_TABLES)}"
            )
        tables: dict[str, pd.DataFrame] = {}
        for name in WORLD_TABLES:
            if name in frames:
                tables[name] = read_table(name, frames[name])
            elif name in OPTIONAL_TABLES:
                tables[name] = empty_table(name)
            else:
                raise InputError("world", name, "required table is missing", f"give {name}.csv")
        # A row per co-product of a joint plant, before the cross-table checks.
        tables["facilities"] = add_co_products(tables)
        check_world(tables)
        return cls(MappingProxyType(tables))

    def __reduce__(self) -> tuple[object, tuple[dict[str, pd.DataFrame]]]:
        """Pickle the tables as they are (already validated) for worker processes."""
        return (_rebuild, (dict(self.tables),))

    def __getitem__(self, name: str) -> pd.DataFrame:
        """Return table ``name``."""
        return self.tables[name]

    @property
    def facilities(self) -> pd.DataFrame:
        """The facilities table."""
        return self.tables["facilities"]

    def bloc_of(self) -> dict[str, str]:
        """Return the bloc of each country at the start of a run."""
        c = self.tables["countries"]
        return dict(zip(c["country"], c["bloc"], strict=True))

    def unit_of(self) -> dict[str, str]:
        """Return the unit of each commodity."""
        c = self.tables["commodities"]
        return dict(zip(c["commodity"], c["unit"], strict=True))

    def replace(self, **frames: pd.DataFrame | str | Path) -> World:
        """Return a new world with some tables replaced (those validated, then all checks)."""
        unknown = sorted(set(frames) - set(WORLD_TABLES))
        if unknown:
            raise InputError(
                "world", unknown[0], "unknown table", f"use one of {list(WORLD_TABLES)}"
            )
        tables = dict(self.tables)
        for name, frame in frames.items():
            tables[name] = read_table(name, frame)
        if "facilities" in frames or "joint_products" in frames:
            tables["facilities"] = add_co_products(tables)  # a new plant's co-products
        check_world(tables)
        return World(MappingProxyType(tables))

    def as_of(self, day: dt.date | str) -> World:
        """Return the world as it operated on ``day``: a validated snapshot.

        Facilities that operate on ``day`` (``available_from <= day < available_until``)
        stay, with the nameplate ``capacity_per_year`` of the capacity-schedule row in
        force on ``day`` and ``available_until`` emptied; facilities that open later or
        have closed are dropped, and with them the recipe, sourcing and demand rows that
        name them (and recipe and inventory rows of a facility type no facility has any
        more, and country demand rows whose country has no producer of the commodity
        left). The capacity schedule is emptied. Demand keeps the rows in force for
        ``day``'s year (:func:`sim.dated.demand_in_force`), with ``year`` emptied so that
        they apply whatever the run start. Countries, commodities, lanes, stockpiles and
        the other inventory rows stay. Nothing dated after ``day`` remains: a run on the
        result sees the world of ``day`` held fixed. See :func:`sim.dated.tables_as_of`.

        Parameters
        ----------
        day : datetime.date or str
            The date, or an ISO date ``YYYY-MM-DD``.

        Returns
        -------
        World
            The snapshot, validated again like any world.

        Raises
        ------
        InputError
            If ``day`` is not a date, or the snapshot fails a check (e.g. a recipe input
            that no facility operating on ``day`` produces); the message says which date.
        """
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                raise InputError(
                    "world", "as_of", f"{show(day)} is not an ISO date", "write YYYY-MM-DD"
                ) from None
        if isinstance(day, dt.datetime):
            day = day.date()
        try:
            return World.from_tables(**tables_as_of(self.tables, day))
        except InputError as err:
            raise InputError(
                err.where, err.field, f"{err.problem} in the world as of {day}", err.fix
            ) from None


def _rebuild(tables: dict[str, pd.DataFrame]) -> World:
    return World(MappingProxyType(tables))


def load_world(folder: str | Path) -> World:
    """Load a world from a folder of CSV files named after the tables (``facilities.csv``, ...).

    Optional tables (``stockpiles.csv``, ``demand.csv``, ``sourcing.csv``,
    ``capacity_schedule.csv``) may be absent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "-", "not a folder", "give the folder holding the CSV tables")
    frames: dict[str, pd.DataFrame | str | Path] = {}
    for name, table in WORLD_TABLES.items():
        path = folder / table.filename
        if path.exists():
            frames[name] = path
        elif name not in OPTIONAL_TABLES:
            raise InputError(str(path), "-", "required table is missing", f"add {table.filename}")
    return World.from_tables(**frames)
