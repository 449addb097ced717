"""Scenario files: loading, extends, world tables, sampling, errors and the JSON schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
import yaml

from sim.distributions import Distribution
from sim.engine import Settings
from sim.errors import InputError
from sim.events import (
    KIND_OF,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    StockpileRelease,
)
from sim.pair import simulate_pair
from sim.scenario import (
    BOUNDS,
    DRAW_ORDER,
    ControlChangesSpec,
    ExportControlSpec,
    FacilityOutageSpec,
    Scenario,
    WorldSpec,
    json_schema,
    json_schema_text,
    load_scenario,
)
from sim.scenario_events import ENGINE_OF, AnyEventSpec
from sim.tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BROKEN = Path(__file__).resolve().parent / "broken_scenarios"

HEAD: dict[str, Any] = {"name": "t", "start": "2025-01-01", "horizon_days": 365, "seed": 3}
OUTAGE: dict[str, Any] = {
    "kind": "facility_outage",
    "select": {"facilities": ["cn_refiner"]},
    "capacity_factor": 0.5,
    "start": "2025-03-01",
    "duration_days": 30,
}
JP_REFINER = {
    "facility": "jp_refiner",
    "type": "refiner",
    "country": "JPN",
    "commodity": "ndpr_oxide",
    "capacity_per_year": 2000,
    "source": "test",
}


def write(folder: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def scenario(tmp_path: Path, **fields: Any) -> Scenario:
    return load_scenario(write(tmp_path, "s.yaml", {**HEAD, **fields}))


# ---------------------------------------------------------------- bundled examples
def test_example_ban_loads() -> None:
    s = load_scenario(SCENARIOS / "example_ban.yaml")
    assert (s.name, s.start, s.horizon_days, s.seed, s.replications) == (
        "ndpr_ban",
        dt.date(2025, 1, 1),
        1095,
        1,
        20,
    )
    assert s.settings() == Settings()
    assert len(s.world().facilities) == 8
    (ev,) = s.events
    assert isinstance(ev, ExportControlSpec)
    assert ev.duration_days is not None and not isinstance(ev.duration_days, float)
    assert ev.duration_days.dist == "triangular"


def test_example_ban_samples_the_ban_length() -> None:
    s = load_scenario(SCENARIOS / "example_ban.yaml")
    events, values = s.sample(np.random.default_rng(7))
    expected = float(np.random.default_rng(7).triangular(180, 365, 730))
    assert values == {"events[0].duration_days": expected}
    (ban,) = events
    assert isinstance(ban, ExportControl)
    assert ban.start == dt.date(2025, 4, 4)
    assert ban.end == pytest.approx(93 + expected)  # 2025-04-04 is day 93
    assert ban.destinations.blocs == ("allied",)


def test_example_licence_extends_the_ban() -> None:
    ban = load_scenario(SCENARIOS / "example_ban.yaml")
    lic = load_scenario(SCENARIOS / "example_licence.yaml")
    assert lic.extends == "example_ban.yaml"
    assert (lic.start, lic.horizon_days, lic.seed, lic.replications) == (
        ban.start,
        ban.horizon_days,
        ban.seed,
        ban.replications,
    )
    assert lic.name == "ndpr_licence"
    events, values = lic.sample(np.random.default_rng(1))
    control, change = events
    assert isinstance(control, ExportControl) and control.regime == "license"
    assert control.review_days == Distribution("lognormal", mean=45.0, sd=20.0)
    assert isinstance(change, ExportControlChange) and change.action == "ease"
    assert list(values) == [
        "events[0].duration_days",
        "events[0].approval_probability",
        "events[0].approved_share",
        "events[1].changes.approval_probability",
    ]
    assert 0.3 <= values["events[0].approval_probability"] <= 0.9
    assert change.changes == {
        "approval_probability": values["events[1].changes.approval_probability"]
    }


def test_example_files_name_the_schema() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=./paxsim.schema.json", path.name


def test_example_runs_in_the_engine() -> None:
    s = load_scenario(SCENARIOS / "example_ban.yaml")
    events, _ = s.sample(np.random.default_rng(s.seed))
    actual, baseline = simulate_pair(
        s.world(), events, start=s.start, horizon_days=s.horizon_days, seed=s.seed
    )
    lost = baseline.output_frame()["jp_magnet"].sum() - actual.output_frame()["jp_magnet"].sum()
    assert lost > 0


# ---------------------------------------------------------------- sampling
def test_same_seed_same_draws_other_seed_other_draws() -> None:
    s = load_scenario(SCENARIOS / "example_licence.yaml")
    a = s.sample(np.random.default_rng(11))
    b = s.sample(np.random.default_rng(11))
    c = s.sample(np.random.default_rng(12))
    assert a == b
    assert a[1] != c[1]


def test_fixed_numbers_consume_no_randomness(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        events=[
            {**OUTAGE, "capacity_factor": {"dist": "fixed", "value": 0.25}},
            {
                "kind": "stockpile_release",
                "holder": "JPN",
                "commodity": "ndpr_oxide",
                "rate_per_day": 2,
            },
        ],
    )
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    events, values = s.sample(rng)
    assert rng.bit_generator.state == before
    assert values == {"events[0].capacity_factor": 0.25}  # a mapping is reported, a number not
    outage, release = events
    assert isinstance(outage, FacilityOutage) and outage.capacity_factor == 0.25
    assert outage.duration_days == 30.0
    assert isinstance(release, StockpileRelease) and release.threshold_share == 0.1


def test_draws_follow_the_documented_order(tmp_path: Path) -> None:
    dists = {
        "cap": {"dist": "triangular", "low": 0.1, "mode": 0.2, "high": 0.6},
        "dur": {"dist": "uniform", "low": 10, "high": 40},
        "rate": {"dist": "normal", "mean": 3, "sd": 1},
        "thr": {"dist": "bernoulli", "p": 0.5},
        "ban": {"dist": "lognormal", "mean": 200, "sd": 50},
        "app": {"dist": "uniform", "low": 0.2, "high": 0.4},
    }
    s = scenario(
        tmp_path,
        events=[
            {
                "kind": "stockpile_release",
                "holder": "JPN",
                "commodity": "ndpr_oxide",
                "threshold_share": dists["thr"],  # declared before rate_per_day, drawn after
                "rate_per_day": dists["rate"],
            },
            {**OUTAGE, "duration_days": dists["dur"], "capacity_factor": dists["cap"]},
            {
                "kind": "export_control",
                "id": "ban",
                "issuer": "CHN",
                "commodities": ["ndpr_oxide"],
                "destinations": {"blocs": ["allied"]},
                "start": "+90d",
                "regime": "license",
                "approval_probability": dists["app"],
                "review_days": {"dist": "uniform", "low": 5, "high": 50},  # engine draws it
                "duration_days": dists["ban"],
            },
        ],
    )
    events, values = s.sample(np.random.default_rng(2))
    rng = np.random.default_rng(2)
    order = [
        ("events[0].rate_per_day", "rate"),
        ("events[0].threshold_share", "thr"),
        ("events[1].capacity_factor", "cap"),
        ("events[1].duration_days", "dur"),
        ("events[2].duration_days", "ban"),
        ("events[2].approval_probability", "app"),
    ]
    expected = {path: Distribution(**dists[key]).draw(rng) for path, key in order}
    assert values == expected
    assert list(values) == [path for path, _ in order]
    control = events[2]
    assert isinstance(control, ExportControl)
    assert control.end == pytest.approx(90 + values["events[2].duration_days"])
    assert control.review_days == Distribution("uniform", low=5.0, high=50.0)


def test_draw_order_covers_every_parameter() -> None:
    def params(model: type) -> set[str]:
        return {
            name
            for name, info in model.model_fields.items()
            if "number" in repr(info.annotation) and "distribution" in repr(info.annotation)
        }

    models = {get_args(m.model_fields["kind"].annotation)[0]: m for m in get_args(AnyEventSpec)}
    models["export_control_change"] = ControlChangesSpec
    assert set(models) == set(DRAW_ORDER) == set(KIND_OF.values())
    for kind, model in models.items():
        # The reviews are handed to the engine, which draws them per licence application.
        reviews = {"review_days", "review_working_days"}
        assert set(DRAW_ORDER[kind]) == params(model) - reviews, kind
        assert params(model) <= set(BOUNDS)


def test_scenario_events_are_the_engine_events_in_file_form() -> None:
    # One definition per kind: the file form has the engine's fields, with the same
    # defaults and descriptions, plus kind and the file-only fields it derives from.
    derived = {
        "export_control": ({"duration_days"}, set()),
        "capacity_investment": (
            {"announced", "build_days", "completion_probability"},
            {"available_from", "completed"},
        ),
    }
    for spec in get_args(AnyEventSpec):
        kind = get_args(spec.model_fields["kind"].annotation)[0]
        engine = ENGINE_OF[kind]
        file_only, engine_only = derived.get(kind, (set(), set()))
        shared = set(engine.model_fields) - engine_only
        assert set(spec.model_fields) - {"kind"} - file_only == shared, kind
        for name in shared:
            e, s = engine.model_fields[name], spec.model_fields[name]
            assert (e.description, e.default) == (s.description, s.default), (kind, name)
            assert e.description


def test_draw_order_is_pinned() -> None:
    # Changing the order changes the draws, and so every result at a given seed. New
    # parameters go last (issue 11 added the last five of the controls).
    assert DRAW_ORDER == {
        "export_control": (
            "duration_days",
            "front_running_share",
            "approval_probability",
            "approved_share",
            "reapply_days",
            "quota_share",
            "covered_share",
            "application_interval_days",
            "licence_valid_days",
            "quota_t",
            "hold_release_share",
        ),
        "export_control_change": (
            "front_running_share",
            "approval_probability",
            "approved_share",
            "reapply_days",
            "quota_share",
            "covered_share",
            "application_interval_days",
            "licence_valid_days",
            "quota_t",
            "hold_release_share",
        ),
        "facility_outage": ("capacity_factor", "duration_days"),
        "stockpile_release": ("rate_per_day", "threshold_share"),
        "membership_change": (),
        "demand_change": ("factor",),
        "sourcing_policy": (),
        "capacity_investment": (
            "capacity_per_year",
            "build_days",
            "completion_probability",
            "ramp_up_days",
        ),
    }


def test_settings(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        settings={
            "review_days": 1,
            "stock_adjust_days": 14,
            "qualification_days": {
                "ndpr_oxide": {"dist": "triangular", "low": 60, "mode": 90, "high": 200},
                "ai_chip": 30,
            },
            "substitution_ramp_days": {"ndpr_oxide": 10},
        },
    )
    got = s.settings()
    assert got.review_days == 1.0 and got.stock_adjust_days == 14.0 and got.ramp_step_days == 1.0
    assert got.qualification_days == {
        "ndpr_oxide": Distribution("triangular", low=60.0, mode=90.0, high=200.0),
        "ai_chip": 30.0,
    }
    assert got.substitution_ramp_days == {"ndpr_oxide": 10.0}


def test_export_control_change_with_changes(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        events=[
            {
                "kind": "export_control",
                "id": "ban",
                "issuer": "CHN",
                "commodities": ["ndpr_oxide"],
                "destinations": {"blocs": ["allied"]},
                "start": "2025-04-04",
                "end": "2027-01-01",  # past the horizon is allowed for an end
                "quota_share": 0.5,
            },
            {
                "kind": "export_control_change",
                "control": "ban",
                "date": "+200d",
                "action": "ease",
                "changes": {
                    "quota_share": None,
                    "destinations": {"countries": ["USA"]},
                    "general_licences": [
                        {"buyers": {"facilities": ["jp_magnet"]}, "date": "+250d"}
                    ],
                },
            },
        ],
    )
    events, values = s.sample(np.random.default_rng(0))
    assert values == {}
    change = events[1]
    assert isinstance(change, ExportControlChange)
    assert change.changes["quota_share"] is None
    assert set(change.changes) == {"quota_share", "destinations", "general_licences"}


# ---------------------------------------------------------------- extends
def test_extends_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        {
            **HEAD,
            "replications": 4,
            "settings": {"review_days": 3, "stock_adjust_days": 30},
            "world": {
                "stockpiles": {
                    "mode": "extend",
                    "rows": [
                        {"holder": "USA", "commodity": "ndpr_oxide", "quantity": 10, "source": "t"},
                    ],
                }
            },
            "events": [OUTAGE, {**OUTAGE, "capacity_factor": 0.1}],
        },
    )
    child = write(
        tmp_path,
        "child.yaml",
        {
            "extends": "base.yaml",
            "name": "child",
            "settings": {"review_days": 1},
            "world": {
                "stockpiles": {
                    "rows": [
                        {
                            "holder": "allied",
                            "commodity": "ndpr_oxide",
                            "quantity": 20,
                            "source": "t",
                        },
                    ]
                }
            },
            "events": [{**OUTAGE, "capacity_factor": 0.9}],
        },
    )
    s = load_scenario(child)
    assert (s.name, s.seed, s.replications, s.extends) == ("child", 3, 4, "base.yaml")
    assert s.settings_spec.review_days == 1.0  # from the child
    assert s.settings_spec.stock_adjust_days == 30.0  # kept from the base
    assert len(s.events) == 1 and isinstance(s.events[0], FacilityOutageSpec)
    assert s.events[0].capacity_factor == 0.9
    holders = list(s.world()["stockpiles"]["holder"])
    assert holders == ["JPN", "allied"]  # mode extend kept from the base, rows replaced


def test_extends_is_recursive_and_table_paths_follow_their_file(tmp_path: Path) -> None:
    csv = (
        "facility,type,country,commodity,capacity_per_year,source\n"
        "jp_refiner,refiner,JPN,ndpr_oxide,2000,t\n"
    )
    write(tmp_path, "lib/tables/extra.csv", csv)
    write(
        tmp_path,
        "lib/root.yaml",
        {**HEAD, "world": {"facilities": {"mode": "extend", "path": "tables/extra.csv"}}},
    )
    write(tmp_path, "lib/middle.yaml", {"extends": "root.yaml", "seed": 9})
    # Bases may sit below the top file's folder (never above it: see test_hostile_input.py).
    top = write(tmp_path, "top.yaml", {"extends": "lib/middle.yaml", "name": "top"})
    s = load_scenario(top)
    assert (s.name, s.seed) == ("top", 9)
    assert [f.name for f in s.files] == ["top.yaml", "middle.yaml", "root.yaml", "extra.csv"]
    assert all(f.is_file() for f in s.files)
    assert "jp_refiner" in set(s.world().facilities["facility"])


def test_error_names_the_file_that_gave_the_value(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", {**HEAD, "events": [{**OUTAGE, "capacity_factor": 2}]})
    inherits = write(tmp_path, "inherits.yaml", {"extends": "base.yaml", "name": "x"})
    with pytest.raises(InputError) as err:
        load_scenario(inherits)
    assert Path(err.value.where).name == "base.yaml"
    assert err.value.field == "events[0].capacity_factor"
    overrides = write(
        tmp_path,
        "overrides.yaml",
        {"extends": "base.yaml", "events": [{**OUTAGE, "start": "2030-01-01"}]},
    )
    with pytest.raises(InputError) as err:
        load_scenario(overrides)
    assert Path(err.value.where).name == "overrides.yaml"
    assert err.value.field == "events[0].start"


def test_from_dict(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", {**HEAD, "events": [OUTAGE]})
    s = Scenario.from_dict({"extends": "base.yaml", "name": "d"}, base_dir=tmp_path)
    assert s.name == "d" and len(s.events) == 1
    with pytest.raises(InputError) as err:
        Scenario.from_dict({**HEAD, "seed": "x"}, source="inline")
    assert str(err.value).startswith("inline: seed: ")


def test_check_on_a_model_built_in_python() -> None:
    s = Scenario.model_validate({**HEAD, "events": [{**OUTAGE, "select": {"countries": ["FRA"]}}]})
    with pytest.raises(InputError) as err:
        s.check()
    assert str(err.value).startswith("scenario: events[0].select.countries[0]: unknown country")


# ---------------------------------------------------------------- world tables
def test_inline_tables_replace_and_extend(tmp_path: Path) -> None:
    row = {"holder": "USA", "commodity": "ndpr_oxide", "quantity": 10, "source": "t"}
    replaced = scenario(tmp_path, world={"stockpiles": {"mode": "replace", "rows": [row]}})
    assert list(replaced.world()["stockpiles"]["holder"]) == ["USA"]
    extended = scenario(tmp_path, world={"stockpiles": {"mode": "extend", "rows": [row]}})
    assert list(extended.world()["stockpiles"]["holder"]) == ["JPN", "USA"]
    emptied = scenario(tmp_path, world={"stockpiles": {"mode": "replace", "rows": []}})
    assert emptied.world()["stockpiles"].empty
    dated = scenario(
        tmp_path,
        world={
            "facilities": {
                "mode": "extend",
                "rows": [{**JP_REFINER, "available_from": dt.date(2026, 1, 1)}],
            }
        },
    )
    new = dated.world().facilities.set_index("facility").loc["jp_refiner"]
    assert new["available_from"] == np.datetime64("2026-01-01")
    assert new["capacity_per_year"] == 2000.0


def test_path_tables_replace_and_extend(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tables/lanes.csv",
        "origin,destination,transport_days,source\n*,*,10,t\n",
    )
    write(
        tmp_path,
        "tables/more_facilities.csv",
        "facility,type,country,commodity,capacity_per_year,source\n"
        "jp_refiner,refiner,JPN,ndpr_oxide,2000,t\n",
    )
    s = scenario(
        tmp_path,
        world={
            "lanes": {"mode": "replace", "path": "tables/lanes.csv"},
            "facilities": {"mode": "extend", "path": "tables/more_facilities.csv"},
        },
    )
    world = s.world()
    assert world["lanes"]["transport_days"].tolist() == [10.0]
    assert world.facilities["facility"].tolist()[-1] == "jp_refiner"
    assert len(world.facilities) == 9


def test_world_without_base(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        scenario(tmp_path, world={"base": None})
    assert err.value.field == "world.countries"
    assert "required table is missing" in err.value.problem


def test_world_spec_covers_every_table() -> None:
    assert set(WorldSpec.model_fields) - {"base", "as_of"} == set(TABLES)


# ---------------------------------------------------------------- broken files
def _expectations(path: Path) -> tuple[str, str]:
    """Each broken file says what it breaks in its header: ``# field: <YAML path>`` (the
    error's field, exactly) and ``# problem: <text>`` (a part of the error's problem)."""
    lines = path.read_text().splitlines()
    field = next(line.removeprefix("# field: ") for line in lines if line.startswith("# field: "))
    problem = next(
        line.removeprefix("# problem: ") for line in lines if line.startswith("# problem: ")
    )
    return field, problem


BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


def test_there_are_enough_broken_files() -> None:
    assert len(BROKEN_FILES) >= 30


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_scenario(path: Path) -> None:
    field, problem = _expectations(path)
    with pytest.raises(InputError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert path.name in msg
    assert err.value.field == field
    assert problem in err.value.problem
    assert msg.startswith(f"{err.value.where}: {field}: ")
    assert msg.split("; fix: ", 1)[1].strip()


def test_python_tags_are_refused_by_safe_load() -> None:
    text = (BROKEN / "python_object_tag.yaml").read_text()
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(text)


def test_missing_file() -> None:
    with pytest.raises(InputError) as err:
        load_scenario(BROKEN / "no_such_file.yaml")
    assert "no_such_file.yaml: -: file not found" in str(err.value)


# ---------------------------------------------------------------- schema
def test_schema_file_is_up_to_date() -> None:
    committed = (SCENARIOS / "paxsim.schema.json").read_text()
    assert committed == json_schema_text(), (
        "scenarios/paxsim.schema.json is stale: run python -m sim.scenario"
    )


def test_schema_uses_yaml_keys() -> None:
    schema = json_schema()
    assert json.loads(json_schema_text()) == schema
    props = schema["properties"]
    assert {"settings", "world", "events", "extends"} <= set(props)
    assert "settings_spec" not in props
    assert schema["then"]["required"] == ["name", "start", "horizon_days", "seed"]
    kinds = schema["properties"]["events"]["items"]["discriminator"]["mapping"]
    assert set(kinds) == set(get_args(ExportControlSpec.model_fields["kind"].annotation)) | {
        "export_control_change",
        "facility_outage",
        "stockpile_release",
        "membership_change",
        "demand_change",
        "capacity_investment",
        "sourcing_policy",
    }


def test_policy_events_sample_and_convert(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "name: policies\nstart: 2025-01-01\nhorizon_days: 200\nseed: 1\n"
        "world:\n  base: example\n  countries:\n    mode: extend\n"
        "    rows: [{country: IND, name: India, bloc: nonaligned, source: test}]\n"
        "events:\n"
        "  - {kind: membership_change, country: IND, bloc: allied, date: +30d}\n"
        "  - kind: demand_change\n    factor: {dist: uniform, low: 1.1, high: 1.3}\n"
        "    date: 2025-03-01\n    commodities: [compute]\n"
    )
    scenario = load_scenario(path)
    events, params = scenario.sample(np.random.default_rng(3))
    join, change = events
    assert (join.country, join.bloc, join.date) == ("IND", "allied", "+30d")
    # One uniform draw, the first of the generator: 1.1 + 0.2 x U.
    u = np.random.default_rng(3).uniform(1.1, 1.3)
    assert change.factor == params["events[1].factor"] == u
    assert change.commodities == ("compute",)


def test_capacity_investment_draws_build_time_and_completion(tmp_path: Path) -> None:
    path = tmp_path / "invest.yaml"
    path.write_text(
        "name: invest\nstart: 2025-01-01\nhorizon_days: 400\nseed: 1\n"
        "events:\n"
        "  - kind: capacity_investment\n    facility: us_refiner_2\n    expands: us_refiner\n"
        "    capacity_per_year: 6000\n    announced: +30d\n"
        "    build_days: {dist: uniform, low: 100, high: 200}\n"
        "    completion_probability: 0.5\n    ramp_up_days: 30\n"
    )
    scenario = load_scenario(path)
    (event,), params = scenario.sample(np.random.default_rng(7))
    # Draw order: build_days (uniform), then completion (a Bernoulli(0.5) draw).
    rng = np.random.default_rng(7)
    build = rng.uniform(100, 200)
    completed = rng.random() < 0.5
    assert event.available_from == 30 + build == 30 + params["events[0].build_days"]
    assert event.completed is completed
    assert params["events[0].completed"] == float(completed)
    assert (event.expands, event.capacity_per_year, event.ramp_up_days) == ("us_refiner", 6000, 30)
