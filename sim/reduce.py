"""One paired run reduced to the tables an ensemble keeps: daily series, trade, timeline.

:func:`reduce_series`, :func:`reduce_trade` and :func:`reduce_timeline` turn the records
of one replication (a run and its paired baseline) into its rows of
:attr:`~sim.ensemble.Ensemble.series`, :attr:`~sim.ensemble.Ensemble.trade` and
:attr:`~sim.ensemble.Ensemble.timeline`, whose text columns are categoricals to save
memory; :func:`chain_order` sorts a world's stages and commodities from raw materials
to final goods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.events import Event, timeline
from sim.metrics import SCOPE_COLUMNS
from sim.network import network_of
from sim.record import RunRecord
from sim.world import World

#: Scope kinds of the metrics an ensemble keeps (all of them).
SCOPES: tuple[str, ...] = tuple(SCOPE_COLUMNS)

#: Columns of :attr:`Ensemble.series`.
SERIES_COLUMNS = [
    "replication",
    "seed",
    "series",
    "bloc",
    "stage",
    "commodity",
    "unit",
    "day",
    "date",
    "actual",
    "baseline",
]

#: Text columns of :attr:`Ensemble.series`, held as categoricals to save memory.
_LABEL_COLUMNS = ("series", "bloc", "stage", "commodity", "unit")

#: Type of the ``actual`` and ``baseline`` columns of the series: single precision, 7
#: significant digits (relative rounding error at most 6e-8), for figures and
#: inspection. Every metric is computed from the double-precision run records, before
#: this rounding.
SERIES_FLOAT = np.float32
_NO_VALUES = np.zeros(0, dtype=SERIES_FLOAT)

#: Columns of :attr:`Ensemble.trade`.
TRADE_COLUMNS = [
    "replication",
    "seed",
    "origin",
    "destination",
    "origin_bloc",
    "destination_bloc",
    "commodity",
    "unit",
    "month",
    "days",
    "actual",
    "baseline",
]

#: Text columns of :attr:`Ensemble.trade`, held as categoricals.
_TRADE_LABELS = ("origin", "destination", "origin_bloc", "destination_bloc", "commodity", "unit")

#: Columns of :attr:`Ensemble.timeline`.
TIMELINE_COLUMNS = ["replication", "seed", "event", "kind", "marker", "day", "date"]


def _as_date(start: dt.date | str) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise InputError(
            "ensemble", "start", f"'{start}' is not a date", "give YYYY-MM-DD"
        ) from None


def _categorical(values: np.ndarray | pd.Series) -> pd.Series:
    """Text values as a categorical with sorted categories."""
    text = pd.Series(values).astype("str")
    return text.astype(pd.CategoricalDtype(sorted(set(text))))


def _repeated_categorical(values: np.ndarray, times: int) -> pd.Categorical[str]:
    """Each of ``values`` repeated ``times``, as :func:`_categorical` makes it, from codes.

    The categories are the sorted distinct values; building the codes per value and
    repeating them avoids hashing every one of the repeated strings.
    """
    text = [str(v) for v in values]
    categories = sorted(set(text))
    index = {c: i for i, c in enumerate(categories)}
    codes = np.repeat(np.array([index[t] for t in text], dtype=np.int32), times)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))


def _concat_categorical(frames: list[pd.DataFrame], labels: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-replication tables whose text columns are categoricals."""
    out = pd.concat(frames, ignore_index=True)
    for column in labels:
        # Replications usually share their labels, so the categories agree and concat
        # keeps them; where they differ (e.g. trade that only some replications see),
        # rebuild the categorical.
        if not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = _categorical(out[column])
    return out


def reduce_series(
    actual: RunRecord,
    baseline: RunRecord,
    unit_of: dict[str, str],
    replication: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Reduce a paired run to tidy daily series per bloc (see :attr:`Ensemble.series`).

    Parameters
    ----------
    actual, baseline : RunRecord
        A run and its paired baseline.
    unit_of : dict of str -> str
        Unit of each commodity (:meth:`sim.world.World.unit_of`).
    replication, seed : int
        Values of the ``replication`` and ``seed`` columns.

    Returns
    -------
    DataFrame
        Columns :data:`SERIES_COLUMNS`: output per (bloc, stage, commodity), then
        stock and use per (bloc, input commodity), each for every day; ``actual``
        and ``baseline`` in single precision (:data:`SERIES_FLOAT`).
    """
    fac = actual.facilities
    horizon = actual.horizon_days
    labels: list[tuple[str, str, str, str, str]] = []
    columns_a: list[np.ndarray] = []
    columns_b: list[np.ndarray] = []
    out_groups = fac.groupby(["bloc", "type", "commodity", "unit"], sort=True).indices
    for key, idx in out_groups.items():
        bloc, stage, commodity, unit = (str(v) for v in cast(tuple[object, ...], key))
        labels.append(("output", bloc, stage, commodity, unit))
        columns_a.append(actual.output[:, idx].sum(axis=1))
        columns_b.append(baseline.output[:, idx].sum(axis=1))
    bloc_of_facility = dict(zip(fac["facility"], fac["bloc"], strict=True))
    slots = pd.DataFrame(
        {
            "bloc": actual.slots["facility"].map(bloc_of_facility),
            "input": actual.slots["input"],
        }
    )
    for key, idx in slots.groupby(["bloc", "input"], sort=True).indices.items():
        bloc, commodity = (str(v) for v in cast(tuple[object, ...], key))
        unit = unit_of.get(commodity, "")
        labels.append(("stock", bloc, "", commodity, unit))
        columns_a.append(actual.stock[:, idx].sum(axis=1))
        columns_b.append(baseline.stock[:, idx].sum(axis=1))
        labels.append(("use", bloc, "", commodity, unit))
        columns_a.append(actual.consumption[:, idx].sum(axis=1))
        columns_b.append(baseline.consumption[:, idx].sum(axis=1))
    g = len(labels)
    days = np.arange(horizon, dtype=np.int64)
    dates = pd.date_range(actual.start, periods=horizon, freq="D").as_unit("us")
    text = np.array(labels, dtype=object).reshape(g, 5)
    frame = pd.DataFrame(
        {
            "replication": np.full(g * horizon, replication, dtype=np.int64),
            "seed": np.full(g * horizon, seed, dtype=np.int64),
            "series": _repeated_categorical(text[:, 0], horizon),
            "bloc": _repeated_categorical(text[:, 1], horizon),
            "stage": _repeated_categorical(text[:, 2], horizon),
            "commodity": _repeated_categorical(text[:, 3], horizon),
            "unit": _repeated_categorical(text[:, 4], horizon),
            "day": np.tile(days, g),
            "date": np.tile(dates.to_numpy(), g),
            "actual": np.concatenate(columns_a).astype(SERIES_FLOAT) if g else _NO_VALUES,
            "baseline": np.concatenate(columns_b).astype(SERIES_FLOAT) if g else _NO_VALUES,
        }
    )
    return frame


def reduce_trade(
    actual: RunRecord,
    baseline: RunRecord,
    unit_of: dict[str, str],
    replication: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Reduce a paired run's trade record to monthly exports (see :attr:`Ensemble.trade`).

    Parameters
    ----------
    actual, baseline : RunRecord
        A run and its paired baseline, both made with ``Settings(record_trade=True)``.
    unit_of : dict of str -> str
        Unit of each commodity.
    replication, seed : int
        Values of the ``replication`` and ``seed`` columns.

    Returns
    -------
    DataFrame
        Columns :data:`TRADE_COLUMNS`, ordered by origin, destination, commodity, month.
    """
    for record, name in ((actual, "actual"), (baseline, "baseline")):
        if record.trade_keys is None or record.trade_daily is None:
            raise ValueError(f"the {name} run kept no trade record (record_trade=False)")
    assert actual.trade_keys is not None and actual.trade_daily is not None
    assert baseline.trade_keys is not None and baseline.trade_daily is not None
    key_cols = ["origin", "destination", "commodity"]
    keys = (
        pd.concat([actual.trade_keys, baseline.trade_keys], ignore_index=True)
        .drop_duplicates()
        .query("origin != destination")
        .sort_values(key_cols, kind="stable")
        .reset_index(drop=True)
    )

    def columns(record: RunRecord) -> np.ndarray:
        assert record.trade_keys is not None and record.trade_daily is not None
        position = pd.MultiIndex.from_frame(record.trade_keys[key_cols]).get_indexer(
            pd.MultiIndex.from_frame(keys[key_cols])
        )
        daily = np.zeros((record.horizon_days, len(keys)))
        found = position >= 0
        daily[:, found] = record.trade_daily[:, position[found]]
        return daily

    horizon = actual.horizon_days
    dates = pd.date_range(actual.start, periods=horizon, freq="D")
    month_of_day = dates.to_period("M")
    first = np.flatnonzero(np.r_[True, month_of_day[1:] != month_of_day[:-1]])
    months = month_of_day[first].to_timestamp().as_unit("us").to_numpy()
    days = np.diff(np.r_[first, horizon]).astype(np.int64)
    monthly_a = np.add.reduceat(columns(actual), first, axis=0) if horizon else np.zeros((0, 0))
    monthly_b = np.add.reduceat(columns(baseline), first, axis=0) if horizon else np.zeros((0, 0))
    bloc = dict(zip(actual.facilities["country"], actual.facilities["bloc"], strict=False))
    g, n_m = len(keys), len(months)
    frame = pd.DataFrame(
        {
            "replication": np.full(g * n_m, replication, dtype=np.int64),
            "seed": np.full(g * n_m, seed, dtype=np.int64),
            "origin": _repeated_categorical(keys["origin"].to_numpy(), n_m),
            "destination": _repeated_categorical(keys["destination"].to_numpy(), n_m),
            "origin_bloc": _repeated_categorical(keys["origin"].map(bloc).to_numpy(), n_m),
            "destination_bloc": _repeated_categorical(
                keys["destination"].map(bloc).to_numpy(), n_m
            ),
            "commodity": _repeated_categorical(keys["commodity"].to_numpy(), n_m),
            "unit": _repeated_categorical(
                keys["commodity"].map(unit_of).fillna("").to_numpy(), n_m
            ),
            "month": np.tile(months, g),
            "days": np.tile(days, g),
            "actual": monthly_a.T.reshape(-1),
            "baseline": monthly_b.T.reshape(-1),
        }
    )
    return frame


def reduce_timeline(
    events: Sequence[Event], start: dt.date, replication: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Return the dated moments of one replication's events (see :attr:`Ensemble.timeline`)."""
    rows = timeline(list(events), start)
    days = np.array([r[3] for r in rows], dtype=float)
    dates = pd.Timestamp(start) + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame(
        {
            "replication": np.full(len(rows), replication, dtype=np.int64),
            "seed": np.full(len(rows), seed, dtype=np.int64),
            "event": pd.Series([r[0] for r in rows], dtype="str"),
            "kind": pd.Series([r[1] for r in rows], dtype="str"),
            "marker": pd.Series([r[2] for r in rows], dtype="str"),
            "day": days,
            "date": pd.DatetimeIndex(dates).as_unit("us"),
        }
    )


def chain_order(world: World, start: dt.date | str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the world's facility types and commodities in chain order, raw to final.

    A commodity's depth is the longest chain of produced inputs below it (0 for a raw
    material) and its height the longest chain of commodities made from it above it
    (0 for a final good). Commodities are sorted by depth, then by height (longer
    chains first), then by name; a facility type takes the place of the first
    commodity it makes. On the reference world: mine, metal_refiner, the rare-earth
    refiners, chip_fab, magnet_fab, data_center, magnet_user.

    Returns
    -------
    tuple
        ``(stages, commodities)``.
    """
    net = network_of(world, _as_date(start))
    produced = set(net.fac_com.tolist())
    made_from: dict[int, set[int]] = {k: set() for k in range(len(net.commodities))}
    for c, f in zip(net.slot_com.tolist(), net.slot_fac.tolist(), strict=True):
        if c in produced:
            made_from[c].add(int(net.fac_com[f]))
    depth: dict[int, int] = {}
    for k in net.settle_order:  # inputs come before the commodities made from them
        below = [depth[c] + 1 for c, above in made_from.items() if k in above and c in depth]
        depth[k] = max(below, default=0)
    height: dict[int, int] = {}
    for k in reversed(net.settle_order):
        height[k] = max((height[a] + 1 for a in made_from[k] if a in height), default=0)
    key = {k: (depth[k], -height[k], net.commodities[k]) for k in depth}
    commodities = sorted(key, key=lambda k: key[k])
    rank = {k: i for i, k in enumerate(commodities)}
    stage_rank: dict[str, int] = {}
    for ftype, k in zip(net.fac_type, net.fac_com.tolist(), strict=True):
        stage_rank[ftype] = min(stage_rank.get(ftype, rank[k]), rank[k])
    stages = sorted(stage_rank, key=lambda t: (stage_rank[t], t))
    return tuple(stages), tuple(net.commodities[k] for k in commodities)
