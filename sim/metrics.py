"""Metrics: pure functions from a run's recorded facts and its paired baseline.

Every metric is defined once, in :data:`METRICS`, and computed by
:func:`compute_metrics` with one signature. Notation (MODEL.md): ``A(t)`` is a
scope's daily output, ``B(t)`` the paired baseline's, ``t0`` the onset of the first
disruption, ``T`` the horizon, ``Q(t) = A(t) / B(t)`` (taken as 1 where ``B(t) = 0``),
``theta`` the threshold and ``k`` the number of consecutive days a threshold
crossing must hold. A censored metric (the event did not happen by ``T``) is
reported as NaN with ``censored = True``, never as ``T``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import passes
from sim.record import RunRecord

METRICS_VERSION = "2"

#: scope kinds, and the facility column that names the scope
SCOPE_COLUMNS = {
    "world": None,
    "bloc": "bloc",
    "country": "country",
    "facility_type": "type",
    "facility": "facility",
}


@dataclass(frozen=True)
class MetricDef:
    """Definition of one metric: its unit kind and formula."""

    unit: str
    definition: str


METRICS: dict[str, MetricDef] = {
    "output_loss": MetricDef("output unit", "sum over t0..T of max(0, B(t) - A(t))"),
    "output_gain": MetricDef("output unit", "sum over t0..T of max(0, A(t) - B(t))"),
    "output_loss_share": MetricDef("share", "output_loss / sum over t0..T of B(t)"),
    "peak_shortfall_share": MetricDef("share", "max over t0..T of max(0, 1 - Q(t))"),
    "time_to_survive_days": MetricDef(
        "days",
        "first t >= t0 from which Q < theta for k consecutive days, minus t0; censored if never",
    ),
    "time_to_recover_days": MetricDef(
        "days",
        "first tau after the first day with Q < theta such that Q >= theta on every day of "
        "[tau, T) (at least k days), minus t0; censored if not recovered by T; absent if Q "
        "never fell below theta (even when TTS is censored because no dip lasted k days)",
    ),
    "exposure_gap_days": MetricDef(
        "days",
        "time_to_recover_days - time_to_survive_days (or minus the first day with Q < theta "
        "when no dip lasted k days); censored with TTR, absent with TTR",
    ),
    "direct_loss": MetricDef(
        "output unit", "output_loss of the scope's facilities an event targeted directly"
    ),
    "indirect_loss": MetricDef(
        "output unit", "output_loss of the scope's facilities no event targeted directly"
    ),
    "substitution_time_days": MetricDef(
        "days",
        "for a restricted input: first t >= t0 from which arrivals from unrestricted suppliers "
        "(and of a recipe's substitute input, in equivalent units) >= theta x baseline use of "
        "the input for k consecutive days, minus t0; censored if never",
    ),
    "substitution_qualification_days": MetricDef(
        "days",
        "first completed qualification of a new supplier in the scope, minus t0; censored if "
        "none completed by T (none started: the buyer had no unrestricted supplier)",
    ),
    "substitution_transit_days": MetricDef(
        "days",
        "lane time of the first orders redirected to qualified suppliers (mean over those "
        "orders), for the input slot that qualified first; censored if none were redirected",
    ),
    "substitution_ramp_days": MetricDef(
        "days",
        "substitution_time_days - substitution_qualification_days - substitution_transit_days",
    ),
    "installed_shortfall_share": MetricDef(
        "share",
        "for scopes with durable inputs: max over t0..T of 1 - C(t) / C_B(t), where C is the "
        "output per day the installed base supports (per facility the least over its durable "
        "inputs of installed base / quantity_per_unit, summed over the scope)",
    ),
}

COLUMNS = [
    "scope_kind",
    "scope",
    "stage",
    "commodity",
    "metric",
    "value",
    "unit",
    "censored",
]


def first_sustained(condition: np.ndarray, start: int, k: int) -> int | None:
    """Index of the first day ``>= start`` from which ``condition`` holds ``k`` days in a row.

    Returns ``None`` if there is no such day with ``k`` days left before the end.

    Examples
    --------
    >>> first_sustained(np.array([1, 0, 1, 1, 1, 0], bool), 0, 3)
    2
    >>> first_sustained(np.array([1, 1, 0, 1, 1], bool), 0, 3) is None
    True
    """
    hit = int(_first_sustained_of_columns(condition[start:, None], k)[0])
    return start + hit if hit >= 0 else None


def ratio(actual: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """``Q(t) = A(t) / B(t)``, with ``Q = 1`` where ``B(t) = 0``."""
    return np.divide(actual, baseline, out=np.ones_like(actual, dtype=float), where=baseline > 0)


def output_metrics(
    a: np.ndarray, b: np.ndarray, t0: int, theta: float, k: int
) -> dict[str, tuple[float, bool]]:
    """Output metrics of one scope's daily series: name -> (value, censored)."""
    columns = output_metrics_of_scopes(a[:, None], b[:, None], t0, theta, k)
    return {
        name: (float(v[0]), bool(c[0])) for name, (v, c) in columns.items() if not np.isnan(c[0])
    }


def output_metrics_of_scopes(
    a: np.ndarray, b: np.ndarray, t0: int, theta: float, k: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Output metrics of many scopes at once, one column of ``a`` and ``b`` per scope.

    Parameters
    ----------
    a, b : ndarray, shape (days, scopes)
        Actual and baseline daily output of each scope.
    t0, theta, k
        Onset day, threshold on ``Q = A / B`` and days a crossing must hold.

    Returns
    -------
    dict
        Metric name -> ``(values, censored)``, arrays with one entry per scope, in the
        order :func:`output_metrics` lists them. ``censored`` is a float array: 0 or 1,
        NaN where the scope has no such metric (``time_to_recover_days`` and
        ``exposure_gap_days`` of a scope whose output never fell below ``theta``).
    """
    # Each scope's days contiguous, so that every sum runs over one column in memory
    # (numpy's pairwise sum, as over a 1-D array: the same value as one scope alone).
    a = np.asfortranarray(a[t0:], dtype=float)
    b = np.asfortranarray(b[t0:], dtype=float)
    days, n = a.shape
    zero = np.zeros(n)
    loss = np.maximum(b - a, 0.0).sum(axis=0)
    gain = np.maximum(a - b, 0.0).sum(axis=0)
    total = b.sum(axis=0)
    share = np.divide(loss, total, out=np.zeros(n), where=total > 0)
    q = ratio(a, b)
    peak = np.maximum(0.0, (1.0 - q).max(axis=0)) if days else np.zeros(n)
    short = q < theta
    tts = _first_sustained_of_columns(short, k)
    any_below = short.any(axis=0)
    none_left = np.zeros(n, dtype=np.int64)  # no day from t0 on: nothing fell below
    first_below = np.argmax(short, axis=0) if days else none_left
    # Q >= theta on every day from tau to T
    tau = days - np.argmax(short[::-1], axis=0) if days else none_left
    recovered = any_below & (days - tau >= k)
    short_from = np.where(tts >= 0, tts, first_below)
    ttr = np.where(recovered, tau.astype(float), np.nan)  # NaN if censored or absent
    gap = np.where(recovered, (tau - short_from).astype(float), np.nan)
    ttr_censored = np.where(any_below, (~recovered).astype(float), np.nan)
    return {
        "output_loss": (loss, zero),
        "output_gain": (gain, zero),
        "output_loss_share": (share, zero),
        "peak_shortfall_share": (peak, zero),
        "time_to_survive_days": (np.where(tts >= 0, tts.astype(float), np.nan), (tts < 0) * 1.0),
        "time_to_recover_days": (ttr, ttr_censored),
        "exposure_gap_days": (gap, ttr_censored),
    }


def _first_sustained_of_columns(condition: np.ndarray, k: int) -> np.ndarray:
    """Per column, the first day from which ``condition`` holds ``k`` days in a row (-1: none)."""
    days, n = condition.shape
    if days < k:
        return np.full(n, -1)
    counts = np.zeros((days + 1, n), dtype=np.int64)
    np.cumsum(condition, axis=0, out=counts[1:])
    held = (counts[k:] - counts[:-k]) == k
    return np.where(held.any(axis=0), np.argmax(held, axis=0), -1)


def _groups(facilities: pd.DataFrame, kind: str) -> Iterable[tuple[str, str, str, np.ndarray]]:
    """Facilities grouped by (scope, stage, commodity), in sorted order of the three.

    As ``DataFrame.groupby(..., sort=True)`` (a missing key drops the facility), with
    the positions of each group's facilities in ascending order.
    """
    column = SCOPE_COLUMNS[kind]
    n = len(facilities)
    scope = ["world"] * n if column is None else facilities[column].tolist()
    stage, commodity = facilities["type"].tolist(), facilities["commodity"].tolist()
    missing = facilities["type"].isna().to_numpy() | facilities["commodity"].isna().to_numpy()
    if column is not None:
        missing |= facilities[column].isna().to_numpy()
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, key in enumerate(zip(scope, stage, commodity, strict=True)):
        if not missing[i]:
            groups.setdefault(key, []).append(i)
    for key in sorted(groups):
        s, st, c = (str(v) for v in key)
        yield s, st, c, np.asarray(groups[key], dtype=np.int64)


@dataclass(frozen=True)
class _Columns:
    """The facility and slot columns the metrics read, as arrays (taken once per run)."""

    slot_fac: np.ndarray
    targeted: np.ndarray
    restricted: np.ndarray
    slot_input: np.ndarray
    substitute_of: np.ndarray
    coef: np.ndarray
    durable: np.ndarray
    qualification_done: np.ndarray
    redirect_lane: np.ndarray

    @classmethod
    def of(cls, record: RunRecord) -> _Columns:
        fac, slots = record.facilities, record.slots
        position = pd.Index(fac["facility"]).get_indexer(slots["facility"])
        if (position < 0).any():
            raise KeyError("a slot's facility is not among the run's facilities")
        return cls(
            slot_fac=fac.index.to_numpy()[position],
            targeted=fac["targeted"].to_numpy(dtype=bool),
            restricted=slots["restricted"].to_numpy(dtype=bool),
            slot_input=slots["input"].to_numpy(dtype=object),
            substitute_of=slots["substitute_of"].to_numpy(),
            coef=slots["quantity_per_unit"].to_numpy(dtype=float),
            durable=np.flatnonzero(slots["durable"].to_numpy(dtype=bool)),
            qualification_done=slots["qualification_done_day"].to_numpy(dtype=float),
            redirect_lane=slots["redirect_lane_days"].to_numpy(dtype=float),
        )


def _output_rows(
    actual: RunRecord, baseline: RunRecord, groups: list[np.ndarray], t0: int, theta: float, k: int
) -> list[list[tuple[str, float, bool]]]:
    """Output metrics of each group of facilities: (metric, value, censored) per group."""
    days = actual.output.shape[0]
    a = np.empty((days, len(groups)), order="F")
    b = np.empty((days, len(groups)), order="F")
    for j, idx in enumerate(groups):
        a[:, j] = actual.output[:, idx].sum(axis=1)
        b[:, j] = baseline.output[:, idx].sum(axis=1)
    return _output_columns(output_metrics_of_scopes(a, b, t0, theta, k), len(groups))


def _output_columns(
    columns: dict[str, tuple[np.ndarray, np.ndarray]], n: int
) -> list[list[tuple[str, float, bool]]]:
    """Per scope, its output metrics (metric, value, censored) from the scopes' columns."""
    rows: list[list[tuple[str, float, bool]]] = [[] for _ in range(n)]
    for name, (values, censored) in columns.items():
        for j in np.flatnonzero(~np.isnan(censored)).tolist():
            rows[j].append((name, float(values[j]), bool(censored[j])))
    return rows


def _scope_metrics(
    actual: RunRecord,
    baseline: RunRecord,
    idx: np.ndarray,
    cols: _Columns,
    commodity: str,
    t0: int,
    theta: float,
    k: int,
    output: list[tuple[str, float, bool]],
) -> list[tuple[str, str, float, bool]]:
    """Metrics of the facilities ``idx``: (metric, commodity, value, censored) tuples.

    ``output`` holds their output metrics (:func:`_output_rows`), computed for every
    scope of a kind at once.
    """
    out = [(name, commodity, value, censored) for name, value, censored in output]
    member = np.zeros(len(cols.targeted), dtype=bool)  # per facility: in the scope
    member[idx] = True
    targeted = cols.targeted[idx]
    for name, part in (("direct_loss", idx[targeted]), ("indirect_loss", idx[~targeted])):
        pa = actual.output[t0:, part].sum(axis=1)
        pb = baseline.output[t0:, part].sum(axis=1)
        out.append((name, commodity, float(np.maximum(pb - pa, 0.0).sum()), False))
    if actual.installed is not None and baseline.installed is not None:
        supported = _installed_shortfall(actual, baseline, member, cols, t0)
        if supported is not None:
            out.append(("installed_shortfall_share", commodity, supported, False))
    in_scope = member[cols.slot_fac] & cols.restricted
    for com in sorted(set(cols.slot_input[in_scope])):
        sel = np.flatnonzero(in_scope & (cols.slot_input == com))
        supply = actual.supply_unrestricted[:, sel].sum(axis=1)
        # A recipe's substitute input counts too, in units of the input it replaces.
        subs = np.flatnonzero(np.isin(cols.substitute_of, sel))
        if len(subs):
            ratio = cols.coef[cols.substitute_of[subs]] / cols.coef[subs]
            supply = supply + (actual.supply_unrestricted[:, subs] * ratio).sum(axis=1)
        need = baseline.consumption[:, sel].sum(axis=1)
        hit = first_sustained(supply >= theta * need, t0, k)
        subst = np.nan if hit is None else float(hit - t0)
        qual, transit = _substitution_parts(cols, sel, t0, actual.horizon_days)
        ramp = subst - qual - transit
        out.append(("substitution_time_days", com, subst, hit is None))
        out.append(("substitution_qualification_days", com, qual, bool(np.isnan(qual))))
        out.append(("substitution_transit_days", com, transit, bool(np.isnan(transit))))
        out.append(("substitution_ramp_days", com, ramp, bool(np.isnan(ramp))))
    return out


def _installed_shortfall(
    actual: RunRecord, baseline: RunRecord, member: np.ndarray, cols: _Columns, t0: int
) -> float | None:
    """Worst shortfall of installed capacity of the facilities ``member`` marks (None: no base)."""
    durable, slot_fac = cols.durable, cols.slot_fac
    keep = member[slot_fac[durable]]
    if not keep.any():
        return None
    coef = cols.coef[durable[keep]]
    facilities, which = np.unique(slot_fac[durable[keep]], return_inverse=True)
    supported = []
    for rec in (actual, baseline):
        assert rec.installed is not None
        per_slot = rec.installed[t0:, keep] / coef
        # Per facility (in sorted order) the least over its durable inputs; column-major,
        # so that the sum over facilities adds them one after another.
        limit = np.full((per_slot.shape[0], len(facilities)), np.inf, order="F")
        for j, f in enumerate(which):
            limit[:, f] = np.minimum(limit[:, f], per_slot[:, j])
        supported.append(limit.sum(axis=1))
    q = ratio(supported[0], supported[1])
    return float(max(0.0, (1.0 - q).max())) if len(q) else 0.0


def _substitution_parts(
    cols: _Columns, sel: np.ndarray, t0: int, horizon: int
) -> tuple[float, float]:
    """Qualification and transit parts of a scope's substitution, in days (NaN: censored).

    Qualification is the first completed by the horizon among the slots ``sel``;
    transit is the lane time of the first redirected orders of that slot.
    """
    done = cols.qualification_done[sel]
    done = np.where(done <= horizon, done, np.inf)  # finishing after T (or never): not done
    if not np.isfinite(done).any():
        return np.nan, np.nan
    first = int(np.argmin(done))
    lane = float(cols.redirect_lane[sel][first])
    return float(done[first] - t0), lane


def _flat(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the groups of indices as one array, and each group's offset in it (one more)."""
    starts = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([len(g) for g in groups], out=starts[1:])
    members = np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64)
    return members, starts


def _row_sums(
    kernels: Any, values: np.ndarray, groups: list[np.ndarray], weights: np.ndarray | None = None
) -> np.ndarray:
    """Return ``(values[:, idx] * w).sum(axis=1)`` of every group: (rows, groups), Fortran order."""
    members, starts = _flat(groups)
    w = np.zeros(0) if weights is None else weights
    return kernels.group_column_sums(values, members, starts, w).T


def _scopes_at_once(
    kernels: Any,
    actual: RunRecord,
    baseline: RunRecord,
    idxs: list[np.ndarray],
    cols: _Columns,
    commodities: list[str],
    t0: int,
    theta: float,
    k: int,
    outputs: list[list[tuple[str, float, bool]]],
) -> list[list[tuple[str, str, float, bool]]]:
    """:func:`_scope_metrics` of every scope of a kind at once, with the same values.

    Each scope's sums over its facilities or slots are one compiled pass per quantity
    (:func:`sim.kernels.group_column_sums`, numpy's sums to the bit), and the sums over days
    and first crossings are array operations over all scopes.
    """
    n = len(idxs)
    facts = [
        [(name, com, value, censored) for name, value, censored in output]
        for output, com in zip(outputs, commodities, strict=True)
    ]
    # Direct and indirect loss: the scope's targeted facilities, then the others.
    parts = [idx[cols.targeted[idx]] for idx in idxs] + [idx[~cols.targeted[idx]] for idx in idxs]
    pa = np.asfortranarray(_row_sums(kernels, actual.output, parts)[t0:])
    pb = np.asfortranarray(_row_sums(kernels, baseline.output, parts)[t0:])
    loss = np.maximum(pb - pa, 0.0).sum(axis=0).tolist()
    for j in range(n):
        facts[j].append(("direct_loss", commodities[j], loss[j], False))
        facts[j].append(("indirect_loss", commodities[j], loss[n + j], False))
    if actual.installed is not None and baseline.installed is not None:
        for j, value in _installed_shortfalls(kernels, actual, baseline, idxs, cols, t0).items():
            facts[j].append(("installed_shortfall_share", commodities[j], value, False))
    # Substitution: per scope, each restricted input of its facilities (sorted by name).
    slots_of = [np.zeros(0, np.int64)] * len(cols.targeted)
    restricted = np.flatnonzero(cols.restricted)
    for f in np.unique(cols.slot_fac[restricted]).tolist():
        slots_of[f] = restricted[cols.slot_fac[restricted] == f]
    pairs: list[tuple[int, str, np.ndarray]] = []  # (scope, input, its slots in order)
    for j, idx in enumerate(idxs):
        slots = np.sort(np.concatenate([slots_of[f] for f in idx.tolist()]))
        if not len(slots):
            continue
        names = cols.slot_input[slots]
        for com in sorted(set(names)):
            pairs.append((j, com, slots[names == com]))
    if not pairs:
        return facts
    sels = [sel for _, _, sel in pairs]
    supply = _row_sums(kernels, actual.supply_unrestricted, sels)
    need = _row_sums(kernels, baseline.consumption, sels)
    # A recipe's substitute input counts too, in units of the input it replaces.
    # Substitute slots whose original is in the selection, ascending (numpy.isin on the
    # few substitute slots; a selection with no original of one has none).
    sub_slots = np.flatnonzero(cols.substitute_of >= 0)
    originals = cols.substitute_of[sub_slots]
    has_sub = set(originals.tolist())
    none = sub_slots[:0]
    subs = [
        none if has_sub.isdisjoint(sel.tolist()) else sub_slots[np.isin(originals, sel)]
        for sel in sels
    ]
    with_subs = [i for i, sub in enumerate(subs) if len(sub)]
    if with_subs:
        groups = [subs[i] for i in with_subs]
        ratios = [cols.coef[cols.substitute_of[g]] / cols.coef[g] for g in groups]
        extra = _row_sums(kernels, actual.supply_unrestricted, groups, np.concatenate(ratios))
        supply[:, with_subs] = supply[:, with_subs] + extra
    hits = _first_sustained_of_columns((supply >= theta * need)[t0:], k).tolist()
    for (j, com, sel), hit in zip(pairs, hits, strict=True):
        subst = np.nan if hit < 0 else float(hit)
        qual, transit = _substitution_parts(cols, sel, t0, actual.horizon_days)
        ramp = subst - qual - transit
        facts[j].append(("substitution_time_days", com, subst, hit < 0))
        facts[j].append(("substitution_qualification_days", com, qual, bool(np.isnan(qual))))
        facts[j].append(("substitution_transit_days", com, transit, bool(np.isnan(transit))))
        facts[j].append(("substitution_ramp_days", com, ramp, bool(np.isnan(ramp))))
    return facts


def _installed_shortfalls(
    kernels: Any,
    actual: RunRecord,
    baseline: RunRecord,
    idxs: list[np.ndarray],
    cols: _Columns,
    t0: int,
) -> dict[int, float]:
    """:func:`_installed_shortfall` of every scope with a durable input, at once."""
    durable, slot_fac = cols.durable, cols.slot_fac
    facilities, which = np.unique(slot_fac[durable], return_inverse=True)
    has = np.full(len(cols.targeted), -1, dtype=np.int64)
    has[facilities] = np.arange(len(facilities))
    scopes = [j for j, idx in enumerate(idxs) if (has[idx] >= 0).any()]
    if not scopes:
        return {}
    # Per facility (ascending), each scope's facilities in ascending order.
    members = [has[np.sort(idxs[j])][has[np.sort(idxs[j])] >= 0] for j in scopes]
    flat, starts = _flat(members)
    coef = cols.coef[durable]
    supported = []
    for rec in (actual, baseline):
        assert rec.installed is not None
        per_slot = rec.installed[t0:] / coef
        limit = np.full((per_slot.shape[0], len(facilities)), np.inf)
        for j, f in enumerate(which.tolist()):  # the least over a facility's durable inputs
            limit[:, f] = np.minimum(limit[:, f], per_slot[:, j])
        supported.append(kernels.group_column_sums(limit, flat, starts, np.zeros(0)).T)
    q = ratio(supported[0], supported[1])
    worst = (1.0 - q).max(axis=0) if len(q) else np.zeros(len(scopes))
    return {j: float(max(0.0, worst[i])) if len(q) else 0.0 for i, j in enumerate(scopes)}


def compute_metrics(
    actual: RunRecord,
    baseline: RunRecord,
    *,
    by: Iterable[str] = ("world", "bloc", "country", "facility_type", "facility"),
    theta: float = 0.95,
    k: int = 7,
) -> pd.DataFrame:
    """Compute every metric for every scope of a run against its paired baseline.

    Parameters
    ----------
    actual, baseline : RunRecord
        A run and its paired baseline (same world, same seed, no disruptions).
    by : iterable of str
        Scope kinds: ``world``, ``bloc``, ``country``, ``facility_type``, ``facility``.
        Each scope is crossed with stage (facility type) and output commodity.
    theta : float
        Threshold on ``Q = A / B`` (share, e.g. 0.95 or 0.99).
    k : int
        Days a threshold crossing must hold.

    Returns
    -------
    DataFrame
        Columns ``scope_kind, scope, stage, commodity, metric, value, unit, censored``;
        ``unit`` is the commodity's unit for quantities, ``share`` or ``days``.
    """
    if actual.output.shape != baseline.output.shape:
        raise ValueError("actual and baseline must come from the same world and horizon")
    t0 = int(np.floor(actual.t0 or 0.0))
    fac = actual.facilities
    cols = _Columns.of(actual)
    units = fac["unit"].to_numpy(dtype=object)
    kernels = passes.compiled()
    rows: list[tuple[object, ...]] = []
    for kind in by:
        if kind not in SCOPE_COLUMNS:
            raise ValueError(f"unknown scope kind '{kind}'; use one of {list(SCOPE_COLUMNS)}")
        groups = list(_groups(fac, kind))
        idxs = [g[3] for g in groups]
        if kernels is not None:  # every scope at once
            a, b = (
                _row_sums(kernels, actual.output, idxs),
                _row_sums(kernels, baseline.output, idxs),
            )
            outputs = _output_columns(output_metrics_of_scopes(a, b, t0, theta, k), len(idxs))
            commodities = [g[2] for g in groups]
            per_scope = _scopes_at_once(
                kernels, actual, baseline, idxs, cols, commodities, t0, theta, k, outputs
            )
        else:  # the reference: scope by scope
            outputs = _output_rows(actual, baseline, idxs, t0, theta, k)
            per_scope = [
                _scope_metrics(actual, baseline, g[3], cols, g[2], t0, theta, k, output)
                for g, output in zip(groups, outputs, strict=True)
            ]
        for (scope, stage, _, idx), facts in zip(groups, per_scope, strict=True):
            unit = str(units[idx[0]])
            for metric, com, value, censored in facts:
                metric_unit = METRICS[metric].unit
                shown = unit if metric_unit == "output unit" else metric_unit
                rows.append((kind, scope, stage, com, metric, value, shown, censored))
    return pd.DataFrame(rows, columns=COLUMNS)


def material_balance(record: RunRecord) -> pd.DataFrame:
    """Material balance per commodity over a run, in the commodity's unit.

    ``sources = initial_stock + initial_transit + produced + released`` plus, for
    durable inputs, the installed base and installation pipeline at the start, and
    ``uses = delivered + consumed + final_stock + final_transit + rounding`` plus the
    final installed base, final pipeline and retirements must agree; make-to-stock
    facilities add their finished-goods stocks at the start and at the end, joint
    products their unsold output, and a hold (:mod:`sim.held`) the cargo still held at
    the border at the end (``held_final``, per link).
    """
    bal = record.balance
    fac_com = record.facilities["commodity"].to_numpy()
    slot_com = record.slots["input"].to_numpy()
    link_com = slot_com[record.link_slot]
    rows = []
    for com in sorted(set(fac_com) | set(slot_com)):
        f, s, link = fac_com == com, slot_com == com, link_com == com
        sources = (
            bal["initial_stock"][s].sum()
            + bal["initial_transit"][link].sum()
            + bal["produced"][f].sum()
            + bal["released"][s].sum()
            + bal["installed_initial"][s].sum()
            + bal["pipeline_initial"][s].sum()
            + bal["finished_initial"][f].sum()
        )
        uses = (
            bal["delivered"][f].sum()
            + bal["consumed"][s].sum()
            + bal["final_stock"][s].sum()
            + bal["final_transit"][link].sum()
            + bal["rounding"][s].sum()
            + bal["installed_final"][s].sum()
            + bal["pipeline_final"][s].sum()
            + bal["retired"][s].sum()
            + bal["finished_final"][f].sum()
            + bal["unsold"][f].sum()
            + bal.get("held_final", np.zeros(len(link_com)))[link].sum()
        )
        rows.append((com, sources, uses, bal["rounding"][s].sum()))
    return pd.DataFrame(rows, columns=["commodity", "sources", "uses", "rounding"])
