from typer.testing import CliRunner

import sim
from sim.cli import app
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
