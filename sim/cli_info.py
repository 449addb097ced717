"""The ``paxsim`` commands that print what is there: list, schema, dictionary, version, example.

``list`` the scenario library, ``schema`` the JSON Schema of scenario files,
``dictionary`` the data dictionary, ``version`` the version; ``example`` runs the
bundled example world once and prints its metrics; ``plausibility`` checks a world's
baseline years against its table of published figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli_common import BUNDLED, HEADLINE, Debug, _errors, _line, _reason
from sim.errors import InputError
from sim.examples import example_ban, example_world
from sim.metrics import compute_metrics
from sim.pair import simulate_pair
from sim.plausibility import check_baseline, read_targets
from sim.results import write_text_atomic
from sim.scenario import MAX_HORIZON_DAYS, MAX_SEED, json_schema_text, load_scenario
from sim.scenario_world import REFERENCE_DATA
from sim.tables import data_dictionary
from sim.version import __version__
from sim.world import load_world


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


def schema() -> None:
    """Print the JSON Schema of scenario files (scenarios/paxsim.schema.json is this output)."""
    typer.echo(json_schema_text(), nl=False)


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


def version() -> None:
    """Print the paxsim version."""
    typer.echo(__version__)


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


def plausibility(
    world: Annotated[
        Path, typer.Argument(help="Folder of world tables (default: the reference world).")
    ] = REFERENCE_DATA,
    targets: Annotated[
        Path | None,
        typer.Option(help="Target table (default: targets.csv in the world folder)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the results to this CSV.")] = None,
    debug: Debug = False,
) -> None:
    """Check a world's undisturbed baseline years against published figures.

    Each row of the target table (check share, exports or utilisation; see
    data/SOURCES.md) is compared with a one-year baseline run from 1 January of its
    year. Prints cited figure, accepted band and simulated value (shares 0-1,
    exports in commodity units a year, utilisation 0-1); exits with code 1 if any
    value falls outside its band, 2 on bad input.
    """
    with _errors(debug):
        table = read_targets(targets if targets is not None else world / "targets.csv")
        result = check_baseline(load_world(world), table)
        shown = result.drop(columns=["source"]).rename(columns={"value": "cited"})
        typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-"))
        if out is not None:
            try:
                write_text_atomic(out, result.to_csv(index=False))
            except OSError as err:
                raise InputError(
                    str(out), "--out", f"cannot write the file ({_reason(err)})", "give a path"
                ) from None
        failed = int((~result["ok"]).sum())
        typer.echo(f"{len(result) - failed} of {len(result)} within their band")
        if failed:
            raise typer.Exit(1)
