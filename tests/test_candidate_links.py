"""Candidate links: a slot is linked to its named suppliers and its commodity's largest producers.

See :class:`sim.network.Network` ("Links"): a slot of a commodity with at most K
producers in every bloc is linked to all of them; otherwise to the suppliers its
sourcing rows name (weight > 0) and the K largest producers of each bloc by capacity
(ties to the facility listed first).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim import load_world
from sim.engine import simulate
from sim.errors import InputError
from sim.events import Selector, SourcingPolicy
from sim.network import CANDIDATE_LINKS, Network
from sim.synthetic import synthetic_world
from sim.world import World

START = dt.date(2025, 1, 1)
SRC = "test fixture"
RNG = np.random.default_rng


def mines_world(capacity_per_day: list[float], sourcing: dict[str, float] | None) -> World:
    """Mines ``m0, m1, ...`` in CHN with the given capacities; one factory ``con`` in USA.

    The factory turns 1 t of ore into one widget and sells 10 widgets a day; its
    sourcing rows name ``sourcing`` (supplier -> weight), or none.
    """
    mines = [f"m{i}" for i in range(len(capacity_per_day))]
    facilities = [
        (m, "mine", "CHN", "ore", c * 365) for m, c in zip(mines, capacity_per_day, strict=True)
    ]
    facilities.append(("con", "factory", "USA", "widget", 7300.0))
    tables = {
        "countries": pd.DataFrame(
            {"country": ["CHN", "USA"], "bloc": ["china", "allied"], "source": SRC}
        ),
        "commodities": pd.DataFrame(
            {
                "commodity": ["ore", "widget"],
                "unit": ["t", "unit"],
                "qualification_days": [30.0, 0.0],
                "substitution_ramp_days": [30.0, 0.0],
                "source": SRC,
            }
        ),
        "facilities": pd.DataFrame(
            facilities, columns=["facility", "type", "country", "commodity", "capacity_per_year"]
        ).assign(source=SRC),
        "recipes": pd.DataFrame(
            {"facility_type": ["factory"], "input": ["ore"], "quantity_per_unit": [1.0]}
        ).assign(source=SRC),
        "lanes": pd.DataFrame(
            {"origin": ["*"], "destination": ["*"], "transport_days": [0.0]}
        ).assign(source=SRC),
        "inventory": pd.DataFrame(
            {"facility_type": ["factory"], "input": ["ore"], "target_cover_days": [20.0]}
        ).assign(source=SRC),
        "demand": pd.DataFrame(
            {"commodity": ["widget"], "facility": ["con"], "quantity_per_year": [3650.0]}
        ).assign(source=SRC),
    }
    if sourcing:
        tables["sourcing"] = pd.DataFrame(
            {
                "buyer": "con",
                "commodity": "ore",
                "supplier": list(sourcing),
                "weight": list(sourcing.values()),
            }
        ).assign(source=SRC)
    return World.from_tables(**tables)


def linked(net: Network) -> list[str]:
    return [net.facility_ids[j] for j in net.link_sup]


CAPACITY = [50.0, 10.0, 40.0, 10.0, 30.0]  # m1 and m3 tie


def test_k_largest_and_the_named_supplier() -> None:
    world = mines_world(CAPACITY, {"m1": 1.0})
    # K = 2: the two largest (m0 50, m2 40) and the named m1, in facility order.
    net = Network(world, START, candidate_links=2)
    assert linked(net) == ["m0", "m1", "m2"]
    assert net.link_weight.tolist() == [0.0, 1.0, 0.0]
    # K = 3 adds m4 (30); the named m1 stays.
    assert linked(Network(world, START, candidate_links=3)) == ["m0", "m1", "m2", "m4"]


def test_ties_go_to_the_facility_listed_first_and_without_rows_weights_are_capacity() -> None:
    world = mines_world(CAPACITY, None)
    net = Network(world, START, candidate_links=4)  # m1 and m3 tie for the fourth place
    assert linked(net) == ["m0", "m1", "m2", "m4"]
    assert net.link_weight == pytest.approx([50.0, 10.0, 40.0, 30.0])


def test_a_named_supplier_of_weight_zero_is_not_kept() -> None:
    world = mines_world(CAPACITY, {"m3": 0.0, "m1": 2.0})
    assert linked(Network(world, START, candidate_links=1)) == ["m0", "m1"]


def test_a_slot_with_at_most_k_producers_keeps_them_all() -> None:
    world = mines_world(CAPACITY, {"m1": 1.0})
    for k in (5, 6, CANDIDATE_LINKS):
        net = Network(world, START, candidate_links=k)
        assert linked(net) == ["m0", "m1", "m2", "m3", "m4"]
        assert net.link_weight.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="at least 1"):
        Network(world, START, candidate_links=0)


def test_ranked_by_the_largest_nameplate_from_the_start_on() -> None:
    """A mine at 0 t a year that a capacity-schedule row raises later ranks by that row."""
    world = mines_world([50.0, 0.0, 40.0], None)
    schedule = pd.DataFrame(
        {"facility": ["m1"], "date": ["2025-06-01"], "capacity_per_year": [365 * 45.0]}
    ).assign(source=SRC)
    world = world.replace(capacity_schedule=schedule)
    net = Network(world, START, candidate_links=2)
    assert net.candidate_capacity_per_day() == pytest.approx([50.0, 45.0, 40.0, 20.0])
    assert linked(net) == ["m0", "m1"]


def test_every_producer_is_linked_in_the_bundled_world() -> None:
    """The bundled world has at most 19 producers of a commodity: the bound changes nothing."""
    world = load_world("data")
    net = Network(world, START)
    assert np.bincount(net.fac_com).max() == 19 < CANDIDATE_LINKS
    producers = np.bincount(net.fac_com, minlength=len(net.commodities))
    assert net.l == int(producers[net.slot_com].sum()) == 2627


def _expected_links(world: World, k: int) -> int:
    """Links worked out from the tables: all producers, or the K largest of each bloc
    (all of a bloc with at most K) and the named suppliers outside them."""
    fac = world.facilities.assign(bloc=world.facilities["country"].map(world.bloc_of()))
    rec = world["recipes"]
    src = world["sourcing"]
    total = 0
    for buyer, ftype in zip(fac["facility"], fac["type"], strict=True):
        for inp in rec.loc[rec["facility_type"] == ftype, "input"]:
            prods = fac[fac["commodity"] == inp].reset_index(drop=True)
            # Stable sort by capacity, largest first: ties keep the facility order.
            ranked = prods.sort_values("capacity_per_year", ascending=False, kind="stable")
            top = set(ranked.groupby("bloc", sort=False).head(k)["facility"])
            rows = src[(src["buyer"] == buyer) & (src["commodity"] == inp) & (src["weight"] > 0)]
            total += len(top | set(rows["supplier"]))
    return total


@pytest.mark.parametrize(("n", "links"), [(75, 754), (300, 11241), (1200, 85136)])
def test_links_of_synthetic_worlds(n: int, links: int) -> None:
    world = synthetic_world(n, rng=np.random.default_rng(0))
    net = Network(world, START)
    assert net.l == links == _expected_links(world, CANDIDATE_LINKS)
    # Every named supplier is linked with its weight.
    src = world["sourcing"]
    pairs = {
        (net.facility_ids[int(net.slot_fac[s])], net.facility_ids[int(j)]): w
        for s, j, w in zip(net.link_slot, net.link_sup, net.link_weight, strict=True)
    }
    for b, s, w in zip(src["buyer"], src["supplier"], src["weight"], strict=True):
        assert pairs[(b, s)] == w
    # At most K links per slot and bloc besides its named suppliers (166,492 links in all at
    # 1,200 facilities when every producer was linked).
    named = np.bincount(net.link_slot, net.link_weight > 0, minlength=net.m)
    blocs = world["countries"]["bloc"].nunique()
    assert (np.bincount(net.link_slot, minlength=net.m) <= blocs * CANDIDATE_LINKS + named).all()


def test_an_offtake_with_a_supplier_that_is_no_link_is_refused() -> None:
    """With 34 mines, m33 (smallest, not named) is no link of the factory: refused."""
    capacity = [100.0 - i for i in range(CANDIDATE_LINKS + 2)]
    world = mines_world(capacity, {"m0": 1.0})
    last = f"m{CANDIDATE_LINKS + 1}"

    def offtake(supplier: str) -> SourcingPolicy:
        return SourcingPolicy(
            bloc="allied",
            rule="offtake",
            date=5,
            suppliers=Selector(facilities=(supplier,)),
            buyers=Selector(facilities=("con",)),
        )

    with pytest.raises(InputError, match=f"'{last}' is not a candidate supplier of 'con'"):
        simulate(world, [offtake(last)], start=START, horizon_days=10, rng=RNG())
    # A supplier among the K largest is linked, and one the factory names too.
    named = mines_world(capacity, {"m0": 1.0, last: 1.0})
    for w, supplier in ((world, "m1"), (named, last)):
        record = simulate(w, [offtake(supplier)], start=START, horizon_days=10, rng=RNG())
        assert np.allclose(record.output[:, list(record.facilities["facility"]).index("con")], 10)


def test_demand_rows_of_a_facility_and_of_its_country_add_up() -> None:
    """The sparse demand split: a facility row and a country row both feed ``con``.

    The country row (USA, 1,825 a year) is split over the country's widget makers by
    capacity: ``con`` (20 a day) and ``con2`` (60 a day) get 1.25 and 3.75 a day.
    """
    world = mines_world(CAPACITY, None)
    fac = pd.concat(
        [
            world.facilities[["facility", "type", "country", "commodity", "capacity_per_year"]],
            pd.DataFrame(
                [("con2", "factory", "USA", "widget", 60.0 * 365)],
                columns=["facility", "type", "country", "commodity", "capacity_per_year"],
            ),
        ],
        ignore_index=True,
    ).assign(source=SRC)
    demand = pd.DataFrame(
        {
            "commodity": ["widget", "widget"],
            "facility": ["con", ""],
            "country": ["", "USA"],
            "quantity_per_year": [3650.0, 1825.0],
        }
    ).assign(source=SRC)
    world = world.replace(facilities=fac, demand=demand)
    record = simulate(world, start=START, horizon_days=10, rng=RNG())
    ids = list(record.facilities["facility"])
    assert np.allclose(record.output[:, ids.index("con")], 11.25)
    assert np.allclose(record.output[:, ids.index("con2")], 3.75)
