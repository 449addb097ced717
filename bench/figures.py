"""The figures of the benchmark suite: each one a function returning its record.

A record holds what was measured (raw seconds or bytes), how (repeats, what is inside
the timed call) and its targets, each with the measured value, the limit and pass/fail.
``bench/README.md`` describes each figure; ``bench/run.py`` runs them.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_engine
import numpy as np
import supplynetpy_net as snp
from common import Timing, best_of, fit_exponent, interleaved, target

from sim.engine import simulate
from sim.ensemble import run_scenario
from sim.events import Event
from sim.network import Network
from sim.record import RunRecord
from sim.scenario import load_scenario
from sim.settings import Settings
from sim.synthetic import synthetic_ban, synthetic_world
from sim.world import World

ROOT = Path(__file__).resolve().parent.parent
START = "2025-01-01"
REFERENCE_SCENARIO = "scenarios/ree_controls_2025.yaml"
#: The cheapest scenario of scenarios/ (the 8-facility example world, 1095 days): about
#: 0.3 s a paired replication in process, 0.5 s through `paxsim run` with the result
#: folder written, so 1,000 replications take some 8 minutes on one core.
MEMORY_SCENARIO = "scenarios/example_ban.yaml"
FACILITY_SIZES = (75, 150, 300, 600, 1200)
HORIZON_YEARS = (1, 2, 5, 10, 20)
#: The world of the horizon figure and the horizon of the facilities figure.
HORIZON_WORLD_FACILITIES = 150
FACILITIES_HORIZON_DAYS = 1826
MEMORY_REPLICATIONS = (100, 1000)
#: "Flat from 100 replications on": the peak at 1,000 at most this multiple of the peak
#: at 100 (our reading of "flat"; a run that keeps every replication grows ~10x).
FLAT_LIMIT = 1.2
GB = 1e9
MEASURE = (
    "best CPU seconds of this process (time.process_time) over the repeats, the figure "
    "judged; best wall seconds (time.perf_counter) recorded too. CPU time, since the "
    "machine's cores are shared and wall time waits for them"
)


def _pax(
    world: World, events: list[Event], settings: Settings, horizon_days: int, seed: int = 1
) -> RunRecord:
    return simulate(
        world,
        events,
        start=START,
        horizon_days=horizon_days,
        rng=np.random.default_rng(seed),
        settings=settings,
    )


def _snp_versus(
    world: World, events: list[Event], settings: Settings, knockout: bool, quick: bool
) -> tuple[Timing, Timing, dict[str, object]]:
    repeats = 2 if quick else 5
    pax, other = interleaved(
        [
            lambda: _pax(world, events, settings, snp.HORIZON_DAYS),
            lambda: snp.supplynetpy_run(knockout=knockout, seed=1),
        ],
        repeats,
    )
    # Untimed: what each side delivered (the models differ; the cost is what is compared).
    rec = _pax(world, events, settings, snp.HORIZON_DAYS)
    retail = (world.facilities["type"] == "retailer").to_numpy()
    demand = snp.N_RETAILERS * snp.ORDERS_PER_DAY * snp.UNITS_PER_ORDER * snp.HORIZON_DAYS
    res = snp.supplynetpy_run(knockout=knockout, seed=1)
    how = {
        "paxsim_retail_output_over_mean_demand": round(
            float(rec.output[:, retail].sum()) / demand, 4
        ),
        "supplynetpy_customer_orders_delivered_share": round(
            res["fulfillment_received_by_customers"][0] / res["demand_by_customers"][0], 4
        ),
        "repeats": repeats,
        "warmup": 1,
        "order": "interleaved: paxsim, SupplyNetPy, paxsim, ... in one process",
        "measure": MEASURE,
        "horizon_days": snp.HORIZON_DAYS,
        "sites": snp.N_SITES,
        "links": len(snp.LINKS),
        "paxsim_links": Network(world, dt.date.fromisoformat(START)).l,
    }
    return pax, other, how


def supplynetpy_shipped(quick: bool) -> dict[str, object]:
    """paxsim with shipped settings against SupplyNetPy, on SupplyNetPy's 50-site network."""
    world = snp.paxsim_world()
    pax, other, how = _snp_versus(world, [], Settings(), knockout=False, quick=quick)
    ratio = other.cpu / pax.cpu
    return {
        "description": "paxsim, shipped settings (weekly review, no demand noise, no "
        "events), against SupplyNetPy as it is (Poisson demand, exponential lead times, "
        "no disruption) on SupplyNetPy's 50-site network, 1,095 days",
        "how": how,
        "paxsim": pax.as_dict(),
        "supplynetpy": other.as_dict(),
        "ratio_supplynetpy_over_paxsim": round(ratio, 3),
        "ratio_wall": round(other.wall / pax.wall, 3),
        "targets": [
            target(
                "shipped_speedup",
                ratio,
                ">=",
                200,
                "SupplyNetPy seconds / paxsim seconds (shipped settings)",
            )
        ],
    }


def supplynetpy_like_for_like(quick: bool) -> dict[str, object]:
    """Like for like: daily review, stochastic demand and a 60-day knockout in both."""
    world = snp.paxsim_world(noise_cv=1.0)
    settings = Settings(review_days=1.0)
    pax, other, how = _snp_versus(
        world, list(snp.paxsim_knockout()), settings, knockout=True, quick=quick
    )
    ratio = other.cpu / pax.cpu
    return {
        "description": "like for like on SupplyNetPy's 50-site network, 1,095 days: paxsim "
        "with Settings(review_days=1.0), demand noise_cv 1.0 at every retailer and a "
        "FacilityOutage of manufacturer M0 (capacity 0) from day 365 for 60 days; "
        "SupplyNetPy with its Poisson demand and M0 disrupted once, from day 365 for 60 days",
        "how": how,
        "paxsim": pax.as_dict(),
        "supplynetpy": other.as_dict(),
        "ratio_supplynetpy_over_paxsim": round(ratio, 3),
        "ratio_wall": round(other.wall / pax.wall, 3),
        "targets": [
            target(
                "like_for_like_speedup",
                ratio,
                ">=",
                50,
                "SupplyNetPy seconds / paxsim seconds (daily review, noise, knockout)",
            )
        ],
    }


def ree_pair(quick: bool) -> dict[str, object]:
    """One paired replication of ree_controls_2025 against one SupplyNetPy 50-site run.

    Timed two ways, interleaved with SupplyNetPy: a replication whose baseline is
    computed (the first of an ensemble in each process) and a replication that reuses
    the process's baseline (every further one, :mod:`sim.pair`). The target is judged on
    the second, the cost of each of the 1,000 replications of an ensemble.
    """
    from sim import replication

    scenario = load_scenario(ROOT / REFERENCE_SCENARIO)
    repeats = 1 if quick else 3

    def cold() -> None:
        replication.BASELINES.clear()
        run_scenario(scenario, replications=1)

    def warm() -> None:
        run_scenario(scenario, replications=1)

    pax_cold, other, pax = interleaved(
        [cold, lambda: snp.supplynetpy_run(knockout=False, seed=1), warm], repeats
    )
    hits = replication.BASELINES.hits
    ratio = other.cpu / pax.cpu
    return {
        "description": "one paired replication of scenarios/ree_controls_2025.yaml "
        "(sim.ensemble.run_scenario(load_scenario(path), replications=1): scenario and "
        "baseline runs, reduced to the ensemble's tables; the scenario loaded and its world "
        "built and cached by the warm-up call), in an ensemble: the baseline reused from "
        "the process's cache as by every replication after the first (the reference "
        "world's baseline draws nothing random, sim.pair); against one SupplyNetPy run of "
        "its 50-site network over 1,095 days. 'paxsim_baseline_computed' times the same "
        "call with the cache cleared first (the first replication of each process)",
        "how": {
            "repeats": repeats,
            "warmup": 1,
            "order": "interleaved (computed, SupplyNetPy, reused), in one process",
            "measure": MEASURE,
            "baselines_reused": hits,
        },
        "paxsim": pax.as_dict(),
        "paxsim_baseline_computed": pax_cold.as_dict(),
        "supplynetpy": other.as_dict(),
        "ratio_supplynetpy_over_paxsim": round(ratio, 3),
        "ratio_supplynetpy_over_paxsim_baseline_computed": round(other.cpu / pax_cold.cpu, 3),
        "paxsim_share_of_supplynetpy_run": round(pax.cpu / other.cpu, 4),
        "ratio_wall": round(other.wall / pax.wall, 3),
        "targets": [
            target(
                "reference_pair_cost",
                ratio,
                ">=",
                30,
                "SupplyNetPy run seconds / paxsim paired-replication seconds (at most "
                "1/30 of a SupplyNetPy run)",
            )
        ],
    }


def facilities(quick: bool) -> dict[str, object]:
    """Cost of simulate against the number of facilities of a synthetic world (75 to 1,200)."""
    repeats = 1 if quick else 3
    rows = []
    for i, n in enumerate(FACILITY_SIZES):
        world = synthetic_world(n, rng=np.random.default_rng(0))
        ban = list(synthetic_ban(world))
        t = best_of(
            lambda w=world, b=ban: _pax(w, b, Settings(), FACILITIES_HORIZON_DAYS),
            repeats,
            warmup=1 if i == 0 else 0,
        )
        net = Network(world, dt.date.fromisoformat(START))
        rows.append(
            {
                "facilities": n,
                "sourcing_rows": len(world["sourcing"]),
                "engine_links": net.l,
                "input_slots": net.m,
                **t.as_dict(),
            }
        )
    sizes = [r["facilities"] for r in rows]
    cpus = [float(r["best_cpu_s"]) for r in rows]
    walls = [float(r["best_wall_s"]) for r in rows]
    exponent = fit_exponent(sizes, cpus)
    local = [
        round(fit_exponent(sizes[i : i + 2], cpus[i : i + 2]), 3) for i in range(len(rows) - 1)
    ]
    return {
        "description": "sim.engine.simulate on synthetic_world(n, rng=default_rng(0)) with "
        "synthetic_ban(world), 1,826 days, shipped settings, n = 75 ... 1,200; the cost "
        "exponent is the least-squares slope of log(best CPU s) on log(n)",
        "how": {
            "repeats": repeats,
            "warmup": "one untimed run of the first size",
            "measure": MEASURE,
            "world": "synthetic_world: every buyer orders each input from the few producers "
            "of its north-west-corner sourcing plan (at most P + U - 1 rows per input), "
            "12 countries",
        },
        "sizes": rows,
        "exponent": round(exponent, 4),
        "exponent_wall": round(fit_exponent(sizes, walls), 4),
        "exponent_between_consecutive_sizes": local,
        "links_exponent": round(fit_exponent(sizes, [r["engine_links"] for r in rows]), 4),
        "sourcing_rows_exponent": round(fit_exponent(sizes, [r["sourcing_rows"] for r in rows]), 4),
        "targets": [
            target(
                "facilities_exponent",
                exponent,
                "<=",
                1.1,
                "log-log slope of cost in facilities, 75 to 1,200",
            )
        ],
    }


def horizon(quick: bool) -> dict[str, object]:
    """Cost of simulate against the horizon, 1 to 20 years, on one synthetic world."""
    repeats = 1 if quick else 3
    world = synthetic_world(HORIZON_WORLD_FACILITIES, rng=np.random.default_rng(0))
    rows = []
    for i, years in enumerate(HORIZON_YEARS):
        days = 365 * years
        t = best_of(
            lambda d=days: _pax(world, [], Settings(), d), repeats, warmup=1 if i == 0 else 0
        )
        rows.append({"years": years, "horizon_days": days, **t.as_dict()})
    years_ = [r["years"] for r in rows]
    cpus = [float(r["best_cpu_s"]) for r in rows]
    walls = [float(r["best_wall_s"]) for r in rows]
    exponent = fit_exponent(years_, cpus)
    return {
        "description": "sim.engine.simulate on synthetic_world(150, rng=default_rng(0)), no "
        "events, shipped settings, over 1, 2, 5, 10 and 20 years (365 days each); the "
        "exponent is the least-squares slope of log(best CPU s) on log(years)",
        "how": {
            "repeats": repeats,
            "warmup": "one untimed run of the first horizon",
            "measure": MEASURE,
        },
        "horizons": rows,
        "exponent": round(exponent, 4),
        "exponent_wall": round(fit_exponent(years_, walls), 4),
        "exponent_between_consecutive_horizons": [
            round(fit_exponent(years_[i : i + 2], cpus[i : i + 2]), 3) for i in range(len(rows) - 1)
        ],
        "targets": [
            target(
                "horizon_exponent", exponent, "<=", 1.0, "log-log slope of cost in horizon, 1-20 y"
            )
        ],
    }


def _vm_hwm(pid: int) -> int:
    """Peak resident set size of process ``pid`` so far (``VmHWM``, Linux), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _peak_rss(args: list[str], poll_s: float = 0.02) -> dict[str, object]:
    """Run ``args``; return its peak resident memory, two ways.

    ``peak_tree_rss_bytes``: the largest sum of RSS of the process and all its
    descendants seen by polling with psutil every ``poll_s`` seconds (a peak shorter
    than that can be missed). ``sum_vm_hwm_bytes``: the sum over the processes of the
    tree of the last high-water mark of RSS the kernel reported for each (``VmHWM``):
    it sees short peaks between polls; for several processes it is an upper bound,
    since their peaks need not coincide. (``ru_maxrss`` from ``wait4`` is not used: it
    counts the benchmark process's own pages copied into the child before ``exec``.)
    """
    import psutil

    began = time.perf_counter()
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
    ps = psutil.Process(proc.pid)
    peak = 0
    hwm: dict[int, int] = {}
    while proc.poll() is None:
        rss = 0
        try:
            tree = [ps, *ps.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for p in tree:
            try:
                rss += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            hwm[p.pid] = max(hwm.get(p.pid, 0), _vm_hwm(p.pid))
        peak = max(peak, rss)
        time.sleep(poll_s)
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    return {
        "returncode": proc.returncode,
        "peak_tree_rss_bytes": peak,
        "sum_vm_hwm_bytes": sum(hwm.values()),
        "processes_seen": len(hwm),
        "wall_s": round(time.perf_counter() - began, 2),
        "stderr_tail": stderr.decode(errors="replace")[-500:] if proc.returncode else "",
    }


def memory(quick: bool) -> dict[str, object]:
    """Peak memory of `paxsim run` at 100 and 1,000 replications (1,000 skipped if quick)."""
    counts = MEMORY_REPLICATIONS[:1] if quick else MEMORY_REPLICATIONS
    cli = str(Path(sys.executable).with_name("paxsim"))
    rows = []
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="paxsim-bench-") as out:
            args = [
                cli,
                "run",
                MEMORY_SCENARIO,
                "--replications",
                str(n),
                "--out",
                out,
                "--jobs",
                "1",
            ]
            r = _peak_rss(args)
            r["result_bytes_on_disk"] = sum(
                f.stat().st_size for f in Path(out).rglob("*") if f.is_file()
            )
        rows.append({"replications": n, **r})
    peaks = {r["replications"]: int(r["peak_tree_rss_bytes"]) for r in rows}
    ok_runs = all(r["returncode"] == 0 for r in rows)
    targets = []
    if 1000 in peaks and ok_runs:
        targets = [
            target("memory_1000_under_1GB", peaks[1000] / GB, "<=", 1.0, "peak GB at 1,000"),
            target(
                "memory_flat_100_to_1000",
                peaks[1000] / peaks[100],
                "<=",
                FLAT_LIMIT,
                "peak at 1,000 replications / peak at 100",
            ),
        ]
    elif not ok_runs:
        targets = [{"target": "memory_runs_completed", "value": 0, "limit": "all", "pass": False}]
    return {
        "description": f"peak resident memory of `paxsim run {MEMORY_SCENARIO} --replications "
        "N --out <temporary folder> --jobs 1` in a subprocess (the whole command: loading, "
        "the replications, reducing, writing the result folder)",
        "how": {
            "measure": "largest sum of RSS over the process and all its descendants, "
            "polled with psutil every 0.02 s",
            "cross_check": "sum over the processes of their last VmHWM (kernel high-water "
            "mark of RSS) read from /proc while polling",
            "skipped": ["1,000 replications (--quick)"] if quick else [],
        },
        "runs": rows,
        "targets": targets,
    }


def engine(quick: bool) -> dict[str, object]:
    """bench_engine.py's figure: 150 facilities, 5 years, a ban, against the example world."""
    m = bench_engine.measure()
    t_big, ratio = float(m["wall_s_a"] or 0), float(m["ratio"] or 0)
    return {
        "description": "bench/bench_engine.py: (a) synthetic_world(150) + synthetic_ban over "
        "1,826 days against (b) example_world() without events, best of 5 after a warm-up",
        "measured": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()},
        "targets": [
            target("engine_a_seconds", t_big, "<=", bench_engine.TARGET_SECONDS, "(a) wall s"),
            target("engine_ratio", ratio, "<=", bench_engine.TARGET_RATIO, "(a)/(b)"),
        ],
    }


FIGURES = {
    "supplynetpy_shipped": supplynetpy_shipped,
    "supplynetpy_like_for_like": supplynetpy_like_for_like,
    "ree_pair": ree_pair,
    "facilities": facilities,
    "horizon": horizon,
    "memory": memory,
    "engine": engine,
}
