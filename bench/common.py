"""Shared pieces of the benchmark suite: timing, the machine line, power-law fits."""

from __future__ import annotations

import datetime as dt
import gc
import importlib.metadata
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Best wall and best CPU seconds (of this process) over the timed calls of one run."""

    wall: float
    cpu: float
    walls: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "best_wall_s": round(self.wall, 6),
            "best_cpu_s": round(self.cpu, 6),
            "wall_s": [round(t, 6) for t in self.walls],
        }


def _once(fn: Callable[[], object]) -> tuple[float, float]:
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def best_of(fn: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times; keep the best times."""
    return interleaved([fn], repeats, warmup)[0]


def interleaved(fns: Sequence[Callable[[], object]], repeats: int, warmup: int = 1) -> list[Timing]:
    """Time several calls in turn (a, b, a, b, ...) so that load on the machine hits all.

    Each is warmed up ``warmup`` times first; returns one :class:`Timing` per call.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    runs: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeats):
        for out, fn in zip(runs, fns, strict=True):
            out.append(_once(fn))
    return [
        Timing(min(w for w, _ in r), min(c for _, c in r), tuple(w for w, _ in r)) for r in runs
    ]


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) on log(x): the ``b`` of ``y = a * x**b``."""
    slope, _ = np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)
    return float(slope)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, object]:
    """The machine line: platform, CPU count, Python and package versions, date (UTC)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "simpy": _version("simpy"),
        "numba": _version("numba"),
        "supplynetpy": _version("supplynetpy"),
        "psutil": _version("psutil"),
        "paxsim": _version("paxsim"),
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_1_5_15_min_at_start": [round(x, 2) for x in load],
    }


def check(value: float, limit: float, kind: str) -> bool:
    """Whether ``value`` meets ``limit``: ``kind`` is ``">="`` or ``"<="``."""
    if kind == ">=":
        return value >= limit
    if kind == "<=":
        return value <= limit
    raise ValueError(kind)


def target(name: str, value: float, kind: str, limit: float, what: str) -> dict[str, object]:
    """One target's record: the measured value, the limit and whether it is met."""
    return {
        "target": name,
        "what": what,
        "value": round(value, 4),
        "limit": f"{kind} {limit:g}",
        "pass": check(value, limit, kind),
    }
