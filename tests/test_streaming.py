"""Streamed result folders and executors: same files for any executor, flat memory.

``paxsim run`` streams each replication into the result folder (:mod:`sim.sink`);
these tests pin that the folder is the one :func:`sim.results.write_results` writes
from an ensemble held in memory, byte for byte, and that worker processes and a Dask
cluster give the same files as one process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from sim.ensemble import replication_table, run_scenario
from sim.headline import headline_table
from sim.memory import streamed_peak_bytes
from sim.replication import _Reduced, in_order
from sim.results import read_results, write_results
from sim.scenario import load_scenario
from sim.sink import (
    HEADLINE_ROWS_METRICS,
    METRICS,
    ROW_GROUP_ROWS,
    SCHEMAS,
    SERIES,
    TIMELINE,
    TRADE,
    TableWriter,
    read_back,
    write_scenario,
)
from sim.summary import MetricsSummary, summarise

BAN = Path(__file__).parents[1] / "scenarios" / "example_ban.yaml"
TABLES = ("summary.csv", "replications.parquet", METRICS, SERIES, TRADE, TIMELINE)
REPS = 5


def digests(folder: Path) -> dict[str, str]:
    files = json.loads((folder / "run.json").read_text())["files"]
    return {name: files[name]["sha256"] for name in TABLES}


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("streamed")
    scenario = load_scenario(BAN)
    write_scenario(scenario, out / "ban", command="test", scenario_files=[BAN], replications=REPS)
    return out / "ban"


def test_a_streamed_folder_is_the_folder_of_the_ensemble_in_memory(
    streamed: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(BAN)
    ensemble = run_scenario(scenario, replications=REPS)
    folder = write_results(
        ensemble, tmp_path / "ban", command="test", scenario_files=[BAN], world=scenario.world()
    )
    assert digests(folder) == digests(streamed)
    back = read_results(streamed)
    for name in ("metrics", "series", "trade", "timeline"):
        assert_frame_equal(back[name], getattr(ensemble, name), check_dtype=True)  # type: ignore[arg-type]
    assert_frame_equal(back["summary"], ensemble.summary())  # type: ignore[arg-type]
    assert_frame_equal(back["replications"], ensemble.replication_table())  # type: ignore[arg-type]


def row_groups(path: Path) -> list[list[int]]:
    """The replications in each row group of a Parquet file."""
    file = pq.ParquetFile(path)
    return [
        sorted(set(file.read_row_group(i, columns=["replication"]).column(0).to_pylist()))
        for i in range(file.metadata.num_row_groups)
    ]


def test_row_groups_hold_whole_replications_of_at_least_the_row_group_size(
    streamed: Path,
) -> None:
    assert ROW_GROUP_ROWS == 16_384
    # 18,615 series rows per replication of the example world: one row group each.
    assert row_groups(streamed / SERIES) == [[0], [1], [2], [3], [4]]
    assert pq.ParquetFile(streamed / SERIES).metadata.num_rows == REPS * 18_615
    # Metrics (a few hundred rows per replication) gather into one row group here.
    assert row_groups(streamed / METRICS) == [[0, 1, 2, 3, 4]]


def test_two_workers_give_the_same_files(streamed: Path, tmp_path: Path) -> None:
    write_scenario(
        load_scenario(BAN),
        tmp_path / "ban",
        command="test",
        scenario_files=[BAN],
        replications=REPS,
        jobs=2,
    )
    assert digests(tmp_path / "ban") == digests(streamed)


def test_a_dask_cluster_gives_the_same_files(streamed: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster  # in the test extra

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        write_scenario(
            load_scenario(BAN),
            tmp_path / "ban",
            command="test",
            scenario_files=[BAN],
            replications=REPS,
            executor="dask",
            scheduler=cluster.scheduler_address,
        )
    assert digests(tmp_path / "ban") == digests(streamed)
    run = json.loads((tmp_path / "ban" / "run.json").read_text())
    assert run["replications"] == REPS


class _Done:
    def __init__(self, value: _Reduced) -> None:
        self.value = value

    def result(self) -> _Reduced:
        return self.value


def _reduced(r: int) -> _Reduced:
    empty = pd.DataFrame()
    return _Reduced(r, (r,), {}, np.nan, empty, empty, empty, empty)


def test_in_order_yields_in_order_and_keeps_at_most_the_window() -> None:
    # Replications finish in reverse order of submission within each batch.
    submitted: list[int] = []
    most_ahead = 0

    def submit(r: int) -> _Done:
        submitted.append(r)
        return _Done(_reduced(r))

    def first_done(pending: set[Any]) -> tuple[set[Any], set[Any]]:
        nonlocal most_ahead
        latest = max(pending, key=lambda f: f.value.replication)
        most_ahead = max(most_ahead, len(pending))
        return {latest}, pending - {latest}

    seen = []
    for item in in_order(submit, 10, 3, first_done, None):
        seen.append(item.replication)
        # Once an item is handed out, fewer than the window are submitted and not yet seen.
        assert len(submitted) - len(seen) <= 3 - 1
    assert seen == list(range(10))
    assert submitted == list(range(10))
    assert most_ahead == 3


def _metrics(values: dict[str, float], censored: tuple[str, ...] = ()) -> pd.DataFrame:
    """One replication's metrics: world/mine/ore rows of the given metrics, in tonnes."""
    return pd.DataFrame(
        {
            "scope_kind": "world",
            "scope": "world",
            "stage": "mine",
            "commodity": "ore",
            "metric": list(values),
            "value": list(values.values()),
            "unit": "t",
            "censored": [m in censored for m in values],
        }
    )


def test_the_summary_of_streamed_metrics_is_the_summary_in_memory() -> None:
    # Replication 1 lacks metric b; replication 2 has b censored.
    reps = [
        _metrics({"a": 1.0, "b": 10.0}),
        _metrics({"a": 2.0}),
        _metrics({"a": 4.0, "b": 30.0}, ("b",)),
    ]
    acc = MetricsSummary()
    for table in reps:
        acc.add(table)
    streamed = acc.table("s")
    assert_frame_equal(streamed, summarise(pd.concat(reps, ignore_index=True), "s"))
    a = streamed.set_index("metric").loc["a"]
    assert (a["n"], a["mean"], a["p50"], a["reached_share"]) == (3, 7 / 3, 2.0, 1.0)
    assert a["p05"] == pytest.approx(1.1)  # 5 % of the way over 2 gaps: 1 + 0.1 x (2 - 1)
    assert a["p95"] == pytest.approx(3.8)  # 2 + 0.9 x (4 - 2)
    b = streamed.set_index("metric").loc["b"]
    assert (b["n"], b["mean"], b["p50"], b["reached_share"]) == (2, 10.0, 10.0, 0.5)


def test_the_summary_read_back_counts_replications_without_metric_rows(tmp_path: Path) -> None:
    # Replications 1 and 3 (the last) have no metric rows; 0 and 2 have world and
    # country rows of a headline metric and of another; the row groups split between
    # replications 0 and 2. Only the world row of the headline metric is kept.
    def rows(r: int, value: float) -> pd.DataFrame:
        both = {"output_loss_share": value, "a": value}
        frame = pd.concat(
            [_metrics(both), _metrics(both).assign(scope_kind="country")],
            ignore_index=True,
        )
        return frame.assign(replication=r, seed=7)[list(SCHEMAS[METRICS].names)]

    path = tmp_path / METRICS
    writer = TableWriter(path, SCHEMAS[METRICS])
    writer.append(rows(0, 1.0))
    writer._flush()
    writer.append(rows(2, 3.0))
    writer.close()
    assert pq.ParquetFile(path).num_row_groups == 2
    summary, metrics = read_back(path, "s", 4)
    expected = MetricsSummary()
    for table in (rows(0, 1.0), rows(0, 1.0).iloc[:0], rows(2, 3.0), rows(0, 1.0).iloc[:0]):
        expected.add(table)
    assert_frame_equal(summary, expected.table("s"))
    assert summary["n"].tolist() == [2, 2, 2, 2]
    assert metrics["replication"].tolist() == [0, 2]
    assert metrics["value"].tolist() == [1.0, 3.0]
    assert list(metrics["metric"].cat.categories) == ["output_loss_share"]


def test_the_kept_metric_rows_give_the_headline_of_every_row() -> None:
    # read_back keeps the world and bloc rows of HEADLINE_ROWS_METRICS only: the headline
    # table (with its substitution entries, whose output is found from the rows before)
    # and the replications table must be those of the full metrics table.
    ensemble = run_scenario(load_scenario(BAN), replications=3)
    full = ensemble.metrics
    kept = full[
        full["scope_kind"].isin(["world", "bloc"]) & full["metric"].isin(HEADLINE_ROWS_METRICS)
    ].reset_index(drop=True)
    assert 0 < len(kept) < len(full)
    table = headline_table(kept, ensemble.parameters, start=ensemble.start)
    assert_frame_equal(table, headline_table(full, ensemble.parameters, start=ensemble.start))
    # Pinned from this run: two rows have substitution entries, so those are compared too.
    assert (table["substitution"] != "").sum() == 2
    assert_frame_equal(
        replication_table(ensemble.parameters, kept),
        replication_table(ensemble.parameters, full),
    )


def test_streamed_memory_does_not_grow_with_the_tables_of_more_replications() -> None:
    scenario = load_scenario(BAN)
    world, start, horizon = scenario.world(), scenario.start, scenario.horizon_days

    def peak(reps: int) -> int:
        return streamed_peak_bytes(world, start=start, horizon_days=horizon, replications=reps)

    # Only what the end of the run reads back from metrics.parquet grows: 29 bytes per
    # metric row and replication for the summary, over the estimate's 372 metric rows
    # of the example world (an upper bound on the 321 it computes), and 128 per world
    # and bloc metric row for the headline, over its 135 (the world computes 116).
    assert peak(1000) - peak(100) == 900 * (29 * 372 + 128 * 135)
    assert peak(1000) < 50_000_000
