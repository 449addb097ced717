"""Figures of trade: monthly exports by bloc (:func:`trade_flows`) and replays.

:func:`replay_table` and :func:`replay` draw the simulated monthly exports of one
origin and commodity by destination, against observed points. The conventions shared
by every figure are described in :mod:`sim.plot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.plot_common import (
    _BAND,
    BLOC_COLORS,
    DISRUPTION_KINDS,
    _bloc_handles,
    _check_choice,
    _date_axis,
    _draw_markers,
    _finish,
    _grid,
    _marker_key,
    _markers,
    _ordered,
    _per_replication,
    _quantiles,
    _tables,
    bloc_color,
)

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
        ``all`` is compared with the simulated rows of destination ``all`` if there
        are any, else with the sum of the simulated exports to every destination.
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
        has_total = (sim_rows["destination"] == "all").any()  # e.g. from replay --by world
        if (obs["destination"].astype(str).str.lower() == "all").any() and not has_total:
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
