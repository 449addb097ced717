"""The ``paxsim`` commands that draw figures: plot (a result folder) and replay.

Both check the figure file before any work (a .png, .svg or .pdf name, not a folder or a
link, in a folder that exists) and write it in one step (:func:`_save_figure`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from sim import plot as plots
from sim.cli_common import Debug, _errors
from sim.ensemble import replay as replay_replication
from sim.errors import InputError
from sim.replay import compare_observed, monthly_exports, read_observed
from sim.results import read_results
from sim.scenario import load_scenario

# --- figure files ---------------------------------------------------------------------

#: Figure file types ``--out`` / ``--plot`` may name.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


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


# --- replay ---------------------------------------------------------------------------


def _choices(values: list[str], most: int = 12) -> str:
    shown = sorted(values)
    text = ", ".join(shown[:most])
    return text + (", ..." if len(shown) > most else "")


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


# --- plot -----------------------------------------------------------------------------


class PlotKind(StrEnum):
    """What ``paxsim plot`` draws."""

    paths = "paths"
    stocks = "stocks"
    metrics = "metrics"
    flows = "flows"


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
