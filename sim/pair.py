"""Paired runs: a scenario and its baseline, and baselines reused across replications.

A replication runs its scenario and a paired baseline: the same world and events less
the disruptions, on the same seed (:func:`simulate_pair`). When no random draw decides
anything in the baseline (no demand noise; licence and qualification times fixed,
approvals certain: its record's ``drew_random`` is false), its record is the same for
every seed, and replications whose baselines have the same inputs would compute the
same record again and again. The reference world has no demand noise, its standing
licences are certain (approved share 0 or 1, approval probability 1) and the library
scenarios draw no policies per replication, so one baseline serves a whole ensemble.

:class:`BaselineCache` keeps the last such record of a process and hands it out while
the inputs repeat. Results do not change, to the bit: a kept record is the record the
run would compute (``tests/test_pair.py`` compares them field by field).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from sim.engine import simulate
from sim.events import Event, is_disruption
from sim.record import RunRecord
from sim.response import AllocationRule, pro_rata
from sim.settings import Settings
from sim.world import World

__all__ = ["BaselineCache", "simulate_pair"]


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two baseline keys name the same run: the world by identity, the rest by value."""
    return (
        a[0] is b[0] and len(a) == len(b) and all(x == y for x, y in zip(a[1:], b[1:], strict=True))
    )


def _read_only(record: RunRecord) -> None:
    """Make the arrays of a shared record read-only: a change by any reader would raise."""
    for f in fields(record):
        value = getattr(record, f.name)
        for v in value.values() if isinstance(value, dict) else (value,):
            if isinstance(v, np.ndarray):
                v.flags.writeable = False


class BaselineCache:
    """The last seed-independent baseline of this process, reused while its inputs repeat.

    A baseline is named by its world (matched by identity: an ensemble worker holds one
    world object for all its replications), its policies (a list of events, matched by
    equality) and the rest of its inputs (start, horizon, settings and allocation rule,
    by equality). Only a record with ``drew_random`` false is kept, with its arrays made
    read-only; a baseline that drew random numbers is computed for every replication.
    The kept record's tables (``facilities``, ``slots``) and log are shared by every
    replication that gets it: readers must not change them.

    Attributes
    ----------
    hits : int
        How many baselines were handed out from the cache.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._record: RunRecord | None = None
        self.hits = 0

    def get(
        self,
        world: World,
        policies: Sequence[Event],
        rest: tuple[Any, ...],
        compute: Callable[[], RunRecord],
    ) -> RunRecord:
        """Return the baseline of these inputs: the kept record, or ``compute()``."""
        key = (world, list(policies), *rest)
        if self._key is not None and self._record is not None and _same(self._key, key):
            self.hits += 1
            return self._record
        record = compute()
        if not record.drew_random:
            _read_only(record)
            self._key, self._record = key, record
        return record

    def clear(self) -> None:
        """Forget the kept record."""
        self._key, self._record = None, None


def simulate_pair(
    world: World,
    events: Sequence[Event] = (),
    *,
    start: dt.date | str,
    horizon_days: int,
    seed: int | np.random.SeedSequence,
    settings: Settings | None = None,
    allocation: AllocationRule = pro_rata,
    baselines: BaselineCache | None = None,
) -> tuple[RunRecord, RunRecord]:
    """Run a scenario and its paired baseline (the same events less the disruptions).

    Both runs get a generator built from the same ``seed``, so they see the same
    random demand; returns ``(actual, baseline)``. With ``baselines``, a baseline that
    cannot depend on the seed is taken from (or kept in) that cache; the records are
    the same either way.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    kwargs = dict(start=start, horizon_days=horizon_days, settings=settings, allocation=allocation)
    actual = simulate(world, events, rng=np.random.default_rng(seq), **kwargs)  # type: ignore[arg-type]
    policies = [e for e in events if not is_disruption(e)]

    def baseline() -> RunRecord:
        return simulate(world, policies, rng=np.random.default_rng(seq), **kwargs)  # type: ignore[arg-type]

    if baselines is None:
        return actual, baseline()
    rest = (str(start), int(horizon_days), settings or Settings(), allocation)
    return actual, baselines.get(world, policies, rest, baseline)
