"""Standing controls (the world's ``controls`` table): in every run, paired baseline too.

The world is tests.worlds.supplier_consumer: d = 10 widgets a day from 1 t of ore each,
the consumer holds S = 20 days x 10 t = 200 t, no alternative supplier, no lane.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.engine import simulate
from sim.errors import InputError
from sim.events import ExportControlChange, with_changes
from sim.metrics import compute_metrics
from sim.pair import simulate_pair
from sim.standing import StandingControl, standing_controls
from sim.world import World
from tests.worlds import ore_ban, supplier_consumer_tables

START = dt.date(2025, 1, 1)


def world_with(rows: list[dict[str, object]]) -> World:
    tables = supplier_consumer_tables(demand_per_day=10, cover_days=20)
    tables["controls"] = pd.DataFrame(rows).assign(source="test fixture")
    return World.from_tables(**tables)  # type: ignore[arg-type]


def ban_row(start: str, end: str = "", **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "us_rule",
        "issuer": "CHN",
        "commodity": "ore",
        "destination": "USA",
        "start": start,
        "end": end,
    }
    return row | kw


def consumer_output(world: World, events=(), horizon: int = 60) -> np.ndarray:  # type: ignore[no-untyped-def]
    run = simulate(
        world, list(events), start=START, horizon_days=horizon, rng=np.random.default_rng(0)
    )
    return run.output[:, 1]


def test_a_standing_ban_is_in_the_baseline_and_no_shock() -> None:
    # Ban from day 10 (2025-01-11): the 200 t of stock last 20 days, so the consumer
    # makes 10 a day to day 30 and nothing after, in the run and in its paired baseline.
    world = world_with([ban_row("2025-01-11")])
    actual, baseline = simulate_pair(world, [], start=START, horizon_days=60, seed=1)
    out = actual.output[:, 1]
    np.testing.assert_allclose(out[:30], 10.0, atol=1e-9)
    np.testing.assert_allclose(out[30:], 0.0, atol=1e-9)
    np.testing.assert_array_equal(out, baseline.output[:, 1])
    # Not a disruption: the run has no first shock day and the loss against its
    # baseline is zero.
    assert actual.t0 is None
    m = compute_metrics(actual, baseline, by=("facility",))
    loss = m[(m["scope"] == "con") & (m["metric"] == "output_loss")]["value"]
    assert loss.item() == pytest.approx(0.0, abs=1e-9)


def test_a_control_that_ended_before_the_run_is_left_out() -> None:
    world = world_with([ban_row("2022-10-07", "2024-06-01")])
    assert standing_controls(world.tables, START) == []
    np.testing.assert_allclose(consumer_output(world), 10.0, atol=1e-9)


def test_a_standing_licence_passes_its_share_from_its_start() -> None:
    # Licence regime with approved share 0 from before the run: as a ban from day 0,
    # with no review delay. Share 1: every flow passes, output as without the control.
    blocked = world_with([ban_row("2022-10-07", regime="license", approved_share=0.0)])
    out = consumer_output(blocked)
    np.testing.assert_allclose(out[:20], 10.0, atol=1e-9)
    np.testing.assert_allclose(out[20:], 0.0, atol=1e-9)
    free = world_with([ban_row("2022-10-07", regime="license", approved_share=1.0)])
    np.testing.assert_allclose(consumer_output(free), 10.0, atol=1e-9)


def test_a_scenario_can_suspend_a_standing_control_by_id() -> None:
    # Standing ban from before the run; suspended on day 10 (stock still 100 t): the
    # supplier refills at once, output never drops. The baseline keeps the ban, so
    # the suspension shows as a gain: baseline output is 0 from day 20.
    world = world_with([ban_row("2022-10-07")])
    lift = ExportControlChange(control="us_rule", date=10, action="suspend")
    actual, baseline = simulate_pair(world, [lift], start=START, horizon_days=60, seed=1)
    np.testing.assert_allclose(actual.output[:, 1], 10.0, atol=1e-9)
    np.testing.assert_allclose(baseline.output[20:, 1], 0.0, atol=1e-9)


def test_rows_of_one_id_are_one_control() -> None:
    tables = supplier_consumer_tables()
    tables["countries"] = pd.concat(
        [tables["countries"], pd.DataFrame({"country": ["DEU"], "bloc": ["partner"]})]
    ).assign(source="test fixture")
    tables["controls"] = pd.DataFrame(
        [ban_row("2025-02-01"), ban_row("2025-02-01", destination="partner")]
    ).assign(source="test fixture")
    world = World.from_tables(**tables)  # type: ignore[arg-type]
    (ctl,) = standing_controls(world.tables, START)
    assert isinstance(ctl, StandingControl)
    assert ctl.destinations.countries == ("USA",)
    assert ctl.destinations.blocs == ("partner",)
    assert ctl.start == dt.date(2025, 2, 1) and ctl.end is None


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (ban_row("2025-01-11", destination="ATLANTIS"), "destination (row 1)"),
        (ban_row("2025-01-11", issuer="XXX"), "issuer (row 1)"),
        (ban_row("2025-01-11", regime="embargo"), "regime (row 1)"),
        (ban_row("2025-01-11", "2025-01-01"), "end (row 1)"),
        (ban_row("2025-01-11", approved_share=1.5), "approved_share"),
    ],
)
def test_bad_rows_name_the_field(row: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        world_with([row])
    assert err.value.where == "controls.csv"
    assert field in err.value.field


def test_rows_of_one_id_must_agree() -> None:
    with pytest.raises(InputError, match="different start"):
        world_with([ban_row("2025-01-11"), ban_row("2025-02-11", commodity="widget")])


def test_a_scenario_control_may_not_reuse_a_standing_id() -> None:
    world = world_with([ban_row("2025-01-11")])
    clash = with_changes(ore_ban(20, 10), {"id": "us_rule"})
    with pytest.raises(InputError, match="duplicate control id"):
        simulate(world, [clash], start=START, horizon_days=5, rng=np.random.default_rng(0))


def test_as_of_keeps_the_controls_in_force_that_day() -> None:
    world = world_with(
        [
            ban_row("2022-10-07", "2024-06-01", id="old"),
            ban_row("2023-10-17", "2026-01-01", id="live"),
            ban_row("2025-04-15", id="later"),
        ]
    )
    snap = world.as_of("2024-12-31")["controls"]
    assert snap["id"].tolist() == ["live"]
    assert snap["end"].isna().all()
