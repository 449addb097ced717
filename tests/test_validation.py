"""Bad input raises InputError with one line naming where, the field, the problem and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine import simulate
from sim.errors import InputError
from sim.events import (
    Destinations,
    Event,
    ExportControlChange,
    FacilityOutage,
    GeneralLicence,
    Selector,
    StockpileRelease,
)
from sim.world import World, load_world
from tests.event_worlds import SRC, START, control, supplier_consumer_tables


def assert_one_line(err: InputError, where: str, field: str, problem: str) -> None:
    """The message is ``where: field: problem; fix: ...`` on one line."""
    msg = str(err)
    assert "\n" not in msg
    assert err.where == where
    assert err.field == field
    assert msg.startswith(f"{where}: {field}: ")
    assert problem in msg
    assert "; fix: " in msg
    assert msg.split("; fix: ", 1)[1].strip()  # the fix is not empty


def run_events(events: list[Event], **world_kw: object) -> None:
    tables = supplier_consumer_tables(**world_kw)  # type: ignore[arg-type]
    world = World.from_tables(**tables)
    simulate(world, events, start=START, horizon_days=30, rng=np.random.default_rng(0))


def outage(
    select: Selector, capacity_factor: float, start: object, duration_days: float
) -> FacilityOutage:
    return FacilityOutage(
        select=select,
        capacity_factor=capacity_factor,
        start=start,  # type: ignore[arg-type]
        duration_days=duration_days,
    )


def change(
    control: str, action: str, changes: dict[str, object] | None = None
) -> ExportControlChange:
    return ExportControlChange(
        control=control,
        date=20,
        action=action,  # type: ignore[arg-type]
        changes=changes or {},
    )


def from_tables(edit: Callable[[dict[str, pd.DataFrame]], None]) -> None:
    tables = supplier_consumer_tables()
    edit(tables)
    World.from_tables(**tables)


# ---------------------------------------------------------------- events
EVENT_CASES = [
    pytest.param(
        [outage(Selector(facilities=("nowhere",)), 0.0, 10, 5)],
        "events[0] (facility_outage)",
        "select",
        "selects no facility",
        id="outage-selects-nothing",
    ),
    pytest.param(
        [outage(Selector(types=("mine",), countries=("USA",)), 0.0, 10, 5)],
        "events[0] (facility_outage)",
        "select",
        "selects no facility",
        id="outage-fields-match-no-one-facility",
    ),
    pytest.param(
        [outage(Selector(), 0.0, 10, 5)],
        "events[0] (facility_outage)",
        "select",
        "selects no facility",
        id="outage-empty-selector",
    ),
    pytest.param(
        [outage(Selector(facilities=("sup",)), 1.5, 10, 5)],
        "events[0] (facility_outage)",
        "capacity_factor",
        "1.5 is out of range",
        id="capacity-factor-above-1",
    ),
    pytest.param(
        [outage(Selector(facilities=("sup",)), -0.1, 10, 5)],
        "events[0] (facility_outage)",
        "capacity_factor",
        "-0.1 is out of range",
        id="capacity-factor-negative",
    ),
    pytest.param(
        [outage(Selector(facilities=("sup",)), 0.5, 10, -5)],
        "events[0] (facility_outage)",
        "duration_days",
        "is negative",
        id="negative-duration",
    ),
    pytest.param(
        [outage(Selector(facilities=("sup",)), 0.5, "2025-13-01", 5)],
        "events[0] (facility_outage)",
        "start",
        "'2025-13-01' is not a date",
        id="bad-date",
    ),
    pytest.param(
        [control(destinations=Destinations(blocs=("china",)))],
        "events[0] (export_control 'ctl')",
        "destinations",
        "selects no trade flow",
        id="control-destinations-select-nothing",
    ),
    pytest.param(
        [control(commodities=("widget",))],
        "events[0] (export_control 'ctl')",
        "destinations",
        "selects no trade flow",
        id="control-commodity-not-exported-by-issuer",
    ),
    pytest.param(
        [control(issuer="XYZ")],
        "events[0] (export_control 'ctl')",
        "issuer",
        "unknown country 'XYZ'",
        id="unknown-issuer",
    ),
    pytest.param(
        [control(commodities=("unobtainium",))],
        "events[0] (export_control 'ctl')",
        "commodities",
        "unknown commodity 'unobtainium'",
        id="unknown-commodity",
    ),
    pytest.param(
        [control(destinations=Destinations(countries=("ATL",)))],
        "events[0] (export_control 'ctl')",
        "destinations",
        "unknown country 'ATL'",
        id="unknown-destination",
    ),
    pytest.param(
        [control(approval_probability=1.2)],
        "events[0] (export_control 'ctl')",
        "approval_probability",
        "1.2 is out of range",
        id="approval-probability",
    ),
    pytest.param(
        [control(quota_share=-0.5)],
        "events[0] (export_control 'ctl')",
        "quota_share",
        "-0.5 is out of range",
        id="quota-share",
    ),
    pytest.param(
        [control(start=20, end=10)],
        "events[0] (export_control 'ctl')",
        "end",
        "is before start",
        id="end-before-start",
    ),
    pytest.param(
        [control(), control()],
        "events[1] (export_control 'ctl')",
        "id",
        "duplicate control id 'ctl'",
        id="duplicate-control-id",
    ),
    pytest.param(
        [
            control(
                regime="license",
                general_licences=(
                    GeneralLicence(buyers=Selector(facilities=("nobody",)), date=20),
                ),
            )
        ],
        "events[0] (export_control 'ctl')",
        "general_licences[0].buyers",
        "selects no facility",
        id="general-licence-selects-nothing",
    ),
    pytest.param(
        [control(), change("other", "suspend")],
        "events[1] (export_control_change 'other')",
        "control",
        "no export_control with id 'other'",
        id="change-unknown-control",
    ),
    pytest.param(
        [change("ctl", "suspend"), control()],
        "events[0] (export_control_change 'ctl')",
        "control",
        "no export_control with id 'ctl' before this event",
        id="change-before-its-control",
    ),
    pytest.param(
        [control(), change("ctl", "tighten")],
        "events[1] (export_control_change 'ctl')",
        "changes",
        "'tighten' needs changes",
        id="tighten-without-changes",
    ),
    pytest.param(
        [control(), change("ctl", "ease")],
        "events[1] (export_control_change 'ctl')",
        "changes",
        "'ease' needs changes",
        id="ease-without-changes",
    ),
    pytest.param(
        [control(), change("ctl", "suspend", {"regime": "ban"})],
        "events[1] (export_control_change 'ctl')",
        "changes",
        "'suspend' takes no changes",
        id="suspend-with-changes",
    ),
    pytest.param(
        [control(), change("ctl", "tighten", {"speed": 3})],
        "events[1] (export_control_change 'ctl')",
        "changes.speed",
        "not a control parameter",
        id="change-unknown-field",
    ),
    pytest.param(
        [control(), change("ctl", "tighten", {"issuer": "USA"})],
        "events[1] (export_control_change 'ctl')",
        "changes.issuer",
        "not a control parameter",
        id="change-issuer",
    ),
    pytest.param(
        [control(), change("ctl", "tighten", {"approval_probability": 2.0})],
        "events[1] (export_control_change 'ctl')",
        "approval_probability",
        "2.0 is out of range",
        id="change-out-of-range",
    ),
    pytest.param(
        [StockpileRelease(holder="USA", commodity="ore", rate_per_day=5.0)],
        "events[0] (stockpile_release)",
        "holder",
        "no stockpile of 'ore' held by 'USA'",
        id="release-without-stockpile",
    ),
]


@pytest.mark.parametrize(("events", "where", "field", "problem"), EVENT_CASES)
def test_bad_event(events: list[Event], where: str, field: str, problem: str) -> None:
    with pytest.raises(InputError) as err:
        run_events(events)
    assert_one_line(err.value, where, field, problem)


def test_events_are_checked_when_built() -> None:
    # Names, choices and types are checked when an event is built; ranges, dates and
    # references to the world when it is run (above).
    with pytest.raises(InputError) as err:
        control(regime="embargo")
    assert_one_line(
        err.value, "ExportControl", "regime", "'embargo' is not 'ban', 'license' or 'hold'"
    )
    with pytest.raises(InputError) as err:
        control(speed=3)
    assert_one_line(err.value, "ExportControl", "speed", "unknown field")
    with pytest.raises(InputError) as err:
        FacilityOutage(select=Selector(), capacity_factor=0.5, start=10)  # type: ignore[call-arg]
    assert_one_line(err.value, "FacilityOutage", "duration_days", "is missing")
    with pytest.raises(InputError) as err:
        change("ctl", "pause")
    assert_one_line(err.value, "ExportControlChange", "action", "'pause' is not")


def test_release_with_negative_rate() -> None:
    with pytest.raises(InputError) as err:
        run_events(
            [StockpileRelease(holder="USA", commodity="ore", rate_per_day=-1.0)], stockpile_t=100.0
        )
    assert_one_line(err.value, "events[0] (stockpile_release)", "rate_per_day", "rate must be")


def test_release_to_a_holder_without_users() -> None:
    # The stockpile is held by CHN, where no facility uses ore.
    with pytest.raises(InputError) as err:
        run_events(
            [StockpileRelease(holder="CHN", commodity="ore", rate_per_day=1.0)],
            stockpile_t=100.0,
            stockpile_holder="CHN",
        )
    assert_one_line(
        err.value, "events[0] (stockpile_release)", "holder", "no facility of 'CHN' uses 'ore'"
    )


def test_non_positive_horizon() -> None:
    world = World.from_tables(**supplier_consumer_tables())
    with pytest.raises(InputError) as err:
        simulate(world, [], start=START, horizon_days=0, rng=np.random.default_rng(0))
    assert_one_line(err.value, "run", "horizon_days", "0 is not positive")


# ---------------------------------------------------------------- tables
def _negative_capacity(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"].loc[1, "capacity_per_year"] = -5.0


def _unknown_column(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"] = t["facilities"].assign(colour="red")


def _missing_column(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"] = t["facilities"].drop(columns=["country"])


def _text_capacity(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"] = t["facilities"].astype({"capacity_per_year": object})
    t["facilities"].loc[1, "capacity_per_year"] = "lots"


def _empty_required_cell(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"].loc[1, "type"] = ""


def _unknown_country(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"].loc[1, "country"] = "ATL"


def _unknown_commodity(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"].loc[0, "commodity"] = "gold"


def _unproduced_input(t: dict[str, pd.DataFrame]) -> None:
    t["commodities"] = pd.concat(
        [
            t["commodities"],
            pd.DataFrame({"commodity": ["gas"], "unit": ["m3"], "source": [SRC]}),
        ],
        ignore_index=True,
    )
    t["recipes"] = pd.concat(
        [
            t["recipes"],
            pd.DataFrame(
                {
                    "facility_type": ["factory"],
                    "input": ["gas"],
                    "quantity_per_unit": [1.0],
                    "source": [SRC],
                }
            ),
        ],
        ignore_index=True,
    )


def _recipe_cycle(t: dict[str, pd.DataFrame]) -> None:
    # The mine now needs widgets, which need ore: ore -> widget -> ore.
    t["recipes"] = pd.concat(
        [
            t["recipes"],
            pd.DataFrame(
                {
                    "facility_type": ["mine"],
                    "input": ["widget"],
                    "quantity_per_unit": [0.1],
                    "source": [SRC],
                }
            ),
        ],
        ignore_index=True,
    )


def _duplicate_facility(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"] = pd.concat([t["facilities"], t["facilities"].iloc[[0]]], ignore_index=True)


def _demand_wrong_commodity(t: dict[str, pd.DataFrame]) -> None:
    t["demand"].loc[0, "commodity"] = "ore"


def _demand_unknown_facility(t: dict[str, pd.DataFrame]) -> None:
    t["demand"].loc[0, "facility"] = "ghost"


def _sourcing_wrong_supplier(t: dict[str, pd.DataFrame]) -> None:
    t["sourcing"].loc[0, "supplier"] = "con"


def _unknown_stockpile_holder(t: dict[str, pd.DataFrame]) -> None:
    t["stockpiles"] = pd.DataFrame(
        {"holder": ["MARS"], "commodity": ["ore"], "quantity": [1.0], "source": [SRC]}
    )


def _missing_source(t: dict[str, pd.DataFrame]) -> None:
    t["lanes"] = t["lanes"].drop(columns=["source"])


def _no_capacity(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"]["capacity_per_year"] = 0.0


def _newline_in_a_cell(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"].loc[1, "country"] = "US\nA"


TABLE_CASES = [
    pytest.param(
        _negative_capacity,
        "facilities.csv",
        "capacity_per_year (row 2)",
        "-5.0 is out of range",
        id="negative-capacity",
    ),
    pytest.param(_unknown_column, "facilities.csv", "colour", "unknown column", id="unknown-col"),
    pytest.param(
        _missing_column,
        "facilities.csv",
        "country",
        "required column is missing",
        id="missing-column",
    ),
    pytest.param(
        _text_capacity,
        "facilities.csv",
        "capacity_per_year (row 2)",
        "'lots' is not a number",
        id="non-numeric-capacity",
    ),
    pytest.param(
        _empty_required_cell, "facilities.csv", "type (row 2)", "is empty", id="empty-cell"
    ),
    pytest.param(
        _unknown_country,
        "facilities.csv",
        "country (row 2)",
        "unknown country 'ATL'",
        id="unknown-country",
    ),
    pytest.param(
        _unknown_commodity,
        "facilities.csv",
        "commodity (row 1)",
        "unknown commodity 'gold'",
        id="unknown-commodity",
    ),
    pytest.param(
        _unproduced_input,
        "recipes.csv",
        "input (row 2)",
        "no facility produces 'gas'",
        id="input-not-produced",
    ),
    pytest.param(
        _recipe_cycle,
        "recipes.csv",
        "input",
        "commodities form a cycle (ore -> widget -> ore)",
        id="recipe-cycle",
    ),
    pytest.param(
        _duplicate_facility,
        "facilities.csv",
        "row 1",
        "duplicate key (facility=sup)",
        id="duplicate-facility",
    ),
    pytest.param(
        _demand_wrong_commodity,
        "demand.csv",
        "commodity (row 1)",
        "facility 'con' does not produce 'ore'",
        id="demand-facility-wrong-commodity",
    ),
    pytest.param(
        _demand_unknown_facility,
        "demand.csv",
        "facility (row 1)",
        "unknown facility 'ghost'",
        id="demand-unknown-facility",
    ),
    pytest.param(
        _sourcing_wrong_supplier,
        "sourcing.csv",
        "supplier (row 1)",
        "'con' does not produce 'ore'",
        id="sourcing-wrong-supplier",
    ),
    pytest.param(
        _unknown_stockpile_holder,
        "stockpiles.csv",
        "holder (row 1)",
        "unknown country or bloc 'MARS'",
        id="stockpile-holder",
    ),
    pytest.param(
        _missing_source, "lanes.csv", "source", "required column is missing", id="no-source"
    ),
    pytest.param(
        _no_capacity,
        "facilities.csv",
        "capacity_per_year",
        "no facility has a capacity above 0",
        id="no-capacity",
    ),
    pytest.param(
        _newline_in_a_cell,
        "facilities.csv",
        "country (row 2)",
        "unknown country 'US\\nA'",
        id="cell-shown-escaped",
    ),
]


@pytest.mark.parametrize(("edit", "where", "field", "problem"), TABLE_CASES)
def test_bad_table(
    edit: Callable[[dict[str, pd.DataFrame]], None], where: str, field: str, problem: str
) -> None:
    with pytest.raises(InputError) as err:
        from_tables(edit)
    assert_one_line(err.value, where, field, problem)


def test_unknown_table() -> None:
    tables = supplier_consumer_tables()
    with pytest.raises(InputError) as err:
        World.from_tables(**tables, ports=pd.DataFrame())
    assert_one_line(err.value, "world", "ports", "unknown table")


def test_missing_table() -> None:
    tables = supplier_consumer_tables()
    del tables["lanes"]
    with pytest.raises(InputError) as err:
        World.from_tables(**tables)
    assert_one_line(err.value, "world", "lanes", "required table is missing")


def test_missing_lane_without_default_is_reported_by_simulate() -> None:
    # Only a USA -> USA lane: the CHN -> USA trade has no transport time and no '*' row.
    # The world is valid as tables; simulate fails when it builds the network.
    tables = supplier_consumer_tables()
    tables["lanes"] = pd.DataFrame(
        {"origin": ["USA"], "destination": ["USA"], "transport_days": [1.0], "source": [SRC]}
    )
    world = World.from_tables(**tables)
    with pytest.raises(InputError) as err:
        simulate(world, [], start=START, horizon_days=10, rng=np.random.default_rng(0))
    assert_one_line(err.value, "lanes.csv", "CHN -> USA", "no transport time for this trade lane")


def test_default_lane_fills_the_gap() -> None:
    # The same world with a '*' default row runs.
    tables = supplier_consumer_tables()
    tables["lanes"] = pd.DataFrame(
        {"origin": ["*"], "destination": ["*"], "transport_days": [3.0], "source": [SRC]}
    )
    world = World.from_tables(**tables)
    record = simulate(world, [], start=START, horizon_days=10, rng=np.random.default_rng(0))
    assert np.allclose(record.output[:, 1], 10.0)


def test_csv_errors_name_the_file(tmp_path: Path) -> None:
    # A CSV path: the message names the file and the row.
    folder = tmp_path
    tables = supplier_consumer_tables()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    text = (folder / "facilities.csv").read_text().replace("36500.0", "many")
    (folder / "facilities.csv").write_text(text)
    with pytest.raises(InputError) as err:
        load_world(folder)
    where = str(folder / "facilities.csv")
    assert_one_line(err.value, where, "capacity_per_year (row 1)", "'many' is not a number")
