import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import BUNDLED, app
from sim.tables import TABLES, data_dictionary

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == sim.__version__


def test_example_prints_every_facility() -> None:
    result = runner.invoke(app, ["example", "--ban-days", "365", "--horizon-days", "1000"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "output_loss_share" in lines[0]
    rows = {line.split()[0]: line.split()[2:] for line in lines[2:]}
    assert set(rows) == set(sim.example_world().facilities["facility"])
    # The magnet fab is hit first (TTS in days after the ban's start on 2025-04-04).
    assert float(rows["jp_magnet"][1]) < float(rows["us_chip_fab"][1]) < float(rows["us_dc"][1])


def test_example_rejects_a_bad_option() -> None:
    result = runner.invoke(app, ["example", "--ban-days", "0"])
    assert result.exit_code == 2


def test_data_dictionary_lists_every_column_with_its_unit() -> None:
    text = data_dictionary()
    for table in TABLES.values():
        assert f"## `{table.filename}`" in text
        for column in table.columns:
            assert f"| `{column.name}` | {column.dtype} | {column.unit} |" in text


BAN = BUNDLED / "example_ban.yaml"
LICENCE = BUNDLED / "example_licence.yaml"


def test_run_writes_a_result_folder_readable_in_pandas(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", str(BAN), "--replications", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "ndpr_ban" / "summary.csv")
    world_dc = summary[
        (summary["scope_kind"] == "world")
        & (summary["stage"] == "data_center")
        & (summary["metric"] == "output_loss_share")
    ]
    assert world_dc["n"].iloc[0] == 3
    assert 0 < world_dc["mean"].iloc[0] < 1
    assert "loss_share_mean" in result.stdout


def test_jobs_do_not_change_the_summary(tmp_path: Path) -> None:
    files = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        args = ["run", str(BAN), "--replications", "4", "--jobs", jobs, "--out", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        files.append((out / "ndpr_ban" / "summary.csv").read_bytes())
    assert files[0] == files[1]
    for table in ("series", "replications", "metrics"):
        one, two = (pd.read_parquet(tmp_path / j / "ndpr_ban" / f"{table}.parquet") for j in "12")
        pd.testing.assert_frame_equal(one, two)


def test_compare_writes_paired_differences(tmp_path: Path) -> None:
    out = tmp_path / "results"
    args = ["compare", str(BAN), str(LICENCE), "--replications", "3", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    diff = pd.read_csv(out / "compare-ndpr_ban-vs-ndpr_licence.csv")
    row = diff[
        (diff["scope_kind"] == "world")
        & (diff["stage"] == "magnet_fab")
        & (diff["metric"] == "output_loss")
    ]
    # A ban loses at least as much as a licence regime on the same seeds.
    assert row["mean"].iloc[0] > 0
    assert row["a_better_share"].iloc[0] == 0
    # Comparing the two folders written above gives the same table.
    again = runner.invoke(
        app, ["compare", str(out / "ndpr_ban"), str(out / "ndpr_licence"), "--out", str(out)]
    )
    assert again.exit_code == 0, again.output
    assert pd.read_csv(out / "compare-ndpr_ban-vs-ndpr_licence.csv").equals(diff)


def test_validate_list_and_schema() -> None:
    result = runner.invoke(app, ["validate", str(BAN), str(LICENCE)])
    assert result.exit_code == 0 and result.stdout.count("ok:") == 2
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "example_ban.yaml" in listed.stdout
    schema = runner.invoke(app, ["schema"])
    assert schema.exit_code == 0
    assert schema.stdout == (BUNDLED / "paxsim.schema.json").read_text()
    assert json.loads(schema.stdout)["title"] == "paxsim scenario"


@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_input_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(BAN.read_text().replace("horizon_days:", "horizon_dayz:"))
    result = runner.invoke(
        app,
        [command, str(bad), "--out", str(tmp_path)] if command == "run" else [command, str(bad)],
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "typo.yaml" in lines[0] and "horizon_dayz" in lines[0]
    assert "Traceback" not in result.output


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


BROKEN = sorted((Path(__file__).parent / "broken_scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_every_broken_scenario_is_refused_in_one_line(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert path.name in lines[0], lines[0]
    assert "fix:" in lines[0]
    where, field, _ = lines[0].removeprefix("error: ").split(": ", 2)
    assert field, lines[0]  # the YAML path, or '-' for a file that is empty or not a mapping
    assert "Traceback" not in result.output


def test_enough_broken_scenarios() -> None:
    assert len(BROKEN) >= 30


def test_readme_scenario_example_validates(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("```yaml\n")[1].split("```")[0]
    (tmp_path / "example_ban.yaml").write_text(BAN.read_text())
    (tmp_path / "readme.yaml").write_text(block)
    result = runner.invoke(app, ["validate", str(tmp_path / "readme.yaml")])
    assert result.exit_code == 0, result.output


def test_compare_refuses_unpaired_runs(tmp_path: Path) -> None:
    one = runner.invoke(app, ["compare", str(BAN)])
    assert one.exit_code == 2 and "at least two" in one.stderr
    for seed, name in (("1", "a"), ("2", "b")):
        result = runner.invoke(
            app,
            ["run", str(BAN), "--replications", "2", "--seed", seed, "--out", str(tmp_path / name)],
        )
        assert result.exit_code == 0, result.output
    mixed = runner.invoke(
        app, ["compare", str(tmp_path / "a" / "ndpr_ban"), str(tmp_path / "b" / "ndpr_ban")]
    )
    assert mixed.exit_code == 2
    assert "same --seed" in mixed.stderr and len(mixed.stderr.strip().splitlines()) == 1


def test_replay_prints_monthly_flows_and_scores_them(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(BAN), "--commodity", "ndpr_oxide"])
    assert result.exit_code == 0, result.output
    assert "2025-03" in result.stdout and "allied" in result.stdout
    observed = tmp_path / "observed.csv"
    observed.write_text(
        "month,origin,destination,commodity,quantity,source\n"
        "2025-01,CHN,allied,ndpr_oxide,320,test figure\n"
        "2025-05,CHN,allied,ndpr_oxide,10,test figure\n"
    )
    table_file = tmp_path / "replay.csv"
    args = ["replay", str(BAN), "--commodity", "ndpr_oxide", "--observed", str(observed)]
    scored = runner.invoke(app, [*args, "--output", str(table_file)])
    assert scored.exit_code == 0, scored.output
    table = pd.read_csv(table_file, dtype={"month": str}).set_index("month")
    scores = pd.read_csv(tmp_path / "replay_scores.csv").set_index("destination")
    # Simulated: January as printed above (jp_magnet's Chinese oxide, which grows with
    # compute demand: 359.2 t at four digits); May 0 t (the ban began on 4 April and the
    # lane takes 7 days). Errors +39.2 and -10: RMSE = sqrt((39.2^2 + 10^2) / 2) = 28.6;
    # MAPE = (39.2 / 320 + 10 / 10) / 2 = 0.561.
    jan = float(table.loc["2025-01", "simulated"])
    assert jan == pytest.approx(359.2, abs=0.05)
    assert float(table.loc["2025-05", "simulated"]) == 0.0
    row = scores.loc["allied"]
    assert row["n"] == 2
    assert row["rmse"] == pytest.approx(np.sqrt(((jan - 320) ** 2 + 100) / 2), rel=1e-9)
    assert row["mape"] == pytest.approx(((jan - 320) / 320 + 1) / 2, rel=1e-9)
    # Ratios to the pre-shock level (the shock month is 2025-04): observed, January alone
    # (320 t): 1 and 10/320; simulated, the mean of January-March.
    pre = table.loc[["2025-01", "2025-02", "2025-03"], "simulated"].mean()
    assert table.loc["2025-01", "observed_ratio"] == pytest.approx(1.0)
    assert table.loc["2025-05", "observed_ratio"] == pytest.approx(10 / 320)
    assert table.loc["2025-01", "simulated_ratio"] == pytest.approx(jan / pre)
    expected = np.sqrt(((jan / pre - 1.0) ** 2 + (0.0 - 10 / 320) ** 2) / 2)
    assert row["rmse_ratio"] == pytest.approx(expected, rel=1e-9)
    # Troughs: both at their lowest in May (simulated: 0 t from May until the ban, of a
    # drawn length, ends); back: the first month after it at >= 90 % of the level.
    assert row["trough_month_observed"] == "2025-05" and pd.isna(row["back_observed"])
    assert row["trough_simulated"] == 0.0 and row["trough_month_simulated"] == "2025-05"
    ratio = table["simulated_ratio"]
    assert row["back_simulated"] == ratio[(ratio.index > "2025-05") & (ratio >= 0.9)].index[0]


def test_replay_bands_over_replications_and_world_totals(tmp_path: Path) -> None:
    # Three replications of the licence example: the band holds the median, and the world
    # total is the bloc total here (every importer of Chinese oxide is allied).
    out = tmp_path / "bands.parquet"
    args = ["replay", str(LICENCE), "--commodity", "ndpr_oxide", "--replications", "3"]
    result = runner.invoke(app, [*args, "--by", "world", "--output", str(out), "--seed", "5"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert set(table["destination"]) == {"all"}
    assert (table["low"] <= table["simulated"]).all() and (
        table["simulated"] <= table["high"]
    ).all()
    assert (table["high"] > table["low"]).any()  # replications differ
    again = runner.invoke(app, [*args, "--by", "world", "--seed", "5"])
    assert again.stdout.splitlines()[1:] == result.stdout.splitlines()[1:-1]


def test_replay_refuses_an_observed_row_that_matches_nothing(tmp_path: Path) -> None:
    observed = tmp_path / "observed.csv"
    for row, field in (
        ("2025-01,CHN,nowhere,ndpr_oxide,3,test", "destination (line 3)"),
        ("2031-01,CHN,allied,ndpr_oxide,3,test", "month (line 3)"),
    ):
        observed.write_text(
            "month,origin,destination,commodity,quantity,source\n"
            f"2025-01,CHN,allied,ndpr_oxide,320,test\n{row}\n"
        )
        args = ["replay", str(BAN), "--commodity", "ndpr_oxide", "--observed", str(observed)]
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert field in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_replay_refuses_a_bad_observed_file(tmp_path: Path) -> None:
    observed = tmp_path / "observed.csv"
    observed.write_text("month,origin,destination,commodity,quantity\n2025-01,CHN,allied,x,1\n")
    args = ["replay", str(BAN), "--commodity", "ndpr_oxide", "--observed", str(observed)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "source" in result.stderr


def test_run_on_the_reference_world(tmp_path: Path) -> None:
    # A stage with two output commodities (metal_refiner: gallium and germanium) gets
    # one headline row per commodity.
    scenario = BUNDLED / "ree_controls_2025.yaml"
    args = ["run", str(scenario), "--replications", "1", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "gallium" in result.stdout and "germanium" in result.stdout
