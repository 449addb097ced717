"""Summary statistics of an ensemble's metrics, gathered one replication at a time.

:class:`MetricsSummary` takes each replication's long metrics table in turn
(:meth:`MetricsSummary.add`; a streamed run feeds it from ``metrics.parquet`` read back
after its last replication, :func:`sim.sink.read_back`) and keeps only what the
statistics need: for every metric
row (scope kind, scope, stage, commodity, metric, unit) and replication, its value
(8 bytes) and whether it was censored (1 byte); label strings are kept once. For the
~5,000 metric rows of a reference-world replication that is ~45 kB per replication,
45 MB for 1,000 replications, which is what exact quantiles over replications cost.
:meth:`MetricsSummary.table` then places the values in a metric row x replication
grid, one replication at a time, and computes the summary (:data:`SUMMARY_COLUMNS`) with
array operations over all metric rows at once. :func:`summarise` does the same for a
long table held in memory; both give identical numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.reduce import SCOPES

#: Columns of the summary table (:meth:`sim.ensemble.Ensemble.summary`).
SUMMARY_COLUMNS = [
    "scenario",
    "scope_kind",
    "scope",
    "stage",
    "commodity",
    "metric",
    "unit",
    "n",
    "mean",
    "p05",
    "p50",
    "p95",
    "reached_share",
]

#: The label columns that identify one metric row.
KEYS = ("scope_kind", "scope", "stage", "commodity", "metric", "unit")

#: Quantiles of the summary (linear interpolation, as :func:`numpy.quantile`).
QUANTILES = (0.05, 0.5, 0.95)


class MetricsSummary:
    """Summary statistics over replications, from their metrics tables one at a time.

    :meth:`add` each replication's metrics in replication order, then :meth:`table`.
    """

    def __init__(self) -> None:
        self._index: dict[tuple[str, ...], int] = {}
        self._rows: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._censored: list[np.ndarray] = []
        self._last: tuple[list[np.ndarray], np.ndarray] | None = None

    def add(self, metrics: pd.DataFrame) -> None:
        """Add one replication's metrics.

        Parameters
        ----------
        metrics : DataFrame
            Columns :data:`KEYS`, ``value`` (float, in ``unit``) and ``censored``
            (bool), one row per metric row of the replication, each at most once.
        """
        labels = [metrics[c].to_numpy() for c in KEYS]
        last = self._last
        if last is not None and all(
            len(a) == len(b) and bool((a == b).all()) for a, b in zip(last[0], labels, strict=True)
        ):
            rows = last[1]  # the same metric rows as the replication before (the usual case)
        else:
            rows = _key_rows(self._index, metrics)
        self._last = (labels, rows)
        self._rows.append(rows)
        self._values.append(metrics["value"].to_numpy(dtype=float))
        self._censored.append(metrics["censored"].to_numpy(dtype=bool))

    def table(self, scenario: str) -> pd.DataFrame:
        """Return the summary: one row per metric row, columns :data:`SUMMARY_COLUMNS`.

        ``n`` counts the replications in which the metric row was computed (a metric
        can be absent, e.g. ``time_to_recover_days`` without a loss); ``reached_share``
        is the share of those ``n`` in which it was not censored; ``mean, p05, p50,
        p95`` are the mean and the 5 %, 50 % and 95 % quantiles (linear interpolation)
        of the non-censored, non-NaN values, NaN if there are none. Rows are sorted by
        scope kind (world, bloc, country, facility_type, facility) and then by scope
        kind, scope, stage, commodity, metric and unit.
        """
        n_keys, n_columns = len(self._index), len(self._rows)
        grids = _Grids(n_keys, n_columns)
        for column, (rows, value, censored) in enumerate(
            zip(self._rows, self._values, self._censored, strict=True)
        ):
            grids.put(rows, column, value, censored)
        return _table(self._index, grids, scenario)


def _key_rows(index: dict[tuple[str, ...], int], metrics: pd.DataFrame) -> np.ndarray:
    """Return the row of each metric in ``index`` (new keys are added in order of appearance)."""
    labels = zip(*(metrics[c].astype("str").tolist() for c in KEYS), strict=True)
    return np.fromiter((index.setdefault(key, len(index)) for key in labels), np.int64)


class _Grids:
    """A metric row x replication grid of presence, reached flags and reached values."""

    def __init__(self, n_keys: int, n_columns: int) -> None:
        self.present = np.zeros((n_keys, n_columns), dtype=bool)
        self.reached = np.zeros((n_keys, n_columns), dtype=bool)
        self.values = np.full((n_keys, n_columns), np.nan)

    def put(
        self,
        rows: np.ndarray,
        columns: np.ndarray | int,
        value: np.ndarray,
        censored: np.ndarray,
    ) -> None:
        """Place values at ``(rows, columns)`` (a censored value is not reached: NaN)."""
        self.present[rows, columns] = True
        self.reached[rows, columns] = ~censored
        self.values[rows, columns] = np.where(censored, np.nan, value)


def _table(index: dict[tuple[str, ...], int], grids: _Grids, scenario: str) -> pd.DataFrame:
    """Summarise the grids of metric rows ``index`` (one row of each grid per key)."""
    if len(index) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    values = grids.values
    n = grids.present.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # metric rows without a value
        mean = np.nanmean(values, axis=1)
        quantiles = np.nanquantile(values, QUANTILES, axis=1)
    keys = pd.DataFrame(list(index), columns=list(KEYS))
    out = keys.assign(
        scenario=scenario,
        n=n.astype(np.int64),
        mean=mean,
        p05=quantiles[0],
        p50=quantiles[1],
        p95=quantiles[2],
        reached_share=grids.reached.sum(axis=1) / n,
    )
    rank = {kind: i for i, kind in enumerate(SCOPES)}
    out["_kind"] = out["scope_kind"].map(rank).fillna(len(SCOPES))
    out = out.sort_values(["_kind", *KEYS], kind="stable")
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def summarise(metrics: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Summarise a long metrics table over replications (see :meth:`MetricsSummary.table`).

    Parameters
    ----------
    metrics : DataFrame
        Columns :data:`KEYS`, ``value`` and ``censored``: one row per replication and
        metric row, replications in order (the k-th row of a metric row is taken as its
        k-th replication).
    scenario : str
        Value of the ``scenario`` column.

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS`, sorted.
    """
    index: dict[tuple[str, ...], int] = {}
    rows = _key_rows(index, metrics)
    # The k-th row of a metric row is its k-th replication.
    columns = pd.Series(rows).groupby(rows).cumcount().to_numpy(dtype=np.int64)
    n_columns = int(columns.max()) + 1 if len(columns) else 0
    grids = _Grids(len(index), n_columns)
    grids.put(
        rows,
        columns,
        metrics["value"].to_numpy(dtype=float),
        metrics["censored"].to_numpy(dtype=bool),
    )
    return _table(index, grids, scenario)
