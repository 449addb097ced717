"""SupplyNetPy's 50-site benchmark network, built twice: in SupplyNetPy and as a paxsim world.

The network is the one SupplyNetPy's own performance benchmark builds for N = 50
(``build_network(50)`` in ``examples/notebooks/data/benchmark_performance.py`` of the
SupplyNetPy repository, the benchmark of its WSC 2026 paper). Every figure below is
taken from that file; the code is ours. :data:`SITES` and the constants describe the
network once; :func:`supplynetpy_run` builds and runs it in SupplyNetPy and
:func:`paxsim_world` translates it into paxsim tables. ``bench/README.md`` says what
"the same network" means and where the two models differ.

SupplyNetPy is imported only inside :func:`supplynetpy_run` (it is in the ``bench``
extra, not a dependency of paxsim).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pandas as pd

from sim.events import FacilityOutage, Selector
from sim.world import World

SOURCE = (
    "SupplyNetPy 50-site benchmark network (examples/notebooks/data/benchmark_performance.py, "
    "build_network(50)), translated"
)

#: Sites of the network: N // 5 suppliers, N // 10 manufacturers, N // 7 distributors,
#: the rest retailers (SupplyNetPy's proportions for N = 50).
N_SITES = 50
N_SUPPLIERS = N_SITES // 5
N_MANUFACTURERS = N_SITES // 10
N_DISTRIBUTORS = N_SITES // 7
N_RETAILERS = N_SITES - N_SUPPLIERS - N_MANUFACTURERS - N_DISTRIBUTORS

#: Every retailer: customer orders arrive at rate 1 a day (exponential inter-arrival
#: times), 10 units each.
ORDERS_PER_DAY = 1.0
UNITS_PER_ORDER = 10
#: Every link: lead time exponential with mean 3 days.
LEAD_TIME_MEAN_DAYS = 3.0
#: Infinite suppliers' raw material: 1,000 units extracted per 1-day cycle.
EXTRACTION_PER_DAY = 1_000.0
#: Manufacturers: batches of 100 units, one batch per 1-day cycle, 1 raw unit per unit.
BATCH_UNITS = 100.0
RAW_PER_UNIT = 1.0


@dataclass(frozen=True)
class Stock:
    """Inventory of one echelon in SupplyNetPy: capacity, initial level and (s, S) policy."""

    capacity: float
    initial: float
    s: float
    S: float  # noqa: N815 (SupplyNetPy's name for the order-up-to level)


#: Manufacturers (raw material), distributors and retailers (the product).
MANUFACTURER = Stock(capacity=1_000, initial=200, s=200, S=800)
DISTRIBUTOR = Stock(capacity=500, initial=150, s=100, S=400)
RETAILER = Stock(capacity=200, initial=80, s=40, S=150)

#: The 60-day knockout of the like-for-like comparison: the first manufacturer stops
#: from day 365 (the second year) for 60 days.
KNOCKOUT_SITE = "M0"
KNOCKOUT_START_DAY = 365.0
KNOCKOUT_DAYS = 60.0

HORIZON_DAYS = 1095


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


SUPPLIERS = _ids("S", N_SUPPLIERS)
MANUFACTURERS = _ids("M", N_MANUFACTURERS)
DISTRIBUTORS = _ids("D", N_DISTRIBUTORS)
RETAILERS = _ids("R", N_RETAILERS)
SITES = SUPPLIERS + MANUFACTURERS + DISTRIBUTORS + RETAILERS
#: All-to-all links between consecutive echelons (SupplyNetPy's benchmark, fanin=None).
LINKS = [
    (a, b)
    for up, down in ((SUPPLIERS, MANUFACTURERS), (MANUFACTURERS, DISTRIBUTORS))
    + ((DISTRIBUTORS, RETAILERS),)
    for b in down
    for a in up
]


def supplynetpy_run(*, knockout: bool, seed: int, horizon_days: int = HORIZON_DAYS) -> dict:
    """Build the network in SupplyNetPy and run it; return SupplyNetPy's result dict.

    Both the build (``create_sc_net`` from the site, link and demand descriptions) and
    the run (``simulate_sc_net``, logging off) happen here, so a timing of this call
    compares with a timing of ``sim.engine.simulate`` (which builds its network too).
    """
    import simpy
    import SupplyNetPy.Components as scm
    from SupplyNetPy.Components.core import Product, RawMaterial

    scm.global_logger.disable_logging()
    scm.set_seed(seed)
    rng = random.Random(seed)
    env = simpy.Environment()
    raw = RawMaterial(
        ID="RM",
        name="raw",
        extraction_quantity=EXTRACTION_PER_DAY,
        extraction_time=1,
        mining_cost=1,
        cost=2,
    )

    def stock(st: Stock) -> dict:
        return {
            "capacity": st.capacity,
            "initial_level": st.initial,
            "inventory_holding_cost": 0.5,
            "replenishment_policy": scm.SSReplenishment,
            "policy_param": {"s": st.s, "S": st.S},
        }

    nodes: list[dict] = [
        {"ID": s, "name": s, "node_type": "infinite_supplier", "raw_material": raw}
        for s in SUPPLIERS
    ]
    for i, m in enumerate(MANUFACTURERS):
        product = Product(
            ID=f"P{i}",
            name="prod",
            manufacturing_cost=1,
            manufacturing_time=1,
            sell_price=15,
            raw_materials=[(raw, RAW_PER_UNIT)],
            batch_size=BATCH_UNITS,
        )
        node = {"ID": m, "name": m, "node_type": "manufacturer", "product": product}
        node |= stock(MANUFACTURER) | {"product_sell_price": 15}
        if knockout and m == KNOCKOUT_SITE:
            # One disruption: SupplyNetPy asks for the time to the next disruption
            # again after each recovery, so push that one past the horizon.
            node["node_disrupt_time"] = lambda: (
                KNOCKOUT_START_DAY if env.now < KNOCKOUT_START_DAY else 10.0 * horizon_days
            )
            node["node_recovery_time"] = KNOCKOUT_DAYS
        nodes.append(node)
    for kind, ids, st, buy, sell in (
        ("distributor", DISTRIBUTORS, DISTRIBUTOR, 10, 13),
        ("retailer", RETAILERS, RETAILER, 13, 18),
    ):
        for x in ids:
            node = {"ID": x, "name": x, "node_type": kind}
            nodes.append(node | stock(st) | {"product_buy_price": buy, "product_sell_price": sell})

    def lead_time() -> float:
        return rng.expovariate(1.0 / LEAD_TIME_MEAN_DAYS)

    def arrival() -> float:
        return rng.expovariate(ORDERS_PER_DAY)

    links = [
        {"ID": f"L_{a}_{b}", "source": a, "sink": b, "cost": 3, "lead_time": lead_time}
        for a, b in LINKS
    ]
    demands = [
        {
            "ID": f"d_{r}",
            "name": "dem",
            "order_arrival_model": arrival,
            "order_quantity_model": lambda: UNITS_PER_ORDER,
            "demand_node": r,
        }
        for r in RETAILERS
    ]
    net = scm.create_sc_net(nodes, links, demands, env=env)
    return scm.simulate_sc_net(net, sim_time=horizon_days, logging=False)


def paxsim_world(*, noise_cv: float = 0.0) -> World:
    """Translate the network into a paxsim world (one country, four staged commodities).

    Each echelon's output is its own commodity (``raw`` -> ``product`` ->
    ``product_distributed`` -> ``product_retail``), so the engine's links (every
    producer of an input to every facility using it) are SupplyNetPy's all-to-all
    links between consecutive echelons, 281 of them. ``noise_cv`` is the demand noise
    (coefficient of variation per ordering review; 1.0 matches a Poisson number of
    10-unit orders a day at rate 1 when reviews are daily).
    """
    daily_use = {
        # Mean daily use of each echelon's input at the retailers' demand.
        "manufacturer": N_RETAILERS * ORDERS_PER_DAY * UNITS_PER_ORDER / N_MANUFACTURERS,
        "distributor": N_RETAILERS * ORDERS_PER_DAY * UNITS_PER_ORDER / N_DISTRIBUTORS,
        "retailer": ORDERS_PER_DAY * UNITS_PER_ORDER,
    }
    stocks = {"manufacturer": MANUFACTURER, "distributor": DISTRIBUTOR, "retailer": RETAILER}
    # type, output, input, capacity per day (suppliers: extraction; manufacturers: one
    # batch a day; distributors and retailers have no throughput limit in SupplyNetPy,
    # so their inventory capacity per day, far above their flow).
    stages = (
        ("supplier", SUPPLIERS, "raw", None, EXTRACTION_PER_DAY),
        ("manufacturer", MANUFACTURERS, "product", "raw", BATCH_UNITS),
        ("distributor", DISTRIBUTORS, "product_distributed", "product", DISTRIBUTOR.capacity),
        ("retailer", RETAILERS, "product_retail", "product_distributed", RETAILER.capacity),
    )
    facilities = pd.DataFrame(
        [
            (f, f, ftype, "XAA", out, 365.0 * per_day)
            for ftype, ids, out, _, per_day in stages
            for f in ids
        ],
        columns=["facility", "name", "type", "country", "commodity", "capacity_per_year"],
    )
    recipes = pd.DataFrame(
        [(ftype, inp, 1.0) for ftype, _, _, inp, _ in stages if inp],
        columns=["facility_type", "input", "quantity_per_unit"],
    )
    inventory = pd.DataFrame(
        [
            (t, inp, stocks[t].S / daily_use[t], stocks[t].initial / daily_use[t])
            for t, _, _, inp, _ in stages
            if inp
        ],
        columns=["facility_type", "input", "target_cover_days", "initial_cover_days"],
    )
    commodities = pd.DataFrame(
        {
            "commodity": ["raw", "product", "product_distributed", "product_retail"],
            "unit": "unit",
        }
    )
    tables = {
        "countries": pd.DataFrame({"country": ["XAA"], "bloc": ["allied"]}),
        "commodities": commodities,
        "facilities": facilities,
        "recipes": recipes,
        "lanes": pd.DataFrame(
            [("*", "*", LEAD_TIME_MEAN_DAYS), ("XAA", "XAA", LEAD_TIME_MEAN_DAYS)],
            columns=["origin", "destination", "transport_days"],
        ),
        "inventory": inventory,
        "demand": pd.DataFrame(
            {
                "commodity": "product_retail",
                "facility": RETAILERS,
                "quantity_per_year": 365.0 * ORDERS_PER_DAY * UNITS_PER_ORDER,
                "noise_cv": noise_cv,
            }
        ),
    }
    for frame in tables.values():
        frame["source"] = SOURCE
    return World.from_tables(**tables)


def paxsim_knockout() -> list[FacilityOutage]:
    """The same 60-day knockout as a paxsim event: the first manufacturer at zero capacity."""
    return [
        FacilityOutage(
            select=Selector(facilities=(KNOCKOUT_SITE,)),
            capacity_factor=0.0,
            start=KNOCKOUT_START_DAY,
            duration_days=KNOCKOUT_DAYS,
        )
    ]
