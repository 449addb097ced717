"""Joint production: one feed, two products in fixed shares, each sold on its own."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import with_investments
from sim.events import CapacityInvestment, FacilityOutage, Selector
from sim.metrics import material_balance
from sim.pair import simulate_pair
from sim.world import World
from tests.worlds import SRC

START = "2025-01-01"


def joint_world() -> World:
    """A mine, a separation plant (0.25 t NdPr and 0.01 t Dy/Tb per t feed), two users.

    User A needs 25 t NdPr a day and user B 1 t Dy/Tb a day: at 100 t of feed a day the
    plant's shares fit both exactly. B's Dy/Tb storage at the plant is 10 days.
    """

    def frame(**cols: object) -> pd.DataFrame:
        return pd.DataFrame(cols).assign(source=SRC)

    return World.from_tables(
        countries=frame(country=["USA"], bloc=["allied"]),
        commodities=frame(
            commodity=["feed", "ndpr", "dytb", "motor", "hot_motor"],
            unit=["t", "t", "t", "unit", "unit"],
            qualification_days=[30.0] * 5,
            substitution_ramp_days=[0.0] * 5,
        ),
        facilities=frame(
            facility=["mine", "sep", "user_a", "user_b"],
            type=["mine", "refiner", "fab", "fab_b"],
            country=["USA"] * 4,
            commodity=["feed", "ndpr", "motor", "hot_motor"],
            capacity_per_year=[1000.0 * 365, 200.0 * 365, 100.0 * 365, 10.0 * 365],
        ),
        recipes=frame(
            facility_type=["refiner", "fab", "fab_b"],
            input=["feed", "ndpr", "dytb"],
            quantity_per_unit=[1.0, 1.0, 1.0],
        ),
        lanes=frame(origin=["USA"], destination=["USA"], transport_days=[0.0]),
        inventory=frame(
            facility_type=["refiner", "fab", "fab_b"],
            input=["feed", "ndpr", "dytb"],
            target_cover_days=[20.0, 20.0, 20.0],
        ),
        demand=frame(
            commodity=["motor", "hot_motor"],
            facility=["user_a", "user_b"],
            quantity_per_year=[25.0 * 365, 1.0 * 365],
        ),
        joint_products=frame(
            facility=["sep", "sep"],
            commodity=["ndpr", "dytb"],
            yield_per_unit=[0.25, 0.01],
            storage_days=[30.0, 10.0],
        ),
    )


def test_steady_state_splits_the_feed() -> None:
    # 25 t NdPr a day needs 100 t of feed, which also gives 1 t of Dy/Tb: the plant's
    # co-product row 'sep:dytb' produces it and user B takes it all.
    actual, _ = simulate_pair(joint_world(), [], start=START, horizon_days=100, seed=1)
    ids = list(actual.facilities["facility"])
    assert ids == ["mine", "sep", "user_a", "user_b", "sep:dytb"]
    assert actual.output[:, 0] == pytest.approx(100.0, rel=1e-12)
    assert actual.output[:, 1] == pytest.approx(25.0, rel=1e-12)
    assert actual.output[:, 4] == pytest.approx(1.0, rel=1e-12)
    assert actual.balance["unsold"].sum() == 0.0


def test_one_product_unsold_the_other_served_in_full() -> None:
    # User B stops from day 20 to day 80 and buys no Dy/Tb. The plant keeps running for
    # user A's NdPr (25 t a day, feed 100 t), so Dy/Tb keeps coming at 1 t a day: it
    # fills its 10-day storage (10 t) by day 30, then 50 t are unsold by day 80.
    # User A never misses a day.
    outage = FacilityOutage(
        select=Selector(facilities=("user_b",)), capacity_factor=0.0, start=20, duration_days=60
    )
    actual, baseline = simulate_pair(joint_world(), [outage], start=START, horizon_days=200, seed=1)
    assert actual.output[:, 2] == pytest.approx(baseline.output[:, 2], rel=1e-12)
    assert actual.output[:80, 1] == pytest.approx(25.0, rel=1e-12)
    assert actual.output[:80, 4] == pytest.approx(1.0, rel=1e-12)
    assert actual.balance["unsold"][4] == pytest.approx(50.0, rel=1e-9)
    assert actual.balance["unsold"][1] == pytest.approx(0.0, abs=1e-9)
    bal = material_balance(actual)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)
    # When B returns it is served from the plant's Dy/Tb stock first.
    assert actual.output[80:, 3] == pytest.approx(1.0, rel=1e-9)


def test_co_products_are_facilities_of_the_world() -> None:
    # The co-product row exists once the world is validated, so demand and sourcing rows
    # can name it; validating the world again adds nothing.
    world = joint_world()
    assert "sep:dytb" in set(world.facilities["facility"])
    again = world.replace(facilities=world.facilities)
    assert list(again.facilities["facility"]) == list(world.facilities["facility"])
    sourcing = pd.DataFrame(
        {"buyer": ["user_b"], "commodity": ["dytb"], "supplier": ["sep:dytb"], "weight": [1.0]}
    ).assign(source=SRC)
    assert len(world.replace(sourcing=sourcing)["sourcing"]) == 1


def test_an_expansion_of_a_joint_plant_has_its_yields() -> None:
    # A second line 'sep2' expanding 'sep' (100 t of feed a day from day 0) gets the
    # plant's yields: its own NdPr row and a co-product row 'sep2:dytb'.
    world = joint_world()
    grown = with_investments(
        world,
        [
            CapacityInvestment(
                facility="sep2", expands="sep", capacity_per_year=36500.0, available_from=0
            )
        ],
        dt.date(2025, 1, 1),
    )
    rows = grown["joint_products"].set_index(["facility", "commodity"])["yield_per_unit"]
    assert rows[("sep2", "dytb")] == 0.01 and rows[("sep2", "ndpr")] == 0.25
    assert "sep2:dytb" in set(grown.facilities["facility"])


def test_a_world_as_of_a_date_before_the_plant_drops_its_products() -> None:
    fac = joint_world().facilities.copy()
    # The plant and its users open in 2030; in 2029 only the mine operated.
    fac["available_from"] = np.where(fac["facility"] == "mine", "", "2030-01-01")
    fac["available_until"] = ""
    world = joint_world().replace(facilities=fac)
    old = world.as_of("2029-01-01")
    assert not old.facilities["facility"].str.startswith("sep").any()
    assert len(old["joint_products"]) == 0


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    own=st.floats(0.05, 0.9),
    co=st.floats(0.001, 0.5),
    storage=st.floats(0.0, 40.0),
    demand_b=st.floats(0.1, 5.0),
    start=st.integers(1, 100),
    days=st.integers(1, 150),
    factor=st.floats(0.0, 1.0),
    who=st.sampled_from(["user_a", "user_b", "sep", "mine"]),
)
def test_joint_production_conserves_material(
    own: float,
    co: float,
    storage: float,
    demand_b: float,
    start: int,
    days: int,
    factor: float,
    who: str,
) -> None:
    # Random yields, storage and demand for the co-product (so the plant may run for
    # either product), under an outage of any facility: material, unsold output
    # included, is conserved to 1e-9, and no stock goes negative.
    world = joint_world()
    joint = world["joint_products"].assign(
        yield_per_unit=[own, co], storage_days=[storage, storage]
    )
    demand = world["demand"].copy()
    demand.loc[demand["facility"] == "user_b", "quantity_per_year"] = demand_b * 365
    world = world.replace(joint_products=joint, demand=demand)
    outage = FacilityOutage(
        select=Selector(facilities=(who,)),
        capacity_factor=factor,
        start=start,
        duration_days=days,
    )
    actual, baseline = simulate_pair(world, [outage], start=START, horizon_days=300, seed=1)
    for rec in (actual, baseline):
        bal = material_balance(rec)
        assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=1e-9)
        assert rec.stock.min() >= 0
        assert rec.balance["unsold"].min() >= 0
        assert rec.balance["finished_final"].min() >= 0
