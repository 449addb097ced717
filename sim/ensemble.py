"""Monte Carlo ensembles: many paired replications of one scenario, reduced to tables.

:func:`run_ensemble` runs a scenario ``replications`` times. In each replication a
user-supplied ``sample`` function draws the scenario's uncertain parameters and
returns the events; the events then run against their paired baseline (the same
events less the disruptions, see :func:`sim.events.is_disruption`), and the pair is
reduced at once to metrics and a few daily series. Run records are never kept, so
memory grows with the number of replications times the size of those tables only.

Seeding
-------
Everything random in replication ``r`` derives from one
:class:`numpy.random.SeedSequence`::

    root = SeedSequence(seed)
    rep = root.spawn(replications)[r]      # == SeedSequence(seed, spawn_key=(r,))
    sample_seq, run_seq = rep.spawn(2)     # spawn keys (r, 0) and (r, 1)
    events, params = sample(default_rng(sample_seq))
    actual = simulate(..., events, rng=default_rng(run_seq))
    baseline = simulate(..., events less disruptions, rng=default_rng(run_seq))

The actual run and its baseline get two generators built from the *same* ``run_seq``,
so they see the same demand noise. ``SeedSequence.spawn`` advances a counter inside
the sequence, so no sequence is spawned from after it has been handed out: ``rep`` is
spawned from exactly once, and ``run_seq`` never. A replication's random numbers
depend only on ``(seed, r)``: not on ``replications``, ``jobs`` or the order in which
replications finish. :func:`replay` reruns one replication and returns its records.

Parallel runs
-------------
With ``jobs > 1`` replications run in a :class:`concurrent.futures.ProcessPoolExecutor`
(``forkserver`` start method where available, ``spawn`` elsewhere: never ``fork``).
The ``sample`` callable, the settings and the world's tables are pickled to the
workers, so ``sample`` must be picklable: a function defined at the top level of an
importable module (not a lambda, a closure or a function defined in ``__main__`` of
an interactive session), or an instance of such a class, or a
:func:`functools.partial` of either. Results are ordered by replication index and
are identical bit for bit for any ``jobs``.

A worker exits when the process that started the ensemble dies, even by ``SIGKILL``:
on Linux the kernel kills it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and
on every POSIX system a watchdog thread in the worker exits within about a second
once that process is gone.

Memory
------
The main process keeps every replication's metrics and daily series (the worker
processes keep one replication at a time). :func:`ensemble_bytes` estimates what the
tables of an :class:`Ensemble` hold from the world's size, the horizon and the number
of replications, and :func:`peak_memory_bytes` the peak of a run that writes them to
a result folder; the command line refuses runs whose peak would not fit in memory.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from sim.engine import Settings, simulate_pair
from sim.errors import InputError
from sim.events import Event, timeline
from sim.metrics import SCOPE_COLUMNS, compute_metrics
from sim.network import Network
from sim.record import RunRecord
from sim.scenario import MAX_SEED
from sim.world import World

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario import Scenario

#: Draws one replication's events and named parameters from a generator.
Sample = Callable[[np.random.Generator], tuple[list[Event], dict[str, float]]]

#: Scope kinds of the metrics an ensemble keeps (all of them).
SCOPES: tuple[str, ...] = tuple(SCOPE_COLUMNS)

#: Metrics shown as columns of :meth:`Ensemble.replication_table`, at world and bloc level.
HEADLINE_METRICS: tuple[str, ...] = (
    "output_loss",
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
)

#: Columns of :meth:`Ensemble.summary`.
SUMMARY_COLUMNS = [
    "scenario",
    "scope_kind",
    "scope",
    "stage",
    "commodity",
    "metric",
    "unit",
    "n",
    "mean",
    "p05",
    "p50",
    "p95",
    "reached_share",
]

#: Columns of :attr:`Ensemble.series`.
SERIES_COLUMNS = [
    "replication",
    "seed",
    "series",
    "bloc",
    "stage",
    "commodity",
    "unit",
    "day",
    "date",
    "actual",
    "baseline",
]

#: Text columns of :attr:`Ensemble.series`, held as categoricals to save memory.
_LABEL_COLUMNS = ("series", "bloc", "stage", "commodity", "unit")

#: Columns of :attr:`Ensemble.trade`.
TRADE_COLUMNS = [
    "replication",
    "seed",
    "origin",
    "destination",
    "origin_bloc",
    "destination_bloc",
    "commodity",
    "unit",
    "month",
    "days",
    "actual",
    "baseline",
]

#: Text columns of :attr:`Ensemble.trade`, held as categoricals.
_TRADE_LABELS = ("origin", "destination", "origin_bloc", "destination_bloc", "commodity", "unit")

#: Columns of :attr:`Ensemble.timeline`.
TIMELINE_COLUMNS = ["replication", "seed", "event", "kind", "marker", "day", "date"]


#: Column names of :attr:`Ensemble.parameters` that a sampled parameter cannot take.
_RESERVED_PARAMS = frozenset({"replication", "seed", "spawn_key", "t0_day"})


@dataclass(frozen=True, eq=False)
class Ensemble:
    """The reduced results of an ensemble of paired replications.

    Compare two ensembles table by table (``==`` is identity). Every table is ordered
    by replication index and carries ``replication`` (0-based)
    and ``seed`` (the root seed) columns; ``SeedSequence(seed, spawn_key=(replication,))``
    is the replication's seed sequence (see the module docstring).

    Attributes
    ----------
    name : str
        Scenario name (the ``scenario`` column of :meth:`summary`).
    seed : int
        Root seed.
    replications : int
        Number of replications.
    start : date
        Calendar date of day 0.
    horizon_days : int
        Length of each run in days.
    theta, k : float, int
        Threshold and persistence days the metrics were computed with.
    parameters : DataFrame
        One row per replication: ``replication, seed, spawn_key`` (the replication's
        spawn key under the root sequence, as text, e.g. ``"3"``), ``t0_day`` (day of
        the onset of the first disruption, from which the metrics count; NaN without
        a disruption) and one float column per sampled parameter, named as ``sample``
        named it (in order of first appearance; NaN where a replication did not
        return it).
    metrics : DataFrame
        ``replication, seed`` and the columns of :func:`sim.metrics.compute_metrics`
        (``scope_kind, scope, stage, commodity, metric, value, unit, censored``) for
        every scope kind: world, bloc, country, facility_type, facility.
    series : DataFrame
        Tidy daily series, columns :data:`SERIES_COLUMNS` (the text columns
        ``series, bloc, stage, commodity, unit`` are categoricals). ``series == "output"``
        rows hold the daily output of a bloc's facilities of one stage (and output
        commodity), in the commodity's ``unit`` per day; ``series == "stock"`` rows
        hold the stock of one input commodity held by a bloc's facilities at the end
        of the day, in the commodity's ``unit``, with an empty ``stage``;
        ``series == "use"`` rows the same facilities' use of that input during the
        day, in ``unit`` per day (stock over the baseline's use is days of cover).
        ``actual``
        and ``baseline`` are the paired runs' values; ``day`` counts from 0 at
        ``start`` and ``date`` is its calendar date.
    trade : DataFrame
        Monthly exports, columns :data:`TRADE_COLUMNS`: shipments (at departure) from
        an ``origin`` country to another ``destination`` country, of one
        ``commodity``, summed over the calendar ``month`` (timestamp of its first
        day; ``days`` is how many of its days the run covers), in the commodity's
        ``unit`` per month, ``actual`` and ``baseline``; ``origin_bloc`` and
        ``destination_bloc`` are the countries' blocs at the start of the run. One
        row per month and country pair and commodity that trades in either run
        (zeros kept); domestic shipments are left out.
    timeline : DataFrame
        The dated moments of each replication's sampled events, columns
        :data:`TIMELINE_COLUMNS` (``event, kind, marker`` as in
        :func:`sim.events.timeline`; ``day`` from 0 at ``start``, ``date`` its
        calendar date, which may lie beyond the horizon).
    stages : tuple of str
        Facility types in chain order (:func:`chain_order`): raw materials first.
    commodities : tuple of str
        Commodities in the same order.
    wall_seconds : float
        Wall-clock time of the whole ensemble run.
    jobs : int
        Worker processes used (does not change any result).
    """

    name: str
    seed: int
    replications: int
    start: dt.date
    horizon_days: int
    theta: float
    k: int
    parameters: pd.DataFrame
    metrics: pd.DataFrame
    series: pd.DataFrame
    trade: pd.DataFrame
    timeline: pd.DataFrame
    stages: tuple[str, ...] = ()
    commodities: tuple[str, ...] = ()
    wall_seconds: float = 0.0
    jobs: int = 1

    def summary(self) -> pd.DataFrame:
        """Summarise each metric over the replications.

        Returns
        -------
        DataFrame
            One row per ``(scope_kind, scope, stage, commodity, metric)`` with columns
            :data:`SUMMARY_COLUMNS`: ``n`` is the number of replications in which the
            metric was computed (a metric can be absent, e.g. ``time_to_recover_days``
            without a loss); ``reached_share`` the share of those ``n`` in which it was
            not censored; ``mean, p05, p50, p95`` the mean and the 5 %, 50 % and 95 %
            quantiles (linear interpolation, as :func:`numpy.quantile`) of the
            non-censored values, NaN if there are none. Rows are sorted by scope kind
            (world, bloc, country, facility_type, facility) and then by scope, stage,
            commodity and metric name.
        """
        return summarise(self.metrics, self.name)

    def replication_table(self) -> pd.DataFrame:
        """One row per replication: seeds, sampled parameters and headline metrics.

        Returns
        -------
        DataFrame
            ``replication, seed, spawn_key, t0_day``, then ``param/<name>`` for each sampled
            parameter, then one column per headline metric (:data:`HEADLINE_METRICS`)
            at world level, ``world/<stage>/<commodity>/<metric>``, and at bloc level,
            ``bloc/<bloc>/<stage>/<commodity>/<metric>``. A censored or absent metric
            is NaN (see :attr:`metrics` for which).
        """
        params = self.parameters.rename(
            columns={c: f"param/{c}" for c in self.parameters.columns if c not in _RESERVED_PARAMS}
        )
        m = self.metrics
        sel = m[m["scope_kind"].isin(["world", "bloc"]) & m["metric"].isin(HEADLINE_METRICS)]
        if sel.empty:
            return params.reset_index(drop=True)
        metric_rank = {name: i for i, name in enumerate(HEADLINE_METRICS)}
        keys = (
            sel[["scope_kind", "scope", "stage", "commodity", "metric"]]
            .drop_duplicates()
            .assign(
                _kind=lambda f: f["scope_kind"].map({"world": 0, "bloc": 1}),
                _metric=lambda f: f["metric"].map(metric_rank),
            )
            .sort_values(["_kind", "scope", "stage", "commodity", "_metric"], kind="stable")
        )

        def column_name(kind: str, scope: str, stage: str, commodity: str, metric: str) -> str:
            head = "world" if kind == "world" else f"{kind}/{scope}"
            return f"{head}/{stage}/{commodity}/{metric}"

        kind = sel["scope_kind"].astype("str")
        head = kind.where(kind == "world", kind + "/" + sel["scope"].astype("str"))
        names = (
            head
            + "/"
            + sel["stage"].astype("str")
            + "/"
            + sel["commodity"].astype("str")
            + "/"
            + sel["metric"].astype("str")
        )
        values = sel["value"].where(~sel["censored"].astype(bool))
        wide = (
            pd.DataFrame({"replication": sel["replication"], "column": names, "value": values})
            .pivot(index="replication", columns="column", values="value")
            .reindex(index=params["replication"])
        )
        order = [column_name(*k) for k in keys.iloc[:, :5].itertuples(index=False, name=None)]
        wide = wide.reindex(columns=order).reset_index(drop=True)
        wide.columns.name = None
        return pd.concat([params.reset_index(drop=True), wide.astype(float)], axis=1)


def summarise(metrics: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Summarise a long metrics table over replications (see :meth:`Ensemble.summary`).

    Parameters
    ----------
    metrics : DataFrame
        Columns ``scope_kind, scope, stage, commodity, metric, value, unit, censored``
        and one row per replication and metric.
    scenario : str
        Value of the ``scenario`` column.

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS`, sorted.
    """
    keys = ["scope_kind", "scope", "stage", "commodity", "metric", "unit"]
    if metrics.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    censored = metrics["censored"].astype(bool)
    frame = metrics[keys].assign(_reached=(~censored).astype(np.int64))
    counts = frame.groupby(keys, sort=False)["_reached"].agg(["size", "sum"])
    reached = metrics.loc[~censored & metrics["value"].notna(), [*keys, "value"]]
    grouped = reached.groupby(keys, sort=False)["value"]
    stats = pd.concat(
        [
            grouped.mean().rename("mean"),
            grouped.quantile(0.05).rename("p05"),
            grouped.quantile(0.5).rename("p50"),
            grouped.quantile(0.95).rename("p95"),
        ],
        axis=1,
    )
    out = counts.join(stats, how="left").reset_index()
    out["n"] = out["size"].astype(np.int64)
    out["reached_share"] = out["sum"] / out["size"]
    out["scenario"] = scenario
    kind_rank = {kind: i for i, kind in enumerate(SCOPES)}
    out["_kind"] = out["scope_kind"].map(kind_rank).fillna(len(SCOPES))
    out = out.sort_values(
        ["_kind", "scope_kind", "scope", "stage", "commodity", "metric", "unit"], kind="stable"
    )
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


# --- memory -------------------------------------------------------------------------

#: Bytes per row of :attr:`Ensemble.series`: six 8-byte columns (``replication, seed,
#: day, date, actual, baseline``) and five categorical label columns of 1-byte codes.
SERIES_ROW_BYTES = 6 * 8 + 5

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
    trade_groups: int


def _shape(world: World, start: dt.date | str) -> _Shape:
    net = Network(world, _as_date(start))
    fac = world.facilities.reset_index(drop=True)
    fac = fac.assign(bloc=fac["country"].map(world.bloc_of()))
    slot_bloc = fac["bloc"].to_numpy()[net.slot_fac]
    slot_input = np.asarray(net.commodities, dtype=object)[net.slot_com]
    output_groups = len(fac[["bloc", "type", "commodity"]].drop_duplicates())
    stock_groups = len(pd.DataFrame({"bloc": slot_bloc, "input": slot_input}).drop_duplicates())
    slots = pd.DataFrame({"index": net.slot_fac, "input": slot_input})
    inputs_of = slots.groupby("index")["input"].agg(set).to_dict()
    metric_rows = 0
    for kind, column in SCOPE_COLUMNS.items():
        scope = pd.Series(kind, index=fac.index) if column is None else fac[column]
        keys = pd.DataFrame({"scope": scope, "stage": fac["type"], "commodity": fac["commodity"]})
        for idx in keys.groupby(["scope", "stage", "commodity"], sort=False).indices.values():
            inputs = set().union(*(inputs_of.get(int(i), set()) for i in idx))
            metric_rows += _OUTPUT_METRICS + _SUBSTITUTION_METRICS * len(inputs)
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
    return _Shape(len(fac), int(net.m), output_groups + 2 * stock_groups, metric_rows, trade_groups)


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
        Estimated bytes (``3.1e6`` per replication on the reference world over 1095 days).
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


# --- one replication ----------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What every replication of an ensemble shares (pickled once per worker)."""

    world: World
    sample: Sample
    start: dt.date
    horizon_days: int
    settings: Settings | None
    seed: int
    theta: float
    k: int


@dataclass(frozen=True)
class _Reduced:
    """One replication reduced to its tables (what a worker sends back)."""

    replication: int
    spawn_key: tuple[int, ...]
    params: dict[str, float]
    t0: float
    metrics: pd.DataFrame
    series: pd.DataFrame
    trade: pd.DataFrame
    timeline: pd.DataFrame


_WORKER: tuple[_Job, World] | None = None

#: Seconds between two checks of the worker watchdog.
_WATCHDOG_SECONDS = 0.5


def _init_worker(job: _Job, owner: int) -> None:
    global _WORKER
    _die_with(owner)
    _WORKER = (job, job.world)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; a zombie counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _die_with(owner: int) -> None:
    """Make this worker process exit when ``owner`` (the ensemble's process) dies.

    On Linux the kernel sends ``SIGKILL`` to the worker when its parent process exits
    (the forkserver, which itself exits when ``owner`` does, or ``owner`` with the
    ``spawn`` start method). On every POSIX system a daemon thread also checks every
    :data:`_WATCHDOG_SECONDS` that ``owner`` is alive and that the worker's parent has
    not changed, and ends the worker otherwise. Elsewhere (Windows) this does nothing.
    """
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) terminates on Windows
        return
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog remains
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent or not _pid_alive(owner):
                os._exit(1)
            time.sleep(_WATCHDOG_SECONDS)

    # The parent may have died before the death signal was armed: check once now.
    if os.getppid() != parent or not _pid_alive(owner):
        os._exit(1)
    threading.Thread(target=watch, name="paxsim-watchdog", daemon=True).start()


def _work(replication: int, seq: np.random.SeedSequence) -> _Reduced:
    if _WORKER is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("ensemble worker was not initialised")
    job, world = _WORKER
    return _replicate(job, world, replication, seq)


def _draw(
    world: World,
    sample: Sample,
    seq: np.random.SeedSequence,
    replication: int,
    *,
    start: dt.date,
    horizon_days: int,
    settings: Settings | None,
) -> tuple[list[Event], dict[str, float], RunRecord, RunRecord]:
    """Sample the events of one replication and run them with their paired baseline."""
    sample_seq, run_seq = seq.spawn(2)
    try:
        drawn = sample(np.random.default_rng(sample_seq))
        events, raw = drawn
        params = {str(name): float(value) for name, value in raw.items()}
        for reserved in _RESERVED_PARAMS.intersection(params):
            raise InputError("sample", reserved, "is a reserved parameter name", "rename it")
        events = list(events)
        actual, baseline = simulate_pair(
            world, events, start=start, horizon_days=horizon_days, seed=run_seq, settings=settings
        )
    except InputError as err:
        raise InputError(
            f"replication {replication}: {err.where}", err.field, err.problem, err.fix
        ) from err
    return events, params, actual, baseline


def _replicate(job: _Job, world: World, replication: int, seq: np.random.SeedSequence) -> _Reduced:
    events, params, actual, baseline = _draw(
        world,
        job.sample,
        seq,
        replication,
        start=job.start,
        horizon_days=job.horizon_days,
        settings=job.settings,
    )
    metrics = compute_metrics(actual, baseline, by=SCOPES, theta=job.theta, k=job.k)
    metrics.insert(0, "seed", np.int64(job.seed))
    metrics.insert(0, "replication", np.int64(replication))
    unit_of = world.unit_of()
    series = reduce_series(actual, baseline, unit_of, replication, job.seed)
    trade = reduce_trade(actual, baseline, unit_of, replication, job.seed)
    moments = reduce_timeline(events, job.start, replication, job.seed)
    t0 = np.nan if actual.t0 is None else float(actual.t0)
    return _Reduced(replication, tuple(seq.spawn_key), params, t0, metrics, series, trade, moments)


def reduce_series(
    actual: RunRecord,
    baseline: RunRecord,
    unit_of: dict[str, str],
    replication: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Reduce a paired run to tidy daily series per bloc (see :attr:`Ensemble.series`).

    Parameters
    ----------
    actual, baseline : RunRecord
        A run and its paired baseline.
    unit_of : dict of str -> str
        Unit of each commodity (:meth:`sim.world.World.unit_of`).
    replication, seed : int
        Values of the ``replication`` and ``seed`` columns.

    Returns
    -------
    DataFrame
        Columns :data:`SERIES_COLUMNS`: output per (bloc, stage, commodity), then
        stock and use per (bloc, input commodity), each for every day.
    """
    fac = actual.facilities
    horizon = actual.horizon_days
    labels: list[tuple[str, str, str, str, str]] = []
    columns_a: list[np.ndarray] = []
    columns_b: list[np.ndarray] = []
    out_groups = fac.groupby(["bloc", "type", "commodity", "unit"], sort=True).indices
    for key, idx in out_groups.items():
        bloc, stage, commodity, unit = (str(v) for v in cast(tuple[object, ...], key))
        labels.append(("output", bloc, stage, commodity, unit))
        columns_a.append(actual.output[:, idx].sum(axis=1))
        columns_b.append(baseline.output[:, idx].sum(axis=1))
    bloc_of_facility = dict(zip(fac["facility"], fac["bloc"], strict=True))
    slots = pd.DataFrame(
        {
            "bloc": actual.slots["facility"].map(bloc_of_facility),
            "input": actual.slots["input"],
        }
    )
    for key, idx in slots.groupby(["bloc", "input"], sort=True).indices.items():
        bloc, commodity = (str(v) for v in cast(tuple[object, ...], key))
        unit = unit_of.get(commodity, "")
        labels.append(("stock", bloc, "", commodity, unit))
        columns_a.append(actual.stock[:, idx].sum(axis=1))
        columns_b.append(baseline.stock[:, idx].sum(axis=1))
        labels.append(("use", bloc, "", commodity, unit))
        columns_a.append(actual.consumption[:, idx].sum(axis=1))
        columns_b.append(baseline.consumption[:, idx].sum(axis=1))
    g = len(labels)
    days = np.arange(horizon, dtype=np.int64)
    dates = pd.date_range(actual.start, periods=horizon, freq="D").as_unit("us")
    text = np.array(labels, dtype=object).reshape(g, 5)
    frame = pd.DataFrame(
        {
            "replication": np.full(g * horizon, replication, dtype=np.int64),
            "seed": np.full(g * horizon, seed, dtype=np.int64),
            "series": np.repeat(text[:, 0], horizon),
            "bloc": np.repeat(text[:, 1], horizon),
            "stage": np.repeat(text[:, 2], horizon),
            "commodity": np.repeat(text[:, 3], horizon),
            "unit": np.repeat(text[:, 4], horizon),
            "day": np.tile(days, g),
            "date": np.tile(dates.to_numpy(), g),
            "actual": np.concatenate(columns_a) if g else np.zeros(0),
            "baseline": np.concatenate(columns_b) if g else np.zeros(0),
        }
    )
    for column in _LABEL_COLUMNS:
        frame[column] = _categorical(frame[column])
    return frame


def chain_order(world: World, start: dt.date | str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the world's facility types and commodities in chain order, raw to final.

    A commodity's depth is the longest chain of produced inputs below it (0 for a raw
    material) and its height the longest chain of commodities made from it above it
    (0 for a final good). Commodities are sorted by depth, then by height (longer
    chains first), then by name; a facility type takes the place of the first
    commodity it makes. On the reference world: mine, metal_refiner, the rare-earth
    refiners, chip_fab, magnet_fab, data_center, magnet_user.

    Returns
    -------
    tuple
        ``(stages, commodities)``.
    """
    net = Network(world, _as_date(start))
    produced = set(net.fac_com.tolist())
    made_from: dict[int, set[int]] = {k: set() for k in range(len(net.commodities))}
    for c, f in zip(net.slot_com.tolist(), net.slot_fac.tolist(), strict=True):
        if c in produced:
            made_from[c].add(int(net.fac_com[f]))
    depth: dict[int, int] = {}
    for k in net.settle_order:  # inputs come before the commodities made from them
        below = [depth[c] + 1 for c, above in made_from.items() if k in above and c in depth]
        depth[k] = max(below, default=0)
    height: dict[int, int] = {}
    for k in reversed(net.settle_order):
        height[k] = max((height[a] + 1 for a in made_from[k] if a in height), default=0)
    key = {k: (depth[k], -height[k], net.commodities[k]) for k in depth}
    commodities = sorted(key, key=lambda k: key[k])
    rank = {k: i for i, k in enumerate(commodities)}
    stage_rank: dict[str, int] = {}
    for ftype, k in zip(net.fac_type, net.fac_com.tolist(), strict=True):
        stage_rank[ftype] = min(stage_rank.get(ftype, rank[k]), rank[k])
    stages = sorted(stage_rank, key=lambda t: (stage_rank[t], t))
    return tuple(stages), tuple(net.commodities[k] for k in commodities)


def _categorical(values: np.ndarray | pd.Series) -> pd.Series:
    """Text values as a categorical with sorted categories."""
    text = pd.Series(values).astype("str")
    return text.astype(pd.CategoricalDtype(sorted(set(text))))


def reduce_trade(
    actual: RunRecord,
    baseline: RunRecord,
    unit_of: dict[str, str],
    replication: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Reduce a paired run's trade record to monthly exports (see :attr:`Ensemble.trade`).

    Parameters
    ----------
    actual, baseline : RunRecord
        A run and its paired baseline, both made with ``Settings(record_trade=True)``.
    unit_of : dict of str -> str
        Unit of each commodity.
    replication, seed : int
        Values of the ``replication`` and ``seed`` columns.

    Returns
    -------
    DataFrame
        Columns :data:`TRADE_COLUMNS`, ordered by origin, destination, commodity, month.
    """
    for record, name in ((actual, "actual"), (baseline, "baseline")):
        if record.trade_keys is None or record.trade_daily is None:
            raise ValueError(f"the {name} run kept no trade record (record_trade=False)")
    assert actual.trade_keys is not None and actual.trade_daily is not None
    assert baseline.trade_keys is not None and baseline.trade_daily is not None
    key_cols = ["origin", "destination", "commodity"]
    keys = (
        pd.concat([actual.trade_keys, baseline.trade_keys], ignore_index=True)
        .drop_duplicates()
        .query("origin != destination")
        .sort_values(key_cols, kind="stable")
        .reset_index(drop=True)
    )

    def columns(record: RunRecord) -> np.ndarray:
        assert record.trade_keys is not None and record.trade_daily is not None
        position = pd.MultiIndex.from_frame(record.trade_keys[key_cols]).get_indexer(
            pd.MultiIndex.from_frame(keys[key_cols])
        )
        daily = np.zeros((record.horizon_days, len(keys)))
        found = position >= 0
        daily[:, found] = record.trade_daily[:, position[found]]
        return daily

    horizon = actual.horizon_days
    dates = pd.date_range(actual.start, periods=horizon, freq="D")
    month_of_day = dates.to_period("M")
    first = np.flatnonzero(np.r_[True, month_of_day[1:] != month_of_day[:-1]])
    months = month_of_day[first].to_timestamp().as_unit("us").to_numpy()
    days = np.diff(np.r_[first, horizon]).astype(np.int64)
    monthly_a = np.add.reduceat(columns(actual), first, axis=0) if horizon else np.zeros((0, 0))
    monthly_b = np.add.reduceat(columns(baseline), first, axis=0) if horizon else np.zeros((0, 0))
    bloc = dict(zip(actual.facilities["country"], actual.facilities["bloc"], strict=False))
    g, n_m = len(keys), len(months)
    frame = pd.DataFrame(
        {
            "replication": np.full(g * n_m, replication, dtype=np.int64),
            "seed": np.full(g * n_m, seed, dtype=np.int64),
            "origin": np.repeat(keys["origin"].to_numpy(), n_m),
            "destination": np.repeat(keys["destination"].to_numpy(), n_m),
            "origin_bloc": np.repeat(keys["origin"].map(bloc).to_numpy(), n_m),
            "destination_bloc": np.repeat(keys["destination"].map(bloc).to_numpy(), n_m),
            "commodity": np.repeat(keys["commodity"].to_numpy(), n_m),
            "unit": np.repeat(keys["commodity"].map(unit_of).fillna("").to_numpy(), n_m),
            "month": np.tile(months, g),
            "days": np.tile(days, g),
            "actual": monthly_a.T.reshape(-1),
            "baseline": monthly_b.T.reshape(-1),
        }
    )
    for column in _TRADE_LABELS:
        frame[column] = _categorical(frame[column])
    return frame


def reduce_timeline(
    events: Sequence[Event], start: dt.date, replication: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Return the dated moments of one replication's events (see :attr:`Ensemble.timeline`)."""
    rows = timeline(list(events), start)
    days = np.array([r[3] for r in rows], dtype=float)
    dates = pd.Timestamp(start) + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame(
        {
            "replication": np.full(len(rows), replication, dtype=np.int64),
            "seed": np.full(len(rows), seed, dtype=np.int64),
            "event": pd.Series([r[0] for r in rows], dtype="str"),
            "kind": pd.Series([r[1] for r in rows], dtype="str"),
            "marker": pd.Series([r[2] for r in rows], dtype="str"),
            "day": days,
            "date": pd.DatetimeIndex(dates).as_unit("us"),
        }
    )


# --- the ensemble ---------------------------------------------------------------------


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """Return the seed sequence of one replication.

    Equal in state to ``SeedSequence(seed).spawn(replications)[replication]`` for any
    ``replications > replication``.

    Parameters
    ----------
    seed : int
        The ensemble's root seed.
    replication : int
        0-based replication index.
    """
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def replay(
    world: World,
    sample: Sample,
    *,
    start: dt.date | str,
    horizon_days: int,
    seed: int,
    replication: int,
    settings: Settings | None = None,
) -> tuple[list[Event], dict[str, float], RunRecord, RunRecord]:
    """Rerun one replication of an ensemble and return its full records.

    Parameters
    ----------
    world, sample, start, horizon_days, seed, settings
        As given to :func:`run_ensemble`.
    replication : int
        0-based index of the replication to rerun.

    Returns
    -------
    tuple
        ``(events, params, actual, baseline)``: the sampled events and parameters and
        the two :class:`~sim.record.RunRecord`.
    """
    return _draw(
        world,
        sample,
        replication_seed(seed, replication),
        replication,
        start=_as_date(start),
        horizon_days=horizon_days,
        settings=settings,
    )


def _as_date(start: dt.date | str) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise InputError(
            "ensemble", "start", f"'{start}' is not a date", "give YYYY-MM-DD"
        ) from None


def _pool_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_pool(
    job: _Job,
    seqs: Sequence[np.random.SeedSequence],
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> list[_Reduced]:
    total = len(seqs)
    results: list[_Reduced | None] = [None] * total
    with ProcessPoolExecutor(
        max_workers=min(jobs, total),
        mp_context=_pool_context(),
        initializer=_init_worker,
        initargs=(job, os.getpid()),
    ) as pool:
        pending: set[Future[_Reduced]] = {pool.submit(_work, r, seq) for r, seq in enumerate(seqs)}
        done_count = 0
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    reduced = future.result()
                    results[reduced.replication] = reduced
                    done_count += 1
                    if progress is not None:
                        progress(done_count, total)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [r for r in results if r is not None]


def run_ensemble(
    name: str,
    world: World,
    sample: Sample,
    *,
    start: dt.date | str,
    horizon_days: int,
    seed: int,
    replications: int,
    jobs: int = 1,
    settings: Settings | None = None,
    progress: Callable[[int, int], None] | None = None,
    theta: float = 0.95,
    k: int = 7,
) -> Ensemble:
    """Run a scenario many times with sampled parameters, each against its baseline.

    Parameters
    ----------
    name : str
        Scenario name, carried into the summary.
    world : World
        The validated world.
    sample : callable
        ``sample(rng) -> (events, params)``: draws one replication's events and a dict
        of named float parameters (what was drawn, for the results) from ``rng``. It
        must use no other source of randomness, and be picklable when ``jobs > 1``
        (see the module docstring).
    start : date or ISO string
        Calendar date of day 0.
    horizon_days : int
        Length of each run in days.
    seed : int
        Root seed, ``0 <= seed < 2**63``. Replication ``r`` uses
        ``SeedSequence(seed).spawn(replications)[r]`` (see the module docstring).
    replications : int
        Number of replications (at least 1).
    jobs : int
        Worker processes; 1 runs everything in this process. Results do not depend
        on it.
    settings : Settings, optional
        Engine settings for every run.
    progress : callable, optional
        Called as ``progress(done, total)`` in this process after each replication
        finishes.
    theta, k : float, int
        Threshold and persistence days of the metrics (:func:`sim.compute_metrics`).

    Returns
    -------
    Ensemble
        Parameters, metrics and daily series of every replication.

    Raises
    ------
    InputError
        On bad arguments, or when a sampled scenario is invalid (the message names
        the replication).
    """
    began = time.perf_counter()
    for label, value, low in (("replications", replications, 1), ("jobs", jobs, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError("ensemble", label, f"{value!r} is not a positive integer", "give >= 1")
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not (0 <= int(seed) < MAX_SEED)
    ):
        raise InputError("ensemble", "seed", f"{seed!r} is not valid", "give 0 <= seed < 2**63")
    if horizon_days < 1:
        raise InputError(
            "ensemble", "horizon_days", f"{horizon_days} is not positive", "give at least 1 day"
        )
    seed = int(seed)
    job = _Job(
        world=world,
        sample=sample,
        start=_as_date(start),
        horizon_days=int(horizon_days),
        # The trade record feeds Ensemble.trade; it changes no result.
        settings=replace(settings or Settings(), record_trade=True),
        seed=seed,
        theta=float(theta),
        k=int(k),
    )
    seqs = np.random.SeedSequence(seed).spawn(replications)
    if jobs == 1 or replications == 1:
        reduced = []
        for r, seq in enumerate(seqs):
            reduced.append(_replicate(job, world, r, seq))
            if progress is not None:
                progress(r + 1, replications)
    else:
        reduced = _run_pool(job, seqs, jobs, progress)
    return _assemble(name, job, reduced, replications, time.perf_counter() - began, jobs)


def _assemble(
    name: str, job: _Job, reduced: list[_Reduced], replications: int, wall: float, jobs: int
) -> Ensemble:
    reduced = sorted(reduced, key=lambda x: x.replication)
    names: list[str] = []
    for item in reduced:
        names.extend(p for p in item.params if p not in names)
    parameters = pd.DataFrame(
        {
            "replication": np.array([x.replication for x in reduced], dtype=np.int64),
            "seed": np.full(len(reduced), job.seed, dtype=np.int64),
            "spawn_key": [".".join(str(v) for v in x.spawn_key) for x in reduced],
            "t0_day": np.array([x.t0 for x in reduced], dtype=float),
            **{p: np.array([x.params.get(p, np.nan) for x in reduced], dtype=float) for p in names},
        }
    )
    parameters["spawn_key"] = parameters["spawn_key"].astype("str")
    metrics = pd.concat([x.metrics for x in reduced], ignore_index=True)
    series = _concat_categorical([x.series for x in reduced], _LABEL_COLUMNS)
    trade = _concat_categorical([x.trade for x in reduced], _TRADE_LABELS)
    moments = pd.concat([x.timeline for x in reduced], ignore_index=True)
    stages, commodities = chain_order(job.world, job.start)
    return Ensemble(
        name=name,
        seed=job.seed,
        replications=replications,
        start=job.start,
        horizon_days=job.horizon_days,
        theta=job.theta,
        k=job.k,
        parameters=parameters,
        metrics=metrics,
        series=series,
        trade=trade,
        timeline=moments,
        stages=stages,
        commodities=commodities,
        wall_seconds=wall,
        jobs=jobs,
    )


def _concat_categorical(frames: list[pd.DataFrame], labels: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-replication tables whose text columns are categoricals."""
    out = pd.concat(frames, ignore_index=True)
    for column in labels:
        # Replications usually share their labels, so the categories agree and concat
        # keeps them; where they differ (e.g. trade that only some replications see),
        # rebuild the categorical.
        if not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = _categorical(out[column])
    return out


def run_scenario(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Ensemble:
    """Run a loaded scenario file as an ensemble (its world, dates, settings and sampler).

    ``replications`` and ``seed`` default to the scenario's own.
    """
    return run_ensemble(
        scenario.name,
        scenario.world(),
        scenario.sample,
        start=scenario.start,
        horizon_days=scenario.horizon_days,
        seed=scenario.seed if seed is None else seed,
        replications=scenario.replications if replications is None else replications,
        jobs=jobs,
        settings=scenario.settings(),
        progress=progress,
    )
