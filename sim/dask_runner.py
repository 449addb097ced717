"""Replications as tasks on a ``dask.distributed`` cluster.

:func:`run_dask` runs the replications of an ensemble on a cluster and yields them
reduced, in replication order, as :func:`sim.replication.in_order` does for the
worker-process pool. What every replication shares (the world, the sample function,
the settings) is sent to every worker once (``Client.scatter(..., broadcast=True)``);
each task then runs one replication from its seed sequence, exactly as in this
process, so the tables are identical bit for bit to ``jobs=1``.

The workers need the same paxsim version and dependencies as this process, and the
scenario's ``sample`` callable must be importable there (the scenario files' own
sampler is). Without a scheduler address a :class:`distributed.LocalCluster` of
``jobs`` worker processes, one thread each, is started for the run and closed after
it. ``dask[distributed]`` is an optional dependency (the ``dask`` extra).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.replication import WINDOW_PER_WORKER, _Job, _Reduced, _replicate, in_order

#: Seconds to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT_SECONDS = 30


def _task(job: _Job, replication: int, seq: np.random.SeedSequence) -> _Reduced:
    """One replication on a worker (the same call as in this process)."""
    return _replicate(job, job.world, replication, seq)


def run_dask(
    job: _Job,
    seqs: Sequence[np.random.SeedSequence],
    jobs: int,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
) -> Iterator[_Reduced]:
    """Yield the replications of ``seqs`` in order, run on a Dask cluster.

    Parameters
    ----------
    job : _Job
        What every replication shares.
    seqs : sequence of SeedSequence
        Seed sequence of each replication (``SeedSequence(seed).spawn(n)``).
    jobs : int
        Worker processes of the local cluster started without ``scheduler``; with
        one, replications in flight are twice the cluster's worker threads.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    progress : callable, optional
        ``progress(done, total)``, called in this process as replications finish.

    Raises
    ------
    InputError
        If ``dask.distributed`` is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster, wait
    except ImportError:
        raise InputError(
            "--executor",
            "dask",
            "dask.distributed is not installed",
            "install it with: pip install 'paxsim[dask]'",
        ) from None
    cluster: Any = None
    try:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=min(jobs, len(seqs)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        raise InputError(
            "--scheduler",
            str(scheduler),
            f"cannot connect ({str(err).splitlines()[0] if str(err) else type(err).__name__})",
            "give the address of a running dask scheduler, e.g. tcp://host:8786",
        ) from None
    try:
        threads = max(1, sum(client.nthreads().values()))
        shared = client.scatter(job, broadcast=True, hash=False)
        run = uuid.uuid4().hex[:12]

        def submit(r: int) -> Any:
            return client.submit(_task, shared, r, seqs[r], pure=False, key=f"paxsim-{run}-{r}")

        def first_done(pending: set[Any]) -> tuple[set[Any], set[Any]]:
            done, not_done = wait(pending, return_when="FIRST_COMPLETED")
            return set(done), set(not_done)

        yield from in_order(submit, len(seqs), WINDOW_PER_WORKER * threads, first_done, progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
