"""What every figure of :mod:`sim.plot` shares: colours, labels, tables, markers, layout.

The conventions these implement (bloc colours, bands, dashed baselines, numbered event
markers, axes with units and dates) are described in :mod:`sim.plot`.
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

#: Colours of the blocs of the reference world (Okabe-Ito, colour-blind safe).
BLOC_COLORS: dict[str, str] = {
    "allied": "#0072B2",
    "china": "#D55E00",
    "nonaligned": "#009E73",
    "partner": "#CC79A7",
    "world": "#000000",
}

#: Colours for other blocs and for countries, picked by a stable hash of the name.
OTHER_COLORS: tuple[str, ...] = ("#E69F00", "#56B4E9", "#F0E442", "#999999")

#: Event kinds drawn as markers by default (the disruptions).
DISRUPTION_KINDS: tuple[str, ...] = ("export_control", "export_control_change", "facility_outage")

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
