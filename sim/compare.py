"""Paired comparison of scenarios run on the same seeds.

Two ensembles run with the same root seed share, replication by replication, the
same random streams (demand noise, draws of the parameters they have in common), so
their difference is measured replication by replication: ``A - B`` per replication,
then summarised. This is far tighter than comparing two independent means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import InputError

#: Metrics for which a larger value is better (everything else: smaller is better).
HIGHER_IS_BETTER = frozenset({"output_gain", "time_to_survive_days"})

KEYS = ["scope_kind", "scope", "stage", "commodity", "metric"]

COLUMNS = [
    "a",
    "b",
    *KEYS,
    "unit",
    "n",
    "mean",
    "p05",
    "p50",
    "p95",
    "a_better_share",
]


def paired_values(metrics_a: pd.DataFrame, metrics_b: pd.DataFrame) -> pd.DataFrame:
    """Join two metrics tables replication by replication: one row per pair both reached.

    Parameters
    ----------
    metrics_a, metrics_b : DataFrame
        Long metrics tables (``metrics.parquet``) of two runs on the same seeds.

    Returns
    -------
    DataFrame
        ``replication``, :data:`KEYS`, ``value_a, value_b, unit_a, unit_b, ...``, and
        ``diff`` (``value_a - value_b``, in the metric's unit) and ``a_better`` (A
        strictly better: lower, or higher for :data:`HIGHER_IS_BETTER`), for the pairs
        where neither value is censored.
    """
    joined = metrics_a.merge(
        metrics_b, on=["replication", *KEYS], suffixes=("_a", "_b"), how="inner"
    )
    both = joined[~joined["censored_a"].astype(bool) & ~joined["censored_b"].astype(bool)].copy()
    both["diff"] = both["value_a"] - both["value_b"]
    higher = both["metric"].isin(HIGHER_IS_BETTER).to_numpy()
    both["a_better"] = np.where(higher, both["diff"] > 0, both["diff"] < 0)
    return both


def paired_differences(
    metrics_a: pd.DataFrame, metrics_b: pd.DataFrame, name_a: str, name_b: str
) -> pd.DataFrame:
    """Summarise ``A - B`` per replication for every metric both ensembles report.

    Parameters
    ----------
    metrics_a, metrics_b : DataFrame
        Long metrics tables (``metrics.parquet``): ``replication, seed`` and the columns
        of :func:`sim.compute_metrics`.
    name_a, name_b : str
        Scenario names, written to the ``a`` and ``b`` columns.

    Returns
    -------
    DataFrame
        Columns ``a, b, scope_kind, scope, stage, commodity, metric, unit, n, mean,
        p05, p50, p95, a_better_share``. ``n`` counts the replications where both
        values were reached (not censored); the statistics are over their differences.
        ``a_better_share`` is the share of those ``n`` where A is strictly better
        (lower, or higher for ``output_gain`` and ``time_to_survive_days``).

    Raises
    ------
    InputError
        If the two ensembles were not run on the same seed and replications.
    """
    for frame, name in ((metrics_a, name_a), (metrics_b, name_b)):
        if frame.empty:
            raise InputError(name, "metrics", "has no rows", "run the scenario first")
    seeds_a = set(metrics_a["seed"].unique())
    seeds_b = set(metrics_b["seed"].unique())
    reps_a = set(metrics_a["replication"].unique())
    reps_b = set(metrics_b["replication"].unique())
    if seeds_a != seeds_b or reps_a != reps_b:
        raise InputError(
            f"{name_a} vs {name_b}",
            "seed",
            f"runs used seeds {sorted(seeds_a)} / {sorted(seeds_b)} with "
            f"{len(reps_a)} / {len(reps_b)} replications",
            "run both scenarios with the same --seed and --replications",
        )
    both = paired_values(metrics_a, metrics_b)
    rows = []
    for key, group in both.groupby(KEYS, sort=True):
        d = group["diff"].to_numpy()
        q05, q50, q95 = np.quantile(d, [0.05, 0.5, 0.95])
        rows.append(
            (
                name_a,
                name_b,
                *key,
                group["unit_a"].iloc[0],
                len(d),
                float(d.mean()),
                float(q05),
                float(q50),
                float(q95),
                float(group["a_better"].mean()),
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)
