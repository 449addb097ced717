"""The headline table of ``paxsim run``, on a hand-made metrics table with answers by hand."""

import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import BUNDLED, app
from sim.errors import InputError
from sim.headline import (
    COLUMNS,
    headline_csv,
    headline_json,
    headline_notes,
    headline_table,
    onset_summary,
    print_headline,
    stage_order,
)

NAN = math.nan
START = dt.date(2025, 1, 1)
# Day 93 is 2025-04-04; replication 2's onset at 93.5 counts from day 93, as the metrics do.
REPLICATIONS = pd.DataFrame({"replication": [0, 1, 2, 3], "t0_day": [93.0, 93.0, 93.5, 100.0]})

OUTPUT_METRICS = [
    "output_loss",
    "output_loss_share",
    "peak_shortfall_share",
    "time_to_survive_days",
    "time_to_recover_days",
]
UNITS = {"output_loss_share": "share", "peak_shortfall_share": "share"}

# Per replication; None: the row is absent (TTR where output never fell below theta).
MAGNET = {
    "output_loss": [10.0, 20.0, 30.0, 50.0],
    "output_loss_share": [0.1, 0.2, 0.3, 0.5],
    "peak_shortfall_share": [0.4, 0.9, 0.6, 0.8],
    "time_to_survive_days": [70.0, 50.0, NAN, 60.0],
    "time_to_recover_days": [300.0, NAN, None, 200.0],
}
DC = {
    "output_loss": [0.0, 0.0, 0.0, 4.0],
    "output_loss_share": [0.0, 0.0, 0.0, 0.04],
    "peak_shortfall_share": [0.0, 0.0, 0.0, 0.2],
    "time_to_survive_days": [NAN, NAN, NAN, NAN],
    "time_to_recover_days": [None, None, None, 3.0],
}
SUBSTITUTION = {
    "ndpr_oxide": [120.0, 130.0, NAN, 110.0],
    "dytb_oxide": [NAN, 200.0, None, NAN],
}


def _rows(kind, scope, stage, commodity, unit, values, substitution=None):
    rows = []
    for r in range(4):
        for metric in OUTPUT_METRICS:
            value = values[metric][r]
            if value is None:
                continue
            metric_unit = unit if metric == "output_loss" else UNITS.get(metric, "days")
            rows.append(
                (r, kind, scope, stage, commodity, metric, value, metric_unit, math.isnan(value))
            )
        for com, per_rep in (substitution or {}).items():
            value = per_rep[r]
            if value is not None:
                row = (r, kind, scope, stage, com, "substitution_time_days", value, "days")
                rows.append((*row, math.isnan(value)))
    return rows


def metrics_table() -> pd.DataFrame:
    rows = (
        _rows("bloc", "allied", "data_center", "compute", "MW_day", DC)
        + _rows("bloc", "allied", "magnet_fab", "ndfeb_magnet", "t", MAGNET, SUBSTITUTION)
        + _rows("world", "world", "magnet_fab", "ndfeb_magnet", "t", MAGNET, SUBSTITUTION)
        + _rows("country", "USA", "magnet_fab", "ndfeb_magnet", "t", MAGNET)
    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "replication",
            "scope_kind",
            "scope",
            "stage",
            "commodity",
            "metric",
            "value",
            "unit",
            "censored",
        ],
    )
    frame.insert(1, "seed", 7)
    return frame.sort_values(["replication"], kind="stable").reset_index(drop=True)


@pytest.fixture
def table() -> pd.DataFrame:
    return headline_table(metrics_table(), REPLICATIONS, start=START, scenario="hand")


def row(table: pd.DataFrame, scope: str, stage: str) -> pd.Series:
    sel = table[(table["scope"] == scope) & (table["stage"] == stage)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_rows_world_first_then_blocs_and_stages_in_chain_order(table: pd.DataFrame) -> None:
    assert list(table.columns) == COLUMNS
    keys = list(zip(table["scope"], table["stage"], table["commodity"], strict=True))
    assert keys == [
        ("world", "magnet_fab", "ndfeb_magnet"),
        ("allied", "magnet_fab", "ndfeb_magnet"),
        ("allied", "data_center", "compute"),
    ]
    assert (table["scenario"] == "hand").all() and (table["replications"] == 4).all()
    assert list(table["unit"]) == ["t", "t", "MW_day"]


def test_loss_share_mean_p95_and_peak_shortfall_median(table: pd.DataFrame) -> None:
    magnet = row(table, "allied", "magnet_fab")
    assert magnet["loss_share_mean"] == pytest.approx(0.275)
    # p95 of 0.1, 0.2, 0.3, 0.5 by linear interpolation: position 3 x 0.95 = 2.85,
    # 0.3 + 0.85 x (0.5 - 0.3).
    assert magnet["loss_share_p95"] == pytest.approx(0.47)
    assert magnet["peak_shortfall_share_p50"] == pytest.approx(0.7)  # (0.6 + 0.8) / 2


def test_time_to_survive_median_over_reached_and_its_date(table: pd.DataFrame) -> None:
    magnet = row(table, "allied", "magnet_fab")
    assert magnet["tts_days_p50"] == 60.0  # median of 70, 50, 60 (replication 2 censored)
    assert magnet["tts_reached_share"] == 0.75
    # Dates: day 93 + 70 = 163, 93 + 50 = 143, 100 + 60 = 160; median day 160 = 2025-06-10
    # (not 93 + 60 = 153: the date is the median of the replications' own dates).
    assert magnet["tts_date"] == pd.Timestamp("2025-06-10")


def test_time_to_recover_counts_an_absent_value_as_not_reached(table: pd.DataFrame) -> None:
    magnet = row(table, "allied", "magnet_fab")
    # Reached in replications 0 and 3; censored in 1; absent in 2 (output never dipped).
    assert magnet["ttr_days_p50"] == 250.0
    assert magnet["ttr_reached_share"] == 0.5
    assert magnet["ttr_absent_share"] == 0.25
    # Days 93 + 300 = 393 and 100 + 200 = 300: median 346.5, the earlier day 346 = 2025-12-13.
    assert magnet["ttr_date"] == pd.Timestamp("2025-12-13")
    dc = row(table, "allied", "data_center")
    assert dc["ttr_days_p50"] == 3.0 and dc["ttr_reached_share"] == 0.25
    assert dc["ttr_absent_share"] == 0.75
    assert np.isnan(dc["tts_days_p50"]) and pd.isna(dc["tts_date"])
    assert dc["tts_reached_share"] == 0.0


def test_substitution_one_entry_per_restricted_input(table: pd.DataFrame) -> None:
    magnet = row(table, "allied", "magnet_fab")
    assert magnet["substitution"] == "dytb_oxide 200 d (25 %); ndpr_oxide 120 d (75 %)"
    # The slowest input is the one reached in the fewest replications.
    assert magnet["substitution_input"] == "dytb_oxide"
    assert magnet["substitution_days_p50"] == 200.0
    assert magnet["substitution_reached_share"] == 0.25
    dc = row(table, "allied", "data_center")
    assert dc["substitution"] == "" and dc["substitution_input"] == ""
    assert np.isnan(dc["substitution_days_p50"]) and np.isnan(dc["substitution_reached_share"])


def test_substitution_of_a_stage_with_two_outputs_follows_its_output_group() -> None:
    rows = []
    for com, subst in (("gallium", 40.0), ("germanium", NAN)):
        rows += [
            (0, "world", "world", "metal_refiner", com, "output_loss", 1.0, "t", False),
            (0, "world", "world", "metal_refiner", com, "output_loss_share", 0.1, "share", False),
            (0, "world", "world", "metal_refiner", "ore", "substitution_time_days", subst, "days")
            + (math.isnan(subst),),
        ]
    columns = ["replication", "scope_kind", "scope", "stage", "commodity", "metric"]
    metrics = pd.DataFrame(rows, columns=[*columns, "value", "unit", "censored"])
    reps = pd.DataFrame({"replication": [0], "t0_day": [np.nan]})
    out = headline_table(metrics, reps, start="2025-01-01").set_index("commodity")
    assert out.loc["gallium", "substitution"] == "ore 40 d (100 %)"
    assert out.loc["germanium", "substitution"] == "ore - (0 %)"


def test_stage_order_keeps_unknown_stages_between_materials_and_compute() -> None:
    stages = ["data_center", "cathode_plant", "mine", "chip_fab", "anode", "refiner", "mine"]
    assert stage_order(stages) == [
        "mine",
        "refiner",
        "anode",
        "cathode_plant",
        "chip_fab",
        "data_center",
    ]
    known = ["magnet_user", "magnet_fab", "metal_refiner", "heavy_refiner", "refiner", "mine"]
    assert stage_order(known) == known[::-1]


def test_csv_parses_back_to_the_same_numbers(table: pd.DataFrame) -> None:
    text = headline_csv(table)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    numeric = [c for c in COLUMNS if pd.api.types.is_float_dtype(table[c])]
    assert "loss_share_p95" in numeric and "tts_days_p50" in numeric
    pd.testing.assert_frame_equal(back[numeric], table[numeric], check_exact=True)
    assert list(back["tts_date"].fillna("")) == ["2025-06-10", "2025-06-10", ""]
    dc_line = text.splitlines()[3]
    assert dc_line.startswith("hand,bloc,allied,data_center,compute,MW_day,4,")
    assert ",,,0.0," in dc_line  # TTS: no median, no date, reached by none
    assert headline_csv(table, header=False) == "".join(
        line + "\n" for line in text.splitlines()[1:]
    )


def test_json_parses_back_to_the_same_numbers(table: pd.DataFrame) -> None:
    records = json.loads(headline_json(table))
    assert [list(r) for r in records] == [COLUMNS] * 3
    magnet = records[1]
    assert magnet["scope"] == "allied" and magnet["stage"] == "magnet_fab"
    assert magnet["loss_share_p95"] == table.loc[1, "loss_share_p95"]
    assert magnet["tts_date"] == "2025-06-10" and magnet["ttr_date"] == "2025-12-13"
    assert magnet["replications"] == 4
    dc = records[2]
    assert dc["tts_days_p50"] is None and dc["tts_date"] is None
    assert dc["substitution_days_p50"] is None


def test_printed_table_is_plain_with_units_and_a_footnote(table: pd.DataFrame) -> None:
    out = io.StringIO()
    onset = onset_summary(REPLICATIONS, START)
    print_headline(table, theta=0.95, k=7, title=f"hand: {onset}", file=out)
    text = out.getvalue()
    assert "\x1b[" not in text  # no colours outside a terminal
    lines = text.splitlines()
    assert all(len(line) <= 160 and line == line.rstrip() for line in lines)
    assert "varies from 2025-04-04 to 2025-04-11" in lines[0]
    headers = ("mean %", "p95 %", "TTS days", "TTS date", "TTR days", "TTR date", "theta %")
    for header in headers:
        assert header in text
    assert "2025-06-10" in text and "2025-12-13" in text
    assert "dytb_oxide 200 d (25 %)" in text and "ndpr_oxide 120 d (75 %)" in text
    assert "MW_day = one megawatt of AI data-center IT load running for one day" in text
    assert "theta = 95 % of baseline output, held for k = 7 days" in text
    assert len(headline_notes(table)) == 10


def test_onset_summary_without_and_with_one_onset() -> None:
    none = pd.DataFrame({"replication": [0], "t0_day": [np.nan]})
    assert onset_summary(none, "2025-01-01").endswith("from the start of the run, 2025-01-01")
    one = pd.DataFrame({"replication": [0, 1], "t0_day": [93.0, 93.0]})
    assert "t0 = 2025-04-04" in onset_summary(one, START)


def test_replications_without_t0_day_are_refused() -> None:
    with pytest.raises(InputError, match="t0_day"):
        headline_table(metrics_table(), REPLICATIONS[["replication"]], start=START)


runner = CliRunner()
BAN = BUNDLED / "example_ban.yaml"
LICENCE = BUNDLED / "example_licence.yaml"


def test_run_prints_csv_for_scripts(tmp_path) -> None:
    args = ["run", str(BAN), str(LICENCE), "--replications", "2", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ",".join(COLUMNS)  # one header for both runs
    back = pd.read_csv(io.StringIO(result.stdout))
    assert list(back["scenario"].unique()) == ["ndpr_ban", "ndpr_licence"]
    dc = back[(back["scope"] == "world") & (back["stage"] == "data_center")]
    assert len(dc) == 2 and (dc["replications"] == 2).all()
    assert dc["unit"].tolist() == ["MW_day", "MW_day"]
    assert (dc["loss_share_mean"] > 0).all()
    assert "ndpr_ban: 2 replications ->" in result.stderr


def test_run_prints_json_for_scripts(tmp_path) -> None:
    args = ["run", str(BAN), "--replications", "2", "--out", str(tmp_path), "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records and all(list(r) == COLUMNS for r in records)
    assert records[0]["scope"] == "world" and records[0]["stage"] == "mine"
    assert "replications ->" in result.stderr


def test_run_prints_the_table_with_its_footnote(tmp_path) -> None:
    result = runner.invoke(app, ["run", str(BAN), "--replications", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].startswith("ndpr_ban: 2 replications -> ")
    assert "ndpr_ban (2 replications): days count from t0 = 2025-04-04" in out
    assert "TTS date" in out and "compute (MW_day)" in out
    assert "MW_day = one megawatt of AI data-center IT load running for one day" in out
    assert "median over the replications that reached it only" in out


def test_run_refuses_an_unknown_format_in_one_line(tmp_path) -> None:
    args = ["run", str(BAN), "--replications", "2", "--out", str(tmp_path), "--format", "xml"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: paxsim run: --format: 'xml'")
    assert not any(tmp_path.iterdir())  # refused before running


def test_stages_given_in_the_world_chain_order_are_followed() -> None:
    out = headline_table(metrics_table(), REPLICATIONS, start=START, stages=("data_center", "mine"))
    assert list(out["stage"]) == ["magnet_fab", "data_center", "magnet_fab"]
