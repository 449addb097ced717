"""The ``paxsim`` command line: a thin layer over the public API.

Only this module configures output and exit codes. Expected errors print one line
on stderr and exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer

from sim import __version__
from sim.engine import simulate_pair
from sim.errors import InputError
from sim.examples import example_ban, example_world
from sim.metrics import compute_metrics

app = typer.Typer(
    help="paxsim: simulate supply-chain dependency risk (minerals to AI compute).",
    no_args_is_help=True,
    add_completion=False,
)

HEADLINE = ["output_loss_share", "time_to_survive_days", "time_to_recover_days"]


@app.command()
def version() -> None:
    """Print the paxsim version."""
    typer.echo(__version__)


@app.command()
def example(
    ban_days: int = typer.Option(365, help="Length of the ban, in days.", min=1),
    horizon_days: int = typer.Option(1095, help="Length of the run, in days.", min=1),
    seed: int = typer.Option(1, help="Random seed of the run and its paired baseline."),
    debug: bool = typer.Option(False, help="Show tracebacks on errors."),
) -> None:
    """Run the bundled example world under a Chinese ban on NdPr oxide to the allied bloc.

    Prints, per facility, the share of output lost against the paired baseline (run
    without the ban) and the days until output fell below 95 % of baseline (TTS) and
    recovered for good (TTR), counted from the ban's start; '-' means never.
    """
    try:
        actual, baseline = simulate_pair(
            example_world(),
            example_ban(days=ban_days),
            start="2025-01-01",
            horizon_days=horizon_days,
            seed=seed,
        )
    except InputError as err:
        if debug:
            raise
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    metrics = compute_metrics(actual, baseline, by=("facility",))
    headline = metrics[metrics["metric"].isin(HEADLINE)]
    table = headline.pivot(index=["scope", "stage"], columns="metric", values="value")
    order = actual.facilities.set_index("facility").index
    table = table.reindex(columns=HEADLINE).reindex(order, level="scope")
    typer.echo(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line."""
    sys.exit(app())
