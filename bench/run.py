"""Run the benchmark suite and write bench/results.json.

Run from the repository root, in an environment with the ``bench`` extra::

    python bench/run.py                    # every figure (about 10 minutes)
    python bench/run.py --quick            # fewer repeats, no 1,000-replication run
    python bench/run.py --only ree_pair --only horizon

Each figure is measured in this one process (the memory figure in subprocesses it
starts) and written with its targets, pass or fail, and the machine line. With
``--only``, the figures not run keep their earlier records in the results file.
Exits 1 if a target measured in this run is missed, 0 otherwise. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine  # noqa: E402
from figures import FIGURES  # noqa: E402

RESULTS = HERE / "results.json"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen figures, write the results file, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(FIGURES), metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip 1,000 reps")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results JSON file")
    args = parser.parse_args(argv)
    names = args.only or list(FIGURES)

    line = machine()
    began = time.perf_counter()
    records: dict[str, object] = {}
    for name in names:
        print(f"== {name}", flush=True)
        t = time.perf_counter()
        rec = FIGURES[name](args.quick)
        rec["figure_wall_s"] = round(time.perf_counter() - t, 1)
        rec["quick"] = args.quick
        rec["machine"] = line
        records[name] = rec
        for tg in rec["targets"]:
            verdict = "PASS" if tg["pass"] else "MISS"
            print(f"   {verdict} {tg['target']}: {tg['value']} (target {tg['limit']})", flush=True)
    total = round(time.perf_counter() - began, 1)

    old: dict[str, object] = {}
    if args.output.exists():
        old = json.loads(args.output.read_text()).get("figures", {})
    figures = {k: records.get(k, old.get(k)) for k in FIGURES if k in records or k in old}
    summary = [{"figure": k, **tg} for k, rec in figures.items() for tg in rec["targets"]]
    out = {
        "machine": line,
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "run_wall_s": total,
        "figures_run": names,
        "summary": summary,
        "figures": figures,
    }
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    missed = [tg["target"] for tg in summary if tg["figure"] in records and not tg["pass"]]
    print(f"wrote {args.output} in {total} s; targets missed: {missed or 'none'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
