"""Column declarations of every world table: the single source for loading and the data dictionary.

Each table is one CSV file in ``data/`` (or a DataFrame handed in from Python). Its
columns are declared here once, with dtype, unit, default, whether they are
required and a description. :func:`read_table` reads that declaration to coerce
types, fill defaults and reject unknown or missing columns, negative quantities
and rows without a ``source``.

:data:`WORLD_TABLES` (also :data:`TABLES`) holds every table a :class:`~sim.world.World`
has, each one a scenario file can give under ``world:`` too.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.table_schema import SOURCE, Column, Table
from sim.tables_dated import CAPACITY_SCHEDULE, CONTROLS, FINISHED_GOODS, JOINT_PRODUCTS

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "countries",
            "Countries and the bloc each belongs to at the start of a run.",
            ("country",),
            (
                Column("country", "str", "-", "ISO 3166-1 alpha-3 code.", required=True),
                Column("name", "str", "-", "Country name.", default=""),
                Column(
                    "bloc",
                    "str",
                    "-",
                    "Bloc at the start of a run (e.g. allied, china, nonaligned).",
                    required=True,
                ),
                SOURCE,
            ),
        ),
        Table(
            "commodities",
            "Goods that flow through the network, with substitution lead times.",
            ("commodity",),
            (
                Column("commodity", "str", "-", "Commodity id (snake_case).", required=True),
                Column("unit", "str", "-", "Unit of quantities of this commodity (e.g. t).", True),
                Column("description", "str", "-", "What the commodity is.", default=""),
                Column(
                    "qualification_days",
                    "float",
                    "days",
                    "Lead time for a buyer to qualify a new supplier of this commodity once "
                    "a restricted source is cut off.",
                    default=90.0,
                    minimum=0.0,
                ),
                Column(
                    "substitution_ramp_days",
                    "float",
                    "days",
                    "Days for a newly qualified supplier's share to ramp linearly from 0 to "
                    "the full redirected volume.",
                    default=60.0,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "facilities",
            "Mines, refiners, fabs, data centers: anything that turns inputs into one output.",
            ("facility",),
            (
                Column("facility", "str", "-", "Facility id (unique).", required=True),
                Column("name", "str", "-", "Human-readable name.", default=""),
                Column(
                    "type",
                    "str",
                    "-",
                    "Facility type, the stage (mine, refiner, magnet_fab, chip_fab, "
                    "data_center; the set is open).",
                    required=True,
                ),
                Column("country", "str", "-", "ISO3 code of the host country.", required=True),
                Column("commodity", "str", "-", "Output commodity id.", required=True),
                Column(
                    "capacity_per_year",
                    "float",
                    "output unit per year",
                    "Nameplate output capacity.",
                    required=True,
                    minimum=0.0,
                ),
                Column(
                    "available_from",
                    "date",
                    "ISO date",
                    "First day the facility can produce; empty means before any run start.",
                ),
                Column(
                    "available_until",
                    "date",
                    "ISO date",
                    "First day the facility no longer produces (closed for good), after "
                    "available_from; empty means still operating.",
                ),
                Column(
                    "ramp_up_days",
                    "float",
                    "days",
                    "Days from available_from for capacity to ramp linearly to nameplate.",
                    default=0.0,
                    minimum=0.0,
                ),
                Column("operator", "str", "-", "Operating company.", default=""),
                SOURCE,
            ),
        ),
        Table(
            "recipes",
            "Inputs per unit of output (Leontief), by facility type with per-facility overrides.",
            ("facility_type", "facility", "input"),
            (
                Column(
                    "facility_type",
                    "str",
                    "-",
                    "Facility type the row applies to.",
                    required=True,
                ),
                Column(
                    "facility",
                    "str",
                    "-",
                    "If set, the row applies to this facility only and replaces the type's "
                    "rows for that facility.",
                    default="",
                ),
                Column("input", "str", "-", "Input commodity id.", required=True),
                Column(
                    "quantity_per_unit",
                    "float",
                    "input unit per output unit",
                    "Units of input consumed per unit of output.",
                    required=True,
                    minimum=0.0,
                ),
                Column(
                    "substitute_input",
                    "str",
                    "-",
                    "Commodity that can replace the input once qualified (e.g. a Dy-free "
                    "magnet grade); empty for none.",
                    default="",
                ),
                Column(
                    "substitute_quantity_per_unit",
                    "float",
                    "substitute unit per output unit",
                    "Units of the substitute consumed per unit of output.",
                    default=math.nan,
                    minimum=0.0,
                ),
                Column(
                    "substitute_output_penalty_share",
                    "float",
                    "share (0-1)",
                    "Capacity lost while running on the substitute (performance penalty).",
                    default=0.0,
                    minimum=0.0,
                    maximum=1.0,
                ),
                Column(
                    "substitute_qualification_days",
                    "float",
                    "days",
                    "Lead time to qualify the substitute once the input is cut off.",
                    default=math.nan,
                    minimum=0.0,
                ),
                Column(
                    "substitute_max_share",
                    "float",
                    "share",
                    "Design limit of a substitute input (a grade): the most of the facility's "
                    "planned output that may run on it once switched (1: all of it); the rest "
                    "still needs the original input.",
                    default=1.0,
                    minimum=0.0,
                    maximum=1.0,
                ),
                Column(
                    "durable",
                    "bool",
                    "-",
                    "Whether the input is capital (installed equipment), not a consumable: "
                    "the facility's capacity is then limited by its installed base / "
                    "quantity_per_unit (quantity_per_unit is units installed per output unit "
                    "per day), and it orders replacements of retirements, growth and the gap.",
                    default=False,
                ),
                Column(
                    "service_life_days",
                    "float",
                    "days",
                    "Durable inputs: mean service life; the installed base retires at one over "
                    "it per day.",
                    default=math.nan,
                    minimum=0.0,
                ),
                Column(
                    "installation_days",
                    "float",
                    "days",
                    "Durable inputs: days from taking a unit out of stock to its running in the "
                    "installed base.",
                    default=0.0,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "lanes",
            "Transport time between countries ('*' as destination or origin is a default).",
            ("origin", "destination"),
            (
                Column("origin", "str", "-", "ISO3 code of the shipping country, or '*'.", True),
                Column(
                    "destination", "str", "-", "ISO3 code of the receiving country, or '*'.", True
                ),
                Column(
                    "transport_days",
                    "float",
                    "days",
                    "Door-to-door transport time (applies in both directions unless the "
                    "reverse lane is given).",
                    required=True,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "sourcing",
            "Baseline supplier weights of buyers; without rows, buyers order pro rata to "
            "supplier capacity. A supplier with weight 0 (or not named) is not qualified: "
            "shifting orders to it takes the commodity's qualification lead time. Of a "
            "commodity with more than 32 producers in a bloc, a buyer can order only "
            "from the suppliers it names with a weight > 0 and the 32 largest producers "
            "of each bloc (sim.network.CANDIDATE_LINKS).",
            ("buyer", "commodity", "supplier"),
            (
                Column(
                    "buyer",
                    "str",
                    "-",
                    "Buyer facility id, ISO3 country of buyers, or '*' for every buyer; the "
                    "most specific rows that match a buyer apply.",
                    required=True,
                ),
                Column("commodity", "str", "-", "Commodity bought.", required=True),
                Column("supplier", "str", "-", "Supplier facility id.", required=True),
                Column(
                    "weight",
                    "float",
                    "relative",
                    "Relative share of the buyer's orders placed with the supplier.",
                    required=True,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "inventory",
            "Target stock of each input, in days of cover, per facility type.",
            ("facility_type", "input"),
            (
                Column("facility_type", "str", "-", "Facility type.", required=True),
                Column("input", "str", "-", "Input commodity id.", required=True),
                Column(
                    "target_cover_days",
                    "float",
                    "days",
                    "Stock the facility orders toward, in days of its planned consumption.",
                    required=True,
                    minimum=0.0,
                ),
                Column(
                    "initial_cover_days",
                    "float",
                    "days",
                    "Stock at the start of a run, in days of planned consumption; empty means "
                    "equal to target_cover_days.",
                    default=math.nan,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "stockpiles",
            "Strategic reserves held by a country or a bloc, released by stockpile_release events.",
            ("holder", "commodity"),
            (
                Column("holder", "str", "-", "ISO3 code of a country, or a bloc name.", True),
                Column("commodity", "str", "-", "Commodity held.", required=True),
                Column(
                    "quantity",
                    "float",
                    "commodity unit",
                    "Quantity held at the start of a run.",
                    required=True,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
        Table(
            "demand",
            "Final demand for a commodity, at a facility or spread over a country's producers. "
            "Demand can be given by year: rows with the same commodity, country and facility "
            "and different years. A run uses, for each such key, the row of the latest year on "
            "or before the year of its reference date (the date of a world taken as of a date, "
            "else the run start); a key whose years are all later is not used. Either every row "
            "of a key has a year or none has. The row's quantity is the demand at the run start "
            "and growth compounds from there, as for rows without a year.",
            ("commodity", "country", "facility", "year"),
            (
                Column("commodity", "str", "-", "Commodity demanded.", required=True),
                Column(
                    "country",
                    "str",
                    "-",
                    "ISO3 code; demand is spread over the country's producers of the "
                    "commodity pro rata to capacity.",
                    default="",
                ),
                Column(
                    "facility",
                    "str",
                    "-",
                    "If set, the facility that serves the demand.",
                    default="",
                ),
                Column(
                    "year",
                    "int",
                    "calendar year",
                    "Year from which the row applies (see the table's description); empty "
                    "means every year.",
                    minimum=1900.0,
                    maximum=2200.0,
                ),
                Column(
                    "quantity_per_year",
                    "float",
                    "commodity unit per year",
                    "Demand at the start of a run.",
                    required=True,
                    minimum=0.0,
                ),
                Column(
                    "growth_per_year_share",
                    "float",
                    "share per year",
                    "Compound annual growth of the demand (0.1 = +10 % a year).",
                    default=0.0,
                    minimum=-1.0,
                ),
                Column(
                    "noise_cv",
                    "float",
                    "share",
                    "Coefficient of variation of random demand variation, drawn per ordering "
                    "review period (1 day with review_days=1).",
                    default=0.0,
                    minimum=0.0,
                ),
                SOURCE,
            ),
        ),
    )
}

#: Every table of a world, in the order of the data dictionary.
WORLD_TABLES: dict[str, Table] = {}
for _name, _table in TABLES.items():
    WORLD_TABLES[_name] = _table
    if _name == "facilities":
        WORLD_TABLES[CAPACITY_SCHEDULE.name] = CAPACITY_SCHEDULE
    if _name == "inventory":
        WORLD_TABLES[FINISHED_GOODS.name] = FINISHED_GOODS
        WORLD_TABLES[JOINT_PRODUCTS.name] = JOINT_PRODUCTS
    if _name == "sourcing":
        WORLD_TABLES[CONTROLS.name] = CONTROLS
del _name, _table
#: Every table is one a scenario can give under ``world:`` too.
TABLES = WORLD_TABLES

OPTIONAL_TABLES = (
    "stockpiles",
    "demand",
    "sourcing",
    "capacity_schedule",
    "finished_goods",
    "joint_products",
    "controls",
)


def show(value: object, limit: int = 40) -> str:
    """Show a cell value in an error message: quoted, on one line, at most ``limit`` long.

    Values come from files, so they are shown escaped (no newline or control character
    reaches the terminal) and cut short.
    """
    text = repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _coerce(table: Table, col: Column, series: pd.Series, where: str) -> pd.Series:
    """Coerce one column to its declared dtype, filling defaults."""
    empty = series.isna() | (series.astype(str).str.strip() == "")
    if col.required and empty.any():
        row = int(empty.to_numpy().nonzero()[0][0])
        raise InputError(where, f"{col.name} (row {row + 1})", "is empty", "give a value")
    if col.dtype == "str":
        out = series.astype(object).where(~empty, col.default if col.default is not None else "")
        return out.astype(str).str.strip()
    if col.dtype in ("float", "int"):
        numbers = pd.to_numeric(series.where(~empty, None), errors="coerce")
        bad = numbers.isna() & ~empty
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                where,
                f"{col.name} (row {row + 1})",
                f"{show(series.iloc[row])} is not a number",
                f"give a number in {col.unit}",
            )
        default = math.nan if col.default is None else float(col.default)
        numbers = numbers.astype(float).where(~empty, default)
        whole = col.dtype == "int"
        if whole:
            fraction = numbers.notna() & (numbers % 1 != 0)
            if fraction.any():
                row = int(fraction.to_numpy().nonzero()[0][0])
                raise InputError(
                    where,
                    f"{col.name} (row {row + 1})",
                    f"{show(series.iloc[row])} is not a whole number",
                    f"give a whole number ({col.unit})",
                )
        for bound, op, word in ((col.minimum, "lt", ">="), (col.maximum, "gt", "<=")):
            if bound is None:
                continue
            out_of_range = getattr(numbers, op)(bound)
            if out_of_range.any():
                row = int(out_of_range.to_numpy().nonzero()[0][0])
                value, limit = numbers.iloc[row], bound
                if whole:
                    value, limit = int(value), int(limit)
                raise InputError(
                    where,
                    f"{col.name} (row {row + 1})",
                    f"{value} is out of range",
                    f"give a value {word} {limit} ({col.unit})",
                )
        return numbers
    if col.dtype == "bool":
        text = series.astype(str).str.strip().str.lower()
        ok = text.isin(["true", "false", "1", "0", "yes", "no"]) | empty
        if not ok.all():
            row = int((~ok).to_numpy().nonzero()[0][0])
            raise InputError(where, f"{col.name} (row {row + 1})", "is not true/false", "fix it")
        return text.isin(["true", "1", "yes"]).where(~empty, bool(col.default))
    # date
    dates = pd.to_datetime(series.where(~empty, None), errors="coerce", format="ISO8601")
    bad = dates.isna() & ~empty
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            where,
            f"{col.name} (row {row + 1})",
            f"{show(series.iloc[row])} is not an ISO date",
            "write YYYY-MM-DD or leave it empty",
        )
    return dates


def read_table(
    name: str, data: pd.DataFrame | str | Path, where: str | None = None
) -> pd.DataFrame:
    """Read and validate one world table against its declaration.

    Parameters
    ----------
    name : str
        Table name, a key of :data:`WORLD_TABLES`.
    data : DataFrame or path
        The table, or the path of its CSV file.
    where : str, optional
        Name used in error messages (defaults to the file name).

    Returns
    -------
    DataFrame
        Exactly the declared columns, in declared order, with declared dtypes and defaults.

    Raises
    ------
    InputError
        On unknown or missing columns, empty required cells, values of the wrong type or
        out of range, and duplicate keys.
    """
    table = WORLD_TABLES[name]
    if isinstance(data, str | Path):
        where = where or str(data)
        try:
            frame = pd.read_csv(data, dtype=str, keep_default_na=False, comment=None)
        except FileNotFoundError:
            raise InputError(where, "-", "file not found", "check the path") from None
        except pd.errors.EmptyDataError:
            columns = ", ".join(c.name for c in table.columns)
            raise InputError(
                where,
                "-",
                "is empty (no header row)",
                f"give a header row with the columns {columns} (a header alone is a table "
                "without rows)",
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                where,
                "-",
                f"not UTF-8 text (byte {exc.start + 1} cannot be decoded)",
                "save the file as UTF-8 CSV",
            ) from None
        except pd.errors.ParserError as exc:
            # pandas names the line and the field counts; keep only that, never file content.
            found = re.search(r"line \d+.*", str(exc).splitlines()[0])
            detail = f" ({found.group(0)[:60]})" if found else ""
            raise InputError(
                where, "-", f"not a readable CSV{detail}", "give one comma-separated row a line"
            ) from None
    else:
        where = where or table.filename
        frame = data.copy()
    declared = [c.name for c in table.columns]
    unknown = [(i, c) for i, c in enumerate(frame.columns) if c not in declared]
    if unknown:
        i, name = unknown[0]
        plain = isinstance(name, str) and re.fullmatch(r"\w{1,40}", name)
        raise InputError(
            where,
            str(name) if plain else f"column {i + 1}",
            "unknown column" if plain else f"unknown column {show(name)}",
            f"use only the declared columns {declared}",
        )
    out = {}
    for col in table.columns:
        if col.name not in frame.columns:
            if col.required:
                raise InputError(where, col.name, "required column is missing", "add it")
            series = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        else:
            series = frame[col.name]
        out[col.name] = _coerce(table, col, series, where)
    result = pd.DataFrame(out, columns=declared).reset_index(drop=True)
    dup = result.duplicated(list(table.key), keep=False)
    if dup.any():
        row = int(dup.to_numpy().nonzero()[0][0])
        key = ", ".join(f"{k}={show(key_text(result.at[row, k]))[1:-1]}" for k in table.key)
        raise InputError(where, f"row {row + 1}", f"duplicate key ({key})", "keep one row per key")
    return result


def key_text(value: object) -> str:
    """Show a validated key cell as a user would write it.

    A date as ``YYYY-MM-DD``, a whole number without ``.0``, an empty date or number as
    nothing.
    """
    if value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def empty_table(name: str) -> pd.DataFrame:
    """Return a validated table with no rows."""
    cols = {c.name: pd.Series([], dtype=object) for c in WORLD_TABLES[name].columns}
    return read_table(name, pd.DataFrame(cols))


def data_dictionary() -> str:
    """Render the data dictionary (markdown) from the column declarations."""
    lines = ["# Data dictionary", "", "Generated from `sim/tables.py`; do not edit by hand.", ""]
    for table in WORLD_TABLES.values():
        lines += [f"## `{table.filename}`", "", table.description, ""]
        lines += ["| column | type | unit | required | default | description |"]
        lines += ["|---|---|---|---|---|---|"]
        for c in table.columns:
            default = "" if c.default is None or c.required else repr(c.default)
            lines.append(
                f"| `{c.name}` | {c.dtype} | {c.unit} | {'yes' if c.required else 'no'} | "
                f"{default} | {c.description} |"
            )
        lines.append("")
    return "\n".join(lines)
