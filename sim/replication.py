"""One replication of an ensemble: sample, run against the paired baseline, reduce.

:func:`_replicate` runs replication ``r`` from its seed sequence and reduces it at once
to the tables an ensemble keeps (see :mod:`sim.reduce`), in this process or in a worker
process of :func:`_run_pool`. Seeding, the start method and the watchdog of the workers
are described in :mod:`sim.ensemble`.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import Settings
from sim.errors import InputError
from sim.events import Event
from sim.metrics import compute_metrics
from sim.pair import BaselineCache, simulate_pair
from sim.record import RunRecord
from sim.reduce import SCOPES, reduce_series, reduce_timeline, reduce_trade
from sim.world import World

#: Draws one replication's events and named parameters from a generator.
Sample = Callable[[np.random.Generator], tuple[list[Event], dict[str, float]]]

#: Column names of :attr:`Ensemble.parameters` that a sampled parameter cannot take.
_RESERVED_PARAMS = frozenset({"replication", "seed", "spawn_key", "t0_day"})


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
    reduced = _replicate(job, world, replication, seq)
    if not gc.get_freeze_count():  # the worker's first replication: see freeze_long_lived
        freeze_long_lived()
    return reduced


def freeze_long_lived() -> None:
    """Keep the objects alive now out of the garbage collector's full collections.

    After a process's first replication its world, network, compiled loops and cached
    baseline live as long as the ensemble, and every full collection would walk them
    again: in a ``ree_controls_2025`` pair some 170,000 objects and 28 ms of 0.8 s.
    ``gc.freeze`` moves them to the permanent generation; what the next replications
    make is collected as before. Results do not depend on when objects are freed. The
    process that runs replications itself undoes this (``gc.unfreeze``) at the end;
    pool workers end with the ensemble.
    """
    gc.freeze()


#: This process's paired baseline, reused by the replications whose baselines cannot
#: differ (:mod:`sim.pair`): each worker of a pool and the main process have their own.
BASELINES = BaselineCache()


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
            world,
            events,
            start=start,
            horizon_days=horizon_days,
            seed=run_seq,
            settings=settings,
            baselines=BASELINES,
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


def _pool_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


#: Replications in flight per worker: enough to keep every worker busy, few enough that
#: the results waiting for an earlier, slower replication stay a handful.
WINDOW_PER_WORKER = 2


def in_order(
    submit: Callable[[int], Any],
    total: int,
    window: int,
    first_done: Callable[[set[Any]], tuple[set[Any], set[Any]]],
    progress: Callable[[int, int], None] | None,
) -> Iterator[_Reduced]:
    """Yield the replications ``0 .. total - 1`` in order, run ``window`` at a time.

    ``submit(r)`` starts replication ``r`` and returns its future; ``first_done(pending)``
    waits until at least one of ``pending`` is done and returns ``(done, not_done)``. At
    most ``window`` replications are submitted and not yet yielded, so the results held
    here while an earlier replication still runs are at most ``window``.
    """
    waiting: dict[int, _Reduced] = {}
    pending: set[Any] = set()
    submitted = yielded = finished = 0
    while yielded < total:
        while submitted < total and submitted - yielded < window:
            pending.add(submit(submitted))
            submitted += 1
        done, pending = first_done(pending)
        for future in done:
            reduced = future.result()
            waiting[reduced.replication] = reduced
            finished += 1
            if progress is not None:
                progress(finished, total)
        while yielded in waiting:
            yield waiting.pop(yielded)
            yielded += 1


def _pool_first_done(pending: set[Future[_Reduced]]) -> tuple[set[Any], set[Any]]:
    done, not_done = wait(pending, return_when=FIRST_COMPLETED)
    return set(done), set(not_done)


def _run_pool(
    job: _Job,
    seqs: Sequence[np.random.SeedSequence],
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[_Reduced]:
    """Yield the replications in order, run in ``jobs`` worker processes."""
    total = len(seqs)
    with ProcessPoolExecutor(
        max_workers=min(jobs, total),
        mp_context=_pool_context(),
        initializer=_init_worker,
        initargs=(job, os.getpid()),
    ) as pool:
        try:
            yield from in_order(
                lambda r: pool.submit(_work, r, seqs[r]),
                total,
                WINDOW_PER_WORKER * jobs,
                _pool_first_done,
                progress,
            )
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
