"""How much the reference world's headline moves when an assumption moves.

The headline is ``scenarios/ree_controls_2025.yaml`` (China's April 2025 licensing of
Dy/Tb oxide and Dy/Tb-bearing magnets): the allied bloc's output lost by its magnet end
users (EV motors, wind, industrial motors, electronics, defence, in t of magnet content,
% of baseline output over the three years) and by its AI data centres (% of baseline
compute). Each variant changes one assumption of ``data/`` in memory and reruns the
same replications (same seeds). Run from the repository root::

    python data/sensitivity.py [--replications 10]

and compare with the table in ``data/SOURCES.md`` (which says which command made it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ensemble import replay
from sim.plausibility import loss_share
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parent.parent
END_USES = ("ev_motors", "wind_turbines", "industrial_motors", "electronics", "defence")


def scaled(
    world: World, table: str, mask: Callable[[pd.DataFrame], pd.Series], column: str, factor: float
) -> World:
    """Return ``world`` with ``column`` of the rows ``mask`` selects multiplied by ``factor``."""
    frame = world[table].copy()
    rows = mask(frame)
    frame.loc[rows, column] = frame.loc[rows, column] * factor
    return world.replace(**{table: frame})


def variants(world: World) -> dict[str, World]:
    """Return the world variants, one per assumption varied (the key says by how much)."""
    joint = world["joint_products"]
    ionic = lambda f: (f["facility"] == "cn_south_ionic_sep") & (f["commodity"] == "dytb_oxide")  # noqa: E731
    heavy = lambda f: f["facility_type"] == "heavy_separator"  # noqa: E731
    assert ionic(joint).sum() == 1
    out = {"reference world": world}
    out["ionic-clay Dy+Tb yield x 0.5"] = scaled(
        world, "joint_products", ionic, "yield_per_unit", 0.5
    )
    out["ionic-clay Dy+Tb yield x 1.5"] = scaled(
        world, "joint_products", ionic, "yield_per_unit", 1.5
    )
    out["heavy concentrate per t Dy/Tb x 2 (yield 0.05)"] = scaled(
        world, "recipes", heavy, "quantity_per_unit", 2.0
    )
    grade = lambda f: f["facility_type"].isin(END_USES) & f["substitute_input"].ne("")  # noqa: E731
    out["no switch to the other magnet grade"] = scaled(
        world, "recipes", grade, "substitute_max_share", 0.0
    )
    out["low-Dy design limits x 2 (max 1)"] = world.replace(
        recipes=world["recipes"].assign(
            substitute_max_share=lambda f: f["substitute_max_share"].where(
                ~grade(f), (f["substitute_max_share"] * 2).clip(upper=1.0)
            )
        )
    )
    users = lambda f: f["facility_type"].isin(END_USES)  # noqa: E731
    out["end users' magnet stock 45 days (not 90)"] = scaled(
        world, "inventory", users, "target_cover_days", 0.5
    )
    out["end users' magnet stock 135 days"] = scaled(
        world, "inventory", users, "target_cover_days", 1.5
    )
    newcomers = lambda f: (  # noqa: E731
        (f["facility_type"] == "magnet_fab") & (f["facility"] == "") & (f["input"] == "dytb_oxide")
    )
    out["type-level Dy+Tb per t magnet 0.02 (not 0.03)"] = scaled(
        world, "recipes", newcomers, "quantity_per_unit", 2 / 3
    )
    return out


def headline(world: World, replications: int) -> dict[str, float]:
    """Allied loss shares (%) of magnet end uses, EV motors and AI compute on ree_controls_2025.

    Each replication draws the scenario's events with the seeds ``paxsim run`` uses and
    runs them against its paired baseline; a share is total lost output over total
    baseline output of the allied facilities of those stages, averaged over replications.
    """
    sc = load_scenario(ROOT / "scenarios" / "ree_controls_2025.yaml")
    shares: dict[str, list[float]] = {"magnet end uses %": [], "EV motors %": [], "compute %": []}
    for replication in range(replications):
        _, _, actual, base = replay(
            world,
            sc.sample,
            start=sc.start,
            horizon_days=sc.horizon_days,
            seed=sc.seed,
            replication=replication,
            settings=sc.settings(),
        )
        for key, stages in (
            ("magnet end uses %", END_USES),
            ("EV motors %", ("ev_motors",)),
            ("compute %", ("data_center",)),
        ):
            shares[key].append(100 * loss_share(world, actual, base, "allied", stages))
    return {key: float(np.mean(v)) for key, v in shares.items()}


def main() -> None:
    """Print the headline of every variant."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    world = load_scenario(ROOT / "scenarios" / "ree_controls_2025.yaml").world()
    rows = {name: headline(w, args.replications) for name, w in variants(world).items()}
    table = pd.DataFrame(rows).T
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
