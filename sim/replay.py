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
    by : {"bloc", "country"}
        Group destinations by bloc (at the start of the run) or by country.

    Returns
    -------
    DataFrame
        Columns ``month, origin, destination, commodity, quantity`` (commodity units per
        month); domestic shipments are left out.
    """
    if record.trade is None:
        raise InputError("replay", "record_trade", "the run kept no trade flows", "run with it on")
    if by not in ("bloc", "country"):
        raise InputError("replay", "by", f"unknown grouping '{by}'", "use bloc or country")
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


def compare_observed(
    simulated: pd.DataFrame, observed: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Join simulated and observed monthly flows and score the fit.

    Returns
    -------
    table : DataFrame
        ``month, origin, destination, commodity, simulated, observed`` for every
        observed row (simulated 0 where the run shipped nothing).
    score : dict
        ``rmse`` (commodity units per month), ``mape`` (mean absolute percentage
        error over months with observed > 0, as a share) and ``n`` (rows compared).
    """
    keys = ["month", "origin", "destination", "commodity"]
    table = observed.merge(
        simulated.rename(columns={"quantity": "simulated"}), on=keys, how="left"
    ).rename(columns={"quantity": "observed"})
    table["simulated"] = table["simulated"].fillna(0.0)
    err = table["simulated"] - table["observed"]
    positive = table["observed"] > 0
    score = {
        "n": float(len(table)),
        "rmse": float(np.sqrt((err**2).mean())) if len(table) else float("nan"),
        "mape": float((err[positive].abs() / table.loc[positive, "observed"]).mean())
        if positive.any()
        else float("nan"),
    }
    return table[[*keys, "simulated", "observed"]], score
