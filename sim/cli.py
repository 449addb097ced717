"""The ``paxsim`` command line: a thin layer over the public API.

Only this module configures output and exit codes. Bad input prints one line on
stderr and exits with code 2; a failure while running exits with code 1;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from sim import __version__
from sim.compare import paired_differences
from sim.engine import simulate_pair
from sim.ensemble import Ensemble, run_scenario
from sim.ensemble import replay as replay_replication
from sim.errors import InputError, PaxsimError
from sim.examples import example_ban, example_world
from sim.metrics import compute_metrics
from sim.replay import compare_observed, monthly_exports, read_observed
from sim.results import read_results, write_results
from sim.scenario import Scenario, json_schema_text, load_scenario
from sim.tables import data_dictionary

app = typer.Typer(
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
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except (PaxsimError, OSError, RuntimeError, ValueError) as err:
        if debug:
            traceback.print_exc()
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        typer.echo(f"error: {type(err).__name__}: {first}", err=True)
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


def _headline(summary: pd.DataFrame) -> pd.DataFrame:
    """World and bloc rows: mean loss share, and median TTS/TTR with the share reached."""
    rows = summary[summary["scope_kind"].isin(["world", "bloc"])].set_index(
        ["scope", "stage", "commodity", "metric"]
    )
    columns = {
        "loss_share_mean": ("output_loss_share", "mean"),
        "tts_days_p50": ("time_to_survive_days", "p50"),
        "tts_reached": ("time_to_survive_days", "reached_share"),
        "ttr_days_p50": ("time_to_recover_days", "p50"),
        "ttr_reached": ("time_to_recover_days", "reached_share"),
    }
    table = pd.DataFrame(
        {
            name: rows.xs(metric, level="metric")[stat]
            for name, (metric, stat) in columns.items()
            if metric in rows.index.get_level_values("metric")
        }
    )
    return table


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
    folder = write_results(
        ensemble,
        out / scenario.name,
        command=shlex.join(["paxsim", *sys.argv[1:]]),
        scenario_files=[path],
        world=scenario.world(),
        overwrite=overwrite,
    )
    return ensemble, folder


@app.command()
def run(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    replications: Annotated[
        int | None, typer.Option(help="Replications (default: the scenario's).", min=1)
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's).", min=0)
    ] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    out: Annotated[Path, typer.Option(help="Folder for the result folders.")] = Path("results"),
    overwrite: Annotated[bool, typer.Option(help="Replace existing result folders.")] = False,
    debug: Debug = False,
) -> None:
    """Run scenarios with their paired baselines and write one result folder each.

    Prints, per bloc and stage: the mean output loss share over replications, and the
    median days to survive (TTS) and to recover (TTR) from the first disruption over
    the replications where they were reached, with the share that reached them.
    """
    with _errors(debug):
        loaded = [(load_scenario(p), p) for p in scenarios]
        for scenario, path in loaded:
            ensemble, folder = _run_one(scenario, path, out, replications, seed, jobs, overwrite)
            typer.echo(f"{scenario.name}: {ensemble.replications} replications -> {folder}")
            table = _headline(ensemble.summary())
            typer.echo(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))


@app.command()
def compare(
    inputs: Annotated[
        list[Path], typer.Argument(help="Result folders or scenario files (at least two).")
    ],
    replications: Annotated[
        int | None, typer.Option(help="Replications for scenario files.", min=1)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed for scenario files.", min=0)] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    out: Annotated[Path, typer.Option(help="Folder for results and the comparison.")] = Path(
        "results"
    ),
    overwrite: Annotated[bool, typer.Option(help="Replace existing result folders.")] = False,
    debug: Debug = False,
) -> None:
    """Compare the first scenario with each other one, replication by replication.

    Writes ``compare-<a>-vs-<b>.csv`` (paired differences A - B: mean, p05, p50, p95,
    and the share of replications in which A is better) and prints the world and bloc
    rows of the headline metrics.
    """
    with _errors(debug):
        if len(inputs) < 2:
            raise InputError("compare", "inputs", "needs at least two", "give two or more")
        runs: list[tuple[str, pd.DataFrame]] = []
        for path in inputs:
            if path.is_dir():
                res = read_results(path)
                run_info, metrics = res["run"], res["metrics"]
                assert isinstance(run_info, dict) and isinstance(metrics, pd.DataFrame)
                runs.append((str(run_info["scenario"]), metrics))
            else:
                scenario = load_scenario(path)
                ensemble, _ = _run_one(scenario, path, out, replications, seed, jobs, overwrite)
                runs.append((scenario.name, ensemble.metrics))
        out.mkdir(parents=True, exist_ok=True)
        name_a, metrics_a = runs[0]
        for name_b, metrics_b in runs[1:]:
            diff = paired_differences(metrics_a, metrics_b, name_a, name_b)
            target = out / f"compare-{name_a}-vs-{name_b}.csv"
            diff.to_csv(target, index=False)
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
    """Check scenario files (schema, world, events) without running them."""
    with _errors(debug):
        for path in scenarios:
            scenario = load_scenario(path)
            typer.echo(f"ok: {path} ({scenario.name}, {len(scenario.events)} events)")


@app.command(name="list")
def list_(
    folder: Annotated[Path, typer.Option("--dir", help="Folder of scenario files.")] = BUNDLED,
    debug: Debug = False,
) -> None:
    """List the scenarios in a folder (the bundled library by default) with their descriptions."""
    with _errors(debug):
        if not folder.is_dir():
            raise InputError(str(folder), "--dir", "not a folder", "give a folder of YAML files")
        for path in sorted(folder.glob("*.yaml")):
            scenario = load_scenario(path)
            first = scenario.description.strip().splitlines()[0] if scenario.description else ""
            typer.echo(f"{path.name:32s} {first}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (scenarios/paxsim.schema.json is this output)."""
    typer.echo(json_schema_text(), nl=False)


@app.command()
def replay(
    scenario_file: Annotated[Path, typer.Argument(help="A (historical) scenario YAML file.")],
    origin: Annotated[str, typer.Option(help="Exporting country (ISO3).")] = "CHN",
    commodity: Annotated[str, typer.Option(help="Commodity shipped.")] = "ndfeb_magnet",
    by: Annotated[str, typer.Option(help="Group destinations by bloc or country.")] = "bloc",
    observed: Annotated[
        Path | None, typer.Option(help="Observed monthly flows (CSV; format in README).")
    ] = None,
    replication: Annotated[int, typer.Option(help="Replication to replay.", min=0)] = 0,
    debug: Debug = False,
) -> None:
    """Replay a scenario with its dates and print simulated monthly exports by destination.

    With --observed, prints them next to the observed series with an error score (RMSE
    in the commodity's unit per month, and MAPE over months with observed > 0).
    """
    with _errors(debug):
        scenario = load_scenario(scenario_file)
        settings = replace(scenario.settings(), record_trade=True)
        _, _, actual, _ = replay_replication(
            scenario.world(),
            scenario.sample,
            start=scenario.start,
            horizon_days=scenario.horizon_days,
            seed=scenario.seed,
            replication=replication,
            settings=settings,
        )
        flows = monthly_exports(actual, origin, commodity, by=by)
        if observed is None:
            wide = flows.pivot(index="month", columns="destination", values="quantity")
            typer.echo(f"{origin} exports of {commodity} by destination {by} (per month)")
            typer.echo(wide.fillna(0.0).to_string(float_format=lambda v: f"{v:.1f}"))
            return
        table, score = compare_observed(flows, read_observed(observed))
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        typer.echo(f"n={score['n']:.0f}  rmse={score['rmse']:.3f}  mape={score['mape']:.3f}")


@app.command()
def dictionary(
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file (e.g. data/README.md) instead of stdout."),
    ] = None,
) -> None:
    """Print (or write) the data dictionary: every world table and column, with units."""
    text = data_dictionary() + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}")


@app.command()
def version() -> None:
    """Print the paxsim version."""
    typer.echo(__version__)


@app.command()
def example(
    ban_days: Annotated[int, typer.Option(help="Length of the ban, in days.", min=1)] = 365,
    horizon_days: Annotated[int, typer.Option(help="Length of the run, in days.", min=1)] = 1095,
    seed: Annotated[int, typer.Option(help="Random seed of the run and its baseline.")] = 1,
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


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line."""
    sys.exit(app())
