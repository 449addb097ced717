"""Figures from result tables: output paths, stocks, metric distributions, trade, replays.

Every function takes what :func:`sim.read_results` returns (a dict of tables and the
``run`` record) or an :class:`~sim.ensemble.Ensemble` as it comes out of
:func:`~sim.ensemble.run_scenario`, and returns a :class:`matplotlib.figure.Figure`;
nothing here runs the engine. Save a figure with ``fig.savefig("x.png", dpi=150)``.

Conventions shared by every figure:

- **Colours** are fixed per bloc (:func:`bloc_color`) and colour-blind safe (the
  Okabe-Ito palette): allied blue, china vermilion, partner reddish purple, nonaligned
  bluish green.
- **Bands** are the 5 % to 95 % range over replications, lines their median (per
  day or month, so a median path is not one replication's path).
- **Baselines** are dashed, in the colour of the bloc, thinner.
- **Event markers** are numbered vertical lines at the (median) date of each
  announcement, start, end, suspension or other change of a disruption, with a key
  below the figure; a shaded span shows where a date varies over replications.
- **Axes** carry units and calendar dates; every figure is titled with its scenario.

The figures of trade and replays are in :mod:`sim.plot_flows`, what every figure shares
(colours, labels, reading the tables, markers, layout) in :mod:`sim.plot_common`; their
public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.compare import HIGHER_IS_BETTER, paired_values
from sim.plot_common import (
    _BAND,
    BLOC_COLORS,
    DISRUPTION_KINDS,
    METRIC_LABELS,
    OTHER_COLORS,
    _bloc_handles,
    _check_choice,
    _date_axis,
    _draw_markers,
    _finish,
    _grid,
    _is_share,
    _marker_key,
    _markers,
    _metric_axis_label,
    _ordered,
    _per_replication,
    _quantiles,
    _tables,
    bloc_color,
)
from sim.plot_flows import replay, replay_table, trade_flows

__all__ = [
    "BLOC_COLORS",
    "DIFFERENCE_METRICS",
    "DISRUPTION_KINDS",
    "METRIC_LABELS",
    "OTHER_COLORS",
    "bloc_color",
    "metric_distributions",
    "output_paths",
    "paired_differences",
    "replay",
    "replay_table",
    "stocks",
    "trade_flows",
]

#: Headline metrics of :func:`paired_differences`.
DIFFERENCE_METRICS: tuple[str, ...] = (
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
)


# --- output paths ------------------------------------------------------------------------


def output_paths(
    results: Any,
    *,
    blocs: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
    relative: bool = False,
    band: tuple[float, float] = _BAND,
    events: bool = True,
    title: str | None = None,
) -> Figure:
    """Daily output by stage, actual against the paired baseline, one colour per bloc.

    Parameters
    ----------
    results : dict or Ensemble
        What :func:`sim.read_results` returns, or an Ensemble.
    blocs, stages : sequence of str, optional
        Blocs and facility types to draw (default: all; panels in chain order).
    relative : bool
        Draw output as a percentage of the same replication's baseline, with the
        threshold ``theta`` (95 %) dotted, instead of in the commodity's unit per day.
    band : (float, float)
        Quantiles of the band over replications.
    events : bool
        Draw the disruptions' dates as numbered markers.
    title : str, optional
        Figure title (default: the scenario name and what is shown).

    Returns
    -------
    Figure
        One panel per (stage, output commodity), in chain order.
    """
    t = _tables(results)
    series = t.table("series")
    out = series[series["series"] == "output"]
    known_blocs = out["bloc"].astype(str).unique()
    blocs = _check_choice("bloc", blocs, known_blocs)
    stage_list = _check_choice("stage", stages, out["stage"].astype(str).unique())
    out = out[out["bloc"].astype(str).isin(blocs) & out["stage"].astype(str).isin(stage_list)]
    pairs = out[["stage", "commodity", "unit"]].astype(str).drop_duplicates()
    order = {s: i for i, s in enumerate(_ordered(pairs["stage"], t.stages))}
    pairs = pairs.sort_values(
        ["stage", "commodity"], key=lambda c: c.map(order) if c.name == "stage" else c
    )
    fig, axes = _grid(len(pairs))
    end = t.start + pd.to_timedelta(int(out["day"].max()) if len(out) else 0, unit="D")
    markers = _markers(t, DISRUPTION_KINDS, end) if events else []
    labels = out["bloc"].astype(str)
    for ax, (stage, commodity, unit) in zip(axes, pairs.itertuples(index=False), strict=True):
        panel = out[(out["stage"] == stage) & (out["commodity"] == commodity)]
        for bloc in _ordered(labels[panel.index], list(BLOC_COLORS)):
            rows = panel[panel["bloc"] == bloc]
            days, actual = _per_replication(rows, "actual", "day")
            _, base = _per_replication(rows, "baseline", "day")
            dates = t.start + pd.to_timedelta(days, unit="D")
            color = bloc_color(bloc)
            if relative:
                with np.errstate(all="ignore"):
                    ratio = np.where(base > 0, 100.0 * actual / base, np.nan)
                mid, low, high = _quantiles(ratio, band)
                ax.plot(dates, mid, color=color, lw=1.4)
                ax.fill_between(dates, low, high, color=color, alpha=0.2, lw=0)
            else:
                mid, low, high = _quantiles(actual, band)
                ax.plot(dates, mid, color=color, lw=1.4)
                ax.fill_between(dates, low, high, color=color, alpha=0.2, lw=0)
                ax.plot(dates, np.nanmedian(base, axis=0), color=color, lw=0.9, ls="--")
        if relative:
            ax.axhline(100.0 * t.theta, color="0.4", lw=0.8, ls=":")
            ax.set_ylabel("% of baseline output")
        else:
            ax.set_ylabel(f"{unit} per day")
            ax.set_ylim(bottom=0)
        ax.set_title(f"{stage}: {commodity}", fontsize=9, loc="left")
        ax.grid(alpha=0.3, lw=0.5)
        _date_axis(ax)
    _draw_markers(axes, markers)
    what = "as % of the paired baseline" if relative else "actual (solid) and baseline (dashed)"
    heading = title or (
        f"{t.name}: daily output by stage, {what}, over {t.replications} replications"
    )
    handles = _bloc_handles(blocs, band)
    if relative:
        handles[-2] = Line2D([], [], color="0.4", lw=0.8, ls=":", label=f"{t.theta:.0%} threshold")
    note = _marker_key(markers)
    if "MW_day" in set(pairs["unit"]):
        note = (note + "   " if note else "") + "MW_day: one MW of data-center IT load for a day."
    return _finish(fig, heading, handles, note)


# --- stocks ------------------------------------------------------------------------------


def stocks(
    results: Any,
    *,
    blocs: Sequence[str] | None = None,
    inputs: Sequence[str] | None = None,
    band: tuple[float, float] = _BAND,
    events: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw the stocks of each input per bloc, in days of cover.

    Days of cover on a day are the stock at its end divided by the greater of the
    day's use in the run and in its paired baseline: what the stock would last at
    the usual rate, or at the higher rate of facilities that took over orders
    redirected from others (so that extra stock held for extra production does not
    read as extra cover). The baseline's own cover is dashed. A day without use is
    left out; a horizontal line marks an empty stock.

    Parameters
    ----------
    results : dict or Ensemble
        What :func:`sim.read_results` returns, or an Ensemble.
    blocs, inputs : sequence of str, optional
        Blocs and input commodities to draw (default: all; panels in chain order).
    band, events, title
        As for :func:`output_paths`.
    """
    t = _tables(results)
    series = t.table("series")
    stock = series[series["series"] == "stock"]
    use = series[series["series"] == "use"]
    if use.empty:
        raise ValueError(
            f"the results of {t.name!r} hold no daily use, needed for days of cover "
            "(run the scenario again with this paxsim)"
        )
    blocs = _check_choice("bloc", blocs, stock["bloc"].astype(str).unique())
    chosen = _check_choice("input", inputs, stock["commodity"].astype(str).unique())
    commodities = _ordered(chosen, t.commodities)
    fig, axes = _grid(len(commodities))
    end = t.start + pd.to_timedelta(int(series["day"].max()), unit="D")
    markers = _markers(t, DISRUPTION_KINDS, end) if events else []
    for ax, commodity in zip(axes, commodities, strict=True):
        for bloc in _ordered(blocs, list(BLOC_COLORS)):
            sel_s = stock[(stock["bloc"] == bloc) & (stock["commodity"] == commodity)]
            sel_u = use[(use["bloc"] == bloc) & (use["commodity"] == commodity)]
            if sel_s.empty:
                continue
            days, s_a = _per_replication(sel_s, "actual", "day")
            _, s_b = _per_replication(sel_s, "baseline", "day")
            _, u_a = _per_replication(sel_u, "actual", "day")
            _, u_b = _per_replication(sel_u, "baseline", "day")
            rate = np.maximum(u_a, u_b)
            with np.errstate(all="ignore"):
                cover = np.where(rate > 0, s_a / rate, np.nan)
                cover_b = np.where(u_b > 0, s_b / u_b, np.nan)
            if np.isnan(cover).all():
                continue
            dates = t.start + pd.to_timedelta(days, unit="D")
            color = bloc_color(bloc)
            mid, low, high = _quantiles(cover, band)
            ax.plot(dates, mid, color=color, lw=1.4)
            ax.fill_between(dates, low, high, color=color, alpha=0.2, lw=0)
            with np.errstate(all="ignore"):
                ax.plot(dates, np.nanmedian(cover_b, axis=0), color=color, lw=0.9, ls="--")
        ax.axhline(0.0, color="#D55E00", lw=0.9)
        ax.text(
            0.995,
            0.0,
            "empty",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            ha="right",
            va="bottom",
            color="#D55E00",
        )
        unit = str(stock.loc[stock["commodity"] == commodity, "unit"].iloc[0])
        ax.set_title(f"stock of {commodity} ({unit})", fontsize=9, loc="left")
        ax.set_ylabel("days of cover")
        ax.set_ylim(bottom=-0.5)
        ax.grid(alpha=0.3, lw=0.5)
        _date_axis(ax)
    _draw_markers(axes, markers)
    heading = title or (
        f"{t.name}: stocks held by each bloc's facilities, in days of cover, "
        f"over {t.replications} replications"
    )
    note = _marker_key(markers)
    note = (note + "   " if note else "") + (
        "Days of cover: end-of-day stock / the greater of the day's use in the run and in "
        "its paired baseline."
    )
    return _finish(fig, heading, _bloc_handles(blocs, band), note)


# --- metric distributions ----------------------------------------------------------------


def _rows_label(scope: str, stage: str, commodity: str, metric: str, several: bool) -> str:
    if metric.startswith("substitution_"):
        return f"{scope} · {stage} ← {commodity}"
    return f"{scope} · {stage} ({commodity})" if several else f"{scope} · {stage}"


def _several(groups: pd.DataFrame) -> set[str]:
    """Stages that make more than one commodity in ``groups``."""
    counts = groups.groupby("stage")["commodity"].nunique()
    return set(counts[counts > 1].index.astype(str))


def _row_order(frame: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    rank_stage = {s: i for i, s in enumerate(_ordered(frame["stage"], stages))}
    rank_scope = {s: i for i, s in enumerate(_ordered(frame["scope"], list(BLOC_COLORS)))}
    return frame.assign(
        _scope=frame["scope"].map(rank_scope), _stage=frame["stage"].map(rank_stage)
    ).sort_values(["_scope", "_stage", "commodity"])


def _box(ax: Axes, values: np.ndarray, y: float, color: str) -> None:
    """Draw a horizontal box at height ``y``: quartiles, whiskers at 5 % and 95 %."""
    ax.boxplot(
        values,
        positions=[y],
        orientation="horizontal",
        widths=0.6,
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": color, "alpha": 0.25, "edgecolor": color},
        medianprops={"color": color, "lw": 1.8},
        whiskerprops={"color": color},
        capprops={"color": color},
    )


def metric_distributions(
    results: Any,
    metric: str = "output_loss_share",
    *,
    scope_kind: str = "bloc",
    scopes: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the distribution of one metric over replications, per scope and stage.

    Each row is a box (quartiles, whiskers to 5 % and 95 %) over the replications
    where the metric was reached, with each replication as a dot; the right margin
    says how many replications reached it and which share was censored (never
    reached by the horizon) or absent (e.g. no time to recover without a dip).

    Parameters
    ----------
    results : dict or Ensemble
        What :func:`sim.read_results` returns, or an Ensemble.
    metric : str
        Metric name (README, Metrics).
    scope_kind : str
        ``world``, ``bloc``, ``country``, ``facility_type`` or ``facility``.
    scopes, stages : sequence of str, optional
        Scopes and stages to draw (default: all with the metric).
    title : str, optional
        Figure title.
    """
    t = _tables(results)
    metrics = t.table("metrics")
    kind_rows = metrics[metrics["scope_kind"] == scope_kind]
    if kind_rows.empty:
        raise ValueError(f"scope kind {scope_kind!r} is not in these results")
    _check_choice("metric", [metric], kind_rows["metric"].unique())
    rows = kind_rows[kind_rows["metric"] == metric]
    scopes = _check_choice("scope", scopes, rows["scope"].astype(str).unique())
    stage_list = _check_choice("stage", stages, rows["stage"].astype(str).unique())
    rows = rows[rows["scope"].isin(scopes) & rows["stage"].isin(stage_list)]
    groups = _row_order(rows[["scope", "stage", "commodity"]].drop_duplicates(), t.stages)
    n_rows = len(groups)
    several = _several(groups)
    fig = Figure(figsize=(10, 0.38 * n_rows + 2.0))
    ax = fig.subplots()
    scale = 100.0 if _is_share(metric) else 1.0
    unit = str(rows["unit"].iloc[0]) if len(rows) else ""
    rng = np.random.default_rng(0)  # jitter of the dots only
    labels = []
    for y, g in enumerate(groups.itertuples(index=False)):
        sel = rows[
            (rows["scope"] == g.scope)
            & (rows["stage"] == g.stage)
            & (rows["commodity"] == g.commodity)
        ]
        reached = sel.loc[~sel["censored"].astype(bool), "value"].dropna().to_numpy() * scale
        n_runs = t.replications or sel["replication"].nunique()
        color = bloc_color(str(g.scope))
        if len(reached):
            _box(ax, reached, y, color)
            jitter = rng.uniform(-0.18, 0.18, len(reached))
            ax.scatter(reached, y + jitter, s=8, color=color, alpha=0.7, lw=0, zorder=3)
        censored = int(sel["censored"].astype(bool).sum())
        absent = n_runs - len(sel)
        text = f"reached {len(reached)}/{n_runs}"
        if censored:
            text += f", censored {censored / n_runs:.0%}"
        if absent > 0:
            text += f", absent {absent / n_runs:.0%}"
        ax.text(1.01, y, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
        labels.append(
            _rows_label(str(g.scope), str(g.stage), str(g.commodity), metric, g.stage in several)
        )
    ax.set_yticks(range(n_rows), labels, fontsize=8)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlabel(_metric_axis_label(metric, unit))
    ax.grid(axis="x", alpha=0.3, lw=0.5)
    heading = title or (
        f"{t.name}: {METRIC_LABELS.get(metric, metric)} by {scope_kind} and stage, "
        f"over {t.replications} replications"
    )
    note = (
        "Box: quartiles, whiskers 5-95 %, dots: replications where the metric was reached. "
        "Censored: not reached by the horizon; absent: not defined (e.g. no dip to recover from)."
    )
    fig.subplots_adjust(right=0.8)
    return _finish(fig, heading, [], note)


# --- paired differences -------------------------------------------------------------------


def paired_differences(
    a: Any,
    b: Any,
    *,
    metrics: Sequence[str] | None = None,
    scope_kind: str = "bloc",
    scopes: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Paired differences A - B of headline metrics, replication by replication.

    Both runs must have used the same seed and replications (see :mod:`sim.compare`).
    One panel per metric, one row per scope and stage: a box over the replications
    where both runs reached the metric, each pair as a dot, zero dotted, and the
    share of pairs in which A is strictly better (lower, or higher for time to
    survive) on the right.

    Parameters
    ----------
    a, b : dict or Ensemble
        The results of two scenarios.
    metrics : sequence of str, optional
        Metrics to draw (default: :data:`DIFFERENCE_METRICS`).
    scope_kind, scopes, stages, title
        As for :func:`metric_distributions`.
    """
    ta, tb = _tables(a), _tables(b)
    ma, mb = ta.table("metrics"), tb.table("metrics")
    if set(ma["seed"].unique()) != set(mb["seed"].unique()) or set(
        ma["replication"].unique()
    ) != set(mb["replication"].unique()):
        raise ValueError(
            f"{ta.name} and {tb.name} were not run on the same seed and replications; "
            "run both with the same --seed and --replications"
        )
    pairs = paired_values(ma[ma["scope_kind"] == scope_kind], mb[mb["scope_kind"] == scope_kind])
    chosen = list(metrics or [m for m in DIFFERENCE_METRICS if m in set(pairs["metric"])])
    _check_choice("metric", chosen, pairs["metric"].unique())
    pairs = pairs[pairs["metric"].isin(chosen)]
    scopes = _check_choice("scope", scopes, pairs["scope"].astype(str).unique())
    stage_list = _check_choice("stage", stages, pairs["stage"].astype(str).unique())
    pairs = pairs[pairs["scope"].isin(scopes) & pairs["stage"].isin(stage_list)]
    groups = _row_order(pairs[["scope", "stage", "commodity"]].drop_duplicates(), ta.stages)
    n_rows = len(groups)
    fig = Figure(figsize=(3.6 * len(chosen) + 2.0, 0.38 * n_rows + 2.4))
    axes = fig.subplots(1, len(chosen), squeeze=False, sharey=True)[0]
    several = _several(groups)
    labels = [
        _rows_label(str(g.scope), str(g.stage), str(g.commodity), "", g.stage in several)
        for g in groups.itertuples()
    ]
    n_runs = ma["replication"].nunique()
    for ax, metric in zip(axes, chosen, strict=True):
        scale = 100.0 if _is_share(metric) else 1.0
        rows = pairs[pairs["metric"] == metric]
        for y, g in enumerate(groups.itertuples(index=False)):
            sel = rows[
                (rows["scope"] == g.scope)
                & (rows["stage"] == g.stage)
                & (rows["commodity"] == g.commodity)
            ]
            if sel.empty:
                continue
            d = sel["diff"].to_numpy() * scale
            color = bloc_color(str(g.scope))
            _box(ax, d, y, color)
            ax.scatter(d, np.full(len(d), y), s=8, color=color, alpha=0.6, lw=0, zorder=3)
            better = float(sel["a_better"].mean())
            ax.text(
                1.02,
                y,
                f"{better:.0%} (n={len(d)})",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
            )
        ax.axvline(0.0, color="0.3", lw=0.8, ls=":")
        unit = str(rows["unit_a"].iloc[0]) if len(rows) else ""
        what = "percentage points" if _is_share(metric) else unit
        better_side = "higher" if metric in HIGHER_IS_BETTER else "lower"
        ax.set_title(f"{METRIC_LABELS.get(metric, metric)}", fontsize=9, loc="left")
        ax.set_xlabel(f"A - B ({what}); A better if {better_side}", fontsize=8)
        ax.grid(axis="x", alpha=0.3, lw=0.5)
    axes[0].set_yticks(range(n_rows), labels, fontsize=8)
    axes[0].set_ylim(n_rows - 0.5, -0.5)
    heading = title or (
        f"A = {ta.name} minus B = {tb.name}: paired differences over {n_runs} replications "
        "on the same seeds"
    )
    note = (
        "Right of each panel: share of pairs where A is strictly better, and n, the pairs "
        "where both runs reached the metric (censored pairs left out). Box: quartiles, "
        "whiskers 5-95 %."
    )
    return _finish(fig, heading, [], note)
