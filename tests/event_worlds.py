"""Fixture worlds and helpers for the event tests, with answers that can be worked out by hand.

:func:`supplier_consumer_tables` is the table set of :func:`tests.worlds.supplier_consumer`
(one supplier ``sup`` in CHN, one consumer ``con`` in USA, 1 t ore per widget) with a few
more knobs: a strategic ``stockpiles`` table, demand noise, and a qualification lead time
beyond every horizon by default, so that no qualification or ramp step re-plans orders
(re-plans change how fast a stock refills, which would make the hand computations longer).
"""

from __future__ import annotations

import pandas as pd

from sim.events import Destinations, Event, ExportControl
from sim.metrics import compute_metrics
from sim.pair import simulate_pair
from sim.record import RunRecord
from sim.world import World
from tests import worlds

SRC = "test fixture"
START = "2025-01-01"
#: Slot and facility indices of the fixture: slot 0 is the consumer's ore stock.
SUP, CON, ALT = 0, 1, 2
ORE_SLOT = 0
#: A qualification lead time longer than any horizon used in the tests.
NEVER = 10_000.0


def supplier_consumer_tables(
    *, qualification_days: float = NEVER, ramp_days: float = 0.0, **kw: object
) -> dict[str, pd.DataFrame]:
    """Tables of :func:`tests.worlds.supplier_consumer_tables`, qualification off by default."""
    return worlds.supplier_consumer_tables(
        qualification_days=qualification_days,
        ramp_days=ramp_days,
        **kw,  # type: ignore[arg-type]
    )


def supplier_consumer_world(**kw: object) -> World:
    """The validated world of :func:`supplier_consumer_tables`."""
    return World.from_tables(**supplier_consumer_tables(**kw))  # type: ignore[arg-type]


def control(**kw: object) -> ExportControl:
    """An export control by CHN on ore to the USA; keyword arguments override the fields."""
    fields: dict[str, object] = {
        "id": "ctl",
        "issuer": "CHN",
        "commodities": ("ore",),
        "destinations": Destinations(countries=("USA",)),
        "start": 10,
    }
    fields.update(kw)
    return ExportControl(**fields)  # type: ignore[arg-type]


def run_pair(
    world: World, events: list[Event], horizon: int = 120, seed: int = 1
) -> tuple[RunRecord, RunRecord, pd.DataFrame]:
    """Run a scenario and its baseline; return them with the metrics by facility and world."""
    actual, baseline = simulate_pair(world, events, start=START, horizon_days=horizon, seed=seed)
    metrics = compute_metrics(actual, baseline, by=("world", "facility"))
    return actual, baseline, metrics


def metric(
    metrics: pd.DataFrame,
    name: str,
    scope: str = "con",
    commodity: str = "widget",
    kind: str = "facility",
) -> float:
    """One metric value of one scope."""
    rows = metrics[
        (metrics["scope_kind"] == kind)
        & (metrics["scope"] == scope)
        & (metrics["metric"] == name)
        & (metrics["commodity"] == commodity)
    ]
    assert len(rows) == 1, f"{kind} {scope} {name} {commodity}: {len(rows)} rows"
    return float(rows["value"].iloc[0])


def censored(
    metrics: pd.DataFrame, name: str, scope: str = "con", commodity: str = "widget"
) -> bool:
    """Whether a facility metric is censored."""
    rows = metrics[
        (metrics["scope_kind"] == "facility")
        & (metrics["scope"] == scope)
        & (metrics["metric"] == name)
        & (metrics["commodity"] == commodity)
    ]
    assert len(rows) == 1
    return bool(rows["censored"].iloc[0])


def zero_days(record: RunRecord, facility: int = CON) -> list[int]:
    """Days on which a facility produced nothing."""
    return [int(d) for d in (record.output[:, facility] <= 1e-9).nonzero()[0]]


def log_days(record: RunRecord, what: str) -> list[float]:
    """Days of the log entries of one kind."""
    return [day for day, w, _ in record.log if w == what]
