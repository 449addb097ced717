"""Baseline plausibility: a world's undisturbed year against published figures.

A target table (``data/targets.csv`` for the reference world) lists published figures
with their sources and the band a baseline year must fall in. Three kinds of check:

``share``
    ``country``'s share (0-1) of the world's output of ``commodity`` over the year, or,
    with ``stage`` given, of the output of every facility of that type (a stage whose
    products share a unit, e.g. mines of different concentrates in t REO).
``exports``
    ``country``'s exports of ``commodity`` to ``destination`` (an ISO3 code, or ``all``
    for every other country) over the year, in commodity units.
``utilisation``
    ``facility``'s output over the year divided by the capacity it had (nameplate times
    availability, day by day); ``*`` checks every facility of the world, with the
    named rows as exceptions (and without the co-product rows of joint plants, whose
    output follows the plant's).

``commodity`` may join several commodities of one unit with ``+`` (e.g. the two
magnet grades under one customs line). A value counts as in its band within a
relative 1e-6 (a plant at capacity is at 1 up to float residue).

Each target is checked on a baseline year (no events, the world's standing controls
in force) starting on 1 January of its ``year``: with ``as_of`` true on the world as
it operated that day (:meth:`sim.world.World.as_of`), otherwise on the dated world
itself. Calibrating a world to these figures is fine; they are annual or
pre-episode figures and facts about facilities, never the monthly trade series of
the historical episodes (``data/observed``), which test the model out of sample.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import Settings, simulate
from sim.errors import InputError
from sim.joint import SEPARATOR
from sim.network import Network
from sim.record import RunRecord
from sim.tables import show
from sim.world import World

#: Columns of a target table, in order.
TARGET_COLUMNS = (
    "check",
    "year",
    "as_of",
    "commodity",
    "stage",
    "country",
    "destination",
    "facility",
    "value",
    "low",
    "high",
    "source",
)
CHECKS = ("share", "exports", "utilisation")
DAYS = 365


def read_targets(path: str | Path) -> pd.DataFrame:
    """Read and validate a target table (see the module docstring).

    Raises
    ------
    InputError
        Naming the file, the row and the column for a missing column, an unknown
        check, a band with ``low > high`` or a row without a source.
    """
    where = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(where, "-", f"cannot be read ({err})", "give a CSV file") from None
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(where, missing[0], "column is missing", f"add {missing[0]}")
    for row, rec in enumerate(frame.to_dict("records")):
        field = f"row {row + 1}"
        if rec["check"] not in CHECKS:
            raise InputError(
                where, f"check ({field})", f"{show(rec['check'])} is unknown", f"use {CHECKS}"
            )
        if not rec["source"].strip():
            raise InputError(where, f"source ({field})", "is empty", "cite the figure")
        for col in ("year", "low", "high"):
            try:
                float(rec[col])
            except ValueError:
                raise InputError(
                    where, f"{col} ({field})", f"{show(rec[col])} is not a number", "give one"
                ) from None
        if float(rec["low"]) > float(rec["high"]):
            raise InputError(where, f"low ({field})", "is above high", "give low <= high")
    out = frame.copy()
    out["year"] = out["year"].astype(int)
    out["as_of"] = out["as_of"].str.lower().isin(("true", "1", "yes"))
    for col in ("value", "low", "high"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def baseline_year(world: World, year: int) -> RunRecord:
    """Run ``world`` undisturbed for ``year`` (from 1 January, 365 days), trade recorded."""
    return simulate(
        world,
        [],
        start=dt.date(year, 1, 1),
        horizon_days=DAYS,
        rng=np.random.default_rng(0),
        settings=Settings(record_trade=True),
    )


def capacity_days(record: RunRecord, world: World) -> np.ndarray:
    """Capacity each facility had over the record's horizon (nameplate x availability)."""
    net = Network(world, record.start)
    days = np.arange(record.horizon_days, dtype=float) + 0.5
    return np.sum([net.nameplate_at(d) * net.availability_at(d) for d in days], axis=0)


def simulated_value(target: pd.Series, record: RunRecord, capacity: np.ndarray) -> float:
    """Return the simulated figure a target row is compared to (NaN if nothing matches)."""
    fac = record.facilities
    output = record.output.sum(axis=0)
    commodities = str(target["commodity"]).split("+")
    if target["check"] == "share":
        if target["stage"]:
            rows = (fac["type"] == target["stage"]).to_numpy()
        else:
            rows = fac["commodity"].isin(commodities).to_numpy()
        total = output[rows].sum()
        mine = output[rows & (fac["country"] == target["country"]).to_numpy()].sum()
        return float(mine / total) if total > 0 else float("nan")
    if target["check"] == "exports":
        trade = record.trade
        assert trade is not None
        flows = trade[
            (trade["origin"] == target["country"])
            & trade["commodity"].isin(commodities)
            & (trade["destination"] != target["country"])
        ]
        if target["destination"] != "all":
            flows = flows[flows["destination"] == target["destination"]]
        return float(flows["quantity"].sum())
    ids = fac["facility"].to_numpy()
    hit = ids == target["facility"]
    if not hit.any() or capacity[hit][0] <= 0:
        return float("nan")
    return float(output[hit][0] / capacity[hit][0])


def check_baseline(world: World, targets: pd.DataFrame) -> pd.DataFrame:
    """Compare each target with its baseline year; one row per target (``*`` expanded).

    Returns the target columns plus ``simulated`` and ``ok`` (simulated within
    ``[low, high]``). A ``utilisation`` row with facility ``*`` becomes one row per
    facility with capacity in that year that no other row of the same year names.
    """
    rows: list[dict[Any, object]] = []
    for (y, a), group in targets.groupby(["year", "as_of"], sort=True):
        year, as_of = int(str(y)), str(a) == "True"
        run_world = world.as_of(dt.date(year, 1, 1)) if as_of else world  # built once
        record = baseline_year(run_world, year)
        capacity = capacity_days(record, run_world)
        named = set(group.loc[group["check"] == "utilisation", "facility"]) - {"*"}
        for _, target in group.iterrows():
            if target["check"] == "utilisation" and target["facility"] == "*":
                for i, fid in enumerate(record.facilities["facility"]):
                    if fid in named or capacity[i] <= 0 or SEPARATOR in fid:
                        continue
                    row = target.to_dict() | {"facility": fid}
                    rows.append(row | {"simulated": float(record.output[:, i].sum() / capacity[i])})
                continue
            rows.append(target.to_dict() | {"simulated": simulated_value(target, record, capacity)})
    out = pd.DataFrame(rows, columns=[*TARGET_COLUMNS, "simulated"])
    slack = 1e-6 * np.maximum(out["low"].abs(), out["high"].abs())
    out["ok"] = (out["simulated"] >= out["low"] - slack) & (out["simulated"] <= out["high"] + slack)
    return out


def loss_share(
    world: World, actual: RunRecord, baseline: RunRecord, bloc: str, stages: tuple[str, ...]
) -> float:
    """Share (0-1) of the baseline output of ``bloc``'s facilities of ``stages`` lost in ``actual``.

    Sums over the whole horizon and over the facilities (their outputs must share a
    unit, e.g. t of magnet content across the end-use sectors); blocs are those at the
    start of the run.
    """
    fac = actual.facilities
    pick = (fac["country"].map(world.bloc_of()).eq(bloc) & fac["type"].isin(stages)).to_numpy()
    whole = float(baseline.output[:, pick].sum())
    return (whole - float(actual.output[:, pick].sum())) / whole if whole > 0 else 0.0
