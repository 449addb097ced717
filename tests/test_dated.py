"""Dated worlds: available_until, the capacity schedule, demand by year, World.as_of, scenarios.

Run days are counted from START = 2025-01-01: 2025-01-11 is day 10, 2025-03-02 is day 60
(31 + 28 + 1), 2025-04-11 is day 100 (31 + 28 + 31 + 10).
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.dated import demand_in_force
from sim.engine import simulate
from sim.ensemble import run_scenario
from sim.errors import InputError
from sim.examples import example_tables, example_world
from sim.metrics import material_balance
from sim.network import Network
from sim.scenario import load_scenario
from sim.world import World, load_world
from tests.worlds import SRC, supplier_consumer_tables

START = dt.date(2025, 1, 1)
DATA = Path(__file__).parent.parent / "data"


def schedule(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["facility", "date", "capacity_per_year"]).assign(source=SRC)


def assert_one_line(err: InputError, where: str, field: str, problem: str) -> None:
    msg = str(err)
    assert "\n" not in msg
    assert (err.where, err.field) == (where, field)
    assert msg.startswith(f"{where}: {field}: ")
    assert problem in msg, msg
    assert msg.split("; fix: ", 1)[1].strip()


# ----------------------------------------------------------------------------- Network


def test_an_undated_world_has_constant_capacity() -> None:
    world = example_world()
    net = Network(world, START)
    nameplate = world.facilities["capacity_per_year"].to_numpy(dtype=float) / 365.0
    for day in (0.0, 17.5, 3650.0):
        np.testing.assert_array_equal(net.nameplate_at(day), nameplate)
        np.testing.assert_array_equal(net.availability_at(day), np.ones(net.n))
    np.testing.assert_array_equal(net.nameplate_per_day, nameplate)
    assert net.capacity_change_days.size == 0
    assert net.fully_available_from == -np.inf
    assert np.isinf(net.available_until_day).all()


def test_a_schedule_step_changes_the_nameplate_on_its_day() -> None:
    # sup: 100 t/day, then 200 t/day from 2025-03-02 (day 60).
    tables = supplier_consumer_tables(supplier_capacity_per_day=100.0)
    world = World.from_tables(
        **tables, capacity_schedule=schedule(("sup", "2025-03-02", 200.0 * 365))
    )
    net = Network(world, START)
    sup = net.facility_index()["sup"]
    assert net.nameplate_per_day[sup] == pytest.approx(100.0)
    assert net.nameplate_at(59.5)[sup] == pytest.approx(100.0)
    assert net.nameplate_at(60.0)[sup] == pytest.approx(200.0)
    assert net.nameplate_at(400.0)[sup] == pytest.approx(200.0)
    assert net.nameplate_at(60.0)[net.facility_index()["con"]] == pytest.approx(20.0)
    np.testing.assert_array_equal(net.capacity_change_days, [60.0])
    assert net.fully_available_from == 60.0
    np.testing.assert_array_equal(net.availability_at(60.0), [1.0, 1.0])


def test_two_steps_and_a_step_before_the_start() -> None:
    # 2024-06-01 is day -214: in force at the start, not a change day of the run.
    tables = supplier_consumer_tables(supplier_capacity_per_day=100.0)
    world = World.from_tables(
        **tables,
        capacity_schedule=schedule(
            ("sup", "2025-04-11", 50.0 * 365),
            ("sup", "2024-06-01", 150.0 * 365),
            ("sup", "2025-03-02", 0.0),
        ),
    )
    net = Network(world, START)
    sup = net.facility_index()["sup"]
    assert net.nameplate_per_day[sup] == pytest.approx(150.0)
    got = [net.nameplate_at(d)[sup] for d in (-300.0, -214.0, 0.0, 59.0, 60.0, 99.0, 100.0)]
    assert got == pytest.approx([100.0, 150.0, 150.0, 150.0, 0.0, 0.0, 50.0])
    np.testing.assert_array_equal(net.capacity_change_days, [60.0, 100.0])
    assert net.fully_available_from == 100.0


def test_available_until_zeroes_nameplate_and_availability() -> None:
    # sup closes on 2025-04-11 (day 100): it produces on day 99, not from day 100 on.
    tables = supplier_consumer_tables()
    tables["facilities"]["available_until"] = ["2025-04-11", ""]
    net = Network(World.from_tables(**tables), START)
    sup = net.facility_index()["sup"]
    assert net.available_until_day[sup] == 100.0
    assert net.nameplate_at(99.0)[sup] == pytest.approx(100.0)
    assert net.availability_at(99.0)[sup] == 1.0
    assert net.nameplate_at(100.0)[sup] == 0.0
    assert net.availability_at(100.0)[sup] == 0.0
    assert net.availability_at(1000.0).tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(net.capacity_change_days, [100.0])
    assert net.fully_available_from == 100.0


def test_a_facility_closed_before_the_start_has_no_nameplate() -> None:
    tables = supplier_consumer_tables(alternative_capacity_per_day=30.0)
    tables["facilities"]["available_until"] = ["", "", "2024-12-01"]
    net = Network(World.from_tables(**tables), START)
    alt = net.facility_index()["alt"]
    assert net.nameplate_per_day[alt] == 0.0
    assert net.availability_at(0.0)[alt] == 0.0
    assert net.capacity_change_days.size == 0


def test_availability_ramps_from_available_from() -> None:
    # alt opens on 2025-01-11 (day 10) and ramps over 20 days: 0.5 on day 20, 1 from day 30.
    tables = supplier_consumer_tables(alternative_capacity_per_day=30.0)
    tables["facilities"]["available_from"] = ["", "", "2025-01-11"]
    tables["facilities"]["ramp_up_days"] = [0.0, 0.0, 20.0]
    net = Network(World.from_tables(**tables), START)
    alt = net.facility_index()["alt"]
    got = [net.availability_at(d)[alt] for d in (0.0, 9.9, 10.0, 15.0, 20.0, 30.0, 45.0)]
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0])
    assert net.nameplate_at(0.0)[alt] == pytest.approx(30.0)  # nameplate it will have
    np.testing.assert_array_equal(net.capacity_change_days, [10.0])
    assert net.fully_available_from == 30.0


def test_availability_at_is_the_engine_formula_bit_for_bit() -> None:
    # The formula sim/engine.py computed inline from available_day and ramp_up_days.
    t = example_tables()
    t["facilities"]["available_from"] = ["", "2024-11-03", "2025-01-01", "2025-02-14"] + [""] * 4
    t["facilities"]["ramp_up_days"] = [0.0, 90.0, 0.0, 45.0, 7.0, 0.0, 0.0, 0.0]
    net = Network(World.from_tables(**t), START)
    for now in (0.0, 0.3, 1.0, 43.7, 44.0, 58.9, 89.0, 120.25, 400.0):
        since = now - net.available_day
        with np.errstate(divide="ignore", invalid="ignore"):
            ramp = np.where(net.ramp_up_days > 0, since / net.ramp_up_days, 1.0)
        expected = np.where(since >= 0, np.clip(ramp, 0.0, 1.0), 0.0)
        np.testing.assert_array_equal(net.availability_at(now), expected)
    ends = net.available_day + net.ramp_up_days
    assert net.fully_available_from == ends[np.isfinite(ends)].max() == 44.0 + 45.0


# ----------------------------------------------------------------------------- demand


def _demand(*rows: tuple[str, str, str, float | None, float]) -> pd.DataFrame:
    """Rows of (commodity, country, facility, year, quantity_per_year), validated."""
    frame = pd.DataFrame(
        [(c, k, f, "" if y is None else y, q) for c, k, f, y, q in rows],
        columns=["commodity", "country", "facility", "year", "quantity_per_year"],
    ).assign(source=SRC)
    tables = example_tables()
    tables["demand"] = frame
    return World.from_tables(**tables)["demand"]


def test_demand_in_force_takes_the_latest_year_on_or_before_the_date() -> None:
    demand = _demand(
        ("compute", "", "us_dc", 2005, 1.0),
        ("compute", "", "us_dc", 2011, 3.0),
        ("compute", "", "us_dc", 2009, 2.0),
        ("compute", "", "jp_dc", None, 10.0),
        ("ndfeb_magnet", "JPN", "", 2015, 20.0),
    )
    in_force = demand_in_force(demand, dt.date(2010, 6, 30))
    assert in_force["quantity_per_year"].tolist() == [2.0, 10.0]
    assert in_force.index.tolist() == [0, 1]
    assert demand_in_force(demand, dt.date(2011, 1, 1))["quantity_per_year"].tolist() == [
        3.0,
        10.0,
    ]
    assert demand_in_force(demand, dt.date(2004, 12, 31))["quantity_per_year"].tolist() == [10.0]
    assert demand_in_force(demand, dt.date(2030, 1, 1))["quantity_per_year"].tolist() == [
        3.0,
        10.0,
        20.0,
    ]


def test_undated_demand_is_in_force_unchanged() -> None:
    demand = example_world()["demand"]
    pd.testing.assert_frame_equal(demand_in_force(demand, START), demand)


# ----------------------------------------------------------------------------- as_of


def _dated_tables() -> dict[str, pd.DataFrame]:
    """Example world with dates: a mine closed in 2009, a refiner and a data center of 2012.

    cn_mine steps from 250,000 to 100,000 t/year on 2008-01-01 and to 300,000 on
    2011-01-01; us_dc demand is given for 2005, 2009 and 2011.
    """
    t = example_tables()
    fac = t["facilities"]
    fac["available_from"] = ""
    fac["available_until"] = ""
    fac.loc[fac["facility"] == "us_mine", "available_until"] = "2009-06-01"
    fac.loc[fac["facility"] == "us_refiner", "available_from"] = "2012-01-01"
    fac.loc[fac["facility"] == "jp_dc", "available_from"] = "2012-01-01"
    t["recipes"] = pd.concat(
        [
            t["recipes"],
            pd.DataFrame(
                {
                    "facility_type": ["data_center"],
                    "facility": ["jp_dc"],
                    "input": ["ai_chip"],
                    "quantity_per_unit": [0.5],
                    "source": [SRC],
                }
            ),
        ],
        ignore_index=True,
    )
    t["sourcing"] = pd.DataFrame(
        {
            "buyer": ["cn_refiner", "cn_refiner", "JPN"],
            "commodity": ["ree_concentrate", "ree_concentrate", "ndpr_oxide"],
            "supplier": ["cn_mine", "us_mine", "us_refiner"],
            "weight": [3.0, 1.0, 1.0],
            "source": SRC,
        }
    )
    t["demand"] = pd.DataFrame(
        {
            "commodity": ["compute"] * 4 + ["ndfeb_magnet"],
            "facility": ["us_dc", "us_dc", "us_dc", "jp_dc", "jp_magnet"],
            "year": [2005, 2009, 2011, "", ""],
            "quantity_per_year": [1_000_000, 2_000_000, 3_000_000, 600_000, 8_000],
            "source": SRC,
        }
    )
    t["capacity_schedule"] = schedule(
        ("cn_mine", "2011-01-01", 300_000), ("cn_mine", "2008-01-01", 100_000)
    )
    return t


def test_as_of_drops_what_did_not_operate_and_takes_schedule_and_demand_year() -> None:
    world = World.from_tables(**_dated_tables())
    old = world.as_of(dt.date(2010, 1, 1))
    fac = old.facilities.set_index("facility")
    # us_mine closed (2009-06-01), us_refiner and jp_dc not built yet (2012-01-01).
    assert list(fac.index) == ["cn_mine", "cn_refiner", "jp_magnet", "us_chip_fab", "us_dc"]
    assert fac.at["cn_mine", "capacity_per_year"] == 100_000  # the 2008 step
    assert fac.at["cn_refiner", "capacity_per_year"] == 60_000  # no schedule row
    assert fac["available_until"].isna().all()
    assert len(old["capacity_schedule"]) == 0
    # jp_dc's own recipe row and the sourcing rows naming us_mine and us_refiner go.
    assert "jp_dc" not in set(old["recipes"]["facility"])
    assert old["sourcing"][["buyer", "supplier"]].values.tolist() == [["cn_refiner", "cn_mine"]]
    # us_dc demand of 2009 (not 2005, not 2011), year emptied; jp_dc's demand goes.
    demand = old["demand"]
    assert demand[["facility", "quantity_per_year"]].values.tolist() == [
        ["us_dc", 2_000_000.0],
        ["jp_magnet", 8_000.0],
    ]
    assert demand["year"].isna().all()
    # Tables without dates are kept as they are.
    for name in ("countries", "commodities", "lanes", "inventory", "stockpiles"):
        pd.testing.assert_frame_equal(old[name], world[name])
    # A run start other than the as_of date uses the same demand.
    pd.testing.assert_frame_equal(demand_in_force(demand, START), demand)
    # The snapshot is a world like any: it builds a network with constant capacity.
    net = Network(old, dt.date(2010, 9, 1))
    assert net.capacity_change_days.size == 0
    assert net.nameplate_per_day[0] == pytest.approx(100_000 / 365)


def test_as_of_on_later_dates() -> None:
    world = World.from_tables(**_dated_tables())
    new = world.as_of("2012-01-01")  # the opening day counts; an ISO string is a date
    fac = new.facilities.set_index("facility")
    assert set(fac.index) == set(world.facilities["facility"]) - {"us_mine"}
    assert fac.at["cn_mine", "capacity_per_year"] == 300_000
    assert new["demand"]["quantity_per_year"].tolist() == [3_000_000.0, 600_000.0, 8_000.0]
    # The last day of us_mine still has it; the day it closes does not.
    assert "us_mine" in set(world.as_of(dt.date(2009, 5, 31)).facilities["facility"])
    assert "us_mine" not in set(world.as_of(dt.date(2009, 6, 1)).facilities["facility"])


def test_as_of_demand_before_every_year_of_a_key_is_not_used() -> None:
    world = World.from_tables(**_dated_tables())
    old = world.as_of(dt.date(2004, 7, 1))
    assert old["demand"]["facility"].tolist() == ["jp_magnet"]


def test_as_of_the_reference_world_passes_validation() -> None:
    world = load_world(DATA)
    old = world.as_of(dt.date(2010, 1, 1))
    later = set(
        world.facilities.loc[
            world.facilities["available_from"] > pd.Timestamp("2010-01-01"), "facility"
        ]
    )
    assert later  # the reference world has facilities that open after 2010
    assert set(old.facilities["facility"]) == set(world.facilities["facility"]) - later


def test_as_of_a_world_that_cannot_have_operated_names_the_date() -> None:
    t = example_tables()
    t["facilities"]["available_from"] = [
        "2015-01-01" if f in ("cn_mine", "us_mine") else "" for f in t["facilities"]["facility"]
    ]
    world = World.from_tables(**t)
    with pytest.raises(InputError) as err:
        world.as_of(dt.date(2010, 1, 1))
    assert_one_line(
        err.value,
        "recipes.csv",
        "input (row 1)",
        "no facility produces 'ree_concentrate' in the world as of 2010-01-01",
    )
    with pytest.raises(InputError) as err:
        world.as_of("2010-13-01")
    assert_one_line(err.value, "world", "as_of", "'2010-13-01' is not an ISO date")


def test_a_dated_world_pickles_and_loads_from_csv(tmp_path: Path) -> None:
    tables = _dated_tables()
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    world = load_world(tmp_path)
    assert world["capacity_schedule"]["date"].tolist() == [
        pd.Timestamp("2011-01-01"),
        pd.Timestamp("2008-01-01"),
    ]
    again = pickle.loads(pickle.dumps(world))
    pd.testing.assert_frame_equal(again["capacity_schedule"], world["capacity_schedule"])
    assert set(world.as_of("2010-01-01").facilities["facility"]) == set(
        again.as_of("2010-01-01").facilities["facility"]
    )


def test_existing_csvs_without_the_new_columns_stay_valid(tmp_path: Path) -> None:
    # CSV folders written before dated worlds (no available_until, no demand year, no
    # capacity schedule) load as they did.
    for name, frame in example_tables().items():
        frame.drop(columns=["available_until", "year"], errors="ignore").to_csv(
            tmp_path / f"{name}.csv", index=False
        )
    world = load_world(tmp_path)
    assert world.facilities["available_until"].isna().all()
    assert world["demand"]["year"].isna().all()
    assert len(world["capacity_schedule"]) == 0


# ----------------------------------------------------------------------------- scenarios

SCENARIO_HEAD = """\
name: {name}
description: The example world as it operated on 2010-06-01.
start: 2010-06-01
horizon_days: 200
seed: 5
replications: 2
"""

#: A second Japanese data center that opens in 2012 (after as_of: dropped).
NEW_DC = """\
  facilities:
    mode: extend
    rows:
      - facility: jp_dc_2012
        type: data_center
        country: JPN
        commodity: compute
        capacity_per_year: 365000
        available_from: 2012-01-01
        source: test fixture
"""

#: The example ban, from day 30.
BAN = """\
events:
  - kind: export_control
    id: ndpr_ban
    issuer: CHN
    commodities: [ndpr_oxide]
    destinations:
      blocs: [allied]
    start: +30d
    end: +150d
"""


def test_a_scenario_as_of_a_date_drops_a_facility_that_opens_later(tmp_path: Path) -> None:
    # world: {base: example, as_of: 2010-06-01} with a data center of 2012 added: the
    # scenario's world has the example's eight facilities, and it runs as an ensemble.
    file = tmp_path / "dated.yaml"
    file.write_text(
        SCENARIO_HEAD.format(name="dated")
        + "world:\n  base: example\n  as_of: 2010-06-01\n"
        + NEW_DC
        + BAN
    )
    scenario = load_scenario(file)
    assert scenario.world_spec.as_of == dt.date(2010, 6, 1)
    world = scenario.world()
    assert set(world.facilities["facility"]) == set(example_world().facilities["facility"])
    # Without as_of the 2012 data center is in the world (and idle until it opens).
    undated = tmp_path / "undated.yaml"
    undated.write_text(
        SCENARIO_HEAD.format(name="undated") + "world:\n  base: example\n" + NEW_DC + BAN
    )
    assert "jp_dc_2012" in set(load_scenario(undated).world().facilities["facility"])
    ensemble = run_scenario(scenario, replications=2)
    assert ensemble.replications == 2
    scopes = set(ensemble.metrics["scope"])
    assert "jp_dc_2012" not in scopes and "jp_magnet" in scopes
    loss = ensemble.metrics[
        (ensemble.metrics["scope"] == "jp_magnet") & (ensemble.metrics["metric"] == "output_loss")
    ]
    assert len(loss) == 2 and (loss["value"] > 0).all()


def test_a_scenario_with_an_inline_capacity_schedule(tmp_path: Path) -> None:
    # cn_mine: 100,000 t/year from 2008-01-01 and 300,000 from 2011-01-01, given inline.
    # The Chinese refiner asks for more concentrate than that (5 t per t of its ~44,000
    # t/year of oxide, less the US mine's 45,000 t), so the mine runs at its capacity.
    # As of 2010-06-01 the world has the 2008 step and no schedule left (and no 2012
    # data center): 100,000 / 365 t/day throughout. Without as_of the engine applies the
    # 2011 step on its day (day 214 from 2010-06-01: 30 + 31 + 31 + 30 + 31 + 30 + 31).
    schedule_rows = """\
  capacity_schedule:
    mode: replace
    rows:
      - {facility: cn_mine, date: 2008-01-01, capacity_per_year: 100000, source: test fixture}
      - {facility: cn_mine, date: 2011-01-01, capacity_per_year: 300000, source: test fixture}
"""
    dated = tmp_path / "schedule_as_of.yaml"
    dated.write_text(
        SCENARIO_HEAD.format(name="schedule_as_of")
        + "world:\n  base: example\n  as_of: 2010-06-01\n"
        + schedule_rows
        + NEW_DC
        + BAN
    )
    scenario = load_scenario(dated)
    world = scenario.world()
    fac = world.facilities.set_index("facility")
    assert fac.at["cn_mine", "capacity_per_year"] == 100_000
    assert "jp_dc_2012" not in fac.index
    assert len(world["capacity_schedule"]) == 0
    events, _ = scenario.sample(np.random.default_rng(scenario.seed))
    rec = simulate(
        world,
        events,
        start=scenario.start,
        horizon_days=scenario.horizon_days,
        rng=np.random.default_rng(scenario.seed),
    )
    mine = list(rec.facilities["facility"]).index("cn_mine")
    assert rec.output[:, mine] == pytest.approx(100_000 / 365, rel=1e-12)
    bal = material_balance(rec)
    assert np.allclose(bal["sources"], bal["uses"], rtol=1e-9, atol=0)

    # The same schedule without as_of, over a horizon past 2011-01-01 (day 214).
    running = tmp_path / "schedule_in_run.yaml"
    running.write_text(
        SCENARIO_HEAD.format(name="schedule_in_run").replace(
            "horizon_days: 200", "horizon_days: 300"
        )
        + "world:\n  base: example\n"
        + schedule_rows
        + BAN
    )
    scenario = load_scenario(running)
    events, _ = scenario.sample(np.random.default_rng(scenario.seed))
    rec = simulate(
        scenario.world(),
        events,
        start=scenario.start,
        horizon_days=scenario.horizon_days,
        rng=np.random.default_rng(scenario.seed),
    )
    assert (dt.date(2011, 1, 1) - scenario.start).days == 214
    mine = list(rec.facilities["facility"]).index("cn_mine")
    assert rec.output[:214, mine] == pytest.approx(100_000 / 365, rel=1e-12)
    assert rec.output[214, mine] == pytest.approx(300_000 / 365, rel=1e-12)


# ----------------------------------------------------------------------------- validation


def _until_not_after_from(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"]["available_from"] = ["2010-01-01", ""]
    t["facilities"]["available_until"] = ["2010-01-01", ""]


def _until_not_a_date(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"]["available_until"] = ["", "soon"]


def _schedule_unknown_facility(t: dict[str, pd.DataFrame]) -> None:
    t["capacity_schedule"] = schedule(("sup", "2012-01-01", 1.0), ("ghost", "2012-01-01", 1.0))


def _schedule_negative(t: dict[str, pd.DataFrame]) -> None:
    t["capacity_schedule"] = schedule(("sup", "2012-01-01", -5.0))


def _schedule_duplicate(t: dict[str, pd.DataFrame]) -> None:
    t["capacity_schedule"] = schedule(
        ("con", "2012-01-01", 1.0), ("sup", "2012-01-01", 1.0), ("sup", "2012-01-01", 2.0)
    )


def _schedule_before_from(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"]["available_from"] = ["2011-03-01", ""]
    t["capacity_schedule"] = schedule(("sup", "2011-02-28", 1.0))


def _schedule_on_until(t: dict[str, pd.DataFrame]) -> None:
    t["facilities"]["available_until"] = ["", "2020-01-01"]
    t["capacity_schedule"] = schedule(("con", "2019-12-31", 1.0), ("con", "2020-01-01", 1.0))


def _schedule_without_date(t: dict[str, pd.DataFrame]) -> None:
    t["capacity_schedule"] = schedule(("sup", "", 1.0))


def _demand_rows(t: dict[str, pd.DataFrame], years: list[object]) -> None:
    t["demand"] = pd.DataFrame(
        {
            "commodity": "widget",
            "facility": "con",
            "year": years,
            "quantity_per_year": 1000.0,
            "source": SRC,
        }
    )


def _demand_duplicate_year(t: dict[str, pd.DataFrame]) -> None:
    _demand_rows(t, [2009, 2010, 2010])


def _demand_mixed_years(t: dict[str, pd.DataFrame]) -> None:
    _demand_rows(t, [2010, "", 2011])


def _demand_duplicate_without_year(t: dict[str, pd.DataFrame]) -> None:
    _demand_rows(t, ["", ""])


def _demand_fractional_year(t: dict[str, pd.DataFrame]) -> None:
    _demand_rows(t, ["2010.5"])


def _demand_year_out_of_range(t: dict[str, pd.DataFrame]) -> None:
    _demand_rows(t, [20100])


@pytest.mark.parametrize(
    ("edit", "where", "field", "problem"),
    [
        pytest.param(
            _until_not_after_from,
            "facilities.csv",
            "available_until (row 1, facility 'sup')",
            "2010-01-01 is not after available_from 2010-01-01",
            id="until-not-after-from",
        ),
        pytest.param(
            _until_not_a_date,
            "facilities.csv",
            "available_until (row 2)",
            "'soon' is not an ISO date",
            id="until-not-a-date",
        ),
        pytest.param(
            _schedule_unknown_facility,
            "capacity_schedule.csv",
            "facility (row 2)",
            "unknown facility 'ghost' (date 2012-01-01)",
            id="schedule-unknown-facility",
        ),
        pytest.param(
            _schedule_negative,
            "capacity_schedule.csv",
            "capacity_per_year (row 1)",
            "-5 for facility 'sup' on 2012-01-01 is below 0",
            id="schedule-negative-capacity",
        ),
        pytest.param(
            _schedule_duplicate,
            "capacity_schedule.csv",
            "row 2",
            "duplicate key (facility=sup, date=2012-01-01)",
            id="schedule-duplicate",
        ),
        pytest.param(
            _schedule_before_from,
            "capacity_schedule.csv",
            "date (row 1)",
            "2011-02-28 for facility 'sup' is before its available_from 2011-03-01",
            id="schedule-before-available-from",
        ),
        pytest.param(
            _schedule_on_until,
            "capacity_schedule.csv",
            "date (row 2)",
            "2020-01-01 for facility 'con' is on or after its available_until 2020-01-01",
            id="schedule-on-available-until",
        ),
        pytest.param(
            _schedule_without_date,
            "capacity_schedule.csv",
            "date (row 1)",
            "is empty",
            id="schedule-without-date",
        ),
        pytest.param(
            _demand_duplicate_year,
            "demand.csv",
            "row 2",
            "duplicate key (commodity=widget, country=, facility=con, year=2010)",
            id="demand-duplicate-year",
        ),
        pytest.param(
            _demand_mixed_years,
            "demand.csv",
            "year (row 2)",
            "demand (commodity=widget, facility=con) has rows with and without a year",
            id="demand-mixed-years",
        ),
        pytest.param(
            _demand_duplicate_without_year,
            "demand.csv",
            "row 1",
            "duplicate key (commodity=widget, country=, facility=con, year=)",
            id="demand-duplicate-without-year",
        ),
        pytest.param(
            _demand_fractional_year,
            "demand.csv",
            "year (row 1)",
            "'2010.5' is not a whole number",
            id="demand-fractional-year",
        ),
        pytest.param(
            _demand_year_out_of_range,
            "demand.csv",
            "year (row 1)",
            "20100 is out of range",
            id="demand-year-out-of-range",
        ),
    ],
)
def test_bad_dated_table(
    edit: Callable[[dict[str, pd.DataFrame]], None], where: str, field: str, problem: str
) -> None:
    tables = supplier_consumer_tables()
    edit(tables)
    with pytest.raises(InputError) as err:
        World.from_tables(**tables)
    assert_one_line(err.value, where, field, problem)
