"""Joint production: a plant that turns one feed into several products in fixed shares.

A rare-earth separation plant splits its feed into NdPr and Dy/Tb oxide in shares
set by the ore. The ``joint_products`` table lists, per plant, the units of each
product per unit of feed (``yield_per_unit``), its own output commodity among them.
For such a plant ``capacity_per_year`` and its recipe quantities are per unit of feed.

When a world is validated, :func:`add_co_products` adds one facility row per
co-product (id ``plant:commodity``), in the plant's country and stage, so that every
product is allocated to its own customers, can be named in demand and sourcing rows,
and is reported on its own. In the network the plant's
output is its own product: nameplate ``capacity x yield`` and recipe quantities over
the yield; a co-product row has no inputs, and produces ``yield_k / yield_own`` per
unit of the plant's product (see :class:`sim.network.Network`). The plant runs for
the product most in demand (relative to its yield); what a product's customers do
not take goes to the product's own stock (up to ``storage_days`` of its output at
the start), then counts as unsold output in the balance (:mod:`sim.finished`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.errors import InputError

SEPARATOR = ":"


def co_product_id(plant: str, commodity: str) -> str:
    """Facility id of a plant's co-product row."""
    return f"{plant}{SEPARATOR}{commodity}"


def co_product_ids(tables: Mapping[str, pd.DataFrame]) -> set[str]:
    """Ids of the co-product rows the ``joint_products`` table implies (plant:commodity)."""
    joint = tables.get("joint_products")
    if joint is None or not len(joint):
        return set()
    fac = tables["facilities"].set_index("facility")["commodity"]
    return {
        co_product_id(p, c)
        for p, c in zip(joint["facility"], joint["commodity"], strict=True)
        if fac.get(p) != c
    }


def add_co_products(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Return the facilities table with a row for each co-product of its joint plants.

    ``tables`` are the world's tables as read (before the cross-table checks). Rows
    already there are kept as they are: the function is idempotent.

    Raises
    ------
    InputError
        For a plant that is not a facility, a product that is not a commodity, a
        plant without a row for its own output commodity, or a clash of ids.
    """
    fac = tables["facilities"]
    table = tables.get("joint_products")
    if table is None or not len(table):
        return fac
    by_id = fac.set_index("facility")
    commodities = set(tables["commodities"]["commodity"])
    rows = []
    where = "joint_products.csv"
    for key, group in table.groupby("facility", sort=False):
        plant = str(key)
        if plant not in by_id.index:
            raise InputError(
                where, "facility", f"unknown facility '{plant}'", "use an id from facilities.csv"
            )
        own = str(by_id.loc[plant, "commodity"])
        if own not in set(group["commodity"]):
            raise InputError(
                where,
                "commodity",
                f"plant '{plant}' has no row for its own output '{own}'",
                f"add a row for '{own}' with its yield per unit of feed",
            )
        for com in group["commodity"]:
            if com not in commodities:
                raise InputError(
                    where,
                    "commodity",
                    f"unknown commodity '{com}'",
                    "use an id from commodities.csv",
                )
            if com == own:
                continue
            new_id = co_product_id(plant, str(com))
            if new_id in by_id.index:
                if by_id.loc[new_id, "commodity"] == com:
                    continue  # already added
                raise InputError(
                    where, "facility", f"id '{new_id}' is taken", "rename the facility"
                )
            row = by_id.loc[plant].to_dict() | {"facility": new_id, "commodity": com}
            row["name"] = f"{str(by_id.loc[plant, 'name'])} ({com})"
            row["source"] = f"co-product of {plant} (joint_products.csv)"
            rows.append(row)
    if not rows:
        return fac
    return pd.concat([fac, pd.DataFrame(rows, columns=fac.columns)], ignore_index=True)


def joint_asked(
    parent_of: np.ndarray,
    ratio_of: np.ndarray,
    prods: np.ndarray,
    asked: np.ndarray,
    need: np.ndarray,
) -> np.ndarray:
    """Return the output asked of producers ``prods`` of one commodity in the plan.

    ``parent_of`` and ``ratio_of`` are the network's ``joint_parent`` and
    ``joint_ratio`` (per facility).

    A co-product (settled after its plant, so planned before it) records in ``need``
    how much of its plant's own product it takes to meet its orders (its asked over
    its ratio); the plant is asked for the most of its own orders and those.
    """
    parent = parent_of[prods]
    co = parent >= 0
    if co.any():
        ratio = ratio_of[prods[co]]
        own = np.divide(asked[co], ratio, out=np.zeros(int(co.sum())), where=ratio > 0)
        np.maximum.at(need, parent[co], own)
    return np.maximum(asked, need[prods])
