"""The world of a scenario file: a base world and per-table changes; engine settings.

``world:`` names a base world (the bundled example, the reference world in ``data/`` or
none) and, per table, rows given inline or a CSV path, replacing the base table or
extending it. :func:`build_world` assembles and validates the tables and re-addresses
every table problem to the YAML path of the offending row
(``world.facilities.rows[2].capacity_per_year``). ``settings:`` holds the engine
settings (:class:`sim.engine.Settings`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field

from sim.engine import Settings
from sim.errors import InputError
from sim.events import Name
from sim.examples import example_world
from sim.network import Network
from sim.scenario_events import engine_number
from sim.scenario_text import one_line, show, yaml_path
from sim.scenario_types import Cell, IsoDate, Number, Param, StrictModel
from sim.scenario_yaml import inside
from sim.tables import TABLES, read_table
from sim.world import World, load_world

#: The reference world's tables, next to the package in a source checkout.
REFERENCE_DATA = Path(__file__).resolve().parent.parent / "data"
#: Largest world table CSV a scenario may name, in bytes.
MAX_TABLE_BYTES = 10_000_000

# ----------------------------------------------------------------------------- settings, world

_ENGINE = Settings()


class SettingsSpec(StrictModel):
    """Engine settings (:class:`sim.engine.Settings`)."""

    review_days: Number = Field(
        default=_ENGINE.review_days, gt=0, description="Days between ordering reviews."
    )
    stock_adjust_days: Number = Field(
        default=_ENGINE.stock_adjust_days, gt=0, description="Days to close an inventory gap."
    )
    ramp_step_days: Number = Field(
        default=_ENGINE.ramp_step_days, gt=0, description="Step of the substitution ramp, in days."
    )
    qualification_days: dict[str, Param] = Field(
        default_factory=dict,
        description="Per commodity: supplier qualification lead time in days, overriding the "
        "commodities table; a distribution is drawn per buyer by the engine.",
    )
    substitution_ramp_days: dict[str, Annotated[Number, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per commodity: substitution ramp length in days, overriding the table.",
    )


class TableSpec(StrictModel):
    """One world table: rows given inline or a CSV path, replacing or extending the base."""

    mode: Literal["replace", "extend"] = Field(
        description="replace the base world's table, or extend it (append rows)."
    )
    rows: tuple[dict[str, Cell], ...] | None = Field(
        default=None, description="Rows as mappings from column to value (see the data dictionary)."
    )
    path: Name | None = Field(default=None, description="CSV file, relative to the scenario file.")


class WorldSpec(StrictModel):
    """The world: a base world and per-table changes."""

    base: Literal["example", "reference"] | None = Field(
        default="example",
        description="Base world: example (the bundled 8-facility example world), reference "
        "(the reference world in data/), or null for none (then every required table "
        "must be given).",
    )
    countries: TableSpec | None = None
    commodities: TableSpec | None = None
    facilities: TableSpec | None = None
    recipes: TableSpec | None = None
    lanes: TableSpec | None = None
    sourcing: TableSpec | None = None
    inventory: TableSpec | None = None
    stockpiles: TableSpec | None = None
    demand: TableSpec | None = None
    capacity_schedule: TableSpec | None = None
    finished_goods: TableSpec | None = None
    joint_products: TableSpec | None = None
    controls: TableSpec | None = None
    as_of: IsoDate | None = Field(
        default=None,
        description="Take the world as it operated on this date (YYYY-MM-DD): facilities "
        "operating then, with the capacity in force then, and the demand rows of that year; "
        "see World.as_of.",
    )

    def table(self, name: str) -> TableSpec | None:
        """Return the entry of table ``name`` (``None`` if not given)."""
        spec: TableSpec | None = getattr(self, name)
        return spec


@dataclass(frozen=True)
class _Origin:
    """Where the rows of an assembled world table come from, for error messages."""

    table: str
    n_base: int
    base: str | None
    spec: TableSpec | None

    def __call__(self, row: int) -> str:
        """YAML path naming 0-based ``row`` of the assembled table."""
        if self.spec is None or row < self.n_base:
            return f"world.base ({self.base} {self.table} row {row + 1})"
        i = row - self.n_base
        if self.spec.rows is not None:
            return f"world.{self.table}.rows[{i}]"
        return f"world.{self.table}.path ({self.spec.path} row {i + 1})"


def build_world(
    spec: WorldSpec, start: dt.date, base_dir: Path, owner: Callable[[Sequence[str | int]], str]
) -> World:
    """Assemble and validate the world of a scenario.

    Parameters
    ----------
    spec : WorldSpec
        The scenario's ``world:``.
    start : date
        Day 0 of the run (the network is built at it, to check the world).
    base_dir : Path
        Folder that table paths are relative to and must lie in.
    owner : callable
        ``owner(yaml_path)`` names the file of the ``extends`` chain a value comes from.

    Returns
    -------
    World
        The validated tables.

    Raises
    ------
    InputError
        On a bad table or cross-table inconsistency, naming the YAML path of the
        offending row.
    """
    return _Assembly(spec, start, base_dir, owner).build()


@dataclass(frozen=True)
class _Assembly:
    """The world of one scenario being assembled, with what its messages need."""

    world_spec: WorldSpec
    start: dt.date
    base_dir: Path
    owner: Callable[[Sequence[str | int]], str]

    def _owner(self, path: Sequence[str | int]) -> str:
        return self.owner(path)

    def _error(self, path: Sequence[str | int], problem: str, fix: str) -> InputError:
        return InputError(self._owner(path), yaml_path(path), one_line(problem), one_line(fix))

    def build(self) -> World:
        """Return the base world with the tables given, validated."""
        spec = self.world_spec
        tables: dict[str, pd.DataFrame] = {}
        origins: dict[str, _Origin] = {}
        if spec.base is not None:
            base_world = example_world() if spec.base == "example" else load_world(REFERENCE_DATA)
            for name, frame in base_world.tables.items():
                tables[name] = frame
                origins[name] = _Origin(name, len(frame), spec.base, None)
        for name in TABLES:
            entry = spec.table(name)
            if entry is None:
                continue
            if (entry.rows is None) == (entry.path is None):
                raise self._error(
                    ("world", name), "give exactly one of rows and path", "remove one of them"
                )
            new_origin = _Origin(name, 0, spec.base, entry)
            new = self._read_entry(name, entry, new_origin)
            base = tables.get(name)
            if entry.mode == "extend" and base is not None and len(base):
                self._check_new_keys(name, base, new, new_origin)
                tables[name] = pd.concat([base, new], ignore_index=True)
                origins[name] = _Origin(name, len(base), spec.base, entry)
            else:
                tables[name] = new
                origins[name] = new_origin
        try:
            world = World.from_tables(**tables)
            if spec.as_of is not None:
                world = world.as_of(spec.as_of)
            Network(world, self.start)
        except InputError as err:
            raise self._world_error(err, origins) from None
        return world

    def _read_entry(self, name: str, entry: TableSpec, origin: _Origin) -> pd.DataFrame:
        where = TABLES[name].filename
        if entry.rows is not None:
            data: pd.DataFrame | Path = _rows_frame(name, entry.rows)
        else:
            data = self._table_file(name, str(entry.path))
        try:
            return read_table(name, data, where=where)
        except InputError as err:
            raise self._world_error(err, {name: origin}) from None

    def _table_file(self, name: str, given: str) -> Path:
        """Return the CSV file of a table path, checked before it is read.

        It must lie in the scenario's folder (or below) and be a regular, non-empty file
        of at most :data:`MAX_TABLE_BYTES` bytes.
        """
        root = self.base_dir
        file = root / given
        where = ("world", name, "path")
        if not inside(root, file):
            raise self._error(
                where,
                f"{show(given)} is outside the folder of the scenario file",
                "keep table files in the folder of the scenario you load, or below it "
                "(symbolic links are followed)",
            )
        if not file.is_file():
            raise self._error(
                where,
                f"file {show(given)} not found",
                "give the path of a CSV file, relative to the scenario file",
            )
        size = file.stat().st_size
        columns = ", ".join(c.name for c in TABLES[name].columns)
        if size == 0:
            raise self._error(
                where,
                f"file {show(given)} is empty",
                f"give a header row with the columns {columns} (a header alone is a "
                "table without rows)",
            )
        if size > MAX_TABLE_BYTES:
            raise self._error(
                where,
                f"file {show(given)} is {size} bytes, more than the {MAX_TABLE_BYTES} "
                "bytes (10 MB) a world table may have",
                "give a smaller table",
            )
        return file

    def _check_new_keys(
        self, name: str, base: pd.DataFrame, new: pd.DataFrame, origin: _Origin
    ) -> None:
        key = list(TABLES[name].key)
        old = set(base[key].astype(str).itertuples(index=False, name=None))
        for i, row in enumerate(new[key].astype(str).itertuples(index=False, name=None)):
            if row in old:
                text = ", ".join(f"{k}={v}" for k, v in zip(key, row, strict=True))
                raise InputError(
                    self._owner(("world", name)),
                    origin(i),
                    f"duplicate key ({text}): the base table has this row",
                    "change the key, or use mode: replace",
                )

    def _world_error(self, err: InputError, origins: Mapping[str, _Origin]) -> InputError:
        """Re-address an error of a world table to the YAML path of the offending row."""
        m = re.fullmatch(r"(\w+)\.csv", err.where)
        table = m.group(1) if m and m.group(1) in TABLES else None
        if table is None:
            name = err.field if err.where == "world" else err.where
            return InputError(self._owner(("world",)), f"world.{name}", err.problem, err.fix)
        owner = self._owner(("world", table))
        origin = origins.get(table)
        entry = self.world_spec.table(table)
        if err.field == "-" and entry is not None and entry.path is not None:  # the whole file
            return InputError(
                owner,
                f"world.{table}.path",
                f"file {show(entry.path)}: {err.problem}",
                err.fix,
            )
        rm = re.fullmatch(r"(?:(?P<col>\w+) \()?row (?P<row>\d+)\)?", err.field)
        if rm and origin is not None:
            prefix = origin(int(rm.group("row")) - 1)
            col = rm.group("col")
            return InputError(owner, f"{prefix}.{col}" if col else prefix, err.problem, err.fix)
        if re.fullmatch(r"\w+", err.field):  # a column name
            if entry is not None and entry.rows is not None:
                hit = [i for i, r in enumerate(entry.rows) if err.field in r]
                field = f"world.{table}.rows[{hit[0] if hit else 0}].{err.field}"
            elif entry is not None:
                field = f"world.{table}.path ({entry.path}).{err.field}"
            else:
                field = f"world.{table}.{err.field}"
            return InputError(owner, field, err.problem, err.fix)
        return InputError(owner, f"world.{table}", f"{err.field}: {err.problem}", err.fix)


def _rows_frame(name: str, rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Inline rows as a table of strings, as if read from a CSV file."""
    if not rows:
        return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in TABLES[name].columns})
    return pd.DataFrame([{k: _cell_text(v) for k, v in row.items()} for row in rows], dtype=object)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def engine_settings(spec: SettingsSpec) -> Settings:
    """Return the engine settings of a scenario's ``settings:``.

    ``qualification_days`` given as distributions stay
    :class:`~sim.distributions.Distribution` (the engine draws them per buyer).
    """
    return Settings(
        review_days=spec.review_days,
        stock_adjust_days=spec.stock_adjust_days,
        ramp_step_days=spec.ramp_step_days,
        qualification_days={c: engine_number(v) for c, v in spec.qualification_days.items()},
        substitution_ramp_days=dict(spec.substitution_ramp_days),
    )
