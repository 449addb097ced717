"""Tiny fixture worlds whose answers can be worked out by hand."""

from __future__ import annotations

import pandas as pd

from sim.events import Destinations, ExportControl
from sim.world import World

SRC = "test fixture"


def supplier_consumer(**kwargs: float | None) -> World:
    """Validated world of :func:`supplier_consumer_tables`."""
    return World.from_tables(**supplier_consumer_tables(**kwargs))  # type: ignore[arg-type]


def supplier_consumer_tables(
    *,
    demand_per_day: float = 10.0,
    cover_days: float = 20.0,
    lane_days: float = 0.0,
    supplier_capacity_per_day: float = 100.0,
    alternative_capacity_per_day: float | None = None,
    alternative_country: str = "USA",
    alternative_lane_days: float = 0.0,
    qualification_days: float = 30.0,
    ramp_days: float = 30.0,
    stockpile_t: float | None = None,
    stockpile_holder: str = "USA",
    noise_cv: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """One supplier in CHN, one consumer in USA, optionally an alternative supplier in USA.

    The consumer turns 1 t of ore into 1 unit of widget and holds ``cover_days`` of ore.
    With an alternative, the consumer's sourcing names only the Chinese supplier, so
    the alternative must be qualified before it gets orders. ``stockpile_t`` adds a
    strategic stockpile of ore held by ``stockpile_holder``; ``noise_cv`` random demand.
    An ``alternative_country`` other than USA (in the allied bloc) ships to the consumer
    over a lane of ``alternative_lane_days``.
    """
    facilities = [
        ("sup", "mine", "CHN", "ore", supplier_capacity_per_day * 365),
        ("con", "factory", "USA", "widget", demand_per_day * 365 * 2),
    ]
    if alternative_capacity_per_day is not None:
        facilities.append(
            ("alt", "mine", alternative_country, "ore", alternative_capacity_per_day * 365)
        )
    countries = ["CHN", "USA"] + ([alternative_country] if alternative_country != "USA" else [])
    lanes = [("CHN", "USA", lane_days)]
    if alternative_country != "USA":
        lanes.append((alternative_country, "USA", alternative_lane_days))
    tables = {
        "countries": pd.DataFrame(
            {
                "country": countries,
                "bloc": ["china"] + ["allied"] * (len(countries) - 1),
                "source": SRC,
            }
        ),
        "commodities": pd.DataFrame(
            {
                "commodity": ["ore", "widget"],
                "unit": ["t", "unit"],
                "qualification_days": [qualification_days, 0.0],
                "substitution_ramp_days": [ramp_days, 0.0],
                "source": SRC,
            }
        ),
        "facilities": pd.DataFrame(
            facilities,
            columns=["facility", "type", "country", "commodity", "capacity_per_year"],
        ).assign(source=SRC),
        "recipes": pd.DataFrame(
            {"facility_type": ["factory"], "input": ["ore"], "quantity_per_unit": [1.0]}
        ).assign(source=SRC),
        "lanes": pd.DataFrame(lanes, columns=["origin", "destination", "transport_days"]).assign(
            source=SRC
        ),
        "inventory": pd.DataFrame(
            {"facility_type": ["factory"], "input": ["ore"], "target_cover_days": [cover_days]}
        ).assign(source=SRC),
        "demand": pd.DataFrame(
            {
                "commodity": ["widget"],
                "facility": ["con"],
                "quantity_per_year": [demand_per_day * 365],
                "noise_cv": [noise_cv],
            }
        ).assign(source=SRC),
        "sourcing": pd.DataFrame(
            {"buyer": ["con"], "commodity": ["ore"], "supplier": ["sup"], "weight": [1.0]}
        ).assign(source=SRC),
    }
    if stockpile_t is not None:
        tables["stockpiles"] = pd.DataFrame(
            {"holder": [stockpile_holder], "commodity": ["ore"], "quantity": [stockpile_t]}
        ).assign(source=SRC)
    return tables


def ore_ban(start: float, days: float, **kw: object) -> ExportControl:
    """China's control ``ban`` of ore exports to the USA from ``start`` for ``days``."""
    return ExportControl(
        id="ban",
        issuer="CHN",
        commodities=("ore",),
        destinations=Destinations(countries=("USA",)),
        start=start,
        end=start + days,
        **kw,  # type: ignore[arg-type]
    )
