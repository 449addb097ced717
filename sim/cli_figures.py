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

import pandas as pd
import typer

from sim import plot as plots
from sim.cli_common import Debug, _errors
from sim.ensemble import replay as replay_replication
from sim.errors import InputError
from sim.events import ExportControl, to_day
from sim.replay import (
    BY,
    WORLD,
    all_levels,
    match_observed,
    read_observed,
    replay_scores,
    replay_table,
    significant,
)
from sim.results import read_results
from sim.scenario import load_scenario
from sim.standing import StandingControl

#: Quantiles of the replay band over replications.
BAND = (0.05, 0.95)

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


#: Table files ``paxsim replay --output`` may name.
TABLE_SUFFIXES = (".csv", ".parquet")


def _write_table(frame: Any, path: Path) -> None:
    """Write a table in one step (CSV or Parquet by suffix), like :func:`_save_figure`."""
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}-{os.urandom(6).hex()}"
    try:
        if path.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_table_path(path: Path, where: str) -> None:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(
            where,
            "--output",
            f"'{path.name}' is not a .csv or .parquet file name",
            "give a file name ending in .csv or .parquet",
        )
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(
            where, "--output", f"{path} exists and is not a file", "remove it, or give another name"
        )
    if not path.parent.is_dir():
        raise InputError(
            where, "--output", f"the folder {path.parent} does not exist", "create it first"
        )


def _shock_month(events: list[Any], start: Any) -> str:
    """Month of the first announcement or start of a scenario's export controls.

    Controls in force from day 0 (a quota regime already running) are passed over:
    their month has nothing before it to compare with.
    """
    days = [
        day
        for ev in events
        if isinstance(ev, ExportControl) and not isinstance(ev, StandingControl)
        for d in (ev.start, ev.announced)
        if d is not None and (day := to_day(d, start, "replay", "start")) > 0
    ]
    if not days:
        return ""
    first = pd.Timestamp(start) + pd.Timedelta(days=min(days))
    return str(first.strftime("%Y-%m"))


def replay(
    scenario_file: Annotated[Path, typer.Argument(help="A (historical) scenario YAML file.")],
    origin: Annotated[str, typer.Option(help="Exporting country (ISO3).")] = "CHN",
    commodity: Annotated[
        str,
        typer.Option(
            help="Commodity shipped; ids joined by + are summed (observed rows of any of "
            "them are compared with the sum), e.g. ndfeb_magnet+ndfeb_magnet_lowdy."
        ),
    ] = "ndfeb_magnet",
    by: Annotated[
        str,
        typer.Option(
            help="Group destinations by bloc, by country, or into the world total "
            "(destination 'all'); observed rows match at their own level."
        ),
    ] = "bloc",
    observed: Annotated[
        Path | None, typer.Option(help="Observed monthly flows (CSV; format in README).")
    ] = None,
    replication: Annotated[
        int, typer.Option(help="Replication to replay (below the scenario's replications).", min=0)
    ] = 0,
    replications: Annotated[
        int | None,
        typer.Option(
            help="Replay replications 0..N-1 and show their median with a p05-p95 band "
            "(instead of --replication).",
            min=1,
            max=1000,
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (default: the scenario's).", min=0, max=2**63 - 1)
    ] = None,
    shock: Annotated[
        str | None,
        typer.Option(
            help="Month (YYYY-MM) the ratios' pre-shock level ends before (default: that of "
            "the first export control announced or starting after day 0)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Also write the table to this .csv or .parquet file (and the scores, with "
            "observed flows, to NAME_scores next to it)."
        ),
    ] = None,
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

    Prints per month the simulated exports (the median over --replications, with a
    p05-p95 band) and their ratio to the pre-shock level: the mean of the 12 months
    before the month of the first export control's announcement or start after day 0
    (or --shock). With
    --observed, only the observed flows, next to the observed values, and scores per
    flow: RMSE and MAPE on levels (the commodity's unit per month; MAPE over months
    with observed > 0) and on the ratios, the trough (lowest ratio from the shock
    month on) and its month, and the first month back above 90 % of the pre-shock
    level, observed and simulated. An observed row of this origin and commodity that
    matches no simulated flow (a month outside the run, a destination never shipped to)
    is an error. Numbers are shown to 4 significant digits.
    """
    with _errors(debug):
        scenario = load_scenario(scenario_file)
        where = str(scenario_file)
        if replications is None and replication >= scenario.replications:
            raise InputError(
                where,
                "--replication",
                f"{replication} is not below the scenario's {scenario.replications} replications",
                f"give --replication from 0 to {scenario.replications - 1}",
            )
        world = scenario.world()
        countries = [str(c) for c in world["countries"]["country"]]
        commodities = [str(c) for c in world["commodities"]["commodity"]]
        units = {world.unit_of().get(c) for c in commodity.split("+")}
        if len(units) > 1:
            raise InputError(
                where,
                "--commodity",
                f"sums commodities of different units ({', '.join(sorted(map(str, units)))})",
                "join only commodities of one unit",
            )
        for option, value, known, what in (
            ("--origin", origin, countries, "country"),
            *(("--commodity", c, commodities, "commodity") for c in commodity.split("+")),
            ("--by", by, list(BY), "grouping"),
        ):
            if value not in known:
                raise InputError(
                    where, option, f"unknown {what} '{value}'", f"give one of {_choices(known)}"
                )
        frames = None if observed is None else read_observed(observed)
        if plot is not None:
            _check_figure_path(plot, where, "--plot")
        if output is not None:
            _check_table_path(output, where)
        settings = replace(scenario.settings(), record_trade=True)
        runs = range(replications) if replications is not None else [replication]
        stacked: list[pd.DataFrame] = []
        events: list[Any] = []
        for r in runs:
            sampled, _, actual, _ = replay_replication(
                world,
                scenario.sample,
                start=scenario.start,
                horizon_days=scenario.horizon_days,
                seed=scenario.seed if seed is None else seed,
                replication=r,
                settings=settings,
            )
            events = events or sampled
            try:
                flows = all_levels(actual, origin, commodity)
            except InputError as err:
                if err.where != "replay":
                    raise
                raise InputError(where, f"--{err.field}", err.problem, err.fix) from None
            stacked.append(flows.assign(replication=r))
        simulated = pd.concat(stacked, ignore_index=True)
        months = list(
            pd.period_range(scenario.start, periods=scenario.horizon_days, freq="D")
            .strftime("%Y-%m")
            .unique()
        )
        if shock is not None and shock not in months:
            raise InputError(
                where, "--shock", f"'{shock}' is not a month of the run", "give YYYY-MM in the run"
            )
        shock = shock or _shock_month(events, scenario.start) or months[0]
        matched = None
        if frames is not None:
            matched = match_observed(
                frames,
                simulated,
                origin=origin,
                commodity=commodity,
                months=months,
                where=str(observed),
            )
        else:
            simulated = simulated[simulated["destination"].isin(_level(simulated, by, world))]
        table = replay_table(simulated, matched, months=months, shock=shock, band=BAND)
        unit = world.unit_of().get(commodity.split("+")[0], "")
        label = "replication " + (
            str(replication) if replications is None else f"0-{replications - 1}"
        )
        if plot is not None:
            shown = simulated[simulated["destination"].isin(set(table["destination"]))]
            title = f"{scenario.name}: {origin} exports of {commodity}, {label}"
            obs_shown = None if matched is None else matched
            _save_figure(plots.replay(shown, obs_shown, unit=unit, title=title), plot)
            typer.echo(f"{scenario.name}: replay figure -> {plot}")
        typer.echo(
            f"{origin} exports of {commodity} ({unit} per month), {label}; ratios to the "
            f"pre-shock level (mean of the 12 months before {shock})"
        )
        shown_cols = ["month", "destination", "simulated", "low", "high", "simulated_ratio"]
        if matched is not None:
            shown_cols += ["observed", "observed_ratio"]
        typer.echo(table[shown_cols].to_string(index=False, float_format=significant, na_rep=""))
        scores = None
        if matched is not None:
            scores = replay_scores(table, shock)
            typer.echo("")
            typer.echo(
                scores.drop(columns=["origin", "commodity"]).to_string(
                    index=False, float_format=significant, na_rep=""
                )
            )
        if output is not None:
            _write_table(table, output)
            if scores is not None:
                _write_table(scores, output.with_name(f"{output.stem}_scores{output.suffix}"))
            typer.echo(f"{scenario.name}: replay table -> {output}")


def _level(simulated: Any, by: str, world: Any) -> set[str]:
    """Destinations of one grouping among the stacked levels of :func:`all_levels`."""
    if by == "world":
        return {WORLD}
    countries = set(world["countries"]["country"].astype(str))
    names = set(simulated["destination"]) - {WORLD}
    return names & countries if by == "country" else names - countries


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
