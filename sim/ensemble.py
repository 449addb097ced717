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

Modules
-------
This module holds :class:`Ensemble` and the functions that run one. One replication
and the worker processes are in :mod:`sim.replication`, the reductions of a paired run
to tables in :mod:`sim.reduce` and the memory estimates in :mod:`sim.memory`; their
public names are importable from here too.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.dask_runner import run_dask
from sim.engine import Settings
from sim.errors import InputError
from sim.events import Event
from sim.memory import (
    METRICS_ROW_BYTES,
    PEAK_FACTOR,
    SERIES_ROW_BYTES,
    TRADE_ROW_BYTES,
    WORKER_PROCESS_BYTES,
    ensemble_bytes,
    peak_memory_bytes,
)
from sim.record import RunRecord
from sim.reduce import (
    _LABEL_COLUMNS,
    _TRADE_LABELS,
    SCOPES,
    SERIES_COLUMNS,
    TIMELINE_COLUMNS,
    TRADE_COLUMNS,
    _as_date,
    _concat_categorical,
    chain_order,
    reduce_series,
    reduce_timeline,
    reduce_trade,
)
from sim.replication import (
    _RESERVED_PARAMS,
    Sample,
    _draw,
    _Job,
    _Reduced,
    _replicate,
    _run_pool,
    freeze_long_lived,
)
from sim.scenario import MAX_SEED
from sim.summary import SUMMARY_COLUMNS, summarise
from sim.world import World

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario import Scenario

__all__ = [
    "HEADLINE_METRICS",
    "METRICS_ROW_BYTES",
    "PEAK_FACTOR",
    "SCOPES",
    "SERIES_COLUMNS",
    "SERIES_ROW_BYTES",
    "SUMMARY_COLUMNS",
    "TIMELINE_COLUMNS",
    "TRADE_COLUMNS",
    "TRADE_ROW_BYTES",
    "WORKER_PROCESS_BYTES",
    "Ensemble",
    "Sample",
    "chain_order",
    "ensemble_bytes",
    "peak_memory_bytes",
    "reduce_series",
    "reduce_timeline",
    "reduce_trade",
    "replay",
    "replication_seed",
    "run_ensemble",
    "run_scenario",
    "summarise",
]

#: Metrics shown as columns of :meth:`Ensemble.replication_table`, at world and bloc level.
HEADLINE_METRICS: tuple[str, ...] = (
    "output_loss",
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
)


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
        return replication_table(self.parameters, self.metrics)


def replication_table(parameters: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per replication of ``parameters``, with the headline metrics of ``metrics``.

    See :meth:`Ensemble.replication_table`; ``metrics`` need only hold the world and
    bloc rows.
    """
    params = parameters.rename(
        columns={c: f"param/{c}" for c in parameters.columns if c not in _RESERVED_PARAMS}
    )
    m = metrics
    sel = m[m["scope_kind"].isin(["world", "bloc"]) & m["metric"].isin(HEADLINE_METRICS)]
    if sel.empty:
        return params.reset_index(drop=True)
    labels = ["scope_kind", "scope", "stage", "commodity", "metric"]
    # One code per distinct key, in order of first appearance; the names and the order
    # of the columns are made from the distinct keys only (a few hundred), not per row.
    code = np.zeros(len(sel), dtype=np.int64)
    for column in labels:
        level, uniques = pd.factorize(sel[column], use_na_sentinel=False)
        code = code * len(uniques) + level
    code, distinct = pd.factorize(code)
    first = np.unique(code, return_index=True)[1]
    metric_rank = {name: i for i, name in enumerate(HEADLINE_METRICS)}
    keys = (
        sel[labels]
        .iloc[first]
        .astype("str")
        .reset_index(drop=True)
        .assign(
            _kind=lambda f: f["scope_kind"].map({"world": 0, "bloc": 1}),
            _metric=lambda f: f["metric"].map(metric_rank),
        )
        .sort_values(["_kind", "scope", "stage", "commodity", "_metric"], kind="stable")
    )

    def column_name(kind: str, scope: str, stage: str, commodity: str, metric: str) -> str:
        head = "world" if kind == "world" else f"{kind}/{scope}"
        return f"{head}/{stage}/{commodity}/{metric}"

    order = [column_name(*k) for k in keys[labels].itertuples(index=False, name=None)]
    position = np.empty(len(distinct), dtype=np.int64)
    position[keys.index.to_numpy()] = np.arange(len(keys))
    replication = sel["replication"].to_numpy(dtype=np.int64)
    if len(np.unique(np.stack([replication, code]), axis=1)[0]) < len(sel):
        raise ValueError("a replication has the same headline metric row twice")
    row = pd.Index(params["replication"]).get_indexer(replication)
    found = row >= 0
    values = sel["value"].where(~sel["censored"].astype(bool)).to_numpy(dtype=float)
    wide = np.full((len(params), len(order)), np.nan)
    wide[row[found], position[code[found]]] = values[found]
    return pd.concat([params.reset_index(drop=True), pd.DataFrame(wide, columns=order)], axis=1)


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
    executor: str = "processes",
    scheduler: str | None = None,
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
    executor : {"processes", "dask"}
        Where replications run: this process and ``jobs`` worker processes, or a
        ``dask.distributed`` cluster (see :func:`replications_in_order`). Results do
        not depend on it.
    scheduler : str, optional
        With ``executor="dask"``: the address of a running scheduler
        (``tcp://host:8786``); without it a local cluster of ``jobs`` worker processes
        is started for the run.

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
    job = make_job(
        world,
        sample,
        start=start,
        horizon_days=horizon_days,
        seed=seed,
        settings=settings,
        theta=theta,
        k=k,
    )
    reduced = list(
        replications_in_order(
            job,
            replications,
            jobs=jobs,
            executor=executor,
            scheduler=scheduler,
            progress=progress,
        )
    )
    return _assemble(name, job, reduced, replications, time.perf_counter() - began, jobs)


def make_job(
    world: World,
    sample: Sample,
    *,
    start: dt.date | str,
    horizon_days: int,
    seed: int,
    settings: Settings | None,
    theta: float = 0.95,
    k: int = 7,
) -> _Job:
    """Check an ensemble's arguments and return what every replication shares.

    Arguments as in :func:`run_ensemble`.
    """
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
    return _Job(
        world=world,
        sample=sample,
        start=_as_date(start),
        horizon_days=int(horizon_days),
        # The trade record feeds Ensemble.trade; it changes no result.
        settings=replace(settings or Settings(), record_trade=True),
        seed=int(seed),
        theta=float(theta),
        k=int(k),
    )


#: Values of ``executor`` (:func:`run_ensemble`).
EXECUTORS = ("processes", "dask")


def replications_in_order(
    job: _Job,
    replications: int,
    *,
    jobs: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Generator[_Reduced, None, None]:
    """Run ``replications`` replications of ``job`` and yield them reduced, in order.

    With ``executor="processes"`` and ``jobs == 1`` they run one after the other in this
    process, with ``jobs > 1`` in a pool of worker processes (module docstring). With
    ``executor="dask"`` they run as tasks on a ``dask.distributed`` cluster
    (:mod:`sim.dask_runner`). Either way each replication's random numbers depend only
    on ``(seed, r)``, so the tables are identical bit for bit; a few replications run
    ahead of the one yielded next, so memory does not grow with ``replications``.
    """
    for label, value in (("replications", replications), ("jobs", jobs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError("ensemble", label, f"{value!r} is not a positive integer", "give >= 1")
    if executor not in EXECUTORS:
        raise InputError(
            "ensemble", "executor", f"{executor!r} is not known", f"give one of {EXECUTORS}"
        )
    if scheduler is not None and executor != "dask":
        raise InputError(
            "ensemble", "scheduler", "is only used with the dask executor", "give executor='dask'"
        )
    seqs = np.random.SeedSequence(job.seed).spawn(replications)
    if executor == "dask":
        yield from run_dask(job, seqs, jobs, scheduler, progress)
    elif jobs == 1 or replications == 1:
        frozen = False
        try:
            for r, seq in enumerate(seqs):
                yield _replicate(job, job.world, r, seq)
                if not frozen and r + 1 < replications and not gc.get_freeze_count():
                    freeze_long_lived()  # what the first replication left alive stays
                    frozen = True
                if progress is not None:
                    progress(r + 1, replications)
        finally:
            if frozen:
                gc.unfreeze()
    else:
        yield from _run_pool(job, seqs, jobs, progress)


def parameters_table(reduced: Sequence[_Reduced], seed: int) -> pd.DataFrame:
    """Return the :attr:`Ensemble.parameters` table of replications ``reduced`` (in order)."""
    names: list[str] = []
    for item in reduced:
        names.extend(p for p in item.params if p not in names)
    parameters = pd.DataFrame(
        {
            "replication": np.array([x.replication for x in reduced], dtype=np.int64),
            "seed": np.full(len(reduced), seed, dtype=np.int64),
            "spawn_key": [".".join(str(v) for v in x.spawn_key) for x in reduced],
            "t0_day": np.array([x.t0 for x in reduced], dtype=float),
            **{p: np.array([x.params.get(p, np.nan) for x in reduced], dtype=float) for p in names},
        }
    )
    parameters["spawn_key"] = parameters["spawn_key"].astype("str")
    return parameters


def _assemble(
    name: str, job: _Job, reduced: list[_Reduced], replications: int, wall: float, jobs: int
) -> Ensemble:
    reduced = sorted(reduced, key=lambda x: x.replication)
    parameters = parameters_table(reduced, job.seed)
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


def run_scenario(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
) -> Ensemble:
    """Run a loaded scenario file as an ensemble (its world, dates, settings and sampler).

    ``replications`` and ``seed`` default to the scenario's own; the other arguments
    are those of :func:`run_ensemble`.
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
        executor=executor,
        scheduler=scheduler,
    )
