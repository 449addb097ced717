"""Result folders against races, kills and hostile names.

Two writers of one folder: exactly one wins, the other gets a clear error, and the
folder left is complete and consistent. A writer killed while writing leaves a hidden
temporary folder that the next writer removes (never a live writer's). Nothing outside
``out`` is created, replaced or deleted.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim import folders
from sim.ensemble import Ensemble, run_ensemble
from sim.errors import InputError
from sim.examples import example_ban
from sim.results import read_results, remove_stale_temporaries, result_folder, write_results

FILES = {
    "summary.csv",
    "series.parquet",
    "replications.parquet",
    "metrics.parquet",
    "trade.parquet",
    "timeline.parquet",
    "run.json",
}


def ban(rng: np.random.Generator) -> tuple[list[sim.events.Event], dict[str, float]]:
    """The example ban with a uniform length (module level: picklable)."""
    days = float(rng.uniform(30, 200))
    return list(example_ban(days=round(days))), {"ban_days": days}


def small(seed: int) -> Ensemble:
    return run_ensemble(
        "ban",
        sim.example_world(),
        ban,
        start="2025-01-01",
        horizon_days=120,
        seed=seed,
        replications=2,
    )


@pytest.fixture(scope="module")
def world() -> sim.World:
    return sim.example_world()


@pytest.fixture(scope="module")
def ensembles() -> dict[int, Ensemble]:
    return {seed: small(seed) for seed in (1, 2, 3)}


def write(ensemble: Ensemble, folder: Path, world: sim.World, **kw: Any) -> Path:
    return write_results(ensemble, folder, command="test", scenario_files=[], world=world, **kw)


def consistent(folder: Path) -> int:
    """Assert the folder is complete and its files match run.json; return its seed."""
    assert {p.name for p in folder.iterdir()} == FILES
    meta = json.loads((folder / "run.json").read_text())
    for name, info in meta["files"].items():
        data = (folder / name).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    back = read_results(folder)
    assert isinstance(back["run"], dict)
    replications = back["replications"]
    assert not isinstance(replications, dict)
    assert set(replications["seed"]) == {meta["seed"]}
    return int(meta["seed"])


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- two writers at once ----------------------------------------------------------------


def _race(
    ensemble: Ensemble,
    world: sim.World,
    folder: str,
    barrier: Any,
    where: str,
    overwrite: bool,
    answers: Any,
) -> None:
    """Write ``ensemble`` to ``folder`` after meeting the other writer at ``where``."""
    if where == "rename":
        real = folders.move_into_place

        def meet_then_move(tmp: Path, target: Path, overwrite: bool = False) -> None:
            barrier.wait(timeout=30)
            real(tmp, target, overwrite)

        folders.move_into_place = meet_then_move  # type: ignore[assignment]
    else:
        barrier.wait(timeout=30)
    try:
        write(ensemble, Path(folder), world, overwrite=overwrite)
    except Exception as err:  # noqa: BLE001 - reported to the test
        answers.put((ensemble.seed, type(err).__name__, str(err)))
    else:
        answers.put((ensemble.seed, "ok", ""))


def race(
    ensembles: list[Ensemble], world: sim.World, folder: Path, where: str, overwrite: bool
) -> list[tuple[int, str, str]]:
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    barrier = context.Barrier(len(ensembles))
    answers = context.Queue()
    writers = [
        context.Process(
            target=_race, args=(e, world, str(folder), barrier, where, overwrite, answers)
        )
        for e in ensembles
    ]
    for writer in writers:
        writer.start()
    got = [answers.get(timeout=60) for _ in writers]
    for writer in writers:
        writer.join(timeout=30)
        assert writer.exitcode == 0
    return sorted(got)


@pytest.mark.parametrize("where", ["start", "rename"])
def test_of_two_concurrent_writers_exactly_one_wins(
    where: str, tmp_path: Path, ensembles: dict[int, Ensemble], world: sim.World
) -> None:
    folder = tmp_path / "ban"
    got = race([ensembles[1], ensembles[2]], world, folder, where, overwrite=False)
    winners = [seed for seed, kind, _ in got if kind == "ok"]
    losers = [(kind, message) for _, kind, message in got if kind != "ok"]
    assert len(winners) == 1, got
    assert losers and losers[0][0] == "FileExistsError", got
    assert str(folder) in losers[0][1] and "overwrite=True" in losers[0][1]
    assert consistent(folder) == winners[0]
    assert hidden(tmp_path) == []


def test_concurrent_overwriters_leave_one_complete_folder(
    tmp_path: Path, ensembles: dict[int, Ensemble], world: sim.World
) -> None:
    folder = write(ensembles[3], tmp_path / "ban", world)
    got = race([ensembles[1], ensembles[2]], world, folder, "rename", overwrite=True)
    assert [kind for _, kind, _ in got] == ["ok", "ok"], got
    assert consistent(folder) in (1, 2)
    assert hidden(tmp_path) == []


def test_the_final_rename_refuses_a_folder_that_appeared(
    tmp_path: Path,
    ensembles: dict[int, Ensemble],
    world: sim.World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Between the first check and the rename another writer completes the folder.
    folder = tmp_path / "ban"
    real = folders.move_into_place

    def other_writer_first(tmp: Path, target: Path, overwrite: bool = False) -> None:
        monkeypatch.setattr(folders, "move_into_place", real)
        write(ensembles[2], target, world)
        real(tmp, target, overwrite)

    monkeypatch.setattr(folders, "move_into_place", other_writer_first)
    with pytest.raises(FileExistsError, match="another run"):
        write(ensembles[1], folder, world)
    assert consistent(folder) == 2
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_overwrite_replaces_the_folder_in_place(
    exchange: bool,
    tmp_path: Path,
    ensembles: dict[int, Ensemble],
    world: sim.World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not exchange:
        monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    folder = write(ensembles[1], tmp_path / "ban", world)
    write(ensembles[2], folder, world, overwrite=True)
    assert consistent(folder) == 2
    assert hidden(tmp_path) == []


def test_an_overwrite_interrupted_between_its_two_renames_keeps_the_old_folder(
    tmp_path: Path,
    ensembles: dict[int, Ensemble],
    world: sim.World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    folder = write(ensembles[1], tmp_path / "ban", world)
    real_rename = os.rename
    moves: list[str] = []

    def interrupt_second_move(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(".ban.partial-") and Path(dst).name == "ban":
            moves.append(str(src))
            if len(moves) == 2:  # the old folder is aside, the new one not yet in place
                assert not folder.exists()
                raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(folders.os, "rename", interrupt_second_move)
    with pytest.raises(KeyboardInterrupt):
        write(ensembles[2], folder, world, overwrite=True)
    monkeypatch.setattr(folders.os, "rename", real_rename)
    assert len(moves) == 2
    assert consistent(folder) == 1
    assert hidden(tmp_path) == []


# --- killed writers ---------------------------------------------------------------------

KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    import sim
    from sim import folders, results
    from sim.examples import example_ban

    def sample(rng):
        return list(example_ban(days=100)), {}

    world = sim.example_world()
    ensemble = sim.run_ensemble("ban", world, sample, start="2025-01-01",
                                horizon_days=60, seed=1, replications=1)

    def stall(tmp, folder, overwrite=False):
        print(tmp.name, flush=True)
        time.sleep(120)

    folders.move_into_place = stall
    results.write_results(ensemble, Path(sys.argv[1]) / "ban", command="test",
                          scenario_files=[], world=world)
    """
)


def test_a_killed_writers_partial_folder_is_removed_by_the_next_write(
    tmp_path: Path, ensembles: dict[int, Ensemble], world: sim.World
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        partial = writer.stdout.readline().strip()
        assert partial.startswith(".ban.partial-"), partial
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert hidden(tmp_path) == [partial]
    assert {p.name for p in (tmp_path / partial).iterdir()} == FILES
    # A live writer's temporary folder (this host, a running process) is kept, and so
    # are other hosts' and other scenarios'.
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host, _, rest = partial.removeprefix(".ban.partial-").partition("-")
        tag = rest.partition("-")[2]
        keep = [
            f".ban.partial-{host}-{live.pid}-{tag}",
            f".ban.partial-00000000-{writer.pid}-{tag}",
            f".other.partial-{host}-{writer.pid}-{tag}",
            ".ban.notes",
        ]
        for name in keep:
            (tmp_path / name).mkdir()
        stale_old_format = f".ban.partial-{writer.pid}-{tag}"
        (tmp_path / stale_old_format).mkdir()
        write(ensembles[1], tmp_path / "ban", world)
        assert hidden(tmp_path) == sorted(keep)
        assert consistent(tmp_path / "ban") == 1
    finally:
        live.kill()
        live.wait(timeout=30)
    assert remove_stale_temporaries(tmp_path, "ban") == [tmp_path / keep[0]]


# --- nothing outside out ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", ".", "..", "sub/../../x"])
def test_write_results_never_touches_anything_outside_out(
    name: str, tmp_path: Path, ensembles: dict[int, Ensemble], world: sim.World
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("inside")
    sibling = tmp_path / "x"
    sibling.mkdir()
    (sibling / "precious.txt").write_text("outside")
    with pytest.raises(InputError):
        write(ensembles[1], out / name, world, out=out, overwrite=True)
    with pytest.raises(InputError):
        result_folder(out, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "x"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in sibling.iterdir()] == ["precious.txt"]


def test_a_symbolic_link_in_out_cannot_lead_outside(
    tmp_path: Path, ensembles: dict[int, Ensemble], world: sim.World
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sibling = tmp_path / "x"
    sibling.mkdir()
    (sibling / "precious.txt").write_text("outside")
    (out / "ban").symlink_to(sibling, target_is_directory=True)
    with pytest.raises(InputError, match="symbolic link"):
        write(ensembles[1], out / "ban", world, out=out, overwrite=True)
    with pytest.raises(InputError, match="symbolic link"):
        result_folder(out, "ban")
    inside = out / "elsewhere"
    inside.mkdir()
    (out / "link").symlink_to(inside, target_is_directory=True)
    with pytest.raises(FileExistsError, match="not a folder"):
        write(ensembles[1], out / "link", world, out=out, overwrite=True)
    assert [p.name for p in sibling.iterdir()] == ["precious.txt"]
    assert list(inside.iterdir()) == []


def test_result_folder_accepts_plain_names(tmp_path: Path) -> None:
    assert result_folder(tmp_path, "ree_2025-v1.2") == tmp_path / "ree_2025-v1.2"
    folder = write_results(
        small(1),
        tmp_path / "ban",
        command="test",
        scenario_files=[],
        world=sim.example_world(),
        out=tmp_path,
    )
    assert consistent(folder) == 1
