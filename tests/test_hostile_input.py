"""Hostile and careless scenario input: every case is one InputError line, never a hang.

Each class of input the testers found gets a test here; the small cases are also files in
``tests/broken_scenarios/`` (run through the CLI by ``tests/test_cli.py``). Files that
are big by design (50 MB, a billion laughs, 10,000 levels, 1,000 ``extends``) are made
in ``tmp_path``, and the tests show that the limits stop them before the expensive part:
the file is never parsed, or no Python object is ever built from it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import sim.ensemble
import sim.scenario_yaml
from sim.cli import app
from sim.errors import InputError
from sim.scenario import (
    MAX_EXTENDS_DEPTH,
    MAX_HORIZON_DAYS,
    MAX_NAME_LENGTH,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    NAME_PATTERN,
    Scenario,
    load_scenario,
)
from sim.tables import read_table
from sim.world import World, load_world
from tests.event_worlds import supplier_consumer_tables

ROOT = Path(__file__).resolve().parent.parent
HEAD = "name: t\nstart: 2025-01-01\nhorizon_days: 365\nseed: 3\n"
OUTAGE = (
    "{kind: facility_outage, select: {facilities: [cn_refiner]}, capacity_factor: 0.5, "
    "start: +10d, duration_days: 30}"
)
SECRET = "TOP-SECRET-CONTENT"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused(path: Path) -> InputError:
    """Load ``path``, expecting one InputError line that names the file."""
    with pytest.raises(InputError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert "\n" not in msg and "\r" not in msg
    assert msg.startswith(f"{err.value.where}: {err.value.field}: ")
    assert msg.split("; fix: ", 1)[1].strip()
    return err.value


def never_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building Python objects from a composed YAML file fail the test."""

    def fail(self: object, node: object) -> None:
        raise AssertionError("the file was constructed before the limit stopped it")

    monkeypatch.setattr(sim.scenario_yaml.Loader, "construct_document", fail)


# ---------------------------------------------------------------- 1. the name is a folder name
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../victim", "starts with '.'"),
        ("/abs/path", "holds the character '/'"),
        ("a/b", "holds the character '/'"),
        (".", "starts with '.'"),
        ("..", "starts with '.'"),
        (".hidden", "starts with '.'"),
        ("n" * 300, "is 300 characters long"),
        ("a\nb", "holds the character '\\n'"),
        ("   ", "empty or blank"),
        ("", "empty or blank"),
        ("a b", "holds the character ' '"),
        ("C:\\x", "holds the character ':'"),
        ("caf\u00e9", "holds the character '\u00e9'"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, problem: str) -> None:
    path = write(tmp_path, "s.yaml", yaml.safe_dump({**yaml.safe_load(HEAD), "name": name}))
    err = refused(path)
    assert (err.where, err.field) == (str(path), "name")
    assert problem in err.problem
    assert "letters, digits" in err.fix


@pytest.mark.parametrize("name", ["ndpr_ban", "a", "A-1.b_c", "x" * MAX_NAME_LENGTH, "2025"])
def test_good_names_load(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "s.yaml", HEAD.replace("name: t", f"name: '{name}'"))
    assert load_scenario(path).name == name


def test_bundled_scenario_names_are_valid() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["name"]
        assert NAME_PATTERN.fullmatch(name), path.name
    assert load_scenario(ROOT / "scenarios" / "example_licence.yaml").name == "ndpr_licence"


# ---------------------------------------------------------------- 2. size, aliases, depth, extends
def test_a_50_mb_file_is_refused_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.write(HEAD.encode())
        f.truncate(50 * 1024 * 1024)  # sparse: cheap to make
    monkeypatch.setattr(sim.scenario_yaml, "Loader", None)  # parsing it would fail the test
    err = refused(path)
    assert (err.where, err.field) == (str(path), "-")
    assert f"more than the {MAX_YAML_BYTES} bytes (1 MB)" in err.problem


def test_a_file_just_over_the_size_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", HEAD + "#" * MAX_YAML_BYTES + "\n")
    assert refused(path).field == "-"


def _laughs(levels: int, width: int = 10) -> str:
    lines = [HEAD, 'description: &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "lol.yaml", _laughs(9))  # 10**9 strings after expansion
    never_build(monkeypatch)
    err = refused(path)
    # Stopped at the first list whose expansion passes the limit: l5 (10**5 items).
    assert err.field == "l5[0]"
    assert f"more than {MAX_YAML_NODES} YAML nodes" in err.problem
    assert "(line 11)" in err.problem


def test_billion_laughs_of_mappings_through_merge_keys_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [HEAD, "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for i in range(1, 10):
        refs = ", ".join(f"k{j}: *m{i - 1}" for j in range(10))
        lines.append(f"m{i}: &m{i} {{<<: *m{i - 1}, {refs}}}")
    path = write(tmp_path, "merge_lol.yaml", "\n".join(lines) + "\n")
    never_build(monkeypatch)
    err = refused(path)
    assert err.field.startswith("m3.") and "YAML nodes" in err.problem


def test_many_plain_nodes_are_refused_while_composing(tmp_path: Path) -> None:
    path = write(tmp_path, "wide.yaml", HEAD + f"events: [{', '.join(['1'] * 100_000)}]\n")
    err = refused(path)
    # The root, the head's keys and values (8 nodes), the events key and the list come
    # first: item k is node 12 + k.
    assert err.field == f"events[{MAX_YAML_NODES - 11}]"


def test_aliases_below_the_limits_load(tmp_path: Path) -> None:
    text = HEAD + (
        "events:\n"
        "  - &outage {kind: facility_outage, select: &cn {facilities: [cn_refiner]},\n"
        "             capacity_factor: 0.5, start: +10d, duration_days: 30}\n"
        "  - {kind: facility_outage, select: *cn, capacity_factor: 0.2, start: +60d,\n"
        "     duration_days: 5}\n"
    )
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert [ev.select.facilities for ev in s.events] == [("cn_refiner",), ("cn_refiner",)]


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path, style: str) -> None:
    if style == "flow":
        body = "events: " + "[" * 10_000 + "]" * 10_000 + "\n"
    else:
        body = "events:\n" + "".join("  " * i + "-\n" for i in range(1, 200))
    err = refused(write(tmp_path, "deep.yaml", HEAD + body))
    assert err.field == "events"
    assert f"nested more than {MAX_YAML_DEPTH} levels deep" in err.problem


def test_nesting_through_an_alias_counts_the_alias_depth(tmp_path: Path) -> None:
    half = MAX_YAML_DEPTH - 10
    text = HEAD + f"a: &a {'[' * half}{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    err = refused(write(tmp_path, "deep_alias.yaml", text))
    assert err.field == "b" and "nested more than" in err.problem


def test_a_mapping_that_contains_itself_is_refused(tmp_path: Path) -> None:
    err = refused(write(tmp_path, "s.yaml", HEAD + "settings: &s {review_days: 1, again: *s}\n"))
    assert err.field == "settings.again"
    assert "refers to a node that contains it" in err.problem


def _chain(folder: Path, n: int) -> Path:
    """``s0.yaml`` extends ``s1.yaml`` ... extends ``s<n>.yaml``, which holds the head."""
    for i in range(n):
        write(folder, f"s{i}.yaml", f"extends: s{i + 1}.yaml\nseed: {i}\n")
    write(folder, f"s{n}.yaml", HEAD)
    return folder / "s0.yaml"


def test_a_1000_file_extends_chain_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = _chain(tmp_path, 1000)
    read: list[str] = []
    original = sim.scenario_yaml.read_yaml

    def counting(path: Path, label: str) -> dict[str, Any]:
        read.append(path.name)
        return original(path, label)

    monkeypatch.setattr(sim.scenario_yaml, "read_yaml", counting)
    err = refused(top)
    assert err.field == "extends"
    assert Path(err.where).name == f"s{MAX_EXTENDS_DEPTH}.yaml"
    assert f"more than {MAX_EXTENDS_DEPTH} base files" in err.problem
    assert len(read) == MAX_EXTENDS_DEPTH + 1  # the rest were never opened


def test_an_extends_chain_at_the_limit_loads(tmp_path: Path) -> None:
    s = load_scenario(_chain(tmp_path, MAX_EXTENDS_DEPTH))
    assert s.seed == 0 and len(s.files) == MAX_EXTENDS_DEPTH + 1


def test_a_long_extends_cycle_is_refused(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path, f"c{i}.yaml", f"extends: c{(i + 1) % 3}.yaml\n")
    err = refused(tmp_path / "c0.yaml")
    assert err.field == "extends" and "extends cycle" in err.problem


def test_hostile_yaml_through_the_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for name, text in (
        ("lol.yaml", _laughs(9)),
        ("deep.yaml", HEAD + "events: " + "[" * 10_000 + "]" * 10_000 + "\n"),
    ):
        path = write(tmp_path, name, text)
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.output


# ---------------------------------------------------------------- 3. replications, seed, horizon
def test_the_largest_seed_validates_and_runs(tmp_path: Path) -> None:
    top = MAX_SEED - 1
    s = load_scenario(write(tmp_path, "s.yaml", HEAD.replace("seed: 3", f"seed: {top}")))
    ensemble = sim.ensemble.run_scenario(s.model_copy(update={"horizon_days": 30}), replications=1)
    assert ensemble.seed == top
    too_big = write(tmp_path, "t.yaml", HEAD.replace("seed: 3", f"seed: {MAX_SEED}"))
    err = refused(too_big)
    assert err.field == "seed" and "2**63" in err.fix


@pytest.mark.parametrize(
    ("field", "value", "fix"),
    [
        ("replications", MAX_REPLICATIONS + 1, f"give 1 to {MAX_REPLICATIONS} replications"),
        ("horizon_days", MAX_HORIZON_DAYS + 1, f"give 1 to {MAX_HORIZON_DAYS} days"),
        ("horizon_days", 10**9, "(100 years)"),
        ("seed", 2**70, "give 0 <= seed < 2**63"),
    ],
)
def test_run_sizes_have_upper_bounds(tmp_path: Path, field: str, value: int, fix: str) -> None:
    data = {**yaml.safe_load(HEAD), field: value}
    err = refused(write(tmp_path, "s.yaml", yaml.safe_dump(data)))
    assert err.field == field and err.problem == f"{value} is out of range"
    assert fix in err.fix


def test_a_number_too_long_to_convert_is_refused(tmp_path: Path) -> None:
    err = refused(write(tmp_path, "s.yaml", HEAD.replace("seed: 3", f"seed: {'9' * 5000}")))
    assert err.field == "seed" and err.problem == "a whole number of 5000 characters (line 4)"


def test_long_values_are_cut_short_in_messages(tmp_path: Path) -> None:
    text = HEAD + f"events:\n  - {OUTAGE.replace('cn_refiner', 'x' * 5000)}\n"
    err = refused(write(tmp_path, "s.yaml", text))
    assert err.field == "events[0].select.facilities[0]" and len(str(err)) < 400
    err = refused(write(tmp_path, "k.yaml", HEAD + "k" * 1000 + ": 1\n"))
    assert len(str(err)) < 400


def test_the_upper_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    text = HEAD.replace("horizon_days: 365", f"horizon_days: {MAX_HORIZON_DAYS}")
    s = load_scenario(write(tmp_path, "s.yaml", text + f"replications: {MAX_REPLICATIONS}\n"))
    assert (s.horizon_days, s.replications) == (MAX_HORIZON_DAYS, MAX_REPLICATIONS)


def test_a_run_ending_after_the_last_date_is_refused(tmp_path: Path) -> None:
    days_left = (dt.date.max - dt.date(9999, 6, 1)).days
    text = HEAD.replace("2025-01-01", "9999-06-01").replace("365", str(days_left))
    assert load_scenario(write(tmp_path, "ok.yaml", text)).horizon_days == days_left
    # An event outside the run used to crash while writing the message about it.
    late = text.replace(str(days_left), str(days_left + 1)) + f"events: [{OUTAGE}]\n"
    err = refused(write(tmp_path, "late.yaml", late.replace("+10d", "2025-01-01")))
    assert err.field == "horizon_days" and "would end after 9999-12-31" in err.problem
    assert f"give at most {days_left} days" in err.fix


# ---------------------------------------------------------------- 4. silently accepted before
CONTROL = (
    "  - {kind: export_control, id: ban, issuer: CHN, commodities: [ndpr_oxide],\n"
    "     destinations: {blocs: [allied]}, start: 2025-04-04%s}\n"
    "  - {kind: export_control_change, control: ban, date: %s, action: suspend}\n"
)


@pytest.mark.parametrize(
    ("announced", "date", "problem"),
    [
        ("", "2025-04-03", "is before control 'ban' starts (2025-04-04)"),
        (", announced: 2025-03-01", "2025-02-28", "is before control 'ban' is announced"),
        (", announced: +59d", "+58d", "is before control 'ban' is announced (+59d)"),
    ],
)
def test_a_change_before_its_control_is_known_is_refused(
    tmp_path: Path, announced: str, date: str, problem: str
) -> None:
    text = HEAD + "events:\n" + CONTROL % (announced, date)
    err = refused(write(tmp_path, "s.yaml", text))
    assert err.field == "events[1].date" and problem in err.problem


@pytest.mark.parametrize(
    ("announced", "date"),
    [("", "2025-04-04"), (", announced: 2025-03-01", "2025-03-01"), ("", "2025-06-01")],
)
def test_a_change_from_announcement_or_start_on_is_accepted(
    tmp_path: Path, announced: str, date: str
) -> None:
    s = load_scenario(write(tmp_path, "s.yaml", HEAD + "events:\n" + CONTROL % (announced, date)))
    assert len(s.events) == 2


def test_a_world_without_capacity_is_refused() -> None:
    tables = supplier_consumer_tables()
    tables["facilities"]["capacity_per_year"] = 0.0
    with pytest.raises(InputError) as err:
        World.from_tables(**tables)
    assert (err.value.where, err.value.field) == ("facilities.csv", "capacity_per_year")
    assert err.value.problem == "no facility has a capacity above 0"


def test_a_world_with_one_producer_left_is_accepted() -> None:
    tables = supplier_consumer_tables()
    tables["facilities"].loc[1:, "capacity_per_year"] = 0.0
    World.from_tables(**tables)


# ---------------------------------------------------------------- 5. nothing outside the folder
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the scenario folder, holding a file the scenario must never read."""
    folder = tmp_path / "outside"
    write(folder, "secret.csv", f"holder,commodity,quantity,source\n{SECRET},x,1,y\n")
    write(folder, "secret.yaml", f"name: {SECRET}\n{SECRET}: [\n")
    return folder


def _table(path: str) -> str:
    return HEAD + f"world:\n  stockpiles: {{mode: replace, path: '{path}'}}\n"


@pytest.mark.parametrize(
    "target", ["../outside/secret.csv", "sub/../../outside/secret.csv", "ABSOLUTE"]
)
def test_table_paths_outside_the_folder_are_refused(
    tmp_path: Path, outside: Path, target: str
) -> None:
    target = str(outside / "secret.csv") if target == "ABSOLUTE" else target
    err = refused(write(tmp_path, "scen/s.yaml", _table(target)))
    assert err.field == "world.stockpiles.path" and "is outside the folder" in err.problem
    assert SECRET not in str(err)


def test_extends_outside_the_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    for target in ("../outside/secret.yaml", str(outside / "secret.yaml")):
        err = refused(write(tmp_path, "scen/s.yaml", f"extends: '{target}'\nname: x\n"))
        assert err.field == "extends" and "is outside the folder" in err.problem
        assert SECRET not in str(err)


def test_symbolic_links_out_of_the_folder_are_refused(tmp_path: Path, outside: Path) -> None:
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "link.csv").symlink_to(outside / "secret.csv")
    (scen / "link.yaml").symlink_to(outside / "secret.yaml")
    (scen / "dir").symlink_to(outside, target_is_directory=True)
    for text, field in (
        (_table("link.csv"), "world.stockpiles.path"),
        (_table("dir/secret.csv"), "world.stockpiles.path"),
        ("extends: link.yaml\nname: x\n", "extends"),
    ):
        err = refused(write(scen, "s.yaml", text))
        assert err.field == field and "is outside the folder" in err.problem
        assert SECRET not in str(err)


def test_the_top_folder_bounds_every_file_of_the_chain(tmp_path: Path) -> None:
    # A base below the top folder may reach up to the top folder, not beyond it.
    write(tmp_path, "top/tables/s.csv", "holder,commodity,quantity,source\nUSA,ndpr_oxide,5,t\n")
    write(tmp_path, "top/lib/base.yaml", _table("../tables/s.csv"))
    s = load_scenario(write(tmp_path, "top/s.yaml", "extends: lib/base.yaml\n"))
    assert list(s.world()["stockpiles"]["holder"]) == ["USA"]
    write(tmp_path, "top/lib/far.yaml", _table("../../elsewhere.csv"))
    err = refused(write(tmp_path, "top/far.yaml", "extends: lib/far.yaml\n"))
    assert Path(err.where).name == "far.yaml" and err.field == "world.stockpiles.path"
    # The top file's folder is the bound: a top file cannot extend a sibling folder.
    write(tmp_path, "lib/base.yaml", HEAD)
    err = refused(write(tmp_path, "runs/top.yaml", "extends: ../lib/base.yaml\n"))
    assert err.field == "extends"


def test_from_dict_keeps_paths_inside_its_base_dir(tmp_path: Path, outside: Path) -> None:
    with pytest.raises(InputError) as err:
        Scenario.from_dict({"extends": "../outside/secret.yaml"}, base_dir=tmp_path / "x")
    assert err.value.field == "extends"


def test_yaml_errors_never_quote_the_file(tmp_path: Path) -> None:
    for text in (
        f"name: {SECRET}\n{SECRET}: [\n",
        f"name: x\n  {SECRET}: 1\n",
        f"{SECRET}: \t{SECRET}\n",
        f"- {SECRET}: *{SECRET}\n",
    ):
        err = refused(write(tmp_path, "s.yaml", text))
        assert SECRET not in str(err), str(err)


def test_a_binary_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: x\n\xff\xfe" + SECRET.encode())
    err = refused(path)
    assert "not UTF-8" in err.problem and SECRET not in str(err)


def test_csv_content_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    write(tmp_path, "head.csv", f'"{SECRET}\n\x1b[31mred",commodity\nx,y\n')
    err = refused(write(tmp_path, "a.yaml", _table("head.csv")))
    assert err.field == "world.stockpiles"  # the column has no name to show as a field
    assert "column 1" in err.problem and "\x1b" not in str(err)
    write(tmp_path, "cell.csv", 'holder,commodity,quantity,source\nUSA,ndpr_oxide,"1\n2",t\n')
    err = refused(write(tmp_path, "b.yaml", _table("cell.csv")))
    assert err.field == "world.stockpiles.path (cell.csv row 1).quantity"
    assert err.problem == "'1\\n2' is not a number"


# ---------------------------------------------------------------- 6. empty CSV files
def test_a_blank_csv_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "blank.csv", "\n\n")
    err = refused(write(tmp_path, "s.yaml", _table("blank.csv")))
    assert err.field == "world.stockpiles.path"
    assert err.problem == "file 'blank.csv': is empty (no header row)"
    assert "holder, commodity, quantity, source" in err.fix


def test_a_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    write(tmp_path, "none.csv", "holder,commodity,quantity,source\n")
    s = load_scenario(write(tmp_path, "s.yaml", _table("none.csv")))
    assert s.world()["stockpiles"].empty


def test_a_header_only_required_table_is_refused_by_the_world_checks(tmp_path: Path) -> None:
    write(tmp_path, "none.csv", "facility,type,country,commodity,capacity_per_year,source\n")
    text = HEAD + "world:\n  facilities: {mode: replace, path: none.csv}\n"
    err = refused(write(tmp_path, "s.yaml", text))
    assert err.field.startswith("world.")


def test_read_table_and_load_world_refuse_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "stockpiles.csv").write_text("")
    with pytest.raises(InputError) as err:
        read_table("stockpiles", tmp_path / "stockpiles.csv")
    assert (err.value.where, err.value.field) == (str(tmp_path / "stockpiles.csv"), "-")
    for name, frame in supplier_consumer_tables().items():
        if name != "stockpiles":
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(InputError) as err:
        load_world(tmp_path)
    assert "is empty" in err.value.problem


# ---------------------------------------------------------------- 7. YAML 1.2 numbers
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e6", 1_000_000.0),
        ("5e-1", 0.5),
        ("2.5E3", 2500.0),
        ("-1e2", -100.0),
        ("+1.e1", 10.0),
        ("-.5", -0.5),
        (".5e1", 5.0),
        ("1.0e+6", 1_000_000.0),
        ("0.5", 0.5),
        ("7", 7),
        ("'1e6'", "1e6"),
        ("e5", "e5"),
        ("1e", "1e"),
        ("1e6x", "1e6x"),
        (".inf", float("inf")),
    ],
)
def test_exponent_numbers_are_floats(tmp_path: Path, text: str, value: object) -> None:
    data = sim.scenario_yaml.read_yaml(write(tmp_path, "n.yaml", f"v: {text}\n"), "n.yaml")
    assert data["v"] == value and type(data["v"]) is type(value)


def test_exponent_numbers_are_accepted_where_numbers_are_expected(tmp_path: Path) -> None:
    text = HEAD + (
        "settings: {review_days: 5e-1}\n"
        "events:\n"
        "  - {kind: capacity_investment, facility: us_refiner_2, expands: us_refiner,\n"
        "     capacity_per_year: 1e4, announced: +30d, build_days: 1.5e2}\n"
    )
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert s.settings_spec.review_days == 0.5
    (ev,) = s.events
    assert (ev.capacity_per_year, ev.build_days) == (10_000.0, 150.0)


def test_an_exponent_where_an_integer_is_expected_is_explained(tmp_path: Path) -> None:
    err = refused(write(tmp_path, "s.yaml", HEAD + "replications: 1e2\n"))
    assert err.field == "replications"
    assert err.problem.startswith("100.0 is not a valid integer")
    assert err.fix == "write it as a whole number, e.g. 100"


# ---------------------------------------------------------------- 8. merge keys
def test_merge_keys_are_accepted(tmp_path: Path) -> None:
    text = HEAD + (
        "events:\n"
        f"  - &outage {OUTAGE}\n"
        "  - <<: *outage\n"
        "    start: +100d\n"
        "  - {<<: [*outage], capacity_factor: 0.1}\n"
    )
    s = load_scenario(write(tmp_path, "s.yaml", text))
    first, second, third = s.events
    assert second == first.model_copy(update={"start": "+100d"})
    assert third == first.model_copy(update={"capacity_factor": 0.1})


def test_two_merge_keys_in_one_mapping_are_refused(tmp_path: Path) -> None:
    text = HEAD + f"events:\n  - &o {OUTAGE}\n  - {{<<: *o, <<: *o}}\n"
    err = refused(write(tmp_path, "s.yaml", text))
    assert err.field == "events[1].<<" and "duplicate merge key" in err.problem


def test_a_merge_of_a_scalar_is_a_yaml_error(tmp_path: Path) -> None:
    err = refused(write(tmp_path, "s.yaml", HEAD + "settings: {<<: 5}\n"))
    assert err.field.startswith("line 5, column") and "invalid YAML" in err.problem


# ---------------------------------------------------------------- misc.
def test_a_folder_or_device_as_the_scenario_file_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path)
    assert err.problem == "is not a regular file"
    if os.path.exists("/dev/zero"):
        assert refused(Path("/dev/zero")).problem == "is not a regular file"


def test_inline_rows_with_a_newline_stay_on_one_line(tmp_path: Path) -> None:
    text = HEAD + (
        "world:\n  stockpiles:\n    mode: replace\n"
        '    rows: [{holder: "US\\nA", commodity: ndpr_oxide, quantity: 1, source: t}]\n'
    )
    err = refused(write(tmp_path, "s.yaml", text))
    assert err.field == "world.stockpiles.rows[0].holder" and "'US\\nA'" in err.problem


def test_a_seeded_run_uses_numpy_only_below_the_bound() -> None:
    # The reason for the bound: the run refuses what the scenario model now refuses.
    with pytest.raises(InputError):
        sim.ensemble.run_ensemble(
            "x",
            World.from_tables(**supplier_consumer_tables()),
            lambda rng: ([], {}),
            start="2025-01-01",
            horizon_days=5,
            seed=MAX_SEED,
            replications=1,
        )
    assert np.random.SeedSequence(MAX_SEED - 1).entropy == MAX_SEED - 1
