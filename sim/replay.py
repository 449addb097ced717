"""Historical replay: simulated monthly trade flows next to observed ones, with an error score.

The observed series is a CSV file with one row per month and flow:

| column | type | meaning |
|---|---|---|
| `month` | text | calendar month, ``YYYY-MM`` |
| `origin` | text | ISO3 code of the exporting country |
| `destination` | text | ISO3 code of the importing country, or a bloc name |
| `commodity` | text | commodity id (as in ``commodities.csv``) |
| `quantity` | number | quantity shipped in the month, in the commodity's unit |
| `source` | text | where the figure comes from (publication, year) |

Simulated flows are shipments at departure, summed over the month, from the run's
trade record (:class:`sim.engine.Settings` ``record_trade=True``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.record import RunRecord

OBSERVED_COLUMNS = ["month", "origin", "destination", "commodity", "quantity", "source"]
#: Destination groupings, and the name of the world total (as in observed files).
BY = ("bloc", "country", "world")
WORLD = "all"
KEYS = ["month", "origin", "destination", "commodity"]
#: Share of the pre-shock level a flow must regain to count as back.
BACK_SHARE = 0.9
#: Months before the shock month whose mean is the pre-shock level.
PRE_SHOCK_MONTHS = 12


def monthly_exports(
    record: RunRecord, origin: str, commodity: str, *, by: str = "bloc"
) -> pd.DataFrame:
    """Return monthly shipments from ``origin`` of ``commodity`` by destination.

    Parameters
    ----------
    record : RunRecord
        A run made with ``Settings(record_trade=True)``.
    origin : str
        ISO3 code of the exporting country.
    commodity : str
        Commodity id.
    by : {"bloc", "country", "world"}
        Group destinations by bloc (at the start of the run), by country, or into one
        world total (destination ``all``).

    Returns
    -------
    DataFrame
        Columns ``month, origin, destination, commodity, quantity`` (commodity units per
        month); domestic shipments are left out.
    """
    if record.trade is None:
        raise InputError("replay", "record_trade", "the run kept no trade flows", "run with it on")
    if by not in BY:
        raise InputError("replay", "by", f"unknown grouping '{by}'", "use bloc, country or world")
    trade = record.trade
    rows = trade[
        (trade["origin"] == origin)
        & (trade["commodity"] == commodity)
        & (trade["destination"] != origin)
    ].copy()
    if rows.empty:
        if not (trade["commodity"] == commodity).any():
            raise InputError(
                "replay",
                "commodity",
                f"no shipments of '{commodity}' at all in this run",
                "give a traded commodity",
            )
        raise InputError(
            "replay",
            "origin",
            f"no exports of '{commodity}' from '{origin}' in this run",
            "give a country that exports it",
        )
    if by == "bloc":
        bloc = dict(zip(record.facilities["country"], record.facilities["bloc"], strict=False))
        rows["destination"] = rows["destination"].map(lambda c: bloc.get(c, c))
    elif by == "world":
        rows["destination"] = WORLD
    dates = pd.Timestamp(record.start) + pd.to_timedelta(rows["day"], unit="D")
    rows["month"] = dates.dt.strftime("%Y-%m")
    keys = ["month", "origin", "destination", "commodity"]
    out = rows[[*keys, "quantity"]].groupby(keys, sort=True).sum().reset_index()
    return pd.DataFrame(out)


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read an observed-flows CSV (format: module docstring), checking its columns."""
    try:
        frame = pd.read_csv(path, dtype={"month": str})
    except FileNotFoundError:
        raise InputError(str(path), "-", "file not found", "check the path") from None
    missing = [c for c in OBSERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            str(path), missing[0], "required column is missing", f"give {OBSERVED_COLUMNS}"
        )
    bad = ~frame["month"].astype(str).str.fullmatch(r"\d{4}-\d{2}")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(str(path), f"month (row {row + 1})", "is not YYYY-MM", "fix it")
    quantity = pd.to_numeric(frame["quantity"], errors="coerce")
    if quantity.isna().any() or (quantity < 0).any():
        row = int(np.flatnonzero((quantity.isna() | (quantity < 0)).to_numpy())[0])
        raise InputError(
            str(path), f"quantity (row {row + 1})", "is not a number >= 0", "give a quantity"
        )
    if (frame["source"].astype(str).str.strip() == "").any() or frame["source"].isna().any():
        raise InputError(str(path), "source", "a row has no source", "cite where it comes from")
    return frame.assign(quantity=quantity)[OBSERVED_COLUMNS]


def all_levels(record: RunRecord, origin: str, commodity: str) -> pd.DataFrame:
    """Monthly exports by country, by bloc and as the world total (``all``), stacked.

    Columns as :func:`monthly_exports`; a destination name is a country code, a bloc
    name or ``all`` (names of the three kinds do not clash in a valid world). A
    ``commodity`` of ids joined by ``+`` (``ndfeb_magnet+ndfeb_magnet_lowdy``: both
    grades, as customs count them) sums their flows, in their common unit.
    """
    parts = commodity.split("+")
    frames = [monthly_exports(record, origin, c, by=by) for by in BY for c in parts]
    stacked = pd.concat(frames, ignore_index=True).assign(commodity=commodity)
    return pd.DataFrame(stacked.groupby(KEYS, as_index=False, sort=True)["quantity"].sum())


def match_observed(
    observed: pd.DataFrame,
    simulated: pd.DataFrame,
    *,
    origin: str,
    commodity: str,
    months: list[str],
    where: str,
) -> pd.DataFrame:
    """Return the observed rows of ``origin`` and ``commodity``, each matched to a flow.

    A row matches when its month lies in the run (``months``) and its destination (a
    country, a bloc or ``all``) is one the run ships to in some month; a month without
    shipments then counts as 0. A row before the run is kept for the observed series'
    pre-shock level only (it has no simulated month to score against). Any other row
    of this origin and commodity (after the run, or to a destination the run never
    ships to) is an error naming the row (its line in the file), since a silent zero
    would score as a miss.

    Raises
    ------
    InputError
        If a row matches nothing, or if no row is of this origin and commodity.
    """
    parts = commodity.split("+")  # rows of any part count toward the sum
    mine = observed[(observed["origin"] == origin) & observed["commodity"].isin(parts)]
    mine = mine.assign(commodity=commodity)
    if mine.empty:
        raise InputError(
            where,
            "--observed",
            f"has no rows of {commodity} from {origin}",
            "give --origin and --commodity of the observed series",
        )
    destinations = set(simulated["destination"])
    for index, row in mine.iterrows():
        line = int(str(index)) + 2  # header is line 1
        if row["month"] not in months and row["month"] > months[-1]:
            raise InputError(
                where,
                f"month (line {line})",
                f"{row['month']} is after the run ({months[0]} to {months[-1]})",
                "drop the row, or extend the scenario's horizon",
            )
        if row["destination"] not in destinations:
            raise InputError(
                where,
                f"destination (line {line})",
                f"'{row['destination']}' matches no simulated flow of {commodity} from {origin}",
                f"give a country, a bloc or '{WORLD}' the run ships to",
            )
    return mine


def _pre_shock(series: pd.Series, shock: str) -> float:
    """Mean of the months before ``shock`` (at most :data:`PRE_SHOCK_MONTHS`); NaN if none."""
    before = series[series.index < shock].sort_index().tail(PRE_SHOCK_MONTHS)
    return float(before.mean()) if len(before) else float("nan")


def _trough(ratio: pd.Series, shock: str) -> tuple[float, str, str]:
    """Depth and month of the lowest ratio from the shock on, and the first month back."""
    after = ratio[(ratio.index >= shock) & ratio.notna()].sort_index()
    if after.empty:
        return float("nan"), "", ""
    month = str(after.idxmin())
    back = after[(after.index > month) & (after >= BACK_SHARE)]
    return float(after.min()), month, str(back.index[0]) if len(back) else ""


def replay_table(
    simulated: pd.DataFrame,
    observed: pd.DataFrame | None,
    *,
    months: list[str],
    shock: str,
    band: tuple[float, float],
) -> pd.DataFrame:
    """Return simulated bands next to observed flows, as levels and pre-shock ratios.

    Parameters
    ----------
    simulated : DataFrame
        :func:`all_levels` of each replication, with a ``replication`` column.
    observed : DataFrame or None
        Matched observed rows (:func:`match_observed`); None: every simulated flow.
    months : list of str
        The run's months (``YYYY-MM``); a flow's month without shipments counts as 0.
    shock : str
        Month (``YYYY-MM``) of the first disruption: the ratios divide by the mean of the
        months before it.
    band : (low, high)
        Quantiles of the band over replications (0.05, 0.95).

    Returns
    -------
    DataFrame
        ``month, origin, destination, commodity``, ``simulated`` (median over
        replications), ``low``, ``high``, ``observed`` (NaN without one), and
        ``simulated_ratio``, ``low_ratio``, ``high_ratio``, ``observed_ratio``; in the
        commodity's unit per month.
    """
    grid = simulated.pivot_table(
        index=[*KEYS[1:], "month"], columns="replication", values="quantity", fill_value=0.0
    )
    # Every run month of every flow (zeros where a replication shipped nothing).
    flows = list(dict.fromkeys(key[:-1] for key in grid.index))
    full = pd.MultiIndex.from_tuples(
        [(*flow, m) for flow in flows for m in months], names=grid.index.names
    )
    grid = grid.reindex(full, fill_value=0.0)
    out = pd.DataFrame(
        {
            "simulated": grid.median(axis=1),
            "low": grid.quantile(band[0], axis=1),
            "high": grid.quantile(band[1], axis=1),
        }
    ).reset_index()
    early = pd.DataFrame(columns=[*KEYS, "quantity"])
    if observed is not None:
        obs = pd.DataFrame(observed.groupby(KEYS, as_index=False)["quantity"].sum())
        early = obs[obs["month"] < months[0]]  # for the pre-shock level only
        out = out.merge(obs.rename(columns={"quantity": "observed"}), on=KEYS, how="left")
        seen = set(zip(obs["origin"], obs["destination"], obs["commodity"], strict=True))
        keep = [
            f in seen for f in zip(out["origin"], out["destination"], out["commodity"], strict=True)
        ]
        out = out[keep]
    else:
        out["observed"] = np.nan
    for _, rows in out.groupby(KEYS[1:]):
        by_month = rows.set_index("month")
        sim_level = _pre_shock(by_month["simulated"], shock)
        flow = rows.iloc[0][KEYS[1:]].tolist()
        before = early[(early[KEYS[1:]] == flow).all(axis=1)].set_index("month")["quantity"]
        obs_level = _pre_shock(pd.concat([before, by_month["observed"].dropna()]), shock)
        for col, level in (
            ("simulated", sim_level),
            ("low", sim_level),
            ("high", sim_level),
            ("observed", obs_level),
        ):
            ratio = rows[col] / level if level > 0 else np.nan
            out.loc[rows.index, f"{col}_ratio"] = ratio
    columns = [*KEYS, "simulated", "low", "high", "observed"]
    columns += [f"{c}_ratio" for c in ("simulated", "low", "high", "observed")]
    return out[columns].sort_values(KEYS[1:] + ["month"]).reset_index(drop=True)


def replay_scores(table: pd.DataFrame, shock: str) -> pd.DataFrame:
    """Scores of the simulated median against the observed rows, per flow.

    Levels: ``rmse`` (unit per month) and ``mape`` (share, months with observed > 0);
    ratios to the pre-shock level: ``rmse_ratio`` and ``mape_ratio``; and, for the
    observed and the simulated series alike, the trough (lowest ratio from the shock
    month on), its month, and the first month after it back above
    :data:`BACK_SHARE` of the pre-shock level (empty if never).
    """
    rows = []
    for (origin, destination, commodity), flow in table.groupby(KEYS[1:]):
        seen = flow[flow["observed"].notna()]
        err = seen["simulated"] - seen["observed"]
        pos = seen["observed"] > 0
        rerr = (seen["simulated_ratio"] - seen["observed_ratio"]).dropna()
        rpos = seen["observed_ratio"] > 0
        sim_t = _trough(flow.set_index("month")["simulated_ratio"], shock)
        obs_t = _trough(seen.set_index("month")["observed_ratio"], shock)
        rows.append(
            {
                "origin": origin,
                "destination": destination,
                "commodity": commodity,
                "n": len(seen),
                "rmse": float(np.sqrt((err**2).mean())) if len(seen) else np.nan,
                "mape": float((err[pos].abs() / seen.loc[pos, "observed"]).mean())
                if pos.any()
                else np.nan,
                "rmse_ratio": float(np.sqrt((rerr**2).mean())) if len(rerr) else np.nan,
                "mape_ratio": float(
                    (
                        (seen["simulated_ratio"] - seen["observed_ratio"])[rpos].abs()
                        / seen.loc[rpos, "observed_ratio"]
                    ).mean()
                )
                if rpos.any()
                else np.nan,
                "trough_observed": obs_t[0],
                "trough_month_observed": obs_t[1],
                "back_observed": obs_t[2],
                "trough_simulated": sim_t[0],
                "trough_month_simulated": sim_t[1],
                "back_simulated": sim_t[2],
            }
        )
    return pd.DataFrame(rows)


def significant(value: float, digits: int = 4) -> str:
    """Format a number to ``digits`` significant digits (0.0023 t and 5,784 t alike)."""
    if value != value:  # NaN
        return ""
    return f"{value:.{digits}g}"
