"""Declarations of world-table columns: :class:`Column`, :class:`Table` and ``SOURCE``.

:mod:`sim.tables` declares the tables with them; :mod:`sim.tables_dated` declares the
optional tables of dated worlds, joint production, make to stock and standing controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Dtype = Literal["str", "float", "int", "date", "bool"]


@dataclass(frozen=True)
class Column:
    """One declared column of a world table.

    Parameters
    ----------
    name : str
        Column name in the CSV header.
    dtype : {"str", "float", "int", "date", "bool"}
        Value type; ``date`` is an ISO date (``YYYY-MM-DD``) or empty; ``int`` is a
        whole number, held as a float so that an empty cell can be NaN.
    unit : str
        Unit of the values (``"-"`` for identifiers and text).
    description : str
        What the column means.
    required : bool
        Whether the column must be present and non-empty in every row.
    default : object
        Value used when the column is absent or a cell is empty.
    minimum : float or None
        Smallest allowed value for numeric columns.
    maximum : float or None
        Largest allowed value for numeric columns.
    """

    name: str
    dtype: Dtype
    unit: str
    description: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    """A declared world table: its file name, key columns and columns."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def filename(self) -> str:
        """File name of the table in a data folder."""
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        """Return the declaration of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SOURCE = Column(
    "source",
    "str",
    "-",
    "Where the numbers in this row come from: publication and year, and 'estimate' or "
    "'assumption' where the value is derived or assumed.",
    required=True,
)
