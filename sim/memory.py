"""Memory estimates of an ensemble, before running it.

:func:`ensemble_bytes` estimates what the tables of an :class:`~sim.ensemble.Ensemble`
hold from the world's size, the horizon and the number of replications, and
:func:`peak_memory_bytes` the peak of a run that writes them to a result folder; the
command line refuses runs whose peak would not fit in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.metrics import SCOPE_COLUMNS
from sim.network import network_of
from sim.reduce import _as_date
from sim.world import World

#: Bytes per row of :attr:`Ensemble.series`: four 8-byte columns (``replication, seed,
#: day, date``), two 4-byte ones (``actual, baseline``) and five categorical label
#: columns of 1-byte codes.
SERIES_ROW_BYTES = 4 * 8 + 2 * 4 + 5

#: Bytes per row of :attr:`Ensemble.trade`: six 8-byte columns (``replication, seed,
#: month, days, actual, baseline``) and six categorical label columns of 1-byte codes.
TRADE_ROW_BYTES = 6 * 8 + 6

#: Bytes per row of :attr:`Ensemble.metrics`: 25 bytes of numbers and flags and six text
#: columns (measured: 124 to 128 bytes per row with pandas' string dtype).
METRICS_ROW_BYTES = 128

#: Peak memory of a run that writes its result folder, as a multiple of
#: :func:`ensemble_bytes`: the per-replication tables, their concatenation, and the Arrow
#: copies made while writing Parquet (measured: 2.9 on the example world).
PEAK_FACTOR = 3.0

#: Memory of one worker process beyond the run records it holds: the interpreter, numpy,
#: pandas, the engine and the world (measured: 175 to 182 MB resident on the reference world).
WORKER_PROCESS_BYTES = 200_000_000

#: Bytes per metric row and replication that a streamed run holds at its end, while the
#: summary is computed from ``metrics.parquet`` read back (:func:`sim.sink.read_back`,
#: :class:`sim.summary.MetricsSummary`): each value and censored flag (9), the grids
#: the statistics are computed on (10: value, presence, reached) and the copy and NaN
#: mask :func:`numpy.nanmean` makes of the value grid (10). Nothing is held per
#: replication while the replications run but their sampled parameters.
SUMMARY_CELL_BYTES = 29

#: Bytes per world or bloc metric row and replication that a streamed run holds at its
#: end for the headline table and ``replications.parquet``: the rows read back as a frame
#: with categorical labels (31: replication, seed, value, censored and six 1-byte codes)
#: and the temporaries of the headline table made from them (measured: 96 bytes a row
#: at 1,000 replications of the example world; the replications table's are 61).
HEADLINE_ROW_BYTES = 128

#: Output metrics per (scope, stage, commodity) group, at most (:mod:`sim.metrics`).
_OUTPUT_METRICS = 9
#: Substitution metrics per restricted input of a group.
_SUBSTITUTION_METRICS = 3


@dataclass(frozen=True)
class _Shape:
    """Counts of a world that set the size of an ensemble's tables."""

    facilities: int
    slots: int
    series_groups: int
    metric_rows: int
    headline_rows: int
    trade_groups: int


def _shape(world: World, start: dt.date | str) -> _Shape:
    net = network_of(world, _as_date(start))
    fac = world.facilities.reset_index(drop=True)
    fac = fac.assign(bloc=fac["country"].map(world.bloc_of()))
    slot_bloc = fac["bloc"].to_numpy()[net.slot_fac]
    slot_input = np.asarray(net.commodities, dtype=object)[net.slot_com]
    output_groups = len(fac[["bloc", "type", "commodity"]].drop_duplicates())
    stock_groups = len(pd.DataFrame({"bloc": slot_bloc, "input": slot_input}).drop_duplicates())
    slots = pd.DataFrame({"index": net.slot_fac, "input": slot_input})
    inputs_of = slots.groupby("index")["input"].agg(set).to_dict()
    metric_rows = headline_rows = 0
    for kind, column in SCOPE_COLUMNS.items():
        scope = pd.Series(kind, index=fac.index) if column is None else fac[column]
        keys = pd.DataFrame({"scope": scope, "stage": fac["type"], "commodity": fac["commodity"]})
        for idx in keys.groupby(["scope", "stage", "commodity"], sort=False).indices.values():
            inputs = set().union(*(inputs_of.get(int(i), set()) for i in idx))
            rows = _OUTPUT_METRICS + _SUBSTITUTION_METRICS * len(inputs)
            metric_rows += rows
            headline_rows += rows if kind in ("world", "bloc") else 0
    sup_country = net.fac_country[net.link_sup]
    buy_country = net.fac_country[net.link_buyer]
    cross = sup_country != buy_country
    trade_groups = len(
        set(
            zip(
                sup_country[cross].tolist(),
                buy_country[cross].tolist(),
                net.link_com[cross].tolist(),
                strict=True,
            )
        )
    )
    # Input slots give two series each per (bloc, input): stock and use.
    return _Shape(
        len(fac),
        int(net.m),
        output_groups + 2 * stock_groups,
        metric_rows,
        headline_rows,
        trade_groups,
    )


def ensemble_bytes(
    world: World, *, start: dt.date | str, horizon_days: int, replications: int
) -> int:
    """Estimate the bytes the tables of an ensemble will hold, before running it.

    The estimate follows the layout of :attr:`Ensemble.series` and
    :attr:`Ensemble.metrics` and :attr:`Ensemble.trade` (:attr:`Ensemble.parameters`
    and :attr:`Ensemble.timeline` are negligible). Per
    replication, ``series`` has one row per day and group, the groups being the
    distinct ``(bloc, stage, commodity)`` of the facilities (output) and the distinct
    ``(bloc, input)`` of their input slots, substitutes included (stock and use), at
    :data:`SERIES_ROW_BYTES` each; ``metrics`` has at most 9 rows per ``(scope, stage,
    commodity)`` group of every scope kind, plus 3 per input of the group's
    facilities, at :data:`METRICS_ROW_BYTES` each (an upper bound: substitution
    metrics exist only for restricted inputs, and time to recover only where the time
    to survive was reached); ``trade`` has one row per calendar month and distinct
    ``(origin country, destination country, commodity)`` of the cross-border links,
    at :data:`TRADE_ROW_BYTES` each.

    Measured against real ensembles (``tests/test_ensemble.py``) the estimate is a few
    percent above the tables' ``nbytes`` on the example and reference worlds. Facilities
    that ``capacity_investment`` events add during a run are not counted.

    Parameters
    ----------
    world : World
        The world the ensemble runs on.
    start : date or ISO string
        Calendar date of day 0.
    horizon_days : int
        Length of each run in days.
    replications : int
        Number of replications.

    Returns
    -------
    int
        Estimated bytes (about ``1.06e7`` per replication on the reference world over 1095
        days).
    """
    return _tables_bytes(_shape(world, start), start, horizon_days, replications)


def _tables_bytes(shape: _Shape, start: dt.date | str, horizon_days: int, replications: int) -> int:
    per_day = shape.series_groups * SERIES_ROW_BYTES
    first = _as_date(start)
    last = first + dt.timedelta(days=max(int(horizon_days) - 1, 0))
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    per_replication = (
        int(horizon_days) * per_day
        + shape.metric_rows * METRICS_ROW_BYTES
        + months * shape.trade_groups * TRADE_ROW_BYTES
    )
    return int(replications) * per_replication


def peak_memory_bytes(
    world: World,
    *,
    start: dt.date | str,
    horizon_days: int,
    replications: int,
    jobs: int = 1,
) -> int:
    """Estimate the peak memory of running an ensemble and writing its result folder.

    :data:`PEAK_FACTOR` times :func:`ensemble_bytes`, plus the daily arrays of the
    paired run records that each process running replications holds (output and
    deliveries per facility, use, supply, releases and stock per input slot:
    ``2 x 8 x horizon_days x (2 facilities + 5 slots)`` bytes), plus
    :data:`WORKER_PROCESS_BYTES` per worker process when ``jobs > 1`` (there are
    ``min(jobs, replications)`` of them). The main process's own fixed cost (about
    150 MB) is not included.

    Parameters
    ----------
    world, start, horizon_days, replications
        As for :func:`ensemble_bytes`.
    jobs : int
        Worker processes.

    Returns
    -------
    int
        Estimated bytes.
    """
    shape = _shape(world, start)
    tables = _tables_bytes(shape, start, horizon_days, replications)
    record = 2 * 8 * int(horizon_days) * (2 * shape.facilities + 5 * shape.slots)
    workers = min(int(jobs), int(replications))
    if workers <= 1:
        return int(PEAK_FACTOR * tables) + record
    return int(PEAK_FACTOR * tables) + workers * (record + WORKER_PROCESS_BYTES)


def streamed_peak_bytes(
    world: World,
    *,
    start: dt.date | str,
    horizon_days: int,
    replications: int,
    jobs: int = 1,
    window_per_worker: int = 2,
) -> int:
    """Estimate the peak memory of a run that streams its result folder (:mod:`sim.sink`).

    Only the replications in flight hold their tables in this process: one with
    ``jobs == 1``, else ``window_per_worker x jobs`` (:func:`sim.replication.in_order`),
    each at :data:`PEAK_FACTOR` times its tables (:func:`ensemble_bytes` of one
    replication). To these come what the end of the run holds, read back from
    ``metrics.parquet``: :data:`SUMMARY_CELL_BYTES` per metric row and replication and
    :data:`HEADLINE_ROW_BYTES` per world and bloc metric row and replication (counted
    as :func:`ensemble_bytes` counts metric rows: an upper bound), and the run records
    and the worker processes as in :func:`peak_memory_bytes`. The end of the run comes
    after the replications' tables are freed, so adding the two is an upper bound too.

    Parameters
    ----------
    world, start, horizon_days, replications, jobs
        As for :func:`peak_memory_bytes`.
    window_per_worker : int
        Replications in flight per worker.

    Returns
    -------
    int
        Estimated bytes.
    """
    shape = _shape(world, start)
    workers = min(int(jobs), int(replications))
    in_flight = 1 if workers <= 1 else min(int(replications), window_per_worker * workers)
    tables = _tables_bytes(shape, start, horizon_days, in_flight)
    per_replication = (
        shape.metric_rows * SUMMARY_CELL_BYTES + shape.headline_rows * HEADLINE_ROW_BYTES
    )
    summary = per_replication * int(replications)
    record = 2 * 8 * int(horizon_days) * (2 * shape.facilities + 5 * shape.slots)
    fixed = int(PEAK_FACTOR * tables) + summary
    if workers <= 1:
        return fixed + record
    return fixed + workers * (record + WORKER_PROCESS_BYTES)
