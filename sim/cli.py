"""The ``paxsim`` command line: a thin layer over the public API.

Only this module configures output and exit codes. Bad input prints one line on
stderr and exits with code 2; a failure while running exits with code 1;
``--debug`` shows the traceback instead. Bad input includes bad options and
arguments (an unknown option, a missing argument, a value out of range): they too
print one line, ``error: paxsim <command>: <option>: <problem>; fix: <fix>``.

Commands that run scenarios check everything they can before the first replication:
the scenario files (each once, each name once), ``--out`` (a folder, or one that can
be created, and writable), the result folders (directly in ``--out``, and not there
yet unless ``--overwrite``) and the memory the run will need.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from typer.core import TyperGroup

from sim import __version__
from sim import plot as plots
from sim.compare import paired_differences
from sim.engine import simulate_pair
from sim.ensemble import Ensemble, peak_memory_bytes, run_scenario
from sim.ensemble import replay as replay_replication
from sim.errors import InputError, PaxsimError
from sim.examples import example_ban, example_world
from sim.headline import (
    headline_csv,
    headline_json,
    headline_table,
    onset_summary,
    print_headline,
)
from sim.metrics import compute_metrics
from sim.replay import compare_observed, monthly_exports, read_observed
from sim.results import (
    check_folder_name,
    read_results,
    result_folder,
    write_results,
    write_text_atomic,
)
from sim.scenario import (
    MAX_HORIZON_DAYS,
    MAX_REPLICATIONS,
    MAX_SEED,
    Scenario,
    json_schema_text,
    load_scenario,
)
from sim.tables import data_dictionary


def _line(text: str) -> str:
    """Return ``text`` as one printable line: newlines and control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _where(ctx: Any) -> str:
    """Return the command path of a click context, with the program called ``paxsim``."""
    names: list[str] = []
    while ctx is not None:
        names.append(str(ctx.info_name or ""))
        ctx = ctx.parent
    return " ".join(["paxsim", *reversed(names[:-1])]) if names else "paxsim"


def _usage_line(err: Exception, fallback: Any = None) -> str:
    """Return a click usage error as one line: where, the option, the problem and the fix.

    ``fallback`` is the group's context, for errors raised without one while parsing
    a command's arguments.
    """
    ctx = getattr(err, "ctx", None)
    where = _where(ctx)
    command = getattr(fallback, "invoked_subcommand", None)
    if ctx is None and isinstance(command, str):
        where = f"paxsim {command}"
    hint = f"see '{where} --help'"
    param = getattr(err, "param", None)
    option = getattr(err, "option_name", None)
    message = str(getattr(err, "message", "") or err.format_message())  # type: ignore[attr-defined]
    kind = type(err).__name__
    if param is not None:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        is_option = getattr(param, "param_type_name", "") == "option"
        field = max(opts, key=len) if opts and is_option else str(param.name).upper()
    else:
        field = option or "-"
    if message.startswith("No such command"):
        field, problem, fix = "COMMAND", "n" + message[1:], "give a command (see 'paxsim --help')"
    elif kind == "MissingParameter":
        problem, fix = "is missing", f"give it ({hint})"
    elif kind == "NoSuchOption":
        problem = "no such option"
        possible = sorted(getattr(err, "possibilities", None) or [])
        fix = f"did you mean {' or '.join(possible)}?" if possible else f"remove it ({hint})"
    else:
        problem = message[:1].lower() + message[1:]
        value = _bad_value(err)
        if value is not None and param is not None:
            problem = f"{value!r} is not valid ({problem.rstrip('.')})"
        fix = f"give a valid value ({hint})" if param is not None else hint
    problem = " ".join(problem.rstrip(".").split())
    return _line(f"error: {where}: {field}: {problem}; fix: {fix}")


def _bad_value(err: Exception) -> object | None:
    """Return the value a typer coercion error refused, when its cause records it."""
    errors = getattr(err.__cause__, "errors", None)
    if not callable(errors):
        return None
    try:
        first = errors()[0]
    except (TypeError, IndexError, KeyError):  # pragma: no cover - another typer version
        return None
    return first.get("input") if isinstance(first, dict) else None


def _is_usage_error(err: Exception) -> bool:
    """Whether ``err`` is one of click's errors for the user (not help, not an exit)."""
    if type(err).__name__ == "NoArgsIsHelpError":
        return False  # the group's help, printed by typer
    return callable(getattr(err, "format_message", None)) and isinstance(
        getattr(err, "exit_code", None), int
    )


class _OneLineErrors(TyperGroup):
    """The paxsim group: every usage error (options, arguments) is one line on stderr.

    Click and typer print a usage box on several lines; this group prints
    ``error: paxsim <command>: <option>: <problem>; fix: <fix>`` instead, and exits
    with the error's code (2 for usage errors).
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        """Parse the group's own options, with usage errors on one line."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except Exception as err:
            if not _is_usage_error(err):
                raise
            typer.echo(_usage_line(err), err=True)
            raise typer.Exit(int(getattr(err, "exit_code", 2))) from None

    def invoke(self, ctx: Any) -> Any:
        """Run a command, with usage errors (its options and arguments) on one line."""
        try:
            return super().invoke(ctx)
        except Exception as err:
            if not _is_usage_error(err):
                raise
            typer.echo(_usage_line(err, ctx), err=True)
            raise typer.Exit(int(getattr(err, "exit_code", 2))) from None


app = typer.Typer(
    cls=_OneLineErrors,
    help="paxsim: simulate supply-chain dependency risk (minerals to AI compute).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HEADLINE = ["output_loss_share", "time_to_survive_days", "time_to_recover_days"]
#: The bundled scenario library, next to the package in a source checkout.
BUNDLED = Path(__file__).resolve().parent.parent / "scenarios"

Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


@contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """Map expected errors to one line and an exit code (2 bad input, 1 run failure)."""
    try:
        yield
    except typer.Exit:
        raise
    except InputError as err:
        if debug:
            traceback.print_exc()
        typer.echo(_line(f"error: {err}"), err=True)
        raise typer.Exit(2) from None
    except (PaxsimError, OSError, RuntimeError, ValueError, MemoryError) as err:
        if debug:
            traceback.print_exc()
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        typer.echo(_line(f"error: {type(err).__name__}: {first}"), err=True)
        raise typer.Exit(1) from None


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
    ensemble: Ensemble, folder: Path, output_format: OutputFormat, first: bool
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
Jobs = Annotated[int, typer.Option(help="Worker processes.", min=1)]
Overwrite = Annotated[bool, typer.Option(help="Replace existing result folders (in --out only).")]


def _reason(err: OSError) -> str:
    return str(err.strerror or type(err).__name__)


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
        return peak_memory_bytes(
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


def _run_one(
    scenario: Scenario,
    path: Path,
    out: Path,
    replications: int | None,
    seed: int | None,
    jobs: int,
    overwrite: bool,
) -> tuple[Ensemble, Path]:
    update, stop = _progress(scenario.name)
    try:
        ensemble = run_scenario(
            scenario, replications=replications, seed=seed, jobs=jobs, progress=update
        )
    finally:
        stop()
    folder = out / scenario.name
    try:
        write_results(
            ensemble,
            folder,
            command=shlex.join(["paxsim", *sys.argv[1:]]),
            scenario_files=[path],
            world=scenario.world(),
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
    return ensemble, folder


# --- commands ---------------------------------------------------------------------------


@app.command()
def run(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    replications: Replications = None,
    seed: Seed = None,
    jobs: Jobs = 1,
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
    """
    with _errors(debug):
        _check_files_once(scenarios)
        loaded = [(load_scenario(p), p) for p in scenarios]
        _prepare(loaded, out, replications, jobs, overwrite)
        tables = []
        for i, (scenario, path) in enumerate(loaded):
            ensemble, folder = _run_one(scenario, path, out, replications, seed, jobs, overwrite)
            tables.append(_headline(ensemble, folder, output_format, first=i == 0))
            del ensemble
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
            ensemble, _ = _run_one(scenario, path, out, replications, seed, jobs, overwrite)
            runs.append((scenario.name, ensemble.metrics, ensemble.replications, ensemble.stages))
            del ensemble
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


@app.command(name="list")
def list_(
    folder: Annotated[Path, typer.Option("--dir", help="Folder of scenario files.")] = BUNDLED,
    debug: Debug = False,
) -> None:
    """List the scenarios in a folder (the bundled library by default) with their descriptions.

    Every file is listed; an invalid one with its error instead of a description.
    Exits with code 2 at the end if any file was invalid.
    """
    with _errors(debug):
        if not folder.is_dir():
            raise InputError(str(folder), "--dir", "not a folder", "give a folder of YAML files")
        paths = sorted(folder.glob("*.yaml"))
        invalid = 0
        for path in paths:
            try:
                scenario = load_scenario(path)
            except InputError as err:
                invalid += 1
                typer.echo(_line(f"{path.name:32s} INVALID: {err}"))
                continue
            first = scenario.description.strip().splitlines()[0] if scenario.description else ""
            typer.echo(_line(f"{path.name:32s} {first}"))
        if invalid:
            raise InputError(
                str(folder),
                "--dir",
                f"{invalid} of {len(paths)} scenario files are invalid (marked INVALID above)",
                "fix them as their errors say; paxsim validate checks one file",
            )


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (scenarios/paxsim.schema.json is this output)."""
    typer.echo(json_schema_text(), nl=False)


def _choices(values: list[str], most: int = 12) -> str:
    shown = sorted(values)
    text = ", ".join(shown[:most])
    return text + (", ..." if len(shown) > most else "")


@app.command()
def replay(
    scenario_file: Annotated[Path, typer.Argument(help="A (historical) scenario YAML file.")],
    origin: Annotated[str, typer.Option(help="Exporting country (ISO3).")] = "CHN",
    commodity: Annotated[str, typer.Option(help="Commodity shipped.")] = "ndfeb_magnet",
    by: Annotated[str, typer.Option(help="Group destinations by bloc or country.")] = "bloc",
    observed: Annotated[
        Path | None, typer.Option(help="Observed monthly flows (CSV; format in README).")
    ] = None,
    replication: Annotated[
        int, typer.Option(help="Replication to replay (below the scenario's replications).", min=0)
    ] = 0,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw the simulated flows (and observed points) to this .png, .svg or "
            ".pdf file.",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Replay a scenario with its dates and print simulated monthly exports by destination.

    With --observed, prints them next to the observed series with an error score (RMSE
    in the commodity's unit per month, and MAPE over months with observed > 0). With
    --plot, draws the simulated monthly exports by destination, and the observed
    points of the same origin and commodity inside the run (a destination 'all' is
    drawn against the simulated total).
    """
    with _errors(debug):
        scenario = load_scenario(scenario_file)
        where = str(scenario_file)
        if replication >= scenario.replications:
            raise InputError(
                where,
                "--replication",
                f"{replication} is not below the scenario's {scenario.replications} replications",
                f"give --replication from 0 to {scenario.replications - 1}",
            )
        world = scenario.world()
        countries = [str(c) for c in world["countries"]["country"]]
        commodities = [str(c) for c in world["commodities"]["commodity"]]
        for option, value, known, what in (
            ("--origin", origin, countries, "country"),
            ("--commodity", commodity, commodities, "commodity"),
            ("--by", by, ["bloc", "country"], "grouping"),
        ):
            if value not in known:
                raise InputError(
                    where, option, f"unknown {what} '{value}'", f"give one of {_choices(known)}"
                )
        frames = None if observed is None else read_observed(observed)
        if plot is not None:
            _check_figure_path(plot, where, "--plot")
        settings = replace(scenario.settings(), record_trade=True)
        _, _, actual, _ = replay_replication(
            world,
            scenario.sample,
            start=scenario.start,
            horizon_days=scenario.horizon_days,
            seed=scenario.seed,
            replication=replication,
            settings=settings,
        )
        try:
            flows = monthly_exports(actual, origin, commodity, by=by)
        except InputError as err:
            if err.where != "replay":
                raise
            raise InputError(where, f"--{err.field}", err.problem, err.fix) from None
        if plot is not None:
            months = set(flows["month"])
            shown = None if frames is None else frames[frames["month"].isin(months)]
            unit = world.unit_of().get(commodity, "")
            title = f"{scenario.name}: {origin} exports of {commodity}, replication {replication}"
            _save_figure(plots.replay(flows, shown, unit=unit, title=title), plot)
            typer.echo(f"{scenario.name}: replay figure -> {plot}")
        if frames is None:
            wide = flows.pivot(index="month", columns="destination", values="quantity")
            typer.echo(f"{origin} exports of {commodity} by destination {by} (per month)")
            typer.echo(wide.fillna(0.0).to_string(float_format=lambda v: f"{v:.1f}"))
            return
        table, score = compare_observed(flows, frames)
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        typer.echo(f"n={score['n']:.0f}  rmse={score['rmse']:.3f}  mape={score['mape']:.3f}")


@app.command()
def dictionary(
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file (e.g. data/README.md) instead of stdout."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Print (or write) the data dictionary: every world table and column, with units."""
    with _errors(debug):
        text = data_dictionary() + "\n"
        if out is None:
            typer.echo(text, nl=False)
            return
        try:
            write_text_atomic(out, text)
        except OSError as err:
            raise InputError(
                str(out),
                "--out",
                f"cannot write the file ({_reason(err)})",
                "give a file path in an existing folder you can write to",
            ) from None
        typer.echo(f"wrote {out}")


@app.command()
def version() -> None:
    """Print the paxsim version."""
    typer.echo(__version__)


@app.command()
def example(
    ban_days: Annotated[
        int, typer.Option(help="Length of the ban, in days.", min=1, max=MAX_HORIZON_DAYS)
    ] = 365,
    horizon_days: Annotated[
        int, typer.Option(help="Length of the run, in days.", min=1, max=MAX_HORIZON_DAYS)
    ] = 1095,
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed of the run and its baseline, 0 <= seed < 2**63.",
            min=0,
            max=MAX_SEED - 1,
        ),
    ] = 1,
    debug: Debug = False,
) -> None:
    """Run the bundled example world under a Chinese ban on NdPr oxide to the allied bloc.

    Prints, per facility, the share of output lost against the paired baseline (run
    without the ban) and the days until output fell below 95 % of baseline (TTS) and
    recovered for good (TTR), counted from the ban's start; '-' means never.
    """
    with _errors(debug):
        actual, baseline = simulate_pair(
            example_world(),
            example_ban(days=ban_days),
            start="2025-01-01",
            horizon_days=horizon_days,
            seed=seed,
        )
        metrics = compute_metrics(actual, baseline, by=("facility",))
        headline = metrics[metrics["metric"].isin(HEADLINE)]
        table = headline.pivot(index=["scope", "stage"], columns="metric", values="value")
        order = actual.facilities.set_index("facility").index
        table = table.reindex(columns=HEADLINE).reindex(order, level="scope")
        typer.echo(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))


# --- figures --------------------------------------------------------------------------

#: Figure file types ``--out`` / ``--plot`` may name.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


class PlotKind(StrEnum):
    """What ``paxsim plot`` draws."""

    paths = "paths"
    stocks = "stocks"
    metrics = "metrics"
    flows = "flows"


def _check_figure_path(path: Path, where: str, option: str) -> None:
    """Refuse a figure path of an unknown type, a folder, a link, or in a missing folder."""
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(
            where,
            option,
            f"'{path.name}' is not a .png, .svg or .pdf file name",
            "give a file name ending in .png, .svg or .pdf",
        )
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(
            where, option, f"{path} exists and is not a file", "remove it, or give another name"
        )
    if not path.parent.is_dir():
        raise InputError(
            where, option, f"the folder {path.parent} does not exist", "create it first"
        )


def _save_figure(fig: Any, path: Path, dpi: int = 150) -> None:
    """Write a figure in one step: a hidden temporary sibling renamed over ``path``."""
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}-{os.urandom(6).hex()}"
    try:
        fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=dpi)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_folder(folder: Path) -> dict[str, Any]:
    """Read a result folder for plotting (bad input if it is not one)."""
    where = str(folder)
    if not folder.is_dir():
        raise InputError(
            where, "RESULT_DIR", "is not a folder", "give a folder written by paxsim run"
        )
    try:
        return dict(read_results(folder))
    except FileNotFoundError:
        raise InputError(
            where,
            "RESULT_DIR",
            "is not a complete paxsim result folder (no run.json)",
            "give a folder written by paxsim run",
        ) from None
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            where, "RESULT_DIR", f"cannot be read ({first})", "give a folder written by paxsim run"
        ) from None


def _scope_filters(results: dict[str, Any], scope: list[str], where: str) -> dict[str, list[str]]:
    """Sort ``--scope`` values into blocs, stages and commodities present in the results."""
    series = results["series"]
    blocs = sorted(set(series["bloc"].astype(str)))
    stages = sorted(set(series["stage"].astype(str)) - {""})
    commodities = sorted(set(series["commodity"].astype(str)))
    out: dict[str, list[str]] = {"blocs": [], "stages": [], "commodities": []}
    for value in scope:
        if value in blocs:
            out["blocs"].append(value)
        elif value in stages:
            out["stages"].append(value)
        elif value in commodities:
            out["commodities"].append(value)
        else:
            raise InputError(
                where,
                "--scope",
                f"'{value}' is not a bloc, stage or commodity of these results",
                f"give one of {_choices(blocs + stages + commodities, most=30)}",
            )
    return out


@app.command()
def plot(
    result_dir: Annotated[Path, typer.Argument(help="A result folder written by paxsim run.")],
    kind: Annotated[PlotKind, typer.Option(help="What to draw.")] = PlotKind.paths,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these blocs, stages or commodities (repeat the option for several)."
        ),
    ] = None,
    metric: Annotated[
        str, typer.Option(help="Metric drawn by --kind metrics (README, Metrics).")
    ] = "output_loss_share",
    relative: Annotated[
        bool, typer.Option(help="--kind paths: output as % of the paired baseline.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Figure file (.png, .svg or .pdf); default <scenario>-<kind>.png here."),
    ] = None,
    dpi: Annotated[
        int, typer.Option(help="Resolution of .png files, in dots per inch.", min=30, max=600)
    ] = 150,
    debug: Debug = False,
) -> None:
    """Draw a figure of a result folder and write it to a file.

    Kinds: paths (daily output by stage, actual against the paired baseline, median
    and 5-95 % band over replications, with the disruptions' dates), stocks (days of
    cover per bloc and input), metrics (the distribution of --metric per bloc and
    stage, with the censored share) and flows (monthly exports by bloc of origin and
    destination, actual against baseline). --scope keeps the named blocs (origin blocs
    for flows), stages and commodities (inputs for stocks). An existing figure file of
    the same name is replaced.
    """
    with _errors(debug):
        where = str(result_dir)
        results = _read_folder(result_dir)
        name = str(results["run"].get("scenario", result_dir.name))
        target = out if out is not None else Path(f"{name}-{kind.value}.png")
        _check_figure_path(target, where, "--out")
        chosen = _scope_filters(results, scope or [], where)
        blocs, stages, commodities = (chosen[k] or None for k in ("blocs", "stages", "commodities"))
        if kind in (PlotKind.flows,) and "trade" not in results:
            raise InputError(
                where,
                "--kind",
                "this result folder has no trade.parquet (results format version 1)",
                "run the scenario again with this paxsim",
            )
        try:
            if kind is PlotKind.paths:
                fig = plots.output_paths(results, blocs=blocs, stages=stages, relative=relative)
            elif kind is PlotKind.stocks:
                fig = plots.stocks(results, blocs=blocs, inputs=commodities)
            elif kind is PlotKind.metrics:
                fig = plots.metric_distributions(results, metric, scopes=blocs, stages=stages)
            else:
                fig = plots.trade_flows(results, commodities=commodities, origins=blocs)
        except ValueError as err:
            option = "--metric" if "metric" in str(err) else "--scope"
            raise InputError(where, option, str(err), "see paxsim plot --help") from None
        _save_figure(fig, target, dpi)
        typer.echo(f"{name}: {kind.value} -> {target}")


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line."""
    sys.exit(app())
