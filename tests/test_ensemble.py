"""Ensembles: seeding, determinism for any number of jobs, and the summary statistics."""

from __future__ import annotations

import functools
import gc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim
from sim.ensemble import (
    PEAK_FACTOR,
    SCOPES,
    SERIES_COLUMNS,
    SUMMARY_COLUMNS,
    TIMELINE_COLUMNS,
    TRADE_COLUMNS,
    WORKER_PROCESS_BYTES,
    Ensemble,
    chain_order,
    ensemble_bytes,
    peak_memory_bytes,
    replay,
    replication_seed,
    run_ensemble,
    run_scenario,
    summarise,
)
from sim.events import is_disruption
from sim.examples import example_ban
from sim.scenario import load_scenario

START = "2025-01-01"
HORIZON = 365
BAN_START = "2025-02-01"  # day 31
LOW, HIGH = 30, 330  # ban length in days, uniform


def ban_sample(rng: np.random.Generator) -> tuple[list[sim.events.Event], dict[str, float]]:
    """The example ban, with its length drawn uniformly (module level: picklable)."""
    days = float(rng.uniform(LOW, HIGH))
    return list(example_ban(start=BAN_START, days=round(days))), {"ban_days": days}


def bad_sample(
    rng: np.random.Generator, issuer: str
) -> tuple[list[sim.events.Event], dict[str, float]]:
    """The ban, issued by ``issuer`` when it is longer than the median (an InputError)."""
    events, params = ban_sample(rng)
    if params["ban_days"] > (LOW + HIGH) / 2:
        events = [sim.events.with_changes(events[0], {"issuer": issuer})]
    return events, params


@pytest.fixture(scope="module")
def world() -> sim.World:
    return sim.example_world()


def ensemble(world: sim.World, *, seed: int = 7, replications: int = 6, jobs: int = 1) -> Ensemble:
    return run_ensemble(
        "ban",
        world,
        ban_sample,
        start=START,
        horizon_days=HORIZON,
        seed=seed,
        replications=replications,
        jobs=jobs,
    )


@pytest.fixture(scope="module")
def one_job(world: sim.World) -> Ensemble:
    return ensemble(world)


def assert_same(a: Ensemble, b: Ensemble) -> None:
    assert_frame_equal(a.parameters, b.parameters)
    assert_frame_equal(a.metrics, b.metrics)
    assert_frame_equal(a.series, b.series)
    assert_frame_equal(a.summary(), b.summary())
    assert_frame_equal(a.replication_table(), b.replication_table())


def test_two_jobs_give_the_same_results(world: sim.World, one_job: Ensemble) -> None:
    two_jobs = ensemble(world, jobs=2)
    assert two_jobs.jobs == 2
    assert_same(one_job, two_jobs)


def test_same_seed_same_results_other_seed_other_results(
    world: sim.World, one_job: Ensemble
) -> None:
    assert_same(one_job, ensemble(world))
    other = ensemble(world, seed=8)
    assert not np.array_equal(
        one_job.parameters["ban_days"].to_numpy(), other.parameters["ban_days"].to_numpy()
    )
    assert not one_job.summary()["mean"].equals(other.summary()["mean"])


def test_replication_depends_only_on_seed_and_index(world: sim.World, one_job: Ensemble) -> None:
    # The first three replications of a 3-replication ensemble are those of the 6.
    short = ensemble(world, replications=3)
    assert_frame_equal(short.parameters, one_job.parameters.iloc[:3])
    first = one_job.metrics[one_job.metrics["replication"] < 3].reset_index(drop=True)
    assert_frame_equal(short.metrics, first)


def test_seed_scheme(one_job: Ensemble) -> None:
    root = np.random.SeedSequence(7).spawn(6)
    for r, seq in enumerate(root):
        same = replication_seed(7, r)
        assert same.spawn_key == seq.spawn_key == (r,)
        assert np.array_equal(same.generate_state(4), seq.generate_state(4))
        # Parameters come from the first child of the replication's sequence.
        sample_seq = np.random.SeedSequence(7, spawn_key=(r, 0))
        expected = np.random.default_rng(sample_seq).uniform(LOW, HIGH)
        assert one_job.parameters.loc[r, "ban_days"] == expected
    assert list(one_job.parameters["spawn_key"]) == [str(r) for r in range(6)]
    assert (one_job.parameters["seed"] == 7).all()


def test_replay_matches_the_ensemble(world: sim.World, one_job: Ensemble) -> None:
    r = 4
    events, params, actual, baseline = replay(
        world, ban_sample, start=START, horizon_days=HORIZON, seed=7, replication=r
    )
    assert params["ban_days"] == one_job.parameters.loc[r, "ban_days"]
    assert len(events) == 1 and all(is_disruption(e) for e in events)
    # Independently: the paired runs from the replication's second child sequence.
    a, b = sim.simulate_pair(
        world,
        events,
        start=START,
        horizon_days=HORIZON,
        seed=np.random.SeedSequence(7, spawn_key=(r, 1)),
    )
    assert np.array_equal(a.output, actual.output) and np.array_equal(b.output, baseline.output)
    metrics = sim.compute_metrics(a, b, by=SCOPES)
    own = one_job.metrics[one_job.metrics["replication"] == r]
    assert_frame_equal(own.drop(columns=["replication", "seed"]).reset_index(drop=True), metrics)


def test_tables_shape(world: sim.World, one_job: Ensemble) -> None:
    assert list(one_job.series.columns) == SERIES_COLUMNS
    assert list(one_job.parameters.columns) == [
        "replication",
        "seed",
        "spawn_key",
        "t0_day",
        "ban_days",
    ]
    assert set(one_job.metrics["scope_kind"]) == set(SCOPES)
    series = one_job.series
    # 7 output groups (allied: 5 stages, china: mine and refiner) and 5 stock and 5 use
    # groups (allied: 4 inputs, china: concentrate at its refiner), every day, every
    # replication.
    groups = series.groupby(["series", "bloc", "stage", "commodity"], observed=True).size()
    assert len(groups) == 17 and (groups == 6 * HORIZON).all()
    assert [groups.loc[kind].shape[0] for kind in ("output", "stock", "use")] == [7, 5, 5]
    # Output of a bloc's stage is the sum over its facilities, in both runs.
    _, _, actual, baseline = replay(
        world, ban_sample, start=START, horizon_days=HORIZON, seed=7, replication=2
    )
    fac = actual.facilities
    allied_dc = ((fac["bloc"] == "allied") & (fac["type"] == "data_center")).to_numpy()
    rows = series[
        (series["replication"] == 2)
        & (series["series"] == "output")
        & (series["bloc"] == "allied")
        & (series["stage"] == "data_center")
    ]
    assert np.array_equal(rows["day"].to_numpy(), np.arange(HORIZON))
    # The series hold the bloc's sums rounded to single precision.
    assert rows["actual"].dtype == np.float32
    assert np.array_equal(
        rows["actual"], actual.output[:, allied_dc].sum(axis=1).astype(np.float32)
    )
    assert np.array_equal(
        rows["baseline"], baseline.output[:, allied_dc].sum(axis=1).astype(np.float32)
    )
    assert set(rows["unit"]) == {"MW_day"}
    assert rows["date"].iloc[0] == pd.Timestamp(START)
    # Stock of NdPr oxide in the allied bloc (held by the Japanese magnet fab).
    stock = series[
        (series["replication"] == 2)
        & (series["series"] == "stock")
        & (series["bloc"] == "allied")
        & (series["commodity"] == "ndpr_oxide")
    ]
    slot = (actual.slots["input"] == "ndpr_oxide") & (actual.slots["facility"] == "jp_magnet")
    held = actual.stock[:, slot.to_numpy()].sum(axis=1)
    assert np.array_equal(stock["actual"], held.astype(np.float32))
    assert set(stock["stage"]) == {""}
    use = series[
        (series["replication"] == 2)
        & (series["series"] == "use")
        & (series["bloc"] == "allied")
        & (series["commodity"] == "ndpr_oxide")
    ]
    used = baseline.consumption[:, slot.to_numpy()].sum(axis=1)
    assert np.array_equal(use["baseline"], used.astype(np.float32))
    assert set(use["unit"]) == {"t"}


def test_chain_order_runs_raw_to_final(world: sim.World, one_job: Ensemble) -> None:
    stages = ("mine", "refiner", "magnet_fab", "chip_fab", "data_center")
    commodities = ("ree_concentrate", "ndpr_oxide", "ndfeb_magnet", "ai_chip", "compute")
    assert chain_order(world, START) == (stages, commodities)
    assert (one_job.stages, one_job.commodities) == (stages, commodities)
    # On the reference world the chains (rare earths to magnets and end uses, dies and
    # HBM to packaging and data centres, gallium and germanium to their users)
    # interleave by depth, longer chains first at equal depth. Pinned on the v2 world.
    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "baseline.yaml")
    ref_stages, _ = chain_order(scenario.world(), scenario.start)
    assert ref_stages == (
        "mine",
        "separator",
        "memory_fab",
        "logic_fab",
        "metal_refiner",
        "recycler",
        "heavy_separator",
        "packaging",
        "compound_semi",
        "ga_other",
        "ge_other",
        "ir_optics",
        "fibre_optics",
        "metal_maker",
        "data_center",
        "magnet_fab",
        "defence",
        "electronics",
        "ev_motors",
        "industrial_motors",
        "wind_turbines",
    )


def test_summary_on_a_hand_checked_table() -> None:
    values = [1.0, 2.0, 3.0, 4.0, np.nan]
    metrics = pd.DataFrame(
        {
            "scope_kind": "world",
            "scope": "world",
            "stage": "data_center",
            "commodity": "compute",
            "metric": "time_to_recover_days",
            "value": values,
            "unit": "days",
            "censored": [False, False, False, False, True],
        }
    )
    row = summarise(metrics, "s").iloc[0]
    assert row["n"] == 5
    assert row["reached_share"] == pytest.approx(0.8)
    assert row["mean"] == pytest.approx(2.5)
    assert row["p05"] == pytest.approx(1.15)  # 1 + 0.05 * 3
    assert row["p50"] == pytest.approx(2.5)
    assert row["p95"] == pytest.approx(3.85)
    none = summarise(metrics.assign(censored=True, value=np.nan), "s").iloc[0]
    assert none["reached_share"] == 0.0 and np.isnan(none["mean"]) and np.isnan(none["p50"])


def test_summary_against_independent_replications(world: sim.World, one_job: Ensemble) -> None:
    summary = one_job.summary()
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert (summary["scenario"] == "ban").all()
    # Recompute the replications one by one, from the documented seeds.
    per_rep = []
    for r in range(6):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(r, 0)))
        events, _ = ban_sample(rng)
        a, b = sim.simulate_pair(
            world,
            events,
            start=START,
            horizon_days=HORIZON,
            seed=np.random.SeedSequence(7, spawn_key=(r, 1)),
        )
        per_rep.append(sim.compute_metrics(a, b, by=("world", "facility")))
    for scope, stage, metric in [
        ("world", "data_center", "time_to_recover_days"),
        ("world", "magnet_fab", "time_to_recover_days"),
        ("jp_magnet", "magnet_fab", "output_loss_share"),
        ("us_dc", "data_center", "time_to_survive_days"),
    ]:
        found = [
            m[(m["scope"] == scope) & (m["stage"] == stage) & (m["metric"] == metric)]
            for m in per_rep
        ]
        found = [f for f in found if len(f)]
        values = np.array([f["value"].iloc[0] for f in found])
        censored = np.array([bool(f["censored"].iloc[0]) for f in found])
        row = summary[
            (summary["scope"] == scope)
            & (summary["stage"] == stage)
            & (summary["metric"] == metric)
        ]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["n"] == len(found)
        assert row["reached_share"] == (~censored).sum() / len(found)
        ok = values[~censored]
        if len(ok):
            assert row["mean"] == pytest.approx(ok.mean())
            assert row["p05"] == pytest.approx(np.quantile(ok, 0.05))
            assert row["p50"] == pytest.approx(np.quantile(ok, 0.5))
            assert row["p95"] == pytest.approx(np.quantile(ok, 0.95))
            assert row["p05"] <= row["p50"] <= row["p95"]
        else:
            assert np.isnan(row["mean"])
    # With bans of 30 to 330 days from day 31 in a 365-day run, some recover, some not.
    ttr = summary[(summary["scope"] == "world") & (summary["metric"] == "time_to_recover_days")]
    assert (ttr["reached_share"] < 1).any()


def test_summary_order_is_sorted_and_stable(one_job: Ensemble) -> None:
    summary = one_job.summary()
    kinds = summary["scope_kind"].map({k: i for i, k in enumerate(SCOPES)})
    assert kinds.is_monotonic_increasing
    keys = list(
        zip(
            kinds,
            summary["scope"],
            summary["stage"],
            summary["commodity"],
            summary["metric"],
            strict=True,
        )
    )
    assert keys == sorted(keys)
    assert not summary.duplicated(["scope_kind", "scope", "stage", "commodity", "metric"]).any()


def test_replication_table(one_job: Ensemble) -> None:
    table = one_job.replication_table()
    assert len(table) == 6
    assert list(table.columns[:5]) == [
        "replication",
        "seed",
        "spawn_key",
        "t0_day",
        "param/ban_days",
    ]
    # The ban starts on day 31 in every replication: the metrics count from there.
    assert (table["t0_day"] == 31.0).all()
    assert "world/data_center/compute/output_loss_share" in table.columns
    assert "bloc/allied/data_center/compute/time_to_recover_days" in table.columns
    m = one_job.metrics
    own = m[
        (m["scope_kind"] == "bloc")
        & (m["scope"] == "allied")
        & (m["stage"] == "data_center")
        & (m["metric"] == "output_loss_share")
    ]
    assert np.array_equal(
        table["bloc/allied/data_center/compute/output_loss_share"].to_numpy(),
        own["value"].to_numpy(),
    )


def test_timeline_holds_each_replications_drawn_dates(one_job: Ensemble) -> None:
    timeline = one_job.timeline
    assert list(timeline.columns) == TIMELINE_COLUMNS
    # Each replication: the ban's start (day 31, 2025-02-01) and its drawn end.
    assert len(timeline) == 2 * 6
    for r, rows in timeline.groupby("replication"):
        assert list(rows["marker"]) == ["start", "end"]
        assert set(rows["event"]) == {"ndpr_ban"} and set(rows["kind"]) == {"export_control"}
        days = one_job.parameters.loc[one_job.parameters["replication"] == r, "ban_days"]
        assert rows["day"].tolist() == [31.0, 31.0 + round(float(days.iloc[0]))]
        assert rows["date"].iloc[0] == pd.Timestamp(BAN_START)
        assert rows["date"].iloc[1] == pd.Timestamp(BAN_START) + pd.Timedelta(
            days=round(float(days.iloc[0]))
        )


def test_trade_is_the_monthly_sum_of_daily_exports(world: sim.World, one_job: Ensemble) -> None:
    trade = one_job.trade
    assert list(trade.columns) == TRADE_COLUMNS
    # 12 months of 2025 for each cross-border pair that trades, every replication.
    sizes = trade.groupby("replication").size()
    assert len(sizes) == 6 and (sizes == sizes.iloc[0]).all() and sizes.iloc[0] % 12 == 0
    assert sorted(trade["month"].unique()) == list(pd.date_range(START, periods=12, freq="MS"))
    assert trade.groupby("month")["days"].first().sum() == HORIZON
    assert not (trade["origin"].astype(str) == trade["destination"].astype(str)).any()
    _, _, actual, baseline = replay(
        world,
        ban_sample,
        start=START,
        horizon_days=HORIZON,
        seed=7,
        replication=2,
        settings=sim.Settings(record_trade=True),
    )
    daily = actual.trade
    assert daily is not None
    exports = daily[(daily["origin"] == "CHN") & (daily["destination"] == "JPN")]
    months = pd.Timestamp(START) + pd.to_timedelta(exports["day"], unit="D")
    expected = exports.groupby([months.dt.to_period("M").dt.to_timestamp(), "commodity"])[
        "quantity"
    ].sum()
    rows = trade[
        (trade["replication"] == 2) & (trade["origin"] == "CHN") & (trade["destination"] == "JPN")
    ]
    got = rows.set_index(["month", "commodity"])["actual"]
    got.index = got.index.set_levels(got.index.levels[1].astype(str), level=1)
    assert np.allclose(got.sort_index().to_numpy(), expected.sort_index().to_numpy(), rtol=1e-12)
    assert set(rows["origin_bloc"]) == {"china"} and set(rows["destination_bloc"]) == {"allied"}
    # During the ban (February on, for at least 30 days) China ships nothing to Japan's
    # allied buyers in February, while the baseline keeps shipping.
    feb = rows[rows["month"] == pd.Timestamp("2025-02-01")]
    assert (feb["actual"] == 0).all() and (feb["baseline"] > 0).all()


def test_an_ensemble_keeps_long_lived_objects_out_of_full_collections_while_it_runs(
    world: sim.World, one_job: Ensemble
) -> None:
    """After its first replication an ensemble freezes the objects alive (gc), and
    unfreezes them when it is done; a frozen heap it did not make it leaves alone.

    Freezing changes when objects are freed, never a result.
    """
    assert gc.get_freeze_count() == 0
    frozen: list[int] = []
    run_ensemble(
        "p", world, ban_sample, start=START, horizon_days=60, seed=1, replications=3,
        progress=lambda done, total: frozen.append(gc.get_freeze_count()),
    )  # fmt: skip
    assert len(frozen) == 3 and min(frozen) > 0  # frozen from the first replication on
    assert gc.get_freeze_count() == 0  # and unfrozen when the ensemble is done
    gc.freeze()  # someone else's frozen heap
    try:
        before = gc.get_freeze_count()
        assert_same(one_job, ensemble(world))
        # Neither unfrozen nor frozen again (that would add what the ensemble made);
        # frozen objects that were freed meanwhile leave the count.
        assert 0 < gc.get_freeze_count() <= before
    finally:
        gc.unfreeze()


def test_progress_is_reported(world: sim.World) -> None:
    calls: list[tuple[int, int]] = []
    run_ensemble(
        "p",
        world,
        ban_sample,
        start=START,
        horizon_days=60,
        seed=1,
        replications=3,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_bad_arguments(world: sim.World) -> None:
    kwargs = dict(start=START, horizon_days=60, seed=1, replications=2)
    with pytest.raises(sim.InputError, match="replications"):
        run_ensemble("x", world, ban_sample, **{**kwargs, "replications": 0})  # type: ignore[arg-type]
    with pytest.raises(sim.InputError, match="jobs"):
        run_ensemble("x", world, ban_sample, jobs=0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(sim.InputError, match="seed"):
        run_ensemble("x", world, ban_sample, **{**kwargs, "seed": -1})  # type: ignore[arg-type]
    with pytest.raises(sim.InputError, match="replication 0: sample: seed: is a reserved"):
        run_ensemble("x", world, lambda rng: ([], {"seed": 1.0}), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("jobs", [1, 2])
def test_invalid_sampled_scenario_names_the_replication(world: sim.World, jobs: int) -> None:
    with pytest.raises(sim.InputError, match=r"replication \d+: events\[0\]"):
        run_ensemble(
            "bad",
            world,
            functools.partial(bad_sample, issuer="XXX"),
            start=START,
            horizon_days=60,
            seed=7,
            replications=6,
            jobs=jobs,
        )


def measured_bytes(ensemble: Ensemble) -> int:
    """What the ensemble's tables hold: the nbytes of every column."""
    frames = (ensemble.parameters, ensemble.metrics, ensemble.series, ensemble.trade)
    return int(sum(frame[c].nbytes for frame in frames for c in frame.columns))


def test_memory_estimate_against_a_real_ensemble(world: sim.World) -> None:
    # 20 replications of the example world over three years (the estimate's reference).
    measured_ensemble = ensemble(world, replications=20)
    measured = measured_bytes(measured_ensemble)
    estimate = ensemble_bytes(world, start=START, horizon_days=HORIZON, replications=20)
    # Series exactly (17 groups x 365 days x 45 bytes), metrics an upper bound: the
    # estimate is at most 5 % above the measured size, never below.
    assert len(measured_ensemble.series) == 20 * 17 * HORIZON
    assert measured <= estimate <= 1.05 * measured, (estimate, measured)
    assert ensemble_bytes(world, start=START, horizon_days=HORIZON, replications=40) == 2 * estimate


def test_memory_estimate_on_the_reference_world() -> None:
    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "ree_controls_2025.yaml")
    one = run_scenario(scenario, replications=1)
    measured = measured_bytes(one)
    estimate = ensemble_bytes(
        scenario.world(), start=scenario.start, horizon_days=scenario.horizon_days, replications=1
    )
    # About 10 MB per paired replication over three years (8.9 MB of it the series).
    assert 9e6 < measured <= estimate <= 1.05 * measured, (estimate, measured)


def test_peak_memory_adds_the_writing_and_the_workers(world: sim.World) -> None:
    kw = {"start": START, "horizon_days": HORIZON, "replications": 20}
    tables = ensemble_bytes(world, **kw)
    one = peak_memory_bytes(world, **kw)
    assert PEAK_FACTOR * tables < one < PEAK_FACTOR * tables + 10e6
    two = peak_memory_bytes(world, **kw, jobs=2)
    assert two >= one + 2 * WORKER_PROCESS_BYTES - 10e6
    # No more workers than replications.
    many = peak_memory_bytes(world, **kw, jobs=1000)
    assert many == peak_memory_bytes(world, **kw, jobs=20)
