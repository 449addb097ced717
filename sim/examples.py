"""A tiny example world for tests, docs and notebooks.

Eight facilities in three countries and two blocs: one full chain
mine -> refiner -> magnet fab -> chip fab -> data center, plus an allied mine and an
allied refiner as the alternative to the Chinese refiner. The figures are
illustrative round numbers, not data: use the reference world in ``data/`` for
analysis.

The data centers' AI accelerators are capital, not a consumable (a durable recipe
input, :mod:`sim.installed`): a data center runs at most its installed accelerators
divided by :data:`ACCELERATORS_PER_MW`, and it buys chips to replace retirements, to
grow with its demand and to close the gap to its target base. The numbers:

* 1.2 kW of IT load per accelerator (host and network share included), so
  1,000 / 1.2 = 833.3 accelerators installed per MW of IT load (``quantity_per_unit``:
  compute is counted in MW_day, so one MW_day per day is one MW running);
* a service life of 4 years (1,460 days): the base retires 1/1,460 a day, so a data
  center of W MW replaces 833.3 W / 1,460 = 0.571 W accelerators a day;
* 14 days from taking an accelerator out of stock to its running (racking, cabling,
  burn-in), and a stock of 10 days of installations awaiting installation
  (``inventory``);
* compute demand grows 10 % a year (from 8,767 MW in the US and 1,644 MW in Japan);
  data-center capacity (power and floor space: 12,000 and 2,400 MW) and the chip fab
  (5 million accelerators a year) leave room for three years of it (1.1^3 = 1.33).

Magnets stay a consumable: in this world they are an input of the chip fab (t per
accelerator made), not installed equipment of the data centers.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from sim.events import Destinations, ExportControl
from sim.world import World

ILLUSTRATIVE = "illustrative example (assumption, not data)"
#: AI accelerators installed per MW of data-center IT load (1,000 kW / 1.2 kW each).
ACCELERATORS_PER_MW = 1_000 / 1.2
#: Service life of an installed accelerator, days (4 years).
ACCELERATOR_LIFE_DAYS = 4 * 365.0
#: Days from taking an accelerator out of stock to its running in the installed base.
INSTALLATION_DAYS = 14.0
#: Compound growth of compute demand, per year.
COMPUTE_GROWTH_PER_YEAR = 0.10


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
                5_000_000,  # accelerators a year
                4_380_000,  # 12,000 MW of IT load x 365 days
                876_000,  # 2,400 MW x 365
            ],
        }
    )
    recipes = pd.DataFrame(
        {
            "facility_type": ["refiner", "magnet_fab", "chip_fab", "data_center"],
            "input": ["ree_concentrate", "ndpr_oxide", "ndfeb_magnet", "ai_chip"],
            # t REO per t oxide, t oxide per t magnet, t magnet per accelerator made,
            # accelerators installed per MW of IT load (durable).
            "quantity_per_unit": [5.0, 0.3, 0.002, ACCELERATORS_PER_MW],
            "durable": [False, False, False, True],
            "service_life_days": [math.nan, math.nan, math.nan, ACCELERATOR_LIFE_DAYS],
            "installation_days": [0.0, 0.0, 0.0, INSTALLATION_DAYS],
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
            "growth_per_year_share": [COMPUTE_GROWTH_PER_YEAR] * 2 + [0.0, 0.0],
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
