"""Random but valid layered worlds of any size, for benchmarks and property tests.

:func:`synthetic_world` builds the full AI supply stack of :mod:`sim.examples`
(rare-earth concentrate -> NdPr oxide -> NdFeB magnet -> AI chip -> compute) plus a
gallium chain into the chip fabs, spread over countries in three blocs. Final demand
for compute sits on the data centers; every upstream stage gets 15-40 % more capacity
than the demand that flows to it through the recipes, so the undisturbed network is
feasible. Each buyer orders from a few suppliers of each input (a ``sourcing`` table),
so the number of trading relationships grows linearly with the number of facilities,
as in real supply networks. :func:`synthetic_ban` gives a matching disruption: the
largest refining country bans NdPr oxide and NdFeB magnet exports to the allied bloc
for a year.

Every figure is drawn from the generator passed in and is labelled
``"synthetic (generated, not data)"`` in the ``source`` column: these worlds say
nothing about the real supply chain.
"""

from __future__ import annotations

import itertools
import string

import numpy as np
import pandas as pd

from sim.events import Destinations, ExportControl
from sim.world import World

SYNTHETIC = "synthetic (generated, not data)"

#: The three blocs countries are split over.
BLOCS: tuple[str, ...] = ("allied", "china", "nonaligned")

#: Commodity, unit, description, qualification days, substitution ramp days.
_COMMODITIES: tuple[tuple[str, str, str, float, float], ...] = (
    ("ree_concentrate", "t", "mixed rare-earth concentrate (REO content)", 60, 30),
    ("ndpr_oxide", "t", "separated NdPr oxide", 120, 90),
    ("ndfeb_magnet", "t", "sintered NdFeB permanent magnets", 90, 60),
    ("gallium", "t", "refined gallium metal", 120, 60),
    ("ai_chip", "unit", "AI accelerators, packaged", 180, 90),
    ("compute", "MW_day", "AI compute delivered, in MW of IT load for one day", 30, 30),
)

#: Facility type, output commodity, share of the facilities beyond the first of each
#: type, and relative chance of a site in the allied, china and nonaligned blocs.
_TYPES: tuple[tuple[str, str, float, tuple[float, float, float]], ...] = (
    ("mine", "ree_concentrate", 0.20, (0.3, 0.4, 0.3)),
    ("refiner", "ndpr_oxide", 0.12, (0.2, 0.6, 0.2)),
    ("magnet_fab", "ndfeb_magnet", 0.13, (0.3, 0.5, 0.2)),
    ("gallium_refiner", "gallium", 0.10, (0.2, 0.6, 0.2)),
    ("chip_fab", "ai_chip", 0.15, (0.6, 0.1, 0.3)),
    ("data_center", "compute", 0.30, (0.6, 0.1, 0.3)),
)

#: Recipes (Leontief): facility type, input, input units per output unit.
_RECIPES: tuple[tuple[str, str, float], ...] = (
    ("refiner", "ree_concentrate", 5.0),
    ("magnet_fab", "ndpr_oxide", 0.3),
    ("chip_fab", "ndfeb_magnet", 0.002),
    ("chip_fab", "gallium", 2e-6),
    ("data_center", "ai_chip", 0.7),
)

#: Share of the total capacity of each stage that exceeds the demand flowing to it.
HEADROOM_RANGE = (0.15, 0.40)

#: Largest number of countries: ISO 3166-1 alpha-3 user-assigned codes XAA ... XZZ.
MAX_COUNTRIES = 26 * 26


def _country_codes(n: int) -> list[str]:
    """Return ``n`` user-assigned ISO3 codes (``XAA``, ``XAB``, ...), never real countries."""
    pairs = itertools.product(string.ascii_uppercase, repeat=2)
    return ["X" + a + b for a, b in itertools.islice(pairs, n)]


def _split(total: float, n: int, rng: np.random.Generator, sigma: float = 0.6) -> np.ndarray:
    """Split ``total`` into ``n`` positive lognormal shares that sum to it."""
    w = rng.lognormal(0.0, sigma, size=n)
    return total * w / w.sum()


def synthetic_world(
    n_facilities: int = 150, *, n_countries: int = 12, rng: np.random.Generator
) -> World:
    """Build a random, valid, layered world of the AI supply stack.

    Parameters
    ----------
    n_facilities : int
        Number of facilities (at least 6, one per facility type). The first of each
        type is always built; the rest are split over the types at random around
        fixed shares (mines 20 %, refiners 12 %, magnet fabs 13 %, gallium refiners
        10 %, chip fabs 15 %, data centers 30 %).
    n_countries : int
        Number of countries (3 to 676). Countries get user-assigned ISO3 codes
        (``XAA``, ``XAB``, ...); each bloc of :data:`BLOCS` gets at least one, the
        rest are assigned at random.
    rng : numpy.random.Generator
        Source of every random draw: the same generator state gives identical tables.

    Returns
    -------
    World
        The validated world. Tables: ``countries``, ``commodities``, ``facilities``,
        ``recipes``, ``lanes``, ``sourcing``, ``inventory`` and ``demand``; every row's
        ``source`` is ``"synthetic (generated, not data)"``.

    Raises
    ------
    ValueError
        If ``n_facilities`` or ``n_countries`` is out of range.

    Notes
    -----
    Structure and numbers:

    * Commodities ``ree_concentrate`` (t) -> ``ndpr_oxide`` (t) -> ``ndfeb_magnet`` (t)
      -> ``ai_chip`` (unit) -> ``compute`` (MW_day), and ``gallium`` (t) into
      ``ai_chip``, so chip fabs have two inputs. Recipe coefficients are those of
      :mod:`sim.examples` (5 t concentrate per t oxide, 0.3 t oxide per t magnet,
      0.002 t magnet per chip, 0.7 chips per MW_day) plus 2e-6 t gallium per chip.
    * Facilities are placed in countries with type-specific bloc preferences
      (refining concentrated in the china bloc, chips and compute in the allied
      bloc). One china-bloc country, the refining hub, holds the first refiner and
      55-80 % of refining capacity, so it is the largest refining country; the first
      magnet fab is in an allied country, so :func:`synthetic_ban` always cuts a flow.
    * Compute demand (1-10 million MW_day a year in total) is split over the data
      centers, each with 15-40 % spare capacity. Demand flowing to each upstream
      stage follows from the recipes; the stage's total capacity exceeds it by a
      share drawn from 15-40 %, split over its facilities at random. Demand has no
      growth and no noise.
    * Lanes: a ``* -> *`` default of 20 days, a domestic row per country (0-5 days)
      and rows for about a third of the country pairs (0-40 days, both directions).
      All lane times are whole days.
    * Sourcing (the supplier links): each buyer of an input orders from a few of its
      producers, not from all of them. For each input, the producers and the buyers
      are put in random order on two lines of the same length: each producer gets a
      segment as long as its capacity, each buyer a segment as long as its share of
      the input's flow (its planned output times the recipe coefficient). A buyer
      orders from the producers whose segments overlap its own, with weight the
      length of the overlap (a transport plan by the north-west corner rule). So
      every producer is loaded in proportion to its capacity (the stage's headroom
      holds at every producer) and an input with P producers and U buyers has at most
      P + U - 1 sourcing rows: on average at most 1 + P / U suppliers per buyer, and
      about 1.55 rows per facility in total at the type shares, whatever the world's
      size (against some 0.12 n per facility if every producer supplied every buyer).
      The first
      magnet fab (allied) always orders NdPr oxide from the first refiner (at the
      refining hub). Producers not named in a buyer's rows are not qualified
      suppliers of it (see the ``sourcing`` table): the engine still knows them as
      the alternatives it qualifies when a source is cut off.
    * Inventory: target cover of 10-60 whole days per facility type and input.
    """
    n_types = len(_TYPES)
    if not n_types <= n_facilities:
        raise ValueError(f"n_facilities={n_facilities}: need at least {n_types}, one per type")
    if not len(BLOCS) <= n_countries <= MAX_COUNTRIES:
        raise ValueError(f"n_countries={n_countries}: give 3 to {MAX_COUNTRIES}")

    # Countries: one per bloc first, the rest at random, then shuffled.
    codes = _country_codes(n_countries)
    bloc_draw = rng.choice(len(BLOCS), size=n_countries - len(BLOCS), p=[0.45, 0.2, 0.35])
    bloc_idx = rng.permutation(np.concatenate([np.arange(len(BLOCS)), bloc_draw]))
    country_bloc = [BLOCS[int(b)] for b in bloc_idx]
    in_bloc = {b: [c for c, cb in zip(codes, country_bloc, strict=True) if cb == b] for b in BLOCS}
    hub = str(rng.choice(in_bloc["china"]))
    countries = pd.DataFrame(
        {
            "country": codes,
            "name": [f"Synthetic country {c}" for c in codes],
            "bloc": country_bloc,
        }
    )

    # How many facilities of each type: one each, the rest multinomial.
    shares = np.array([t[2] for t in _TYPES])
    counts = 1 + rng.multinomial(n_facilities - n_types, shares / shares.sum())
    count_of = {t[0]: int(k) for t, k in zip(_TYPES, counts, strict=True)}

    # Where they are: a bloc preference per type, uniform within the bloc.
    n_in_bloc = {b: len(in_bloc[b]) for b in BLOCS}
    site: dict[str, list[str]] = {}
    for ftype, _, _, pref in _TYPES:
        p = np.array([pref[BLOCS.index(b)] / n_in_bloc[b] for b in country_bloc])
        site[ftype] = [str(c) for c in rng.choice(codes, size=count_of[ftype], p=p / p.sum())]
    site["refiner"][0] = hub
    site["magnet_fab"][0] = str(rng.choice(in_bloc["allied"]))

    # Demand and capacities, from final demand upstream through the recipes.
    lo, hi = HEADROOM_RANGE
    coef = {(t, i): q for t, i, q in _RECIPES}
    dc_demand = _split(rng.uniform(1e6, 1e7), count_of["data_center"], rng)
    capacity: dict[str, np.ndarray] = {
        "data_center": dc_demand * (1.0 + rng.uniform(lo, hi, size=len(dc_demand)))
    }
    flow = {"compute": float(dc_demand.sum())}
    flow["ai_chip"] = coef["data_center", "ai_chip"] * flow["compute"]
    flow["ndfeb_magnet"] = coef["chip_fab", "ndfeb_magnet"] * flow["ai_chip"]
    flow["gallium"] = coef["chip_fab", "gallium"] * flow["ai_chip"]
    flow["ndpr_oxide"] = coef["magnet_fab", "ndpr_oxide"] * flow["ndfeb_magnet"]
    flow["ree_concentrate"] = coef["refiner", "ree_concentrate"] * flow["ndpr_oxide"]
    for ftype, com, _, _ in _TYPES:
        if ftype == "data_center":
            continue
        stage_total = flow[com] * (1.0 + rng.uniform(lo, hi))
        capacity[ftype] = _split(stage_total, count_of[ftype], rng)
    # The refining hub holds 55-80 % of refining capacity (all of it if it is alone).
    at_hub = np.array([c == hub for c in site["refiner"]])
    if not at_hub.all():
        ref = capacity["refiner"]
        hub_share = rng.uniform(0.55, 0.80)
        total = ref.sum()
        ref[at_hub] *= hub_share * total / ref[at_hub].sum()
        ref[~at_hub] *= (1.0 - hub_share) * total / ref[~at_hub].sum()

    rows = []
    for ftype, com, _, _ in _TYPES:
        for i, (country, cap) in enumerate(zip(site[ftype], capacity[ftype], strict=True)):
            fid = f"{ftype}_{i + 1:03d}"
            rows.append((fid, f"Synthetic {ftype} {i + 1} ({country})", ftype, country, com, cap))
    facilities = pd.DataFrame(
        rows, columns=["facility", "name", "type", "country", "commodity", "capacity_per_year"]
    )
    dc_ids = facilities.loc[facilities["type"] == "data_center", "facility"].tolist()

    commodities = pd.DataFrame(
        _COMMODITIES,
        columns=[
            "commodity",
            "unit",
            "description",
            "qualification_days",
            "substitution_ramp_days",
        ],
    )
    recipes = pd.DataFrame(_RECIPES, columns=["facility_type", "input", "quantity_per_unit"])
    inventory = pd.DataFrame(
        {
            "facility_type": recipes["facility_type"],
            "input": recipes["input"],
            "target_cover_days": rng.integers(10, 61, size=len(recipes)).astype(float),
        }
    )

    # Lanes: default, domestic, and about a third of the pairs (both directions).
    lane_rows: list[tuple[str, str, float]] = [("*", "*", 20.0)]
    domestic = rng.integers(0, 6, size=n_countries)
    lane_rows += [(c, c, float(d)) for c, d in zip(codes, domestic, strict=True)]
    pairs = list(itertools.combinations(codes, 2))
    chosen = rng.random(len(pairs)) < 1 / 3
    days = rng.integers(0, 41, size=len(pairs))
    lane_rows += [
        (a, b, float(d)) for (a, b), keep, d in zip(pairs, chosen, days, strict=True) if keep
    ]
    lanes = pd.DataFrame(lane_rows, columns=["origin", "destination", "transport_days"])

    demand = pd.DataFrame(
        {"commodity": "compute", "facility": dc_ids, "quantity_per_year": dc_demand}
    )
    sourcing = _sourcing(facilities, dc_demand, rng)

    tables = {
        "countries": countries,
        "commodities": commodities,
        "facilities": facilities,
        "recipes": recipes,
        "lanes": lanes,
        "sourcing": sourcing,
        "inventory": inventory,
        "demand": demand,
    }
    for frame in tables.values():
        frame["source"] = SYNTHETIC
    return World.from_tables(**tables)


def _north_west(need: np.ndarray, capacity: np.ndarray) -> list[tuple[int, int, float]]:
    """Transport plan from producers to buyers by the north-west corner rule.

    Buyer and producer segments (``need`` scaled to the total ``capacity``, and
    ``capacity``) are laid end to end in the order given; returns ``(buyer, producer,
    overlap)`` for every positive overlap, at most ``len(need) + len(capacity) - 1``.
    """
    total = float(capacity.sum())
    b_end = np.cumsum(need) * (total / float(need.sum()))
    p_end = np.cumsum(capacity)
    b_end[-1] = p_end[-1] = total
    plan: list[tuple[int, int, float]] = []
    b = p = 0
    lo = 0.0
    while b < len(need) and p < len(capacity):
        hi = min(b_end[b], p_end[p])
        if hi - lo > 1e-12 * total:
            plan.append((b, p, float(hi - lo)))
        lo = hi
        if b_end[b] <= hi:
            b += 1
        if p_end[p] <= hi:
            p += 1
    return plan


def _sourcing(
    facilities: pd.DataFrame, dc_demand: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Return sourcing rows: each buyer orders an input from the producers it overlaps.

    A buyer's need for an input is its planned output (its demand for a data center,
    its capacity otherwise: producers are loaded in proportion to capacity) times the
    recipe coefficient. Buyers and producers are shuffled; the first magnet fab and the
    first refiner are put first, so that the first magnet fab buys from the hub.
    """
    fac_type = facilities["type"].to_numpy()
    fac_id = facilities["facility"].to_numpy()
    com = facilities["commodity"].to_numpy()
    planned = facilities["capacity_per_year"].to_numpy(dtype=float).copy()
    planned[fac_type == "data_center"] = dc_demand
    rows: list[tuple[str, str, str, float]] = []
    for ftype, inp, q in _RECIPES:
        buyers = np.flatnonzero(fac_type == ftype)
        producers = np.flatnonzero(com == inp)
        buyers = buyers[rng.permutation(len(buyers))]
        producers = producers[rng.permutation(len(producers))]
        if (ftype, inp) == ("magnet_fab", "ndpr_oxide"):
            first_buyer = fac_id[buyers] == "magnet_fab_001"
            first_producer = fac_id[producers] == "refiner_001"
            buyers = np.concatenate([buyers[first_buyer], buyers[~first_buyer]])
            producers = np.concatenate([producers[first_producer], producers[~first_producer]])
        plan = _north_west(q * planned[buyers], planned[producers])
        rows += [(str(fac_id[buyers[b]]), inp, str(fac_id[producers[p]]), w) for b, p, w in plan]
    return pd.DataFrame(rows, columns=["buyer", "commodity", "supplier", "weight"])


def _users(world: World, commodities: tuple[str, ...]) -> pd.Series:
    """Boolean mask over facilities: which ones have any of ``commodities`` as an input.

    Per-facility recipe rows replace the rows of the facility's type, as in the engine.
    """
    recipes = world["recipes"]
    fac = world.facilities
    own = recipes[recipes["facility"] != ""]
    by_type = recipes[recipes["facility"] == ""]
    type_uses = set(by_type.loc[by_type["input"].isin(commodities), "facility_type"])
    fac_uses = set(own.loc[own["input"].isin(commodities), "facility"])
    has_own = fac["facility"].isin(set(own["facility"]))
    return (fac["facility"].isin(fac_uses) & has_own) | (fac["type"].isin(type_uses) & ~has_own)


def _buys_from(world: World, buyer: str, commodity: str, country: str) -> bool:
    """Whether ``buyer`` orders ``commodity`` from a producer in ``country`` at baseline.

    Its suppliers are those with a positive weight in the most specific sourcing rows
    that apply (buyer facility, then its country, then ``*``), as in the engine; every
    producer if no row applies.
    """
    fac = world.facilities
    where = dict(zip(fac["facility"], fac["country"], strict=True))
    src = world["sourcing"]
    src = src[src["commodity"] == commodity]
    for key in (buyer, where[buyer], "*"):
        rows = src[src["buyer"] == key]
        if len(rows):
            suppliers = rows.loc[rows["weight"] > 0, "supplier"]
            return any(where[s] == country for s in suppliers)
    return bool(((fac["commodity"] == commodity) & (fac["country"] == country)).any())


def synthetic_ban(world: World) -> list[ExportControl]:
    """Return a one-year ban by the largest refining country on magnet materials to allies.

    The country with the largest total ``ndpr_oxide`` capacity bans exports of
    ``ndpr_oxide`` and ``ndfeb_magnet`` to every country of the ``allied`` bloc from
    day 365 of the run to day 730 (365 days).

    Parameters
    ----------
    world : World
        A world with ``ndpr_oxide`` producers, typically from :func:`synthetic_world`.

    Returns
    -------
    list of ExportControl
        One control, id ``"synthetic_ban"``, regime ``ban``.

    Raises
    ------
    ValueError
        If the world has no ``ndpr_oxide`` producer, or if the ban would cut no trade
        flow (no allied facility outside the issuer orders a banned commodity from a
        producer in the issuer country: one its sourcing rows give a positive weight,
        or any producer if no sourcing row applies to it). Worlds from
        :func:`synthetic_world` always pass.
    """
    banned = ("ndpr_oxide", "ndfeb_magnet")
    fac = world.facilities
    refiners = fac[fac["commodity"] == "ndpr_oxide"]
    if refiners.empty:
        raise ValueError("synthetic_ban: no facility produces ndpr_oxide")
    by_country = refiners.groupby("country", sort=True)["capacity_per_year"].sum()
    issuer = str(by_country.idxmax())

    bloc = fac["country"].map(world.bloc_of())
    made = tuple(sorted(set(fac.loc[fac["country"] == issuer, "commodity"]) & set(banned)))
    allied = (bloc == "allied") & (fac["country"] != issuer)
    cut = [
        b
        for com in made
        for b in fac.loc[_users(world, (com,)) & allied, "facility"]
        if _buys_from(world, b, com, issuer)
    ]
    if not cut:
        raise ValueError(
            f"synthetic_ban: a ban by {issuer} on {', '.join(banned)} to the allied bloc "
            "would cut no trade flow"
        )
    return [
        ExportControl(
            id="synthetic_ban",
            issuer=issuer,
            commodities=banned,
            destinations=Destinations(blocs=("allied",)),
            start=365,
            end=365 + 365,
            regime="ban",
        )
    ]
