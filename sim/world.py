"""The world: validated tables and the lookups the engine and the metrics need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from sim.checks import check_world
from sim.errors import InputError
from sim.tables import OPTIONAL_TABLES, TABLES, empty_table, read_table


@dataclass(frozen=True)
class World:
    """A validated set of world tables.

    Build one with :meth:`from_tables` or :func:`load_world`; both validate every
    table against :mod:`sim.tables` and run :func:`sim.checks.check_world`.

    Attributes
    ----------
    tables : Mapping[str, DataFrame]
        One validated DataFrame per table name in :data:`sim.tables.TABLES`.
    """

    tables: Mapping[str, pd.DataFrame]

    @classmethod
    def from_tables(cls, **frames: pd.DataFrame | str | Path) -> World:
        """Validate tables given as DataFrames or CSV paths; optional ones may be omitted."""
        unknown = sorted(set(frames) - set(TABLES))
        if unknown:
            raise InputError("world", unknown[0], "unknown table", f"use one of {list(TABLES)}")
        tables: dict[str, pd.DataFrame] = {}
        for name in TABLES:
            if name in frames:
                tables[name] = read_table(name, frames[name])
            elif name in OPTIONAL_TABLES:
                tables[name] = empty_table(name)
            else:
                raise InputError("world", name, "required table is missing", f"give {name}.csv")
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
        unknown = sorted(set(frames) - set(TABLES))
        if unknown:
            raise InputError("world", unknown[0], "unknown table", f"use one of {list(TABLES)}")
        tables = dict(self.tables)
        for name, frame in frames.items():
            tables[name] = read_table(name, frame)
        check_world(tables)
        return World(MappingProxyType(tables))


def _rebuild(tables: dict[str, pd.DataFrame]) -> World:
    return World(MappingProxyType(tables))


def load_world(folder: str | Path) -> World:
    """Load a world from a folder of CSV files named after the tables (``facilities.csv``, ...).

    Optional tables (``stockpiles.csv``, ``demand.csv``) may be absent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "-", "not a folder", "give the folder holding the CSV tables")
    frames: dict[str, pd.DataFrame | str | Path] = {}
    for name, table in TABLES.items():
        path = folder / table.filename
        if path.exists():
            frames[name] = path
        elif name not in OPTIONAL_TABLES:
            raise InputError(str(path), "-", "required table is missing", f"add {table.filename}")
    return World.from_tables(**frames)
