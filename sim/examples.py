"""A tiny example world for tests, docs and notebooks.

Eight facilities in three countries and two blocs: one full chain
mine -> refiner -> magnet fab -> chip fab -> data center, plus an allied mine and an
allied refiner as the alternative to the Chinese refiner. The figures are
illustrative round numbers, not data: use the reference world in ``data/`` for
analysis.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sim.events import Destinations, ExportControl
from sim.world import World

ILLUSTRATIVE = "illustrative example (assumption, not data)"


def example_tables() -> dict[str, pd.DataFrame]:
    """Return the example world's tables as DataFrames (edit them to build variants)."""
    countries = pd.DataFrame(
        {
            "country": ["CHN", "JPN", "USA"],
            "name": ["China", "Japan", "United States"],
            "bloc": ["china", "allied", "allied"],
        }
    )
    commodities = pd.DataFrame(
        {
            "commodity": ["ree_concentrate", "ndpr_oxide", "ndfeb_magnet", "ai_chip", "compute"],
            "unit": ["t", "t", "t", "unit", "MW_day"],
            "description": [
                "mixed rare-earth concentrate (REO content)",
                "separated NdPr oxide",
                "sintered NdFeB permanent magnets",
                "AI accelerators, packaged",
                "AI compute delivered, in MW of IT load for one day",
            ],
            "qualification_days": [60, 120, 90, 180, 30],
            "substitution_ramp_days": [30, 90, 60, 90, 30],
        }
    )
    facilities = pd.DataFrame(
        {
            "facility": [
                "cn_mine",
                "us_mine",
                "cn_refiner",
                "us_refiner",
                "jp_magnet",
                "us_chip_fab",
                "us_dc",
                "jp_dc",
            ],
            "type": [
                "mine",
                "mine",
                "refiner",
                "refiner",
                "magnet_fab",
                "chip_fab",
                "data_center",
                "data_center",
            ],
            "country": ["CHN", "USA", "CHN", "USA", "JPN", "USA", "USA", "JPN"],
            "commodity": [
                "ree_concentrate",
                "ree_concentrate",
                "ndpr_oxide",
                "ndpr_oxide",
                "ndfeb_magnet",
                "ai_chip",
                "compute",
                "compute",
            ],
            "capacity_per_year": [
                250_000,
                45_000,
                60_000,
                1_500,
                20_000,
                4_000_000,
                3_650_000,
                730_000,
            ],
        }
    )
    recipes = pd.DataFrame(
        {
            "facility_type": ["refiner", "magnet_fab", "chip_fab", "data_center"],
            "input": ["ree_concentrate", "ndpr_oxide", "ndfeb_magnet", "ai_chip"],
            "quantity_per_unit": [5.0, 0.3, 0.002, 0.7],
        }
    )
    lanes = pd.DataFrame(
        {
            "origin": ["CHN", "CHN", "JPN", "USA", "CHN", "JPN"],
            "destination": ["JPN", "USA", "USA", "USA", "CHN", "JPN"],
            "transport_days": [7, 35, 21, 3, 2, 1],
        }
    )
    inventory = pd.DataFrame(
        {
            "facility_type": ["refiner", "magnet_fab", "chip_fab", "data_center"],
            "input": ["ree_concentrate", "ndpr_oxide", "ndfeb_magnet", "ai_chip"],
            "target_cover_days": [30, 60, 30, 10],
        }
    )
    demand = pd.DataFrame(
        {
            "commodity": ["compute", "compute", "ndfeb_magnet", "ndpr_oxide"],
            "facility": ["us_dc", "jp_dc", "jp_magnet", "cn_refiner"],
            "quantity_per_year": [3_200_000, 600_000, 8_000, 40_000],
        }
    )
    stockpiles = pd.DataFrame({"holder": ["JPN"], "commodity": ["ndpr_oxide"], "quantity": [500.0]})
    tables = {
        "countries": countries,
        "commodities": commodities,
        "facilities": facilities,
        "recipes": recipes,
        "lanes": lanes,
        "inventory": inventory,
        "demand": demand,
        "stockpiles": stockpiles,
    }
    for frame in tables.values():
        frame["source"] = ILLUSTRATIVE
    return tables


def example_world() -> World:
    """Return the validated example world."""
    return World.from_tables(**example_tables())


def example_ban(start: str = "2025-04-04", days: int = 365) -> list[ExportControl]:
    """Return the example scenario: China bans NdPr oxide exports to the allied bloc.

    Parameters
    ----------
    start : str
        ISO date the ban starts.
    days : int
        Length of the ban in days.
    """
    begin = dt.date.fromisoformat(start)
    return [
        ExportControl(
            id="ndpr_ban",
            issuer="CHN",
            commodities=("ndpr_oxide",),
            destinations=Destinations(blocs=("allied",)),
            start=begin,
            end=begin + dt.timedelta(days=days),
        )
    ]
