"""Results folders: content, determinism across jobs, provenance and atomic writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim
from sim import sink
from sim.ensemble import Ensemble, run_ensemble
from sim.examples import example_ban
from sim.results import read_results, write_results

FILES = {
    "summary.csv",
    "series.parquet",
    "replications.parquet",
    "metrics.parquet",
    "trade.parquet",
    "timeline.parquet",
    "run.json",
}


def outage_or_ban(rng: np.random.Generator) -> tuple[list[sim.events.Event], dict[str, float]]:
    """A ban of uniform length starting on a uniform day (module level: picklable)."""
    days = float(rng.uniform(30, 200))
    start_day = int(rng.integers(10, 60))
    start = (np.datetime64("2025-01-01") + np.timedelta64(start_day, "D")).astype(str)
    return list(example_ban(start=str(start), days=round(days))), {
        "ban_days": days,
        "start_day": float(start_day),
    }


def run(world: sim.World, *, jobs: int = 1, seed: int = 3) -> Ensemble:
    return run_ensemble(
        "ban",
        world,
        outage_or_ban,
        start="2025-01-01",
        horizon_days=240,
        seed=seed,
        replications=4,
        jobs=jobs,
    )


@pytest.fixture(scope="module")
def world() -> sim.World:
    return sim.example_world()


@pytest.fixture(scope="module")
def ensemble(world: sim.World) -> Ensemble:
    return run(world)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "ban.toml"
    path.parent.mkdir()
    path.write_text('name = "ban"\n', encoding="utf-8")
    return path


def write(ensemble: Ensemble, folder: Path, world: sim.World, scenario: Path, **kw: bool) -> Path:
    return write_results(
        ensemble,
        folder,
        command="paxsim ensemble ban.toml --seed 3",
        scenario_files=[scenario],
        world=world,
        **kw,
    )


def test_round_trip(tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path) -> None:
    folder = write(ensemble, tmp_path / "out", world, scenario)
    assert folder == tmp_path / "out"
    assert {p.name for p in folder.iterdir()} == FILES
    back = read_results(folder)
    assert_frame_equal(back["summary"], ensemble.summary())  # type: ignore[arg-type]
    assert_frame_equal(back["series"], ensemble.series)  # type: ignore[arg-type]
    assert_frame_equal(back["metrics"], ensemble.metrics)  # type: ignore[arg-type]
    assert_frame_equal(back["replications"], ensemble.replication_table())  # type: ignore[arg-type]
    assert_frame_equal(back["trade"], ensemble.trade)  # type: ignore[arg-type]
    assert_frame_equal(back["timeline"], ensemble.timeline)  # type: ignore[arg-type]
    # No temporary siblings are left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]


def test_jobs_give_identical_files(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    one = write(ensemble, tmp_path / "one", world, scenario)
    two = write(run(world, jobs=2), tmp_path / "two", world, scenario)
    assert (one / "summary.csv").read_bytes() == (two / "summary.csv").read_bytes()
    a, b = read_results(one), read_results(two)
    for name in ("series", "metrics", "replications", "trade", "timeline"):
        assert_frame_equal(a[name], b[name])  # type: ignore[arg-type]
    run_a, run_b = a["run"], b["run"]
    assert isinstance(run_a, dict) and isinstance(run_b, dict)
    assert (run_a["jobs"], run_b["jobs"]) == (1, 2)
    for key in ("seed", "replications", "world_tables", "scenario_files"):
        assert run_a[key] == run_b[key]
    assert run_a["files"]["summary.csv"] == run_b["files"]["summary.csv"]


def test_other_seed_other_summary(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    one = write(ensemble, tmp_path / "one", world, scenario)
    other = write(run(world, seed=4), tmp_path / "other", world, scenario)
    assert (one / "summary.csv").read_bytes() != (other / "summary.csv").read_bytes()


def test_run_json(tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path) -> None:
    folder = write(ensemble, tmp_path / "out", world, scenario)
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert meta["format"] == "paxsim-results" and meta["format_version"] == 3
    assert meta["paxsim_version"] == sim.__version__
    assert meta["scenario"] == "ban"
    assert meta["command"] == "paxsim ensemble ban.toml --seed 3"
    assert (meta["seed"], meta["replications"]) == (3, 4)
    assert (meta["start"], meta["horizon_days"]) == ("2025-01-01", 240)
    assert meta["wall_seconds"] == ensemble.wall_seconds > 0
    expected = hashlib.sha256(b'name = "ban"\n').hexdigest()
    assert meta["scenario_files"] == [{"path": str(scenario), "sha256": expected}]
    assert set(meta["world_tables"]) == set(world.tables)
    countries = world["countries"].to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert meta["world_tables"]["countries"] == hashlib.sha256(countries).hexdigest()
    for name, info in meta["files"].items():
        data = (folder / name).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert set(meta["files"]) == FILES - {"run.json"}


def test_world_hash_changes_with_the_world(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    facilities = world["facilities"].copy()
    facilities.loc[0, "capacity_per_year"] += 1
    other = world.replace(facilities=facilities)
    a = write(ensemble, tmp_path / "a", world, scenario)
    b = write(ensemble, tmp_path / "b", other, scenario)
    ha = json.loads((a / "run.json").read_text())["world_tables"]
    hb = json.loads((b / "run.json").read_text())["world_tables"]
    assert ha["facilities"] != hb["facilities"] and ha["countries"] == hb["countries"]


def test_failure_mid_write_leaves_no_folder(
    tmp_path: Path,
    ensemble: Ensemble,
    world: sim.World,
    scenario: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = sink.TableWriter.append
    calls: list[str] = []

    def fail_on_series(self: sink.TableWriter, frame: pd.DataFrame) -> None:
        calls.append(self.path.name)
        if self.path.name == "series.parquet":
            raise OSError("disk full")
        real(self, frame)

    monkeypatch.setattr(sink.TableWriter, "append", fail_on_series)
    with pytest.raises(OSError, match="disk full"):
        write(ensemble, tmp_path / "out", world, scenario)
    assert "metrics.parquet" in calls  # something was written before the failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_failure_while_overwriting_keeps_the_old_folder(
    tmp_path: Path,
    ensemble: Ensemble,
    world: sim.World,
    scenario: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = write(ensemble, tmp_path / "out", world, scenario)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def fail(content: object, path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sink, "write_json", fail)
    with pytest.raises(KeyboardInterrupt):
        write(ensemble, folder, world, scenario, overwrite=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]


def test_refuses_to_overwrite(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write(ensemble, folder, world, scenario)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    write(ensemble, folder, world, scenario, overwrite=True)
    assert {p.name for p in folder.iterdir()} == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "out"]
    with pytest.raises(FileExistsError):
        write(ensemble, tmp_path / "inputs" / "ban.toml", world, scenario, overwrite=True)


def test_empty_folder_and_missing_parent_are_fine(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    (tmp_path / "empty").mkdir()
    assert {p.name for p in write(ensemble, tmp_path / "empty", world, scenario).iterdir()} == FILES
    deep = write(ensemble, tmp_path / "a" / "b" / "out", world, scenario)
    assert {p.name for p in deep.iterdir()} == FILES


def test_missing_scenario_file_writes_nothing(
    tmp_path: Path, ensemble: Ensemble, world: sim.World
) -> None:
    with pytest.raises(FileNotFoundError):
        write(ensemble, tmp_path / "out", world, tmp_path / "nope.toml")
    assert list(tmp_path.iterdir()) == []


def test_read_rejects_incomplete_or_newer_folders(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "summary.csv").write_text("x\n")
    with pytest.raises(FileNotFoundError, match="run.json"):
        read_results(tmp_path / "partial")
    folder = write(ensemble, tmp_path / "out", world, scenario)
    meta = json.loads((folder / "run.json").read_text())
    meta["format_version"] = 99
    (folder / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="version 99"):
        read_results(folder)


def test_a_version_1_folder_reads_without_trade_and_timeline(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    folder = write(ensemble, tmp_path / "out", world, scenario)
    meta = json.loads((folder / "run.json").read_text())
    meta["format_version"] = 1
    (folder / "run.json").write_text(json.dumps(meta))
    (folder / "trade.parquet").unlink()
    (folder / "timeline.parquet").unlink()
    back = read_results(folder)
    assert set(back) == {"summary", "replications", "metrics", "series", "run"}
    with pytest.raises(FileNotFoundError, match="no trade.parquet .results format version 1"):
        read_results(folder, tables=("trade",))


def test_summary_csv_reads_back_text_and_nan(
    tmp_path: Path, ensemble: Ensemble, world: sim.World, scenario: Path
) -> None:
    folder = write(ensemble, tmp_path / "out", world, scenario)
    summary = read_results(folder)["summary"]
    assert not isinstance(summary, dict)
    # Substitution never completes in 240 days: censored everywhere, NaN statistics.
    subst = summary[summary["metric"] == "substitution_time_days"]
    assert len(subst) and (subst["reached_share"] == 0).all() and subst["mean"].isna().all()
    assert summary["n"].dtype == np.int64
    assert (summary["n"] <= 4).all()
