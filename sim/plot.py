"""Figures from result tables: output paths, stocks, metric distributions, trade, replays.

Every function takes what :func:`sim.read_results` returns (a dict of tables and the
``run`` record) or an :class:`~sim.ensemble.Ensemble` as it comes out of
:func:`~sim.ensemble.run_scenario`, and returns a :class:`matplotlib.figure.Figure`;
nothing here runs the engine. Save a figure with ``fig.savefig("x.png", dpi=150)``.

Conventions shared by every figure:

- **Colours** are fixed per bloc (:func:`bloc_color`) and colour-blind safe (the
  Okabe-Ito palette): allied blue, china vermilion, nonaligned bluish green.
- **Bands** are the 5 % to 95 % range over replications, lines their median (per
  day or month, so a median path is not one replication's path).
- **Baselines** are dashed, in the colour of the bloc, thinner.
- **Event markers** are numbered vertical lines at the (median) date of each
  announcement, start, end, suspension or other change of a disruption, with a key
  below the figure; a shaded span shows where a date varies over replications.
- **Axes** carry units and calendar dates; every figure is titled with its scenario.
"""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from sim.compare import HIGHER_IS_BETTER, paired_values

#: Colours of the blocs of the reference world (Okabe-Ito, colour-blind safe).
BLOC_COLORS: dict[str, str] = {
    "allied": "#0072B2",
    "china": "#D55E00",
    "nonaligned": "#009E73",
    "world": "#000000",
}

#: Colours for other blocs and for countries, picked by a stable hash of the name.
OTHER_COLORS: tuple[str, ...] = ("#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")

#: Event kinds drawn as markers by default (the disruptions).
DISRUPTION_KINDS: tuple[str, ...] = ("export_control", "export_control_change", "facility_outage")

#: Headline metrics of :func:`paired_differences`.
DIFFERENCE_METRICS: tuple[str, ...] = (
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
)

#: Readable names of the metrics.
METRIC_LABELS: dict[str, str] = {
    "output_loss": "output loss",
    "output_gain": "output gain",
    "output_loss_share": "output loss share",
    "peak_shortfall_share": "peak shortfall",
    "time_to_survive_days": "time to survive",
    "time_to_recover_days": "time to recover",
    "exposure_gap_days": "exposure gap",
    "direct_loss": "direct loss",
    "indirect_loss": "indirect loss",
    "substitution_time_days": "substitution time",
    "substitution_qualification_days": "qualification time",
    "substitution_transit_days": "transit of redirected orders",
    "substitution_ramp_days": "substitution ramp",
}

_BAND = (0.05, 0.95)


def bloc_color(name: str) -> str:
    """Return the colour of a bloc (or a country): fixed, the same in every figure."""
    if name in BLOC_COLORS:
        return BLOC_COLORS[name]
    return OTHER_COLORS[zlib.crc32(name.encode("utf-8")) % len(OTHER_COLORS)]


# --- reading the tables -----------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    """The tables of one run, whichever container they came in."""

    name: str
    start: pd.Timestamp
    replications: int
    stages: tuple[str, ...]
    commodities: tuple[str, ...]
    theta: float
    get: dict[str, Any]

    def table(self, name: str) -> pd.DataFrame:
        value = self.get.get(name)
        if not isinstance(value, pd.DataFrame):
            raise ValueError(
                f"the results of {self.name!r} have no {name} table (read it with "
                f"sim.read_results, or run the scenario again with this paxsim)"
            )
        return value


def _tables(results: Any) -> _Tables:
    """Accept an Ensemble or the dict of :func:`sim.read_results`."""
    if isinstance(results, dict):
        run = results.get("run")
        if not isinstance(run, dict):
            raise ValueError("results: give the dict returned by sim.read_results(folder)")
        return _Tables(
            name=str(run.get("scenario", "")),
            # A comparison read from metrics alone has no start date; no figure of
            # metrics needs one.
            start=pd.Timestamp(str(run["start"])) if run.get("start") else pd.Timestamp(0),
            replications=int(run.get("replications", 0)),
            stages=tuple(run.get("stages", ())),
            commodities=tuple(run.get("commodities", ())),
            theta=float(run.get("theta", 0.95)),
            get={k: v for k, v in results.items() if k != "run"},
        )
    needed = ("name", "start", "series", "metrics")
    if not all(hasattr(results, a) for a in needed):
        raise ValueError("results: give an Ensemble or the dict returned by sim.read_results")
    return _Tables(
        name=str(results.name),
        start=pd.Timestamp(results.start),
        replications=int(results.replications),
        stages=tuple(getattr(results, "stages", ())),
        commodities=tuple(getattr(results, "commodities", ())),
        theta=float(getattr(results, "theta", 0.95)),
        get={
            "series": results.series,
            "metrics": results.metrics,
            "trade": getattr(results, "trade", None),
            "timeline": getattr(results, "timeline", None),
        },
    )


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """Sort names by their place in ``order``; unknown names after, alphabetically."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), v))


def _check_choice(kind: str, given: Sequence[str] | None, known: Iterable[str]) -> list[str]:
    known = sorted(set(known))
    if given is None:
        return known
    missing = [g for g in given if g not in known]
    if missing:
        raise ValueError(
            f"{kind} {missing[0]!r} is not in these results; give one of {', '.join(known)}"
        )
    return list(given)


def _quantiles(values: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """Rows: replications. Return (median, low, high) over them, per column."""
    with np.errstate(all="ignore"):
        return np.nanquantile(values, [0.5, band[0], band[1]], axis=0)


def _per_replication(rows: pd.DataFrame, column: str, index: str) -> tuple[np.ndarray, np.ndarray]:
    """Pivot one series to (replications x index) values; return (index values, array)."""
    wide = rows.pivot_table(index="replication", columns=index, values=column, aggfunc="sum")
    return wide.columns.to_numpy(), wide.to_numpy(dtype=float)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _is_share(metric: str) -> bool:
    return metric.endswith("_share")


def _metric_axis_label(metric: str, unit: str) -> str:
    label = METRIC_LABELS.get(metric, metric)
    if _is_share(metric):
        return f"{label} (% of baseline)"
    return f"{label} ({unit})"


# --- event markers ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Marker:
    number: int
    label: str
    median: pd.Timestamp
    low: pd.Timestamp
    high: pd.Timestamp


def _markers(
    tables: _Tables, kinds: Sequence[str] | None, end: pd.Timestamp | None = None
) -> list[_Marker]:
    timeline = tables.get.get("timeline")
    if not isinstance(timeline, pd.DataFrame) or timeline.empty:
        return []
    rows = timeline if kinds is None else timeline[timeline["kind"].isin(kinds)]
    found: list[tuple[float, float, float, str]] = []
    for (event, _kind, marker), days in rows.groupby(["event", "kind", "marker"], sort=False)[
        "day"
    ]:
        mid, low, high = np.quantile(days.to_numpy(dtype=float), [0.5, _BAND[0], _BAND[1]])
        found.append((float(mid), float(low), float(high), f"{event} {marker}"))
    found.sort(key=lambda f: f[0])
    out: list[_Marker] = []
    for mid, low, high, label in found:
        at = [tables.start + pd.Timedelta(days=d) for d in (mid, low, high)]
        if end is not None and at[1] > end:
            continue
        out.append(_Marker(len(out) + 1, label, at[0], at[1], at[2]))
    return out


def _draw_markers(axes: Iterable[Axes], markers: list[_Marker], numbers: bool = True) -> None:
    for ax in axes:
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        for m in markers:
            mid = float(mdates.date2num(m.median))
            if m.high > m.low:
                low, high = (float(mdates.date2num(d)) for d in (m.low, m.high))
                ax.axvspan(low, high, color="0.85", alpha=0.5, lw=0, zorder=0)
            ax.axvline(mid, color="0.35", lw=0.8, ls=":", zorder=1)
            if numbers:
                ax.text(
                    mid,
                    0.985,
                    str(m.number),
                    transform=trans,
                    ha="center",
                    va="top",
                    fontsize=7,
                    color="0.2",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                    zorder=5,
                )


def _marker_key(markers: list[_Marker]) -> str:
    def when(m: _Marker) -> str:
        if m.high > m.low:
            return f"{m.median:%d %b %Y} ({m.low:%d %b %Y} to {m.high:%d %b %Y})"
        return f"{m.median:%d %b %Y}"

    return "   ".join(f"{m.number} {when(m)}: {m.label}" for m in markers)


def _finish(
    fig: Figure,
    title: str,
    handles: list[Any],
    note: str = "",
    *,
    legend_cols: int = 6,
) -> Figure:
    """Title the figure, put the legend and the note under the panels, lay it out."""
    height = fig.get_figheight()
    fig.suptitle(title, fontsize=11, fontweight="bold")
    bottom = 0.05  # inches
    if note:
        width = max(60, int(fig.get_figwidth() * 15))
        lines = textwrap.wrap(note, width)
        fig.text(0.01, 0.05 / height, "\n".join(lines), fontsize=7, va="bottom", ha="left")
        bottom += 0.14 * len(lines) + 0.05
    if handles:
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(legend_cols, len(handles)),
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(0.5, bottom / height),
        )
        bottom += 0.22 * int(np.ceil(len(handles) / min(legend_cols, len(handles)))) + 0.1
    fig.tight_layout(rect=(0, bottom / height, 1, 1 - 0.45 / height))
    return fig


def _grid(count: int, width: float = 12.0, row_height: float = 2.6) -> tuple[Figure, list[Axes]]:
    cols = 1 if count == 1 else 2
    rows = int(np.ceil(count / cols))
    fig = Figure(figsize=(width, row_height * rows + 1.6))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    # The lowest visible panel of each column shows the dates.
    for i in range(max(0, count - cols), count):
        axes.ravel()[i].xaxis.set_tick_params(labelbottom=True)
    for ax in flat[:count]:
        ax.yaxis.set_major_formatter(FuncFormatter(_number))
    return fig, flat[:count]


def _number(value: float, _pos: object = None) -> str:
    """Tick label: plain digits with thousands separators, or 3 significant figures."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _bloc_handles(blocs: Iterable[str], band: tuple[float, float]) -> list[Any]:
    handles: list[Any] = [
        Line2D([], [], color=bloc_color(b), lw=1.8, label=f"{b} (median)") for b in blocs
    ]
    handles.append(Line2D([], [], color="0.3", lw=1.0, ls="--", label="paired baseline"))
    handles.append(
        Patch(color="0.6", alpha=0.3, label=f"{band[0]:.0%} to {band[1]:.0%} of replications")
    )
    return handles


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


# --- trade ---------------------------------------------------------------------------------


def _full_months(trade: pd.DataFrame) -> pd.DataFrame:
    """Leave out a first or last month that the run covers only in part."""
    month = pd.DatetimeIndex(trade["month"])
    return trade[trade["days"].to_numpy() == month.days_in_month.to_numpy()]


def trade_flows(
    results: Any,
    *,
    commodities: Sequence[str] | None = None,
    origins: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
    band: tuple[float, float] = _BAND,
    events: bool = True,
    title: str | None = None,
) -> Figure:
    """Monthly exports from one bloc to each bloc, actual against baseline.

    Exports are shipments at departure from a country to another country, summed by
    the blocs of origin and destination (at the start of the run) and by calendar
    month; months the run covers only in part are left out. One panel per origin
    bloc and commodity with any export, one colour per destination bloc.

    Parameters
    ----------
    results : dict or Ensemble
        What :func:`sim.read_results` returns, or an Ensemble.
    commodities : sequence of str, optional
        Commodities to draw (default: every commodity exported).
    origins, destinations : sequence of str, optional
        Blocs of origin and of destination (default: all).
    band, events, title
        As for :func:`output_paths`.
    """
    t = _tables(results)
    trade = _full_months(t.table("trade"))
    origins = _check_choice("origin bloc", origins, trade["origin_bloc"].astype(str).unique())
    destinations = _check_choice(
        "destination bloc", destinations, trade["destination_bloc"].astype(str).unique()
    )
    chosen = _check_choice("commodity", commodities, trade["commodity"].astype(str).unique())
    trade = trade[
        trade["origin_bloc"].astype(str).isin(origins)
        & trade["destination_bloc"].astype(str).isin(destinations)
        & trade["commodity"].astype(str).isin(chosen)
    ]
    keys = ["replication", "month", "origin_bloc", "destination_bloc", "commodity", "unit"]
    flows = (
        trade.astype({k: str for k in keys[2:]})
        .groupby(keys, sort=True, observed=True)[["actual", "baseline"]]
        .sum()
        .reset_index()
    )
    totals = flows.groupby(["origin_bloc", "commodity"])[["actual", "baseline"]].sum()
    panels = totals[(totals["actual"] > 0) | (totals["baseline"] > 0)].index.tolist()
    rank = {c: i for i, c in enumerate(_ordered([c for _, c in panels], t.commodities))}
    panels.sort(key=lambda p: (rank[p[1]], p[0]))
    if not panels:
        raise ValueError("no exports match; check commodities, origins and destinations")
    fig, axes = _grid(len(panels))
    markers = _markers(t, DISRUPTION_KINDS, pd.Timestamp(flows["month"].max())) if events else []
    shown: set[str] = set()
    for ax, (origin, commodity) in zip(axes, panels, strict=True):
        panel = flows[(flows["origin_bloc"] == origin) & (flows["commodity"] == commodity)]
        for dest in _ordered(panel["destination_bloc"], list(BLOC_COLORS)):
            rows = panel[panel["destination_bloc"] == dest]
            months, actual = _per_replication(rows, "actual", "month")
            _, base = _per_replication(rows, "baseline", "month")
            if not (actual.any() or base.any()):
                continue
            x = pd.DatetimeIndex(months) + pd.Timedelta(days=14)
            color = bloc_color(dest)
            mid, low, high = _quantiles(actual, band)
            ax.plot(x, mid, color=color, lw=1.4, marker="o", ms=2.5)
            ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
            ax.plot(x, np.median(base, axis=0), color=color, lw=0.9, ls="--")
            shown.add(dest)
        unit = str(panel["unit"].iloc[0])
        ax.set_title(f"{commodity} exported from {origin}", fontsize=9, loc="left")
        ax.set_ylabel(f"{unit} per month")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, lw=0.5)
        _date_axis(ax)
    _draw_markers(axes, markers)
    heading = title or (
        f"{t.name}: monthly exports by bloc of origin and destination, over "
        f"{t.replications} replications"
    )
    handles = [
        Line2D([], [], color=bloc_color(d), lw=1.8, marker="o", ms=3, label=f"to {d} (median)")
        for d in _ordered(shown, list(BLOC_COLORS))
    ]
    handles += _bloc_handles([], band)
    note = _marker_key(markers)
    note = (note + "   " if note else "") + (
        "Exports: shipments at departure to another country, summed per calendar month "
        "(drawn mid-month); exports between countries of one bloc count too."
    )
    return _finish(fig, heading, handles, note)


# --- replays ---------------------------------------------------------------------------------


def replay_table(results: Any, origin: str, commodity: str, *, by: str = "bloc") -> pd.DataFrame:
    """Monthly exports of one commodity from one country, per replication and destination.

    Parameters
    ----------
    results : dict or Ensemble
        What :func:`sim.read_results` returns, or an Ensemble.
    origin : str
        Exporting country (ISO3).
    commodity : str
        Commodity id.
    by : {"bloc", "country"}
        Group destinations by bloc (at the start of the run) or by country.

    Returns
    -------
    DataFrame
        ``replication, month`` (``YYYY-MM``), ``origin, destination, commodity,
        quantity`` (commodity units per month, actual run), as :func:`replay` takes.
    """
    if by not in ("bloc", "country"):
        raise ValueError(f"by must be 'bloc' or 'country', not {by!r}")
    t = _tables(results)
    trade = t.table("trade")
    _check_choice("origin", [origin], trade["origin"].astype(str).unique())
    rows = trade[(trade["origin"] == origin)]
    _check_choice("commodity", [commodity], rows["commodity"].astype(str).unique())
    rows = rows[rows["commodity"] == commodity]
    column = "destination_bloc" if by == "bloc" else "destination"
    out = (
        rows.assign(destination=rows[column].astype(str))
        .groupby(["replication", "month", "destination"], sort=True)["actual"]
        .sum()
        .reset_index()
        .rename(columns={"actual": "quantity"})
    )
    out["month"] = pd.DatetimeIndex(out["month"]).strftime("%Y-%m")
    out["origin"] = origin
    out["commodity"] = commodity
    return out[["replication", "month", "origin", "destination", "commodity", "quantity"]]


def replay(
    simulated: pd.DataFrame,
    observed: pd.DataFrame | None = None,
    *,
    band: tuple[float, float] = _BAND,
    unit: str = "t",
    title: str | None = None,
) -> Figure:
    """Draw simulated monthly exports by destination, with bands, and observed points.

    Parameters
    ----------
    simulated : DataFrame
        ``month`` (``YYYY-MM``), ``origin``, ``destination``, ``commodity``,
        ``quantity`` and optionally ``replication`` (several give a band): what
        :func:`sim.replay.monthly_exports` or :func:`replay_table` returns.
    observed : DataFrame, optional
        Observed flows as :func:`sim.replay.read_observed` returns. A destination
        ``all`` is compared with the sum of the simulated exports to every
        destination.
    band : (float, float)
        Quantiles of the band over replications.
    unit : str
        Unit of the quantities (per month).
    title : str, optional
        Figure title (default: origin and commodity).
    """
    sim_rows = simulated.copy()
    if "replication" not in sim_rows:
        sim_rows["replication"] = 0
    if sim_rows.empty:
        raise ValueError("no simulated flows to plot")
    wanted = set(sim_rows["destination"].astype(str))
    if observed is not None and len(observed):
        obs = observed[observed["commodity"].isin(sim_rows["commodity"].unique())]
        obs = obs[obs["origin"].isin(sim_rows["origin"].unique())]
        if (obs["destination"].astype(str).str.lower() == "all").any():
            total = sim_rows.groupby(["replication", "month", "origin", "commodity"])[
                "quantity"
            ].sum()
            sim_rows = pd.concat(
                [sim_rows, total.reset_index().assign(destination="all")], ignore_index=True
            )
            obs = obs.assign(
                destination=obs["destination"].where(
                    obs["destination"].astype(str).str.lower() != "all", "all"
                )
            )
            wanted.add("all")
    else:
        obs = None
    commodities = sorted(sim_rows["commodity"].astype(str).unique())
    fig, axes = _grid(len(commodities), width=11.0, row_height=3.4)
    handles: list[Any] = []
    for ax, commodity in zip(axes, commodities, strict=True):
        rows = sim_rows[sim_rows["commodity"] == commodity]
        for dest in _ordered(rows["destination"].astype(str), [*BLOC_COLORS, "all"]):
            if dest not in wanted:
                continue
            sel = rows[rows["destination"] == dest]
            months, values = _per_replication(sel, "quantity", "month")
            x = pd.to_datetime(months, format="%Y-%m") + pd.Timedelta(days=14)
            color = "#000000" if dest == "all" else bloc_color(dest)
            label = "all destinations" if dest == "all" else dest
            mid, low, high = _quantiles(values, band)
            ax.plot(x, mid, color=color, lw=1.4)
            if values.shape[0] > 1:
                ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
            handles.append(Line2D([], [], color=color, lw=1.6, label=f"{label}, simulated"))
            if obs is not None:
                points = obs[(obs["commodity"] == commodity) & (obs["destination"] == dest)]
                if len(points):
                    px = pd.to_datetime(points["month"], format="%Y-%m") + pd.Timedelta(days=14)
                    ax.scatter(
                        px,
                        points["quantity"],
                        s=22,
                        facecolor=color,
                        edgecolor="white",
                        lw=0.6,
                        zorder=4,
                    )
                    handles.append(
                        Line2D(
                            [], [], color=color, lw=0, marker="o", ms=5, label=f"{label}, observed"
                        )
                    )
        ax.set_title(
            f"{commodity} exported from {', '.join(rows['origin'].unique())}",
            fontsize=9,
            loc="left",
        )
        ax.set_ylabel(f"{unit} per month")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, lw=0.5)
        _date_axis(ax)
    reps = sim_rows["replication"].nunique()
    spread = f"median and 5-95 % band over {reps} replications" if reps > 1 else "one replication"
    heading = title or (
        f"Replay: monthly exports, simulated ({spread})"
        + (" and observed" if obs is not None else "")
    )
    note = (
        "Observed series are out of sample: no parameter was fitted to them."
        if obs is not None
        else ""
    )
    unique = list({h.get_label(): h for h in handles}.values())  # once, not per panel
    return _finish(fig, heading, unique, note, legend_cols=4)
