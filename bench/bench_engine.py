"""Engine benchmark: a 150-facility, 5-year run with an export ban, against a reference run.

Run from the repository root::

    .venv/bin/python bench/bench_engine.py

Prints a table and exits 1 if a target is missed, 0 otherwise (see ``bench/README.md``).
"""

from __future__ import annotations

import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

import sim.engine
from sim.engine import simulate
from sim.events import Event
from sim.examples import example_world
from sim.record import EpochLog, RunFacts, RunRecord
from sim.synthetic import synthetic_ban, synthetic_world
from sim.world import World

START = "2025-01-01"
HORIZON_DAYS = 1826  # 5 years
N_FACILITIES = 150
WORLD_SEED = 0
RUN_SEED = 1
REPEATS = 5

#: Target from the issue: run (a) in under this many wall seconds, on the machine at hand.
TARGET_SECONDS = 0.2
#: Target on the ratio (a)/(b), measured in one process so that it travels between
#: machines better than absolute seconds. About twice the ratio measured: 6.8-7.4 when
#: the benchmark was written; 2.9-3.1 since the example world's data centers hold their
#: accelerators as an installed base (issue 9: run (b) went from 261 to 781 epochs), so
#: it fails when the engine gets clearly slower on large worlds relative to small ones.
TARGET_RATIO = 7.0


def run(world: World, events: Sequence[Event]) -> RunRecord:
    """One benchmarked run: ``simulate`` over the whole horizon with a fixed seed."""
    return simulate(
        world,
        events,
        start=START,
        horizon_days=HORIZON_DAYS,
        rng=np.random.default_rng(RUN_SEED),
    )


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Warm up once, then return the best wall time of ``repeats`` calls, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def count_epochs(world: World, events: Sequence[Event]) -> int | None:
    """Number of re-settlements (rate epochs) of one run, or None if not reachable.

    ``simulate`` does not return it, so this peeks at the engine's internal run object
    through ``sim.engine.build_record`` (untimed run). Returns None if the engine's
    internals changed.
    """
    original = sim.engine.build_record
    seen: list[int] = []

    def capture(epochs: EpochLog, facts: RunFacts) -> RunRecord:
        seen.append(len(epochs))
        return original(epochs, facts)

    sim.engine.build_record = capture
    try:
        run(world, events)
    except AttributeError:
        return None
    finally:
        sim.engine.build_record = original
    return seen[0] if seen else None


def peak_memory(world: World, events: Sequence[Event]) -> int:
    """Peak traced memory of one run in bytes (world built beforehand, not counted)."""
    tracemalloc.start()
    try:
        run(world, events)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def measure() -> dict[str, float | int | None]:
    """Time runs (a) and (b) in this process; return the figures (seconds, ratio, epochs, peak)."""
    big = synthetic_world(N_FACILITIES, rng=np.random.default_rng(WORLD_SEED))
    ban = synthetic_ban(big)
    ref = example_world()

    t_big = best_of(lambda: run(big, ban))
    t_ref = best_of(lambda: run(ref, []))
    return {
        "facilities_a": len(big.facilities),
        "facilities_b": len(ref.facilities),
        "wall_s_a": t_big,
        "wall_s_b": t_ref,
        "ratio": t_big / t_ref,
        "epochs_a": count_epochs(big, ban),
        "epochs_b": count_epochs(ref, []),
        "peak_memory_bytes_a": peak_memory(big, ban),
    }


def main() -> int:
    """Measure, print the table, return the exit status (1 if a target is missed)."""
    m = measure()
    t_big, t_ref, ratio = (
        float(m["wall_s_a"] or 0),
        float(m["wall_s_b"] or 0),
        float(m["ratio"] or 0),
    )

    def epochs(n: float | int | None, t: float) -> str:
        return f"{'n/a':>7} {'n/a':>9}" if n is None else f"{int(n):7d} {1e6 * t / n:9.0f}"

    print(
        f"paxsim engine benchmark: {HORIZON_DAYS} days, best of {REPEATS} after 1 warm-up "
        f"(Python {platform.python_version()}, numpy {np.__version__})"
    )
    print(f"{'run':<40} {'facil.':>6} {'epochs':>7} {'us/epoch':>9} {'wall s':>8}")
    rows = (
        (f"(a) synthetic_world({N_FACILITIES}) + ban", m["facilities_a"], m["epochs_a"], t_big),
        ("(b) example_world(), no events", m["facilities_b"], m["epochs_b"], t_ref),
    )
    for name, n_fac, n_ep, t in rows:
        print(f"{name:<40} {int(n_fac or 0):6d} {epochs(n_ep, t)} {t:8.4f}")
    print(f"{'ratio (a)/(b)':<65} {ratio:8.2f}")
    peak = float(m["peak_memory_bytes_a"] or 0)
    print(f"{'peak memory of one (a) run, tracemalloc (MiB)':<65} {peak / 2**20:8.1f}")
    print()

    missed = 0
    for name, value, limit in checks(t_big, ratio):
        ok = value < limit
        missed += not ok
        print(f"target {name:<30} {value:8.3f}  {'ok' if ok else 'MISSED'}")
    return 1 if missed else 0


def checks(t_big: float, ratio: float) -> tuple[tuple[str, float, float], ...]:
    """The two targets: (name, measured value, limit); a target is met if value < limit."""
    return (
        (f"(a) wall s < {TARGET_SECONDS}", t_big, TARGET_SECONDS),
        (f"(a)/(b) < {TARGET_RATIO}", ratio, TARGET_RATIO),
    )


if __name__ == "__main__":
    sys.exit(main())
