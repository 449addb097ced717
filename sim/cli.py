"""The ``paxsim`` command line: a thin layer over the public API.

Only the command line (this module and the ``sim.cli_*`` modules) configures output
and exit codes. Bad input prints one line on stderr and exits with code 2; a failure
while running exits with code 1; ``--debug`` shows the traceback instead. Bad input
includes bad options and arguments (an unknown option, a missing argument, a value out
of range): they too print one line,
``error: paxsim <command>: <option>: <problem>; fix: <fix>``.

Commands that run scenarios check everything they can before the first replication:
the scenario files (each once, each name once), ``--out`` (a folder, or one that can
be created, and writable), the result folders (directly in ``--out``, and not there
yet unless ``--overwrite``) and the memory the run will need.

This module holds the app and the commands that run scenarios (run, compare, validate)
with their checks; :mod:`sim.cli_figures` holds plot and replay, :mod:`sim.cli_info`
list, schema, dictionary, version and example, and :mod:`sim.cli_common` the one-line
errors and exit codes they all share.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from sim import plot as plots
from sim.cli_common import BUNDLED, HEADLINE, Debug, _errors, _OneLineErrors, _reason
from sim.cli_figures import _check_figure_path, _save_figure, plot, replay
from sim.cli_info import dictionary, example, list_, plausibility, schema, version
from sim.compare import paired_differences
from sim.ensemble import Ensemble
from sim.errors import InputError
from sim.headline import headline_csv, headline_json, headline_table, onset_summary, print_headline
from sim.memory import streamed_peak_bytes
from sim.results import (
    check_folder_name,
    read_results,
    result_folder,
    write_text_atomic,
)
from sim.scenario import MAX_REPLICATIONS, MAX_SEED, Scenario, load_scenario
from sim.sink import Written, write_scenario

__all__ = ["BUNDLED", "app", "main"]

app = typer.Typer(
    cls=_OneLineErrors,
    help="paxsim: simulate supply-chain dependency risk (minerals to AI compute).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _progress(label: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """Return a rich progress bar updater on a terminal (stderr), or nothing."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


class OutputFormat(StrEnum):
    """How ``paxsim run`` prints the headline table (see :mod:`sim.headline`)."""

    table = "table"
    csv = "csv"
    json = "json"


def _headline(
    ensemble: Ensemble | Written, folder: Path, output_format: OutputFormat, first: bool
) -> pd.DataFrame:
    """Print the line naming the result folder and the headline table of one run.

    With ``table`` both go to stdout; with ``csv`` and ``json`` the line goes to stderr so
    that stdout holds only data: CSV rows (the header with the ``first`` run only) are
    printed here, the JSON array by the caller once every run is done. Returns the table.
    """
    data = output_format is not OutputFormat.table
    typer.echo(f"{ensemble.name}: {ensemble.replications} replications -> {folder}", err=data)
    table = headline_table(
        ensemble.metrics,
        ensemble.parameters,
        start=ensemble.start,
        scenario=ensemble.name,
        stages=ensemble.stages or None,  # the world's chain order, as in the figures
    )
    if output_format is OutputFormat.table:
        onset = onset_summary(ensemble.parameters, ensemble.start)
        title = f"{ensemble.name} ({ensemble.replications} replications): {onset}"
        print_headline(table, theta=ensemble.theta, k=ensemble.k, title=title)
    elif output_format is OutputFormat.csv:
        typer.echo(headline_csv(table, header=first), nl=False)
    return table


# --- checks before running ------------------------------------------------------------

#: Share of physical memory a run may plan to use (see :func:`_memory_limit`).
MEMORY_SHARE = 0.8
#: Memory limit where the physical memory cannot be read.
FALLBACK_MEMORY_BYTES = 8 * 2**30

Seed = Annotated[
    int | None,
    typer.Option(
        help="Root seed, 0 <= seed < 2**63 (default: the scenario's).", min=0, max=MAX_SEED - 1
    ),
]
Replications = Annotated[
    int | None,
    typer.Option(help="Replications (default: the scenario's).", min=1, max=MAX_REPLICATIONS),
]
Jobs = Annotated[
    int,
    typer.Option(
        help="Worker processes (with --executor dask and no --scheduler: of the local cluster).",
        min=1,
    ),
]


class Executor(StrEnum):
    """Where ``paxsim run`` and ``compare`` run replications (:func:`sim.run_ensemble`)."""

    processes = "processes"
    dask = "dask"


ExecutorOption = Annotated[
    Executor,
    typer.Option(
        "--executor",
        help="Where replications run: processes (this machine, --jobs worker processes) or "
        "dask (a dask.distributed cluster: --scheduler, or a local one). Results are identical.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --executor dask: address of a running scheduler, e.g. tcp://host:8786.",
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing result folders (in --out only).")]


def _size(n: float) -> str:
    """Format a number of bytes with a decimal unit (``2.7 MB``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 999.5:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def _memory_limit() -> tuple[int, str]:
    """Return the memory a run may plan to use, and how it was set (for messages)."""
    try:
        total = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        total = 0
    if total <= 0:
        return FALLBACK_MEMORY_BYTES, "the default limit, physical memory unknown"
    return int(MEMORY_SHARE * total), f"{MEMORY_SHARE:.0%} of {_size(total)} of physical memory"


def _check_memory(
    scenario: Scenario, path: Path, replications: int | None, jobs: int, *, cli: bool = True
) -> None:
    """Refuse a run whose estimated peak memory is more than :func:`_memory_limit`.

    ``cli`` says whether the fix may name ``--replications`` (not for ``validate``).
    """
    n = scenario.replications if replications is None else replications
    field = "replications" if replications is None else "--replications"
    world, horizon = scenario.world(), scenario.horizon_days

    def need(reps: int) -> int:
        return streamed_peak_bytes(
            world, start=scenario.start, horizon_days=horizon, replications=reps, jobs=jobs
        )

    total = need(n)
    limit, how = _memory_limit()
    if total <= limit:
        return
    low, high = 0, n  # need(low) fits (or low == 0), need(high) does not
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if need(mid) <= limit else (low, mid)
    fewer_jobs = ", fewer --jobs" if jobs > 1 else ""
    if low >= 1:
        option = "--replications" if cli else "replications:"
        fix = f"give {option} {low} or fewer{fewer_jobs}, or a shorter horizon_days"
    else:
        fix = f"give a shorter horizon_days{fewer_jobs}"
    raise InputError(
        str(path),
        field,
        f"{n} replications of {horizon} days need about {_size(total)} of memory, "
        f"more than the limit of {_size(limit)} ({how})",
        fix,
    )


def _check_out(out: Path) -> None:
    """Check that ``out`` is a folder (creating it if missing) and that it is writable."""
    where = str(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(
                where, "--out", "exists and is not a folder", "give a folder (created if missing)"
            )
    else:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(
                where,
                "--out",
                f"cannot be created ({_reason(err)})",
                "give a folder you can write to",
            ) from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".paxsim-probe-", dir=out)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise InputError(
            where,
            "--out",
            f"is not writable ({_reason(err)})",
            "give a folder you can write to, or change its permissions",
        ) from None


def _check_files_once(paths: list[Path]) -> None:
    """Refuse a scenario file given twice in one command."""
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key in seen:
            raise InputError(
                str(path),
                "-",
                f"the same scenario file is given twice ({seen[key]} and {path})",
                "give each scenario file once",
            )
        seen[key] = path


def _check_names_once(loaded: list[tuple[Scenario, Path]]) -> None:
    """Refuse two scenarios of one name in one command (they would write one folder)."""
    seen: dict[str, Path] = {}
    for scenario, path in loaded:
        if scenario.name in seen:
            raise InputError(
                str(path),
                "name",
                f"'{scenario.name}' is also the name of {seen[scenario.name]} "
                "(both would write the same result folder)",
                "give each scenario its own name, or run them one at a time with different --out",
            )
        seen[scenario.name] = path


def _check_target(scenario: Scenario, path: Path, out: Path, overwrite: bool) -> Path:
    """Return the result folder of ``scenario`` in ``out``, checked (see module docstring)."""
    folder = result_folder(out, scenario.name, where=str(path), field="name")
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(
            str(path),
            "--out",
            f"{folder} exists and is not a folder",
            "remove it, or give another --out",
        )
    if not overwrite and folder.is_dir() and any(folder.iterdir()):
        raise InputError(
            str(path),
            "--out",
            f"the result folder {folder} already exists",
            "pass --overwrite to replace it, or give another --out",
        )
    return folder


def _prepare(
    loaded: list[tuple[Scenario, Path]],
    out: Path,
    replications: int | None,
    jobs: int,
    overwrite: bool,
) -> None:
    """Run every check that can fail before the first replication of any scenario."""
    _check_names_once(loaded)
    _check_out(out)
    for scenario, path in loaded:
        _check_target(scenario, path, out, overwrite)
        _check_memory(scenario, path, replications, jobs)


@dataclass(frozen=True)
class _Where:
    """How a command runs replications: worker processes or a Dask cluster."""

    jobs: int = 1
    executor: Executor = Executor.processes
    scheduler: str | None = None


def _check_where(where: _Where) -> None:
    if where.scheduler is not None and where.executor is not Executor.dask:
        raise InputError(
            "--scheduler",
            where.scheduler,
            "is only used with --executor dask",
            "add --executor dask, or leave out --scheduler",
        )


def _run_one(
    scenario: Scenario,
    path: Path,
    out: Path,
    replications: int | None,
    seed: int | None,
    where: _Where,
    overwrite: bool,
) -> tuple[Written, Path]:
    update, stop = _progress(scenario.name)
    folder = out / scenario.name
    try:
        written = write_scenario(
            scenario,
            folder,
            command=shlex.join(["paxsim", *sys.argv[1:]]),
            scenario_files=[path],
            replications=replications,
            seed=seed,
            jobs=where.jobs,
            executor=where.executor.value,
            scheduler=where.scheduler,
            progress=update,
            overwrite=overwrite,
            out=out,
        )
    except FileExistsError:
        raise InputError(
            str(path),
            "--out",
            f"the result folder {folder} was written by another run while this one ran "
            "(this run's results were not written)",
            "pass --overwrite to replace it, or give another --out",
        ) from None
    finally:
        stop()
    return written, folder


# --- commands ---------------------------------------------------------------------------


@app.command()
def run(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    replications: Replications = None,
    seed: Seed = None,
    jobs: Jobs = 1,
    executor: ExecutorOption = Executor.processes,
    scheduler: SchedulerOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the result folders.")] = Path("results"),
    overwrite: Overwrite = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="How to print the headline table: table (for people), csv or json (for "
            "scripts: stdout holds only the data).",
        ),
    ] = OutputFormat.table,
    debug: Debug = False,
) -> None:
    """Run scenarios with their paired baselines and write one result folder each.

    Prints a headline table per scenario: one row per world and bloc scope,
    stage (in chain order, mine to data_center) and output commodity, with the
    output loss share (mean and p95 over all replications), the median peak
    shortfall share, the median days to survive (TTS) and to recover (TTR)
    from the onset of the first disruption with their calendar dates and the
    share of replications that reached them (medians over those replications
    only; threshold theta = 95 % of baseline output, held for k = 7 days), and
    the median days to substitute each restricted input. A footnote defines
    every column.

    --format csv or json prints the same rows and numbers for scripts (dates
    YYYY-MM-DD; missing values empty in CSV, null in JSON; one CSV header and
    one JSON array over all scenarios), and the line naming each result folder
    goes to stderr.

    Before the first replication it checks the scenario files (each once, each
    name once), --out (a writable folder), that no result folder exists yet
    (unless --overwrite) and that the run fits in memory.

    Replications run in this process, in --jobs worker processes, or with
    --executor dask on a Dask cluster (--scheduler ADDRESS, or a local cluster of
    --jobs workers). Each is appended to the result folder as soon as it and all
    before it are done, so memory stays flat in --replications; the files are
    identical byte for byte whatever the executor and the number of workers.
    """
    with _errors(debug):
        where = _Where(jobs, executor, scheduler)
        _check_where(where)
        _check_files_once(scenarios)
        loaded = [(load_scenario(p), p) for p in scenarios]
        _prepare(loaded, out, replications, jobs, overwrite)
        tables = []
        for i, (scenario, path) in enumerate(loaded):
            written, folder = _run_one(scenario, path, out, replications, seed, where, overwrite)
            tables.append(_headline(written, folder, output_format, first=i == 0))
        if output_format is OutputFormat.json:
            typer.echo(headline_json(pd.concat(tables, ignore_index=True)), nl=False)


@dataclass(frozen=True)
class _Read:
    """A result folder given to compare: its scenario name, seeds and metrics."""

    name: str
    seed: object
    replications: object
    metrics: pd.DataFrame
    stages: tuple[str, ...] = ()


def _read_run(path: Path) -> _Read:
    """Read the scenario name, seeds and metrics of a result folder (bad input if unreadable)."""
    try:
        res = read_results(path, tables=("metrics",))
    except FileNotFoundError:
        raise InputError(
            str(path),
            "-",
            "is not a complete paxsim result folder (no run.json or metrics.parquet)",
            "give a folder written by paxsim run, or a scenario file",
        ) from None
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            str(path),
            "run.json",
            f"cannot be read ({first})",
            "give a folder written by paxsim run",
        ) from None
    run_info, metrics = res["run"], res["metrics"]
    assert isinstance(run_info, dict) and isinstance(metrics, pd.DataFrame)
    name = run_info.get("scenario")
    if not isinstance(name, str):
        raise InputError(
            str(path), "run.json", "has no scenario name", "give a folder written by paxsim run"
        )
    stages = tuple(str(v) for v in run_info.get("stages", ()))
    return _Read(name, run_info.get("seed"), run_info.get("replications"), metrics, stages)


def _run_info(name: str, replications: int, stages: tuple[str, ...]) -> dict[str, Any]:
    """Return the part of run.json the figures read, for a run held in memory."""
    return {"scenario": name, "replications": replications, "stages": list(stages)}


def _check_paired(pairs: list[tuple[str, object, object]]) -> None:
    """Refuse a comparison of runs on other seeds or replications, before running any."""
    name_a, seed_a, reps_a = pairs[0]
    for name_b, seed_b, reps_b in pairs[1:]:
        if (seed_a, reps_a) != (seed_b, reps_b):
            raise InputError(
                f"{name_a} vs {name_b}",
                "seed",
                f"runs use seeds {seed_a} / {seed_b} with {reps_a} / {reps_b} replications",
                "run both scenarios with the same --seed and --replications",
            )


def _check_compare_file(target: Path, where: str) -> None:
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InputError(
            where, "--out", f"{target} exists and is not a file", "remove it, or give another --out"
        )


@app.command()
def compare(
    inputs: Annotated[
        list[Path], typer.Argument(help="Result folders or scenario files (at least two).")
    ],
    replications: Annotated[
        int | None,
        typer.Option(help="Replications for scenario files.", min=1, max=MAX_REPLICATIONS),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Root seed for scenario files, 0 <= seed < 2**63.", min=0, max=MAX_SEED - 1
        ),
    ] = None,
    jobs: Jobs = 1,
    executor: ExecutorOption = Executor.processes,
    scheduler: SchedulerOption = None,
    out: Annotated[Path, typer.Option(help="Folder for results and the comparison.")] = Path(
        "results"
    ),
    overwrite: Overwrite = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the paired differences per bloc and stage to this .png, .svg or "
            ".pdf file (with several B: <stem>-<b><suffix>).",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Compare the first scenario with each other one, replication by replication.

    Writes ``compare-<a>-vs-<b>.csv`` (paired differences A - B: mean, p05, p50, p95,
    and the share of replications in which A is better) and prints the world and bloc
    rows of the headline metrics. With --plot, draws the distribution of each headline
    metric's paired difference per bloc and stage, with the share of replications in
    which A is better. Result folders are read and scenario files checked (as by run)
    before any scenario file is run.
    """
    with _errors(debug):
        where = _Where(jobs, executor, scheduler)
        _check_where(where)
        if len(inputs) < 2:
            raise InputError("compare", "inputs", "needs at least two", "give two or more")
        files = [p for p in inputs if not p.is_dir()]
        _check_files_once(files)
        read = {i: _read_run(p) for i, p in enumerate(inputs) if p.is_dir()}
        loaded = {i: (load_scenario(p), p) for i, p in enumerate(inputs) if not p.is_dir()}
        pairs: list[tuple[str, object, object]] = []
        for i in range(len(inputs)):
            if i in read:
                pairs.append((read[i].name, read[i].seed, read[i].replications))
            else:
                scen = loaded[i][0]
                pairs.append(
                    (
                        scen.name,
                        scen.seed if seed is None else seed,
                        scen.replications if replications is None else replications,
                    )
                )
        _check_paired(pairs)
        _prepare(list(loaded.values()), out, replications, jobs, overwrite)
        names = [name for name, _, _ in pairs]
        targets = []
        figures: list[Path | None] = []
        for j, name_b in enumerate(names[1:], start=1):
            file = f"compare-{names[0]}-vs-{name_b}.csv"
            target = result_folder(out, file, where=str(inputs[j]), field="scenario")
            _check_compare_file(target, str(inputs[j]))
            targets.append(target)
            figure = None
            if plot is not None:
                several = len(names) > 2
                figure = plot.with_name(f"{plot.stem}-{name_b}{plot.suffix}") if several else plot
                _check_figure_path(figure, "compare", "--plot")
            figures.append(figure)
        runs: list[tuple[str, pd.DataFrame, int, tuple[str, ...]]] = []
        for i in range(len(inputs)):
            if i in read:
                r = read[i]
                runs.append((r.name, r.metrics, int(str(r.replications)), r.stages))
                continue
            scenario, path = loaded[i]
            written, folder = _run_one(scenario, path, out, replications, seed, where, overwrite)
            r = _read_run(folder)  # every scope's metrics, from the folder just written
            runs.append((scenario.name, r.metrics, written.replications, written.stages))
        name_a, metrics_a, reps_a, stages_a = runs[0]
        for (name_b, metrics_b, reps_b, stages_b), target, figure in zip(
            runs[1:], targets, figures, strict=True
        ):
            diff = paired_differences(metrics_a, metrics_b, name_a, name_b)
            write_text_atomic(target, diff.to_csv(index=False))
            if figure is not None:
                fig = plots.paired_differences(
                    {"run": _run_info(name_a, reps_a, stages_a), "metrics": metrics_a},
                    {"run": _run_info(name_b, reps_b, stages_b), "metrics": metrics_b},
                )
                _save_figure(fig, figure)
                typer.echo(f"{name_a} - {name_b}: figure -> {figure}")
            typer.echo(
                f"{name_a} - {name_b} (paired over {diff['n'].max()} replications) -> {target}"
            )
            rows = diff[diff["scope_kind"].isin(["world", "bloc"]) & diff["metric"].isin(HEADLINE)]
            shown = rows.set_index(["scope", "stage", "commodity", "metric"])[
                ["mean", "p05", "p95", "a_better_share"]
            ]
            typer.echo(shown.to_string(float_format=lambda v: f"{v:.3f}"))


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    debug: Debug = False,
) -> None:
    """Check scenario files (schema, world, events, memory) without running them.

    Refuses what paxsim run would refuse before running: also a name that cannot be a
    result folder, two scenarios of one name, and a run that would not fit in memory.
    """
    with _errors(debug):
        _check_files_once(scenarios)
        loaded: list[tuple[Scenario, Path]] = []
        for path in scenarios:
            scenario = load_scenario(path)
            check_folder_name(scenario.name, where=str(path), field="name")
            _check_memory(scenario, path, None, 1, cli=False)
            loaded.append((scenario, path))
            _check_names_once(loaded)
            typer.echo(f"ok: {path} ({scenario.name}, {len(scenario.events)} events)")


# --- the other commands, in the order of paxsim --help ----------------------------------

app.command(name="list")(list_)
app.command()(schema)
app.command()(replay)
app.command()(dictionary)
app.command()(version)
app.command()(example)
app.command()(plausibility)
app.command()(plot)


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line."""
    sys.exit(app())
