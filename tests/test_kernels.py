"""The compiled passes give the reference's results to the last bit (issue 12).

Every library scenario runs one paired replication with ``PAXSIM_KERNELS=numpy`` (the
numpy reference, :func:`sim.passes.plan_numpy` and :func:`sim.passes.settle_numpy`) and
with the compiled loops (:mod:`sim.kernels`), and every table must be equal, bit for
bit. Between them the scenarios exercise every mechanism the passes have: licensing
and bans with substitution and held lanes, joint products, make to stock, installed
bases, grades, bloc-first sourcing, and a customs hold (whose settles take the reference
in both runs). Random synthetic worlds and a joint-product world add cases of their own.
"""

from __future__ import annotations

import datetime as dt
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim import kernels_sums, passes, record, replication
from sim.cli import app
from sim.engine import Settings, simulate
from sim.ensemble import run_scenario
from sim.errors import InputError
from sim.events import FacilityOutage, Selector
from sim.finished import FinishedGoods
from sim.installed import InstalledBase
from sim.network import network_of
from sim.record import EpochLog, daily_integral, epoch_totals, trade_groups
from sim.response import ramp_fraction
from sim.scenario import load_scenario
from sim.synthetic import synthetic_ban, synthetic_world
from tests.test_joint import joint_world
from tests.test_pair import assert_same_record

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
TABLES = ("parameters", "metrics", "series", "trade", "timeline")


def _tables(name: str) -> dict[str, pd.DataFrame]:
    replication.BASELINES.clear()  # each run computes its own baseline
    ens = run_scenario(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), replications=1)
    return {t: getattr(ens, t) for t in TABLES}


def test_the_compiled_loops_are_what_runs() -> None:
    """numba is a dependency: without the variable the compiled loops are chosen."""
    assert passes.compiled() is not None


@pytest.mark.parametrize("name", SCENARIOS)
def test_compiled_passes_equal_numpy_reference(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _tables(name)
    monkeypatch.setenv(passes.KERNELS_ENV, "numpy")
    assert passes.compiled() is None
    reference = _tables(name)
    for table in TABLES:
        pd.testing.assert_frame_equal(
            compiled[table], reference[table], check_exact=True, obj=f"{name} {table}"
        )
        for column in compiled[table].columns:  # to the bit: -0.0 and 0.0 differ here
            ours, theirs = compiled[table][column].to_numpy(), reference[table][column].to_numpy()
            if ours.dtype.kind == "f":
                assert ours.tobytes() == theirs.tobytes(), f"{name} {table}.{column}"


@pytest.mark.parametrize("n", [75, 300])
def test_compiled_passes_equal_numpy_reference_on_synthetic_worlds(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Random layered worlds under a one-year ban, daily review and demand noise.
    world = synthetic_world(n, rng=np.random.default_rng(n))
    events = list(synthetic_ban(world))

    def run() -> object:
        return simulate(
            world,
            events,
            start="2025-01-01",
            horizon_days=900,
            rng=np.random.default_rng(7),
            settings=Settings(review_days=1.0),
        )

    compiled = run()
    monkeypatch.setenv(passes.KERNELS_ENV, "numpy")
    assert_same_record(compiled, run())  # type: ignore[arg-type]


@pytest.mark.parametrize("who", ["mine", "sep", "user_a", "user_b"])
def test_compiled_passes_equal_numpy_reference_on_joint_products(
    who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A joint plant and its co-product's buffer, under a half outage of one facility.
    world = joint_world()
    outage = FacilityOutage(
        select=Selector(facilities=(who,)), capacity_factor=0.5, start=30, duration_days=60
    )

    def run() -> object:
        return simulate(
            world, [outage], start="2025-01-01", horizon_days=200, rng=np.random.default_rng(3)
        )

    compiled = run()
    monkeypatch.setenv(passes.KERNELS_ENV, "numpy")
    assert_same_record(compiled, run())  # type: ignore[arg-type]


def test_compiled_min_and_max_follow_numpy_on_ties_and_nan() -> None:
    """On a tie numpy returns the second argument (the sign of a zero); NaN propagates."""
    kernels = passes.compiled()
    nan = float("nan")
    pairs = [(-0.0, 0.0), (0.0, -0.0), (1.0, nan), (nan, 1.0), (2.0, 1.0), (1.0, 2.0), (3.0, 3.0)]
    for a, b in pairs:
        for ours, theirs in ((kernels._maximum, np.maximum), (kernels._minimum, np.minimum)):
            assert np.array(ours(a, b)).tobytes() == np.array(theirs(a, b)).tobytes(), (a, b)


def test_compiled_clip_follows_numpy_on_bounds_zeros_and_nan() -> None:
    """``numpy.clip`` of float arrays: the lower bound first, on a tie the bound (its zero).

    (numpy's clip of a scalar keeps ``-0.0`` against a bound of 0.0; of arrays, as the
    reference calls it, it does not.)
    """
    kernels = passes.compiled()
    nan, inf = float("nan"), float("inf")
    for v in (-0.0, 0.0, -1.0, 0.5, 1.0, 2.0, nan, inf, -inf, 5e-324):
        for lo, hi in ((0.0, 1.0), (-0.0, 1.0), (0.0, 0.0), (0.0, nan)):
            ours = np.array(kernels._clip(v, lo, hi)).tobytes()
            theirs = np.clip(np.full(3, v), lo, np.full(3, hi))[0]
            assert ours == np.array(theirs).tobytes(), (v, lo, hi)


def test_compiled_clip_between_scalars_follows_numpy() -> None:
    """``numpy.clip`` of an array between two scalars keeps the value on a tie (its zero)."""
    kernels = passes.compiled()
    nan, inf = float("nan"), float("inf")
    for v in (-0.0, 0.0, -1.0, 0.5, 1.0, 2.0, nan, inf, -inf):
        for lo, hi in ((0.0, 1.0), (-0.0, 1.0), (0.0, 0.0), (-0.0, -0.0)):
            ours = np.array(kernels._clip_between_scalars(v, lo, hi)).tobytes()
            assert ours == np.array(np.clip(np.full(3, v), lo, hi)[0]).tobytes(), (v, lo, hi)


def test_compiled_ramp_shares_are_ramp_fraction() -> None:
    """sim.response.ramp_fraction per qualified slot, compiled, to the bit; by hand too."""
    kernels = passes.compiled()
    rng = np.random.default_rng(3)
    qual_done = rng.choice([np.nan, 0.0, 10.0, 31.5, 400.0], size=50)
    ramp_days, slot_com = np.array([0.0, 90.0, 365.0]), rng.integers(0, 3, size=50)
    qualified = np.flatnonzero(rng.random(50) < 0.7)
    for now in (0.0, 10.0, 40.0, 100.0, 500.0):
        for step in (1.0, 7.0, 30.0):
            ours = kernels.ramp_shares(50, qualified, now, qual_done, ramp_days, slot_com, step)
            ref = np.zeros(50)
            q = qualified
            ref[q] = ramp_fraction(now, qual_done[q], ramp_days[slot_com[q]], step)
            assert ours.tobytes() == ref.tobytes(), (now, step)
    # Qualified on day 10 with a 90-day ramp in 30-day steps: on day 75, two steps: 60/90.
    one = kernels.ramp_shares(
        1, np.array([0]), 75.0, np.array([10.0]), ramp_days, np.array([1]), 30.0
    )
    assert one.tolist() == [60.0 / 90.0]


def _finished_goods(kernels: object, rng: np.random.Generator, n: int) -> FinishedGoods:
    """Finished-goods stocks of ``n`` facilities, some empty, full or at an edge by hand."""
    fin = object.__new__(FinishedGoods)
    fin.host = SimpleNamespace(kernels=kernels)
    fin.fac = np.sort(rng.choice(n, size=n // 2, replace=False)).astype(np.int64)
    fin.joint = rng.random(n) < 0.4
    fin.rate0 = rng.choice([0.0, 1.0, 3.5], size=n)
    fin.storage = 10.0 * fin.rate0
    fin.stock = rng.choice([0.0, -0.0, 1e-12, 5.0, 35.0], size=n)
    fin.stock = np.minimum(fin.stock, fin.storage)
    fin.slope = rng.choice([-2.0, -1e-300, 0.0, -0.0, 0.7, 3.0], size=n)
    fin.unsold = rng.random(n)
    fin.unsold_rate = rng.choice([0.0, 0.25], size=n)
    return fin


def test_compiled_finished_goods_are_the_reference() -> None:
    """sim.finished's slopes, days to an edge and advance, compiled, to the bit."""
    kernels = passes.compiled()
    for seed in range(40):
        ours, ref = (_finished_goods(k, np.random.default_rng(seed), 30) for k in (kernels, None))
        output = np.random.default_rng(seed + 100).choice([0.0, 1.0, 4.0], size=30)
        sold = np.random.default_rng(seed + 200).choice([0.0, 1.0, 2.5], size=30)
        for fin in (ours, ref):
            fin.set_slope(output, sold)
        assert ours.slope.tobytes() == ref.slope.tobytes()
        assert ours.unsold_rate.tobytes() == ref.unsold_rate.tobytes()
        assert ours.days_to_edge() == ref.days_to_edge()
        for fin in (ours, ref):
            fin.advance(1.75)
        assert ours.stock.tobytes() == ref.stock.tobytes()
        assert ours.unsold.tobytes() == ref.unsold.tobytes()
    # By hand: a stock of 2 falling at 0.5 a day empties in 4 days; one of 8 in a storage
    # of 10 rising at 1 fills in 2; a full joint stock's rise is unsold.
    fin = _finished_goods(kernels, np.random.default_rng(0), 3)
    fin.fac, fin.joint = np.arange(3), np.array([False, False, True])
    fin.rate0, fin.storage = np.ones(3), np.full(3, 10.0)
    fin.stock = np.array([2.0, 8.0, 10.0])
    fin.set_slope(np.array([0.5, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]))
    assert fin.slope.tolist() == [-0.5, 1.0, 0.0] and fin.unsold_rate.tolist() == [0, 0, 2.0]
    assert fin.days_to_edge() == 2.0
    fin.unsold = np.zeros(3)
    fin.advance(3.0)
    assert fin.stock.tolist() == [0.5, 10.0, 10.0] and fin.unsold.tolist() == [0, 0, 6.0]


def _installed_base(kernels: object, seed: int) -> tuple[InstalledBase, list[tuple]]:
    """An installed base of 12 durable slots of 40, stocks empty or on hand, and its events."""
    rng = np.random.default_rng(seed)
    events: list[tuple] = []
    host = SimpleNamespace(
        kernels=kernels,
        s=rng.choice([0.0, 1e-15, 2.0], size=40),
        empty_below=np.full(40, 1e-12),
        inflow=rng.choice([0.0, 0.5, 3.0], size=40),
        env=SimpleNamespace(now=10.0),
        horizon=100.0,
        at=lambda day, action: events.append((day, action.__defaults__)),
    )
    inst = object.__new__(InstalledBase)
    inst.host = host
    inst.slots = np.sort(rng.choice(40, size=12, replace=False)).astype(np.int64)
    inst.fac = rng.integers(0, 8, size=12)
    inst.q = rng.choice([0.5, 2.0], size=12)
    inst.lag = rng.choice([0.0, 30.0, 120.0], size=12)
    inst._lags = np.unique(inst.lag[inst.lag != 0])
    inst.need = rng.choice([0.0, 1.0, 4.0], size=12)
    inst._sent = np.where(rng.random(12) < 0.5, inst.need, rng.random(12))
    inst.joining, inst.retire = rng.random(12), rng.random(12)
    inst.base = rng.choice([0.0, 1e-3, 5.0], size=12)
    inst.pipeline, inst.retired, inst.install = rng.random(12), rng.random(12), rng.random(12)
    inst.ready = True
    return inst, events


def test_compiled_installed_bases_are_the_reference() -> None:
    """sim.installed's settle, advance and capacity limit, compiled, to the bit."""
    kernels = passes.compiled()
    fields = ("install", "joining", "_sent", "base", "pipeline", "retired")
    for seed in range(40):
        (ours, our_events), (ref, ref_events) = (_installed_base(k, seed) for k in (kernels, None))
        uses = [np.zeros(40), np.zeros(40)]
        for inst, use in zip((ours, ref), uses, strict=True):
            inst.settle(use)
            inst.advance(7.5)
        assert uses[0].tobytes() == uses[1].tobytes()
        for name in fields:
            assert getattr(ours, name).tobytes() == getattr(ref, name).tobytes(), name
        assert ours.capacity_limit(8).tobytes() == ref.capacity_limit(8).tobytes()
        assert len(our_events) == len(ref_events)
        for (day, (js, v)), (ref_day, (ref_js, ref_v)) in zip(our_events, ref_events, strict=True):
            assert day == ref_day and js.tolist() == ref_js.tolist()
            assert v.tobytes() == ref_v.tobytes()
    # By hand: an empty stock installs what arrives (0.5 of a need of 4); lag 0 joins now.
    inst, events = _installed_base(kernels, 0)
    inst.slots, inst.fac, inst.q = np.array([3]), np.array([0]), np.array([2.0])
    inst.need, inst._sent, inst.lag, inst.joining = (np.array([v]) for v in (4.0, 0.0, 0.0, 0.0))
    inst.host.s[3], inst.host.inflow[3] = 0.0, 0.5
    inst.settle(np.zeros(40))
    assert inst.install.tolist() == [0.5] and inst.joining.tolist() == [0.5] and not events
    inst.base, inst.retire, inst.pipeline, inst.retired = (np.array([v]) for v in (6, 1, 0, 0))
    inst.advance(2.0)  # K = 6 + (0.5 - 1) 2 = 5, I stays 0, 2 retired
    assert inst.base.tolist() == [5.0] and inst.pipeline.tolist() == [0.0]
    assert inst.retired.tolist() == [2.0] and inst.capacity_limit(2).tolist() == [2.5, np.inf]


def test_order_weights_since_a_change_are_the_weights_summed_again() -> None:
    """Re-summing only slots whose suppliers' availability changed gives every bit again.

    Slots without links (numpy's reduceat gives them the next slot's first element),
    slots with no weighted supplier (by capacity), a NaN availability and unchanged
    steps are among the cases.
    """
    kernels = passes.compiled()
    rng = np.random.default_rng(12)
    n, m = 15, 40
    counts = rng.choice([0, 1, 2, 5, 9, 20], size=m)
    counts[-1] = max(counts[-1], 1)  # the last slot has links (as the engine requires)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    nl = int(counts.sum())
    link_slot = np.repeat(np.arange(m), counts).astype(np.int64)
    link_sup = rng.integers(0, n, size=nl)
    link_weight = rng.choice([0.0, 0.5, 1.0, 3.0], size=nl)
    nameplate, link_days = rng.choice([0.0, 2.0, 7.0], size=n), rng.choice([3.0, 14.0], size=nl)
    links = (link_sup, nameplate, starts, link_slot, link_days)

    def summed(avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return kernels.order_weights(link_weight, avail, *links)

    avail = rng.choice([0.0, 0.3, 1.0], size=n)
    w, lead = summed(avail)
    for step in range(60):
        new = avail.copy()
        if step % 5:  # every fifth step nothing changes
            pick = rng.choice(n, size=rng.integers(1, 4), replace=False)
            new[pick] = rng.choice([0.0, 0.3, 0.7, 1.0], size=len(pick))
        if step == 31:
            new[3] = np.nan
        w, lead = kernels.order_weights_since(w, lead, avail, link_weight, new, *links)
        ref_w, ref_lead = summed(new)
        assert w.tobytes() == ref_w.tobytes() and lead.tobytes() == ref_lead.tobytes(), step
        avail = new
    # By hand: one slot, suppliers weighted 1 and 3, the second at half availability.
    one = (np.array([0, 1]), np.ones(2), np.array([0]), np.array([0, 0]), np.array([2.0, 10.0]))
    weights = np.array([1.0, 3.0])
    w0, lead0 = kernels.order_weights(weights, np.ones(2), *one)
    w1, lead1 = kernels.order_weights_since(
        w0, lead0, np.ones(2), weights, np.array([1, 0.5]), *one
    )
    assert w1.tolist() == [0.4, 0.6] and lead1.tolist() == [0.4 * 2.0 + 0.6 * 10.0]


def test_pass_layout_requires_every_link_supplier_among_its_levels_producers() -> None:
    """The compiled passes sum per supplier over a level's producers: Layout checks it."""
    net = network_of(synthetic_world(20, rng=np.random.default_rng(3)), dt.date(2025, 1, 1))
    for levels in (net.plan_levels, net.settle_levels):
        passes.Layout(levels)  # as the network builds them
        level = next(ci for ci in levels if len(ci.links))
        outsider = int(np.setdiff1d(np.arange(net.n), level.producers)[0])
        broken = replace(level, link_sup=np.full(len(level.link_sup), outsider))
        with pytest.raises(RuntimeError, match="supplier outside its producers"):
            passes.Layout([broken if ci is level else ci for ci in levels])


def test_compiled_daily_integral_is_the_reference() -> None:
    """sim.record.daily_integral, compiled, to the bit; and one case by hand."""
    kernels = passes.compiled()
    # Rate 2 on [0, 0.5), 4 on [0.5, 2), 1 from 2 on: days 1, 4, 1 over 3 days.
    times, rates = np.array([0.0, 0.5, 2.0]), np.array([[2.0], [4.0], [1.0]])
    assert daily_integral(times, rates, 3, kernels).tolist() == [[3.0], [4.0], [1.0]]
    rng = np.random.default_rng(12)
    cases = [(1, 3, 5), (40, 7, 10), (2400, 251, 1095), (10, 4, 400), (3, 0, 4)]
    for epochs, width, horizon in cases:
        times = rng.uniform(0, horizon, epochs)
        times[: epochs // 3] = np.round(times[: epochs // 3])  # epochs on whole days too
        times = np.unique(times)
        times[0] = 0.0
        rates = rng.uniform(0, 5, (len(times), width))
        rates[rng.uniform(size=rates.shape) < 0.3] = 0.0
        rates[rng.uniform(size=rates.shape) < 0.1] = -0.0  # signed zeros stay as numpy has them
        expected = daily_integral(times, rates, horizon)
        got = daily_integral(times, rates, horizon, kernels)
        assert got.shape == expected.shape == (horizon, width)
        assert got.tobytes() == expected.tobytes()


def test_compiled_group_sums_are_numpy_reduceat() -> None:
    """The trade record's group sums, compiled, are numpy.add.reduceat to the bit.

    numpy adds a group's first element to the pairwise sum of the rest (blocks of 8
    and 128), and the sum of negative zeros is -0.0: the cases below reach each branch.
    """
    kernels = passes.compiled()
    # By hand: numpy's order differs from a running sum: 1e16 + (1 + 1), not (1e16 + 1) + 1.
    x, one = np.array([1e16, 1.0, 1.0]), np.zeros(1, dtype=np.int64)
    assert kernels.group_sums(x, np.arange(3), one)[0] == 1e16 + 2.0
    rng = np.random.default_rng(7)
    for size in [*range(1, 40), 127, 128, 129, 130, 255, 256, 257, 1000, 5000, 3000]:
        x = rng.standard_normal(size) * 10.0 ** rng.integers(-5, 17, size)
        x[rng.uniform(size=size) < 0.1] = -0.0
        x[rng.uniform(size=size) < 0.1] = 0.0
        first = np.unique(np.r_[0, rng.integers(0, size, max(size // 9, 1))])
        order = rng.permutation(size)
        for starts in (np.zeros(1, dtype=np.int64), first):
            expected = np.add.reduceat(x[order], starts)
            assert kernels.group_sums(x, order, starts).tobytes() == expected.tobytes()
        # Segments by slot, as the sourcing weights sum them; a repeated start is an
        # empty segment, which numpy gives as the element at that start.
        starts = np.sort(rng.integers(0, size, max(size // 5, 1)))
        expected = np.add.reduceat(x, starts)
        assert kernels_sums._reduceat(x, starts).tobytes() == expected.tobytes()


def test_epoch_log_shares_trade_sums_of_the_same_shipments() -> None:
    """An epoch logged with the shipments array of the one before shares its sums.

    The engine logs the same ``x`` object after an arrival or a stock event (shipments
    unchanged) and a new array after every settle, and never changes a logged array in
    place; an equal but new array, or a replaced epoch at the same instant, is summed.
    """
    world = synthetic_world(20, rng=np.random.default_rng(3))
    net = network_of(world, dt.date(2025, 1, 1))
    groups = trade_groups(net)
    rng = np.random.default_rng(4)
    x1, x2 = rng.uniform(0.0, 5.0, net.l), rng.uniform(0.0, 5.0, net.l)
    rest = {name: np.zeros(1) for name in EpochLog.FIELDS}
    log = EpochLog(True, net, passes.compiled())
    log.append(0.0, x=x1, **rest)
    log.append(1.0, x=x1, **rest)  # an arrival: the same array
    log.append(2.0, x=x1.copy(), **rest)  # a settle: a new array, equal values
    log.append(3.0, x=x2, **rest)
    log.append(3.0, x=x1, **rest)  # replaces the epoch at 3.0
    trade = log.rows["trade"]
    assert log.t == [0.0, 1.0, 2.0, 3.0]
    assert trade[1] is trade[0]
    assert trade[2] is not trade[0]
    assert trade[2].tobytes() == trade[0].tobytes() == groups.sums(x1).tobytes()
    assert trade[3].tobytes() == groups.sums(x1).tobytes()
    assert groups.sums(x2).tobytes() != groups.sums(x1).tobytes()


def _epoch_arrays(net, rng, d: int, x: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """One epoch's arrays for :class:`EpochLog`, random (slopes of either sign)."""
    widths = {"p": net.n, "delivered": net.n, "installed": d, "installed_slope": d}
    arrays = {f: rng.uniform(0.0, 5.0, widths.get(f, net.m)) for f in EpochLog.FIELDS}
    arrays["slope"] = rng.uniform(-3.0, 3.0, net.m)
    arrays["installed_slope"] = rng.uniform(-1.0, 1.0, d)
    return {**arrays, "x": x}


@pytest.mark.parametrize("durable", [0, 3])
def test_online_epoch_log_is_the_kept_log_integrated(durable: int) -> None:
    """Kept as the run goes (compiled), the log gives the stacked reference's record.

    Epochs at whole and fractional days, two in one day, one replaced at its instant, a
    shipments array shared by two epochs, and a last epoch on the horizon's last day:
    every daily series and run total equal to the bit to the numpy reference's
    (:func:`daily_integral`, :func:`end_of_day`, :func:`epoch_totals` of the stack).
    """
    world = synthetic_world(20, rng=np.random.default_rng(3))
    net = network_of(world, dt.date(2025, 1, 1))
    rng = np.random.default_rng(5)
    horizon = 9
    online = EpochLog(True, net, passes.compiled(), horizon)
    kept = EpochLog(True, net)
    x = rng.uniform(0.0, 5.0, net.l)
    times = [0.0, 1.0, 2.25, 2.75, 2.75, 4.0, 6.5, 8.0]
    for i, t in enumerate(times):
        if i != 3:  # epoch 3 keeps the shipments of epoch 2
            x = rng.uniform(0.0, 5.0, net.l)
        arrays = _epoch_arrays(net, rng, durable, x)
        online.append(t, **arrays)
        kept.append(t, **arrays)
    assert online.t == kept.t == [0.0, 1.0, 2.25, 2.75, 4.0, 6.5, 8.0]
    assert not kept.online and online.online and not online.rows["p"]
    facts = SimpleNamespace(net=net, horizon_days=horizon, kernels=None)
    want_daily, want_totals = record._series(kept, facts)  # type: ignore[arg-type]
    got_daily, got_totals = online.finish()
    assert sorted(got_daily) == sorted(want_daily)
    for name, want in want_daily.items():
        assert got_daily[name].shape == want.shape
        assert got_daily[name].tobytes() == want.tobytes(), name
    for name, want in want_totals.items():
        assert got_totals[name].tobytes() == want.tobytes(), name


def test_online_epoch_log_by_hand() -> None:
    """Two epochs over 3 days, worked by hand.

    Output 2/day from day 0, 4/day from day 1.5: days 2, 1 + 2 = 3 and 4; total 2 x 1.5
    + 4 x 1.5 = 9. A stock of 10 falling 2/day, then 7 rising 1/day from day 1.5: at the
    ends of the days 8, 7.5 and 8.5.
    """
    world = synthetic_world(20, rng=np.random.default_rng(3))
    net = network_of(world, dt.date(2025, 1, 1))
    log = EpochLog(False, net, passes.compiled(), 3)
    base = {f: np.zeros(net.n if f in ("p", "delivered") else net.m) for f in EpochLog.FIELDS}
    base.update(installed=np.zeros(0), installed_slope=np.zeros(0))

    def epoch(rate: float, level: float, slope: float) -> dict[str, np.ndarray]:
        p = np.full(net.n, rate)
        p[1] = -0.0  # a total of negative zeros stays -0.0, as numpy's running sum has it
        return {**base, "p": p, "s": np.full(net.m, level), "slope": np.full(net.m, slope)}

    log.append(0.0, **epoch(2.0, 10.0, -2.0))
    log.append(1.5, **epoch(4.0, 7.0, 1.0))
    daily, totals = log.finish()
    assert daily["p"][:, 0].tolist() == [2.0, 3.0, 4.0]
    assert totals["p"][0] == 9.0 and np.signbit(totals["p"][1])
    assert daily["s"][:, 0].tolist() == [8.0, 7.5, 8.5]
    assert daily["installed"].shape == (3, 0)
    with pytest.raises(ValueError, match="no epoch in force"):
        log.finish()  # finished already
    with pytest.raises(ValueError, match="starts on day 1.0, not day 0"):
        EpochLog(False, net, passes.compiled(), 3).append(1.0, **epoch(2.0, 10.0, -2.0))


def test_online_epoch_log_from_engine_state_by_hand() -> None:
    """The engine's entry (:meth:`EpochLog.log`): supply is inflow less release.

    Inflow 5 and release 1.5 a day give supply 3.5 and release 1.5 on each of 2 days,
    kept or online; an epoch of other widths is refused, and the online log's state is
    left as it was (the first epoch still runs to the horizon).
    """
    world = synthetic_world(20, rng=np.random.default_rng(3))
    net = network_of(world, dt.date(2025, 1, 1))
    n, m = net.n, net.m
    state = {
        "p": np.full(n, 2.0), "delivered": np.zeros(n), "inflow": np.full(m, 5.0),
        "release": np.full(m, 1.5), "supply_unrestricted": np.full(m, 5.0),
        "use": np.ones(m), "s": np.full(m, 10.0), "slope": np.full(m, 4.0),
        "installed": np.zeros(0), "installed_slope": np.zeros(0), "x": np.zeros(net.l),
    }  # fmt: skip
    online = EpochLog(False, net, passes.compiled(), 2)
    kept = EpochLog(False, net)
    online.log(0.0, **state)
    kept.log(0.0, **state)
    with pytest.raises(ValueError, match="not as wide as the first epoch's"):
        online.log(1.0, **{**state, "p": np.ones(n + 1)})
    assert online.t == [0.0]
    daily, totals = online.finish()
    assert daily["supply"][:, 0].tolist() == [3.5, 3.5]
    assert daily["release"][:, 0].tolist() == [1.5, 1.5]
    assert daily["s"][:, 0].tolist() == [14.0, 18.0]
    assert totals["supply"][0] == 7.0
    facts = SimpleNamespace(net=net, horizon_days=2, kernels=None)
    want, _ = record._series(kept, facts)  # type: ignore[arg-type]
    for name in want:
        assert daily[name].tobytes() == want[name].tobytes(), name


def test_compiled_advance_is_the_engines_numpy_arithmetic() -> None:
    """Stocks and lanes moved on at once, as ``_Run.advance``'s numpy lines move them.

    By hand: stocks 1 and 0.5 with slopes -3 and 1 over 0.5 days give -0.5 (clipped to
    0, the -0.5 counted as rounding) and 1; a lane with 2 in transit, sending 3 and
    receiving 1, holds 3 after 0.5 days. On random arrays, the same bits as numpy.
    """
    kernels = passes.compiled()
    rounding, transit = np.zeros(2), np.array([2.0])
    s = kernels.advance_stocks(
        np.array([1.0, 0.5]), np.array([-3.0, 1.0]), 0.5, rounding, transit,
        np.array([3.0]), np.array([1.0]),
    )  # fmt: skip
    assert s.tolist() == [0.0, 1.0] and rounding.tolist() == [-0.5, 0.0]
    assert transit.tolist() == [3.0]
    rng = np.random.default_rng(2)
    stock, slope = (
        rng.uniform(0, 1, 500),
        rng.uniform(-1, 1, 500) * 10.0 ** rng.integers(-9, 3, 500),
    )
    x, arr, days = rng.uniform(0, 5, 300), rng.uniform(0, 5, 300), 0.3712
    got_rounding, got_transit = np.zeros(500), rng.uniform(0, 9, 300)
    want_rounding, want_transit = got_rounding.copy(), got_transit.copy()
    got = kernels.advance_stocks(stock, slope, days, got_rounding, got_transit, x, arr)
    want = stock + slope * days
    neg = want < 0
    want_rounding[neg] += want[neg]
    want[neg] = 0.0
    want_transit += (x - arr) * days
    assert neg.any() and got.tobytes() == want.tobytes()
    assert got_rounding.tobytes() == want_rounding.tobytes()
    assert got_transit.tobytes() == want_transit.tobytes()


def test_compiled_epoch_totals_are_the_running_sum() -> None:
    """The record's run totals, compiled, are numpy's cumulative sum down the epochs.

    By hand: 1e16 then two epochs of 1 add up one after another, to 1e16, where a
    pairwise or BLAS sum could give 1e16 + 2; a first term of -0.0 stays -0.0.
    """
    kernels = passes.compiled()
    d, rates = np.ones(3), np.array([[1e16, -0.0], [1.0, -0.0], [1.0, -0.0]])
    got = kernels.epoch_totals(d, rates)
    assert got.tolist() == [1e16, 0.0] and np.signbit(got[1])
    assert got.tobytes() == epoch_totals(d, rates).tobytes()
    rng = np.random.default_rng(5)
    for epochs, width in [(1, 1), (1, 9), (300, 1), (2700, 251), (50, 3)]:
        d = rng.uniform(0.0, 3.0, epochs)
        rates = rng.standard_normal((epochs, width)) * 10.0 ** rng.integers(-5, 12, (epochs, width))
        rates[rng.uniform(size=rates.shape) < 0.2] = -0.0
        expected = epoch_totals(d, rates)
        assert expected.tobytes() == np.cumsum(d[:, None] * rates, axis=0)[-1].tobytes()
        assert kernels.epoch_totals(d, rates).tobytes() == expected.tobytes()


def test_compiled_scope_sums_are_numpy_gathered_sums() -> None:
    """The metrics' scope sums are numpy's ``(values[:, idx] * w).sum(axis=1)`` to the bit.

    numpy gathers ``values[:, idx]`` column by column, so it adds a row's columns one
    after another from 0.0 (not pairwise, as it sums a C-ordered row): by hand, the three
    columns 1e16, 1, 1 give (1e16 + 1) + 1 = 1e16, and all negative zeros give 0.0.
    """
    kernels = passes.compiled()
    values = np.array([[1e16, 1.0, 1.0], [-0.0, -0.0, -0.0]])
    idx, one = np.arange(3), np.array([0, 3])
    expected = values[:, idx].sum(axis=1)
    got = kernels.group_column_sums(values, idx, one, np.zeros(0))[0]
    assert expected.tolist() == [1e16, 0.0] and got.tobytes() == expected.tobytes()
    rng = np.random.default_rng(11)
    for rows, cols in [(1, 1), (7, 3), (1095, 209), (40, 600)]:
        values = rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-5, 17, (rows, cols))
        values[rng.uniform(size=values.shape) < 0.1] = -0.0
        groups = [rng.permutation(cols)[: rng.integers(0, cols + 1)] for _ in range(25)]
        weights = [rng.lognormal(size=len(g)) for g in groups]
        members, starts = np.concatenate(groups), np.cumsum([0] + [len(g) for g in groups])
        got = kernels.group_column_sums(values, members, starts, np.zeros(0))
        got_w = kernels.group_column_sums(values, members, starts, np.concatenate(weights))
        for j, (g, w) in enumerate(zip(groups, weights, strict=True)):
            assert got[j].tobytes() == values[:, g].sum(axis=1).tobytes()
            assert got_w[j].tobytes() == (values[:, g] * w).sum(axis=1).tobytes()


@pytest.mark.parametrize("name", ["ree_controls_2025", "pax_silica_expansion"])
def test_compiled_dated_capacity_is_the_reference(name: str) -> None:
    """Availability and nameplate of every half day and every dated step, to the bit."""
    kernels = passes.compiled()
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    net = network_of(scenario.world(), scenario.start)
    steps = np.r_[net.available_day, net.available_day + net.ramp_up_days, net.schedule_day]
    days = np.r_[np.arange(-1.0, 3000.0, 0.5), steps[np.isfinite(steps)]]
    assert len(net.schedule_day) and (net.ramp_up_days > 0).any()  # both kinds are dated
    for day in days:
        availability, nameplate = net.capacity_at(day, kernels)
        assert availability.tobytes() == net.availability_at(day).tobytes(), day
        assert nameplate.tobytes() == net.nameplate_at(day).tobytes(), day


def test_unknown_kernel_choice_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(passes.KERNELS_ENV, "fortran")
    with pytest.raises(InputError, match="PAXSIM_KERNELS: 'fortran' is not a choice"):
        passes.compiled()


def test_cli_refuses_an_unknown_kernel_choice(tmp_path: Path) -> None:
    # One line naming the variable and the fix, exit code 2, no result folder.
    out = tmp_path / "results"
    scenario = ROOT / "scenarios" / "example_ban.yaml"
    result = CliRunner().invoke(
        app,
        ["run", str(scenario), "--replications", "2", "--out", str(out)],
        env={passes.KERNELS_ENV: "fortran"},
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "PAXSIM_KERNELS: 'fortran' is not a choice; fix: use compiled or numpy" in lines[0]
    assert not out.exists()


def test_without_numba_the_reference_runs_after_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passes, "_KERNELS", None)
    monkeypatch.delattr(sim, "kernels", raising=False)
    monkeypatch.setitem(sys.modules, "sim.kernels", None)  # importing it fails
    with pytest.warns(RuntimeWarning, match="running the numpy reference"):
        assert passes.compiled() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert passes.compiled() is None  # once: no second warning
