"""Invariants on random small worlds (hypothesis), with installed bases and make to stock too."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import simulate
from sim.events import (
    DemandChange,
    Destinations,
    Event,
    ExportControl,
    FacilityOutage,
    MembershipChange,
    Selector,
    SourcingPolicy,
    is_disruption,
    with_changes,
)
from sim.metrics import compute_metrics, material_balance
from sim.pair import simulate_pair
from sim.record import RunRecord
from sim.world import World

SRC = "test fixture"
COUNTRIES = ["CHN", "USA", "JPN"]
STAGES = [("mine", "ore"), ("refiner", "oxide"), ("fab", "part"), ("plant", "product")]


@st.composite
def small_worlds(draw: st.DrawFn, noise: bool = True, one_lane: bool = False) -> World:
    return World.from_tables(**draw(small_tables(noise=noise, one_lane=one_lane)))


@st.composite
def small_tables(
    draw: st.DrawFn, noise: bool = True, one_lane: bool = False
) -> dict[str, pd.DataFrame]:
    n_stages = draw(st.integers(2, 4))
    stages = STAGES[:n_stages]
    rows = []
    demand = draw(st.floats(5, 50))
    for si, (ftype, com) in enumerate(stages):
        n = draw(st.integers(1, 3))
        for j in range(n):
            country = draw(st.sampled_from(COUNTRIES))
            # Capacity between 0.5x and 3x of an even share of the demand reaching the stage.
            cap = demand * draw(st.floats(0.5, 3.0)) / n * (2.0 ** (n_stages - 1 - si))
            rows.append((f"{ftype}{j}", ftype, country, com, cap * 365))
    facilities = pd.DataFrame(
        rows, columns=["facility", "type", "country", "commodity", "capacity_per_year"]
    ).assign(source=SRC)
    recipes = pd.DataFrame(
        {
            "facility_type": [s[0] for s in stages[1:]],
            "input": [s[1] for s in stages[:-1]],
            "quantity_per_unit": [2.0] * (n_stages - 1),
        }
    ).assign(source=SRC)
    inventory = pd.DataFrame(
        {
            "facility_type": [s[0] for s in stages[1:]],
            "input": [s[1] for s in stages[:-1]],
            "target_cover_days": [draw(st.floats(0, 40)) for _ in stages[1:]],
        }
    ).assign(source=SRC)
    lanes = pd.DataFrame(
        {
            "origin": ["CHN", "CHN", "USA", "*"],
            "destination": ["USA", "JPN", "JPN", "*"],
            "transport_days": [draw(st.sampled_from([0, 3, 10.5, 30])) for _ in range(4)]
            if not one_lane
            else [draw(st.sampled_from([0, 3, 10.5, 30]))] * 4,
        }
    ).assign(source=SRC)
    final_type, final_com = stages[-1]
    finals = facilities[facilities["type"] == final_type]["facility"].tolist()
    dem = pd.DataFrame(
        {
            "commodity": final_com,
            "facility": finals,
            "quantity_per_year": demand * 365 / len(finals),
            "noise_cv": draw(st.sampled_from([0.0, 0.1])) if noise else 0.0,
        }
    ).assign(source=SRC)
    return {
        "countries": pd.DataFrame(
            {"country": COUNTRIES, "bloc": ["china", "allied", "allied"], "source": SRC}
        ),
        "commodities": pd.DataFrame(
            {
                "commodity": [s[1] for s in stages],
                "unit": "t",
                "qualification_days": draw(st.floats(0, 60)),
                "substitution_ramp_days": draw(st.floats(0, 40)),
                "source": SRC,
            }
        ),
        "facilities": facilities,
        "recipes": recipes,
        "lanes": lanes,
        "inventory": inventory,
        "demand": dem,
    }


@st.composite
def capital_worlds(draw: st.DrawFn) -> World:
    """Small worlds with a durable input, a make-to-stock stage or both.

    The durable input (of a random stage) has a random service life, installation lag
    and stock cover, and final demand a random growth; the make-to-stock stage (any
    stage) random target, storage and smoothing days.
    """
    tables = draw(small_tables())
    recipes, inventory = tables["recipes"], tables["inventory"]
    mode = draw(st.sampled_from(["durable", "make_to_stock", "both"]))
    durable, make_to_stock = mode != "make_to_stock", mode != "durable"
    if durable:
        row = draw(st.integers(0, len(recipes) - 1))
        flag = np.arange(len(recipes)) == row
        # Units installed per unit of output per day: a base of a few days to years
        # of the flow a consumable would need.
        recipes["quantity_per_unit"] = np.where(flag, draw(st.floats(0.5, 200.0)), 2.0)
        recipes["durable"] = flag
        recipes["service_life_days"] = np.where(flag, draw(st.floats(20.0, 3000.0)), np.nan)
        recipes["installation_days"] = np.where(flag, draw(st.sampled_from([0, 5, 14.5, 60])), 0)
        inventory.loc[flag, "target_cover_days"] = draw(st.floats(0, 60))
        tables["demand"]["growth_per_year_share"] = draw(st.sampled_from([0.0, 0.05, 0.3]))
    if make_to_stock:
        target = draw(st.floats(0, 30))
        tables["finished_goods"] = pd.DataFrame(
            {
                "facility_type": [draw(st.sampled_from(sorted(set(tables["facilities"]["type"]))))],
                "target_days": [target],
                "storage_days": [target + draw(st.floats(0, 60))],
                "smoothing_days": [draw(st.sampled_from([0.0, 7.0, 90.0]))],
                "source": [SRC],
            }
        )
    return World.from_tables(**tables)


def chn_ban(world: World, start: float, days: float, regime: str = "ban") -> list[ExportControl]:
    fac = world.facilities
    chinese = fac[(fac["country"] == "CHN")]
    used = set(world["recipes"]["input"])
    coms = tuple(sorted(set(chinese["commodity"]) & used))
    if not coms or (fac["country"] == "CHN").all():
        return []
    dest = Destinations(all=True)
    ctl = ExportControl(
        id="c", issuer="CHN", commodities=coms, destinations=dest, start=start, end=start + days
    )
    buyers = world["recipes"][world["recipes"]["input"].isin(coms)]["facility_type"]
    if not (fac["type"].isin(buyers) & (fac["country"] != "CHN")).any():
        return []
    if regime == "license":
        ctl = ExportControl(**{**ctl.__dict__, "regime": "license", "review_days": 25.0})
    return [ctl]


# Derandomized so that CI explores the same examples on every run (reproducible);
# run with more examples locally when touching the engine.
FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
HORIZON = 400


@FAST
@given(
    world=small_worlds(),
    start=st.integers(0, 100),
    days=st.integers(1, 200),
    seed=st.integers(0, 9),
    regime=st.sampled_from(["ban", "license", "quota", "hold", "stream", "volume"]),
)
def test_material_is_conserved_and_stocks_stay_non_negative(
    world: World, start: int, days: int, seed: int, regime: str
) -> None:
    events = chn_ban(world, start, days)
    units = set(world["commodities"]["unit"])
    if events and regime != "ban" and not (regime == "volume" and len(units) > 1):
        # Licences decided at once (several settles at one instant), quotas, held cargo
        # (issue 11: counted in the balance as held_final), streams of applications and
        # volume quotas.
        changes: dict[str, object] = {
            "license": {"regime": "license", "review_days": 0.0},
            "quota": {"regime": "license", "review_days": 0.0, "quota_share": 0.3},
            "hold": {"regime": "hold", "hold_release_share": 0.05},
            "stream": {
                "regime": "license",
                "review_days": 12.0,
                "application_interval_days": 14.0,
                "approval_probability": 0.6,
            },
            "volume": {"regime": "license", "review_days": 0.0, "quota_t": 50.0 * days},
        }[regime]
        events = [with_changes(events[0], changes)]
    rec = simulate(
        world, events, start="2025-01-01", horizon_days=HORIZON, rng=np.random.default_rng(seed)
    )
    assert_conserved_and_non_negative(rec)


def assert_conserved_and_non_negative(rec: RunRecord) -> None:
    """Material balance closes to 1e-9 relative; no stock, base or output below zero.

    The balance counts installed bases, installation pipelines, retirements and
    finished-goods stocks (:func:`sim.metrics.material_balance`); finished-goods stocks
    are recorded at the start and the end only.
    """
    bal = material_balance(rec)
    scale = np.maximum(bal["sources"].abs(), 1.0)
    assert ((bal["sources"] - bal["uses"]).abs() <= 1e-9 * scale).all(), bal
    assert (bal["rounding"].abs() <= 1e-9 * scale).all()
    assert rec.stock.min(initial=0.0) >= 0
    assert rec.balance["final_stock"].min(initial=0.0) >= 0
    assert rec.balance["final_transit"].min(initial=0.0) >= -1e-9 * scale.max()
    assert rec.output.min() >= 0
    assert rec.installed is not None and rec.installed.min(initial=0.0) >= 0
    for name in ("installed_final", "pipeline_final", "retired", "finished_final"):
        assert rec.balance[name].min(initial=0.0) >= 0, name


def disruption(
    world: World, kind: str, start: int, days: int, pick: int, factor: float
) -> list[Event]:
    """A ban or licence regime on Chinese exports (if any flow), or an outage of one stage."""
    if kind in ("ban", "license"):
        events: list[Event] = list(chn_ban(world, start, days))
        if events and kind == "license":
            licence = {"regime": "license", "review_days": float(pick % 2) * 25.0}
            events = [with_changes(events[0], {**licence, "approval_probability": factor})]
        if events:
            return events
    types = sorted(set(world.facilities["type"]))
    select = Selector(types=(types[pick % len(types)],))
    return [FacilityOutage(select=select, capacity_factor=factor, start=start, duration_days=days)]


@FAST
@given(
    world=capital_worlds(),
    kind=st.sampled_from(["ban", "license", "outage"]),
    start=st.integers(0, 100),
    days=st.integers(1, 200),
    pick=st.integers(0, 3),
    factor=st.floats(0, 1),
    seed=st.integers(0, 9),
)
def test_installed_bases_and_finished_goods_conserve_material(
    world: World, kind: str, start: int, days: int, pick: int, factor: float, seed: int
) -> None:
    # Durable inputs (random life, installation lag, cover, demand growth) and a
    # make-to-stock stage (random target, storage, smoothing) under a random ban,
    # licence regime (decided at once or after 25 days, random approval) or outage.
    events = disruption(world, kind, start, days, pick, factor)
    rec = simulate(
        world, events, start="2025-01-01", horizon_days=HORIZON, rng=np.random.default_rng(seed)
    )
    assert_conserved_and_non_negative(rec)


def policies(world: World, kinds: list[str], day: int, factor: float) -> list[Event]:
    """Policy events only (none is a disruption): demand change, sourcing, membership."""
    final = world.facilities["commodity"].iloc[-1]
    made = {
        "demand": DemandChange(factor=factor, date=day, commodities=(final,)),
        "sourcing": SourcingPolicy(bloc="allied", rule="bloc_first", date=day),
        "membership": MembershipChange(country="JPN", bloc="china", date=day + 30),
    }
    return [made[k] for k in kinds]


@FAST
@given(
    world=capital_worlds(),
    kinds=st.lists(st.sampled_from(["demand", "sourcing", "membership"]), unique=True),
    day=st.integers(0, 300),
    factor=st.floats(0.5, 1.5),
    seed=st.integers(0, 9),
)
def test_policies_alone_lose_nothing(
    world: World, kinds: list[str], day: int, factor: float, seed: int
) -> None:
    # The paired baseline drops only disruptions: with policies alone it is the same
    # run, so no facility loses or gains output, and no installed base falls short.
    events = policies(world, kinds, day, factor)
    assert not any(is_disruption(e) for e in events)
    actual, baseline = simulate_pair(
        world, events, start="2025-01-01", horizon_days=HORIZON, seed=seed
    )
    assert np.array_equal(actual.output, baseline.output)
    m = compute_metrics(actual, baseline, by=("world", "facility"))
    zero = ["output_loss", "output_gain", "peak_shortfall_share", "installed_shortfall_share"]
    assert (m["metric"] == "output_loss").any()
    assert (m[m["metric"].isin(zero)]["value"] == 0).all()
    assert m[m["metric"] == "time_to_survive_days"]["censored"].all()
    assert_conserved_and_non_negative(actual)


@FAST
@given(world=small_worlds(), seed=st.integers(0, 9))
def test_no_disruption_means_baseline_and_no_loss(world: World, seed: int) -> None:
    actual, baseline = simulate_pair(world, [], start="2025-01-01", horizon_days=HORIZON, seed=seed)
    assert np.array_equal(actual.output, baseline.output)
    m = compute_metrics(actual, baseline, by=("world", "facility"))
    losses = m[m["metric"].isin(["output_loss", "output_gain", "peak_shortfall_share"])]
    assert (losses["value"] == 0).all()
    assert m[m["metric"] == "time_to_survive_days"]["censored"].all()


@FAST
@given(
    world=small_worlds(noise=False),
    start=st.integers(0, 8),
    days=st.integers(1, 20),
    extra=st.integers(1, 20),
)
def test_longer_ban_never_loses_less(world: World, start: int, days: int, extra: int) -> None:
    # Bans start and last whole ordering-review periods (7 days). A ban that ends
    # between reviews meets the network at another point of its ordering cycle, and the
    # size of the transient after it (refilling pipelines) depends on that phase: a
    # ban 17 days longer can then lose ~1 % less (found by this test). Aligned with
    # the review cycle, a longer ban adds loss and never takes any away. Demand is
    # deterministic here: with random demand the two runs take different paths after
    # the shorter ban ends, and a noisy week can cost either of them more. The refill
    # after a ban also depends a little on the state the ban leaves: up to a few
    # millionths of the output at stake (2.7e-6 seen in 400 random examples).
    start, days, extra = 7 * start, 7 * days, 7 * extra
    short = chn_ban(world, start, days)
    if not short:
        return
    long = chn_ban(world, start, days + extra)
    losses, scale = [], 0.0
    for events in (short, long):
        actual, baseline = simulate_pair(
            world, events, start="2025-01-01", horizon_days=HORIZON, seed=0
        )
        final = actual.facilities["type"] == actual.facilities["type"].iloc[-1]
        cut = int(start)
        losses.append(
            np.maximum(baseline.output[cut:, final] - actual.output[cut:, final], 0).sum()
        )
        scale = baseline.output[cut:, final].sum()
    # Never less, up to 1e-5 of the output at stake.
    assert losses[1] >= losses[0] - 1e-5 * scale


@FAST
@given(world=small_worlds(noise=False), factor=st.floats(0, 1), harsher=st.floats(0, 1))
def test_harsher_outage_never_loses_less(world: World, factor: float, harsher: float) -> None:
    first_type = world.facilities["type"].iloc[0]
    sel = Selector(types=(first_type,))
    losses = []
    for f in (factor, factor * harsher):
        ev = [FacilityOutage(select=sel, capacity_factor=f, start=30, duration_days=90)]
        actual, baseline = simulate_pair(
            world, ev, start="2025-01-01", horizon_days=HORIZON, seed=0
        )
        final = actual.facilities["type"] == actual.facilities["type"].iloc[-1]
        losses.append(np.maximum(baseline.output[:, final] - actual.output[:, final], 0).sum())
    scale = baseline.output[:, final].sum()
    assert losses[1] >= losses[0] - 1e-9 * scale


@FAST
@given(
    world=small_worlds(noise=False, one_lane=True),
    start=st.integers(0, 8),
    days=st.integers(1, 20),
    quota=st.floats(0, 1),
    tighter=st.floats(0, 1),
)
def test_harsher_control_never_loses_less(
    world: World, start: int, days: int, quota: float, tighter: float
) -> None:
    # Harshness by regime over the same weeks: a licence regime with a quota of the
    # pre-control flow, a tighter quota, and a full ban. Each lets through no more than
    # the one before, so none may lose less (up to a millionth of the output at stake).
    # Every lane takes the same time here: where the restricted supplier is farther
    # away than the alternative, a ban that moves all orders to the nearer supplier can
    # lose less than a quota that keeps part of them on the long lane (0.5 % seen).
    base = chn_ban(world, 7 * start, 7 * days)
    if not base:
        return
    licence = {"regime": "license", "review_days": 0.0, "approval_probability": 1.0}
    controls = [
        with_changes(base[0], {**licence, "quota_share": quota}),
        with_changes(base[0], {**licence, "quota_share": quota * tighter}),
        base[0],
    ]
    losses, scale = [], 0.0
    for control in controls:
        actual, baseline = simulate_pair(
            world, [control], start="2025-01-01", horizon_days=HORIZON, seed=0
        )
        final = actual.facilities["type"] == actual.facilities["type"].iloc[-1]
        losses.append(np.maximum(baseline.output[:, final] - actual.output[:, final], 0).sum())
        scale = baseline.output[:, final].sum()
    assert losses[1] >= losses[0] - 1e-6 * scale
    assert losses[2] >= losses[1] - 1e-6 * scale
