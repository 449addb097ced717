"""Figures: what they draw (panels, lines, bands, markers, labels), on small ensembles."""

from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from typer.testing import CliRunner

import sim
from sim import plot
from sim.cli import BUNDLED, app
from sim.ensemble import Ensemble, run_scenario
from sim.results import write_results
from sim.scenario import load_scenario

BAN = BUNDLED / "example_ban.yaml"
LICENCE = BUNDLED / "example_licence.yaml"
REPLICATIONS = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def ban() -> Ensemble:
    return run_scenario(load_scenario(BAN), replications=REPLICATIONS)


@pytest.fixture(scope="module")
def licence() -> Ensemble:
    return run_scenario(load_scenario(LICENCE), replications=REPLICATIONS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, ban: Ensemble) -> Path:
    out = tmp_path_factory.mktemp("results")
    return write_results(
        ban,
        out / ban.name,
        command="test",
        scenario_files=[BAN],
        world=load_scenario(BAN).world(),
        out=out,
    )


def panels(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def vertical_lines(ax) -> list[float]:
    """x of the dotted vertical marker lines (both ends equal)."""
    return [
        float(line.get_xdata()[0])
        for line in ax.get_lines()
        if line.get_linestyle() == ":" and len(set(np.atleast_1d(line.get_xdata()))) == 1
    ]


def test_output_paths_one_panel_per_stage_in_chain_order(ban: Ensemble, folder: Path) -> None:
    for results in (ban, sim.read_results(folder)):
        fig = plot.output_paths(results)
        axes = panels(fig)
        titles = [ax.get_title(loc="left") for ax in axes]
        assert titles == [
            "mine: ree_concentrate",
            "refiner: ndpr_oxide",
            "magnet_fab: ndfeb_magnet",
            "chip_fab: ai_chip",
            "data_center: compute",
        ]
        assert [ax.get_ylabel() for ax in axes] == [
            "t per day",
            "t per day",
            "t per day",
            "unit per day",
            "MW_day per day",
        ]
        assert fig._suptitle.get_text().startswith("ndpr_ban: daily output by stage")
        # Mine and refiner exist in both blocs (allied, china): two median lines, two
        # baselines and two bands; the later stages are allied only.
        blocs = [2, 2, 1, 1, 1]
        for ax, n in zip(axes, blocs, strict=True):
            solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
            dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
            bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
            assert (len(solid), len(dashed), len(bands)) == (n, n, n)
        # The ban's start (4 April 2025, the same in every replication) is marker 1 on
        # every panel; its end is drawn at the median drawn date.
        start = mdates.date2num(pd.Timestamp("2025-04-04"))
        for ax in axes:
            assert vertical_lines(ax)[0] == pytest.approx(start)
            assert [t.get_text() for t in ax.texts[:2]] == ["1", "2"]
        ends = ban.timeline[ban.timeline["marker"] == "end"]["day"]
        end = pd.Timestamp("2025-01-01") + pd.Timedelta(days=float(np.median(ends)))
        assert vertical_lines(axes[0])[1] == pytest.approx(mdates.date2num(end))
        key = fig.texts[-1].get_text().replace("\n", " ")
        assert "1 04 Apr 2025: ndpr_ban start" in key
        assert "MW_day: one MW of data-center IT load for a day" in key


def test_output_paths_follow_the_numbers(ban: Ensemble) -> None:
    fig = plot.output_paths(ban, blocs=["allied"], stages=["data_center"], events=False)
    (ax,) = panels(fig)
    solid = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "-")
    dashed = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "--")
    rows = ban.series[
        (ban.series["series"] == "output")
        & (ban.series["bloc"] == "allied")
        & (ban.series["stage"] == "data_center")
    ]
    wide = rows.pivot(index="replication", columns="day", values="actual").to_numpy()
    base = rows.pivot(index="replication", columns="day", values="baseline").to_numpy()
    assert np.allclose(solid.get_ydata(), np.median(wide, axis=0))
    assert np.allclose(dashed.get_ydata(), np.median(base, axis=0))
    assert vertical_lines(ax) == []


def test_relative_paths_draw_the_threshold(ban: Ensemble) -> None:
    fig = plot.output_paths(ban, stages=["data_center"], relative=True)
    (ax,) = panels(fig)
    assert ax.get_ylabel() == "% of baseline output"
    flat = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [95.0, 95.0]]
    assert len(flat) == 1


def test_stocks_in_days_of_cover(ban: Ensemble) -> None:
    fig = plot.stocks(ban, blocs=["allied"])
    axes = panels(fig)
    titles = [ax.get_title(loc="left") for ax in axes]
    assert titles == [
        "stock of ree_concentrate (t)",
        "stock of ndpr_oxide (t)",
        "stock of ndfeb_magnet (t)",
        "stock of ai_chip (unit)",
    ]
    assert {ax.get_ylabel() for ax in axes} == {"days of cover"}
    # Baseline cover is the example world's target cover (inventory.csv): refiners 30,
    # magnet fab 60, chip fab 30, data centers 10 days (of installations). Compute demand
    # grows 10 % a year and orders close a gap over 21 days, so growing use keeps the
    # stocks a little under target (29.7 of 30 days for the refiners): within 2 %.
    for ax, target in zip(axes, [30, 60, 30, 10], strict=True):
        dashed = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "--")
        assert np.nanmedian(dashed.get_ydata()) == pytest.approx(target, rel=0.02)
        empty = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0.0, 0.0]]
        assert len(empty) == 1
    # The allied magnet fab runs its NdPr stock down during the ban.
    solid = next(ln for ln in axes[1].get_lines() if ln.get_linestyle() == "-")
    assert np.nanmin(solid.get_ydata()) < 1.0


def test_metric_distributions_show_the_censored_share(ban: Ensemble) -> None:
    fig = plot.metric_distributions(ban, "time_to_recover_days")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "allied · mine" and "china · refiner" in labels
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == len(labels)
    assert all(n.startswith("reached ") and f"/{REPLICATIONS}" in n for n in notes)
    assert ax.get_xlabel() == "time to recover (days)"
    m = ban.metrics
    sel = m[
        (m["scope_kind"] == "bloc")
        & (m["scope"] == "allied")
        & (m["stage"] == "data_center")
        & (m["metric"] == "time_to_recover_days")
    ]
    reached = int((~sel["censored"]).sum())
    row = labels.index("allied · data_center")
    assert notes[row].startswith(f"reached {reached}/{REPLICATIONS}")
    share = plot.metric_distributions(ban, "output_loss_share")
    assert share.axes[0].get_xlabel() == "output loss share (% of baseline)"


def test_paired_differences(ban: Ensemble, licence: Ensemble) -> None:
    fig = plot.paired_differences(ban, licence)
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in axes] == [
        "output loss share",
        "peak shortfall",
        "time to survive",
        "time to recover",
    ]
    assert axes[0].get_xlabel().startswith("A - B (percentage points); A better if lower")
    assert axes[2].get_xlabel().startswith("A - B (days); A better if higher")
    assert "A = ndpr_ban minus B = ndpr_licence" in fig._suptitle.get_text()
    # A ban never loses less than a licence regime on the same seeds: A is better in
    # none of the pairs of the allied magnet fab's loss share.
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    row = labels.index("allied · magnet_fab")
    loss = [t.get_text() for t in axes[0].texts]
    assert loss[row] == f"0% (n={REPLICATIONS})"


def test_trade_flows_by_bloc(ban: Ensemble) -> None:
    fig = plot.trade_flows(ban, commodities=["ndpr_oxide"], origins=["china"])
    (ax,) = panels(fig)
    assert ax.get_title(loc="left") == "ndpr_oxide exported from china"
    assert ax.get_ylabel() == "t per month"
    solid = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "-")
    dashed = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "--")
    # 36 months; China ships nothing to the allied bloc while the ban holds (the
    # shortest drawn ban lasts 180 days: May to September 2025 are zero in all runs).
    assert len(solid.get_ydata()) == 36
    assert np.all(np.asarray(solid.get_ydata())[4:9] == 0.0)
    assert np.all(np.asarray(dashed.get_ydata()) > 0.0)
    assert solid.get_color() == plot.bloc_color("allied") == "#0072B2"


def test_replay_bands_and_observed_points(ban: Ensemble) -> None:
    simulated = plot.replay_table(ban, "CHN", "ndpr_oxide")
    assert set(simulated["replication"]) == set(range(REPLICATIONS))
    observed = pd.DataFrame(
        {
            "month": ["2025-03", "2025-06"],
            "origin": ["CHN", "CHN"],
            "destination": ["all", "allied"],
            "commodity": ["ndpr_oxide", "ndpr_oxide"],
            "quantity": [1000.0, 0.0],
            "source": ["test", "test"],
        }
    )
    fig = plot.replay(simulated, observed)
    (ax,) = panels(fig)
    lines = {ln.get_color(): ln for ln in ax.get_lines()}
    assert "#000000" in lines  # the total to all destinations
    total = simulated.groupby(["replication", "month"])["quantity"].sum().unstack()
    assert np.allclose(lines["#000000"].get_ydata(), total.median(axis=0).to_numpy())
    points = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert sum(len(c.get_offsets()) for c in points) == 2
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2


def test_bad_choices_are_value_errors(ban: Ensemble) -> None:
    with pytest.raises(ValueError, match="bloc 'mars' is not in these results"):
        plot.output_paths(ban, blocs=["mars"])
    with pytest.raises(ValueError, match="metric 'nope'"):
        plot.metric_distributions(ban, "nope")
    with pytest.raises(ValueError, match="give the dict returned by sim.read_results"):
        plot.output_paths({"series": ban.series})


def test_cli_plot_writes_each_kind(tmp_path: Path, folder: Path) -> None:
    for kind, suffix in (("paths", ".png"), ("stocks", ".svg"), ("metrics", ".pdf")):
        target = tmp_path / f"fig{suffix}"
        result = runner.invoke(app, ["plot", str(folder), "--kind", kind, "--out", str(target)])
        assert result.exit_code == 0, result.output
        data = target.read_bytes()
        assert len(data) > 10_000
        head = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix]
        assert data.startswith(head)
    target = tmp_path / "flows.png"
    args = ["plot", str(folder), "--kind", "flows", "--scope", "china", "--out", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "pie"], "--kind"),
        (["--scope", "mars"], "'mars' is not a bloc, stage or commodity"),
        (["--out", "x.gif"], "is not a .png, .svg or .pdf file name"),
        (["--kind", "metrics", "--metric", "nope"], "--metric"),
    ],
)
def test_cli_plot_bad_arguments(folder: Path, tmp_path: Path, args: list, message: str) -> None:
    full = ["plot", str(folder), *args]
    if "--out" not in args:
        full += ["--out", str(tmp_path / "x.png")]
    result = runner.invoke(app, full)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_cli_plot_refuses_a_folder_that_is_not_a_result(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "is not a complete paxsim result folder" in result.stderr


def test_compare_and_replay_draw_figures(tmp_path: Path) -> None:
    out = tmp_path / "results"
    figure = tmp_path / "diff.png"
    args = ["compare", str(BAN), str(LICENCE), "--replications", "2", "--out", str(out)]
    result = runner.invoke(app, [*args, "--plot", str(figure)])
    assert result.exit_code == 0, result.output
    assert figure.read_bytes().startswith(b"\x89PNG")
    replayed = tmp_path / "replay.png"
    args = ["replay", str(BAN), "--commodity", "ndpr_oxide", "--plot", str(replayed)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert replayed.read_bytes().startswith(b"\x89PNG")
    bad = runner.invoke(app, [*args[:-1], str(tmp_path / "replay.txt")])
    assert bad.exit_code == 2 and "--plot" in bad.stderr
